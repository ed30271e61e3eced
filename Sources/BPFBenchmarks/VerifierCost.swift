import BPFKit
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Issue 4's verifier cost: BPFKit's verifier over every program of every sample
/// object, timed one by one, with the process's peak memory and the verdicts'
/// agreement with Linux 6.18's (samples/verdicts.csv).
public struct VerifierCost: Sendable {
    public var samplesDirectory: String
    public var objects = 0
    /// Objects BPFObject could not read (their programs are not counted).
    public var unreadableObjects: [String] = []
    public var programs = 0
    public var accepted = 0
    public var totalMilliseconds = 0.0
    public var medianMilliseconds = 0.0
    public var slowest: (program: String, milliseconds: Double)?
    /// Peak resident set (getrusage ru_maxrss), before and after verifying. Linux keeps
    /// ru_maxrss across execve, so under `swift run` it starts at the build tool's peak;
    /// ``peakResidentKilobytes`` (VmHWM of /proc/self/status) is this program's own.
    public var peakRSSKilobytesBefore = 0
    public var peakRSSKilobytes = 0
    public var peakResidentKilobytesBefore: Int?
    public var peakResidentKilobytes: Int?
    /// Programs with a Linux verdict of accept or reject, and how many BPFKit agrees with.
    public var compared = 0
    public var agreeing = 0
    public var disagreements: [String] = []
    /// Why the group could not run, if it could not.
    public var skipped: String?

    struct Row {
        var file: String, section: String, function: String, type: String, verdict: String
    }

    static func measure(samplesDirectory: String) -> VerifierCost {
        var cost = VerifierCost(samplesDirectory: samplesDirectory)
        cost.peakRSSKilobytesBefore = peakRSS()
        cost.peakResidentKilobytesBefore = highWaterMark()
        let absolute = samplesDirectory.hasPrefix("/") ? samplesDirectory
            : FileManager.default.currentDirectoryPath + "/" + samplesDirectory
        let root = (absolute as NSString).standardizingPath
        guard let enumerator = FileManager.default.enumerator(atPath: root) else {
            cost.skipped = "no samples at \(root)"
            return cost
        }
        let files = enumerator.compactMap { $0 as? String }.filter { $0.hasSuffix(".o") }.sorted()
        guard !files.isEmpty else {
            cost.skipped = "no .o files under \(root)"
            return cost
        }
        let rows = readVerdicts(root + "/verdicts.csv")
        var verdicts: [String: Bool] = [:]   // "file|section|function" → BPFKit accepted
        var times: [Double] = []
        let verifier = Verifier(options: VerifierOptions())
        for file in files {
            cost.objects += 1
            guard let object = try? ObjectSpec(contentsOf: root + "/" + file) else {
                cost.unreadableObjects.append(file)
                continue
            }
            for var program in object.programs {
                let row = rows.first { $0.file == file && $0.section == program.sectionName && $0.function == program.name }
                    ?? rows.first { $0.file == file && $0.section == program.sectionName }
                // Sections libbpf does not name get the type verdicts.csv inferred, as Linux was given.
                if let name = row?.type, let type = ProgramType(name: name) { program.type = type }
                let input = VerifierInput(program: program, object: object)
                let start = ContinuousClock.now
                let result = verifier.verify(input)
                let milliseconds = BenchmarkSuite.microseconds(since: start) / 1000
                times.append(milliseconds)
                cost.programs += 1
                if result.isAccepted { cost.accepted += 1 }
                cost.totalMilliseconds += milliseconds
                if milliseconds > cost.slowest?.milliseconds ?? -1 { cost.slowest = ("\(file):\(program.name)", milliseconds) }
                verdicts["\(file)|\(program.sectionName)|\(program.name)"] = result.isAccepted
                // By section alone too, for rows whose function name BPFObject reports differently.
                let sectionKey = "\(file)|\(program.sectionName)|"
                if verdicts[sectionKey] == nil { verdicts[sectionKey] = result.isAccepted }
            }
        }
        times.sort()
        cost.medianMilliseconds = times.isEmpty ? 0 : times[times.count / 2]
        cost.peakRSSKilobytes = peakRSS()
        cost.peakResidentKilobytes = highWaterMark()

        // Agreement, row by row, as the corpus test counts it: an object BPFKit cannot
        // read agrees with a Linux refusal.
        for row in rows where row.verdict == "accept" || row.verdict == "reject" {
            cost.compared += 1
            let ours = verdicts["\(row.file)|\(row.section)|\(row.function)"] ?? verdicts["\(row.file)|\(row.section)|"]
            let linuxAccepts = row.verdict == "accept"
            if let ours, ours == linuxAccepts {
                cost.agreeing += 1
            } else if ours == nil && !linuxAccepts {
                cost.agreeing += 1
            } else {
                cost.disagreements.append("\(row.file) \(row.section) \(row.function): Linux \(row.verdict)s, BPFKit "
                                          + (ours == nil ? "found no such program" : ours! ? "accepts" : "refuses"))
            }
        }
        return cost
    }

    static func readVerdicts(_ path: String) -> [Row] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).dropFirst().compactMap { line in
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard fields.count >= 6 else { return nil }
            return Row(file: fields[0], section: fields[1], function: fields[2], type: fields[4], verdict: fields[5])
        }
    }

    /// VmHWM: this process image's peak resident set in KiB (reset by execve).
    static func highWaterMark() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return Int(line.dropFirst(6).trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "")
        }
        return nil
    }

    /// ru_maxrss: the peak resident set in KiB on Linux.
    static func peakRSS() -> Int {
        var usage = rusage()
        guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return 0 }
        return Int(usage.ru_maxrss)
    }
}
