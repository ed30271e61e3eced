import Foundation
import BPFTestSupport

/// Locates the shared sample corpus (`../shared/samples` relative to the package root).
enum Samples {
    static let root = SharedMaterial.samples

    static var isAvailable: Bool { FileManager.default.fileExists(atPath: root + "/verdicts.csv") }

    static let objectDirectories = ["build", "linux", "cilium-examples", "suricata", "ovs", "prototype-kernel"]

    /// Relative paths (`build/x.o`) of every object in the loadable directories.
    static func objectPaths() -> [String] {
        objectDirectories.flatMap { directory in
            let names = (try? FileManager.default.contentsOfDirectory(atPath: root + "/" + directory)) ?? []
            return names.filter { $0.hasSuffix(".o") }.sorted().map { directory + "/" + $0 }
        }
    }

    static func invalidPaths() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root + "/invalid")) ?? []
        return names.sorted().map { "invalid/" + $0 }
    }

    struct Verdict {
        var file: String
        var section: String
        var function: String
        var instructionCount: Int?
        var programType: String
        var verdict: String
    }

    static func verdicts() throws -> [Verdict] {
        let text = try String(contentsOfFile: root + "/verdicts.csv", encoding: .utf8)
        return text.split(whereSeparator: \.isNewline).dropFirst().compactMap { line in
            let fields = line.split(separator: ",", maxSplits: 7, omittingEmptySubsequences: false).map(String.init)
            guard fields.count >= 6 else { return nil }
            return Verdict(file: fields[0], section: fields[1], function: fields[2], instructionCount: Int(fields[3]),
                           programType: fields[4], verdict: fields[5])
        }
    }
}
