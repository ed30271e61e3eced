import ArgumentParser
import BPFBenchmarks
import BPFKit
import Foundation

/// `bpfkit bench`: the engines side by side on the benchmark workloads.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure BPFKit's engines against native code and Linux's JIT.",
        discussion: """
            Each compute workload is one C source built for BPF and natively; every engine must \
            return the native result. Figures are nanoseconds per run: the median of several rounds \
            after a warm-up, with the fastest and slowest round.
            """
    )

    @Option(help: "Run only this workload (\(BenchmarkSuite.workloadNames.joined(separator: ", "))).")
    var workload: String?

    @Flag(help: "Short rounds: finishes in well under a minute.")
    var quick = false

    @Option(name: .customLong("json"), help: "Also write every figure to this JSON file.")
    var jsonPath: String?

    func validate() throws {
        if let workload, !BenchmarkSuite.workloadNames.contains(workload) {
            throw ValidationError("no workload named '\(workload)'; known: \(BenchmarkSuite.workloadNames.joined(separator: ", "))")
        }
    }

    func run() throws {
        let options = BenchmarkOptions(workloads: workload.map { [$0] }, quick: quick)
        var reports: [WorkloadReport] = []
        if workload == nil || workload == "fnv1a" {
            reports.append(try instructionLevelReport(options))
        }
        let suite = BenchmarkSuite(options: options)
        do {
            reports += try suite.run { name in
                FileHandle.standardError.write(Data("measuring \(name)…\n".utf8))
            }
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(1)
        }
        printTable(reports)
        if let jsonPath {
            let document = json(reports)
            guard FileManager.default.createFile(atPath: jsonPath, contents: Data((document.text + "\n").utf8)) else {
                FileHandle.standardError.write(Data("error: cannot write \(jsonPath)\n".utf8))
                throw ExitCode(1)
            }
        }
    }

    /// The hand-written FNV-1a loop on the interpreter: the per-instruction figure.
    private func instructionLevelReport(_ options: BenchmarkOptions) throws -> WorkloadReport {
        var report = WorkloadReport(name: "fnv1a-asm", input: "1KiB")
        for mode in [ExecutionMode.trusted, .checked] {
            report.engines["interpreter-\(mode.rawValue)"] = try InterpreterBenchmark.measure(
                .fnv1a, mode: mode, rounds: options.rounds, roundNanoseconds: options.roundNanoseconds)
        }
        return report
    }

    private static let engineOrder = ["interpreter-trusted", "interpreter-checked", "interpreter", "jit", "native", "linux"]

    private func printTable(_ reports: [WorkloadReport]) {
        print("machine: \(MachineDescription.cpuModel), \(MachineDescription.cores) cores, Linux \(MachineDescription.kernel)")
        print(pad("workload", 11) + pad("input", 7) + pad("engine", 21) + pad("ns/run", 12) + pad("min", 11)
              + pad("max", 11) + pad("ns/insn", 9) + pad("x native", 10) + "x linux")
        for report in reports {
            let native = report.engines["native"]?.median
            let linux = report.engines["linux"]?.median
            for engine in Self.engineOrder {
                if let timing = report.engines[engine] {
                    print(pad(report.name, 11) + pad(report.input, 7) + pad(engine, 21)
                          + pad(format(timing.median), 12) + pad(format(timing.min), 11) + pad(format(timing.max), 11)
                          + pad(timing.nanosecondsPerInstruction.map { format($0, digits: 2) } ?? "-", 9)
                          + pad(native.map { format(timing.median / $0, digits: 2) } ?? "-", 10)
                          + (linux.map { format(timing.median / $0, digits: 2) } ?? "-"))
                } else if let reason = report.skipped[engine] {
                    print(pad(report.name, 11) + pad(report.input, 7) + pad(engine, 21) + "skipped: \(reason)")
                }
            }
            for (engine, note) in report.notes.sorted(by: { $0.key < $1.key }) {
                print(pad("", 18) + "note (\(engine)): \(note)")
            }
            if let verify = report.verifyMicroseconds, let load = report.loadMicroseconds {
                print(pad("", 18) + "verify \(format(verify)) µs, load \(format(load)) µs")
            }
        }
    }

    private func json(_ reports: [WorkloadReport]) -> JSON {
        let commit = (try? String(contentsOfFile: ".git/HEAD", encoding: .utf8)).flatMap(Self.resolveCommit) ?? "unknown"
        return .object([
            ("machine", .object([("cpu", .string(MachineDescription.cpuModel)),
                                 ("cores", .number(Int64(MachineDescription.cores))),
                                 ("kernel", .string(MachineDescription.kernel))])),
            ("commit", .string(commit)),
            ("workloads", .array(reports.map { report in
                var members: [(String, JSON)] = [("name", .string(report.name)), ("input", .string(report.input))]
                members.append(("engines", .object(Self.engineOrder.compactMap { engine in
                    report.engines[engine].map { timing in
                        var figures: [(String, JSON)] = [("nsPerRun", .double(timing.median)), ("min", .double(timing.min)),
                                                         ("max", .double(timing.max))]
                        if let perInstruction = timing.nanosecondsPerInstruction {
                            figures.append(("nsPerInstruction", .double(perInstruction)))
                        }
                        return (engine, JSON.object(figures))
                    }
                })))
                if !report.notes.isEmpty {
                    members.append(("notes", .object(report.notes.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })))
                }
                if !report.skipped.isEmpty {
                    members.append(("skipped", .object(report.skipped.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })))
                }
                if let verify = report.verifyMicroseconds { members.append(("verifyMicroseconds", .double(verify))) }
                if let load = report.loadMicroseconds { members.append(("loadMicroseconds", .double(load))) }
                return .object(members)
            })),
        ])
    }

    /// `ref: refs/heads/main` → the commit that ref names; a detached HEAD is the commit itself.
    private static func resolveCommit(_ head: String) -> String? {
        let trimmed = head.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.hasPrefix("ref: ") else { return trimmed }
        return (try? String(contentsOfFile: ".git/" + trimmed.dropFirst(5), encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }

    private func format(_ value: Double, digits: Int = 1) -> String {
        String(format: "%.\(digits)f", value)
    }
}
