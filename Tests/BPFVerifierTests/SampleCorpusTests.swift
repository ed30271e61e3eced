import Foundation
import Testing
import BPFObject
@testable import BPFVerifier
import BPFTestSupport

/// The sample objects against what Linux 6.18 decided for each program (verdicts.csv).
@Suite struct SampleCorpusTests {
    static let root = SharedMaterial.samples

    struct Row { var file: String; var section: String; var function: String; var type: String; var verdict: String }

    static func rows() -> [Row] {
        guard let data = FileManager.default.contents(atPath: root + "/verdicts.csv") else { return [] }
        let text = String(decoding: data, as: UTF8.self)
        return text.split(whereSeparator: \.isNewline).dropFirst().compactMap { line in
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard f.count >= 6 else { return nil }
            return Row(file: f[0], section: f[1], function: f[2], type: f[4], verdict: f[5])
        }
    }

    @Test func verdictsAgreeWithLinux() throws {
        let rows = Self.rows().filter { $0.verdict == "accept" || $0.verdict == "reject" }
        guard FileManager.default.fileExists(atPath: Self.root + "/verdicts.csv") else {
            Issue.record("skipped: the sample corpus is not at \(Self.root)", severity: .warning)
            return
        }
        try #require(!rows.isEmpty, "verdicts.csv at \(Self.root) has no accept/reject rows")
        var agree = 0, total = 0
        var disagreements: [String] = []
        var objects: [String: ObjectSpec?] = [:]
        for row in rows {
            if objects[row.file] == nil { objects[row.file] = .some(try? ObjectSpec(contentsOf: Self.root + "/" + row.file)) }
            total += 1
            guard let object = objects[row.file]!,
                  var program = object.programs.first(where: { $0.name == row.function && $0.sectionName == row.section })
                    ?? object.programs.first(where: { $0.sectionName == row.section }) else {
                if row.verdict == "reject" { agree += 1 } else { disagreements.append("\(row.file) \(row.section): not loadable") }
                continue
            }
            if let type = ProgramType(name: row.type) { program.type = type }
            let result = Verifier().verify(VerifierInput(program: program, object: object))
            let accepted = result.isAccepted
            if accepted == (row.verdict == "accept") {
                agree += 1
            } else {
                disagreements.append("\(row.file) \(row.section) linux=\(row.verdict): \(result.summary)")
            }
        }
        print("sample corpus: \(agree)/\(total) verdicts agree with Linux 6.18")
        for d in disagreements { print("  DISAGREE \(d)") }
        #expect(disagreements.isEmpty, "agreement \(agree)/\(total): \(disagreements)")
    }

    @Test func invalidObjectsAreRefusedReadably() throws {
        let directory = Self.root + "/invalid"
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for file in files {
            guard let object = try? ObjectSpec(contentsOf: directory + "/" + file) else { continue }
            for program in object.programs {
                let result = Verifier().verify(VerifierInput(program: program, object: object))
                if let refusal = result.refusal {
                    #expect(!refusal.message.isEmpty)
                    #expect(!refusal.explanation.isEmpty)
                }
            }
        }
    }
}
