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
            Compute workloads are one C source built for BPF and natively; every engine must \
            return the native result. Map and ring-buffer workloads have no native twin and are \
            checked against Linux. Figures are nanoseconds per run: the median of several rounds \
            after a warm-up, with the fastest and slowest round. The `maps` group measures map \
            lookups and concurrent updates; the `verifier` group verifies every sample program.
            """
    )

    @Option(help: "Run only this workload (\(BenchmarkSuite.workloadNames.joined(separator: ", "))).")
    var workload: String?

    @Flag(help: "Short rounds: finishes in under a minute.")
    var quick = false

    @Option(name: .customLong("json"), help: "Also write every figure to this JSON file.")
    var jsonPath: String?

    @Option(name: .customLong("samples"), help: "Sample objects and verdicts.csv for the verifier workload.")
    var samplesDirectory = "../shared/samples"

    func validate() throws {
        if let workload, !BenchmarkSuite.workloadNames.contains(workload) {
            throw ValidationError("no workload named '\(workload)'; known: \(BenchmarkSuite.workloadNames.joined(separator: ", "))")
        }
    }

    func run() throws {
        var options = BenchmarkOptions(workloads: workload.map { [$0] }, quick: quick)
        options.samplesDirectory = samplesDirectory
        let started = ContinuousClock.now
        var results: BenchmarkResults
        do {
            results = try BenchmarkSuite(options: options).run { name in
                FileHandle.standardError.write(Data("measuring \(name)…\n".utf8))
            }
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(1)
        }
        if workload == nil || workload == "fnv1a" {
            results.workloads.insert(try instructionLevelReport(options), at: 0)
        }
        let elapsed = ContinuousClock.now - started
        printTable(results.workloads)
        if let maps = results.maps { printMaps(maps) }
        if let verifier = results.verifier { printVerifier(verifier) }
        print("finished in \(elapsed.components.seconds) s")
        if let jsonPath {
            let document = json(results)
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

    // MARK: Table

    private func printTable(_ reports: [WorkloadReport]) {
        print("machine: \(MachineDescription.cpuModel), \(MachineDescription.cores) cores, Linux \(MachineDescription.kernel)")
        guard !reports.isEmpty else { return }
        print(pad("workload", 17) + pad("input", 7) + pad("engine", 20) + pad("ns/run", 12) + pad("min", 12)
              + pad("max", 12) + pad("ns/insn", 9) + pad("x native", 10) + "x linux")
        for report in reports {
            let native = report.engines["native"]?.median
            let linux = report.engines["linux"]?.median
            for engine in BenchmarkEngine.tableOrder {
                let head = pad(report.name, 17) + pad(report.input, 7) + pad(engine, 20)
                if let timing = report.engines[engine] {
                    print(head + pad(format(timing.median), 12) + pad(format(timing.min), 12) + pad(format(timing.max), 12)
                          + pad(timing.nanosecondsPerInstruction.map { format($0, digits: 2) } ?? "-", 9)
                          + pad(native.map { format(timing.median / $0, digits: 2) } ?? "-", 10)
                          + (linux.map { format(timing.median / $0, digits: 2) } ?? "-"))
                } else if let reason = report.skipped[engine] {
                    print(head + "skipped: \(reason)")
                }
            }
            let indent = pad("", 24)
            for scaling in report.threadScaling ?? [] {
                let figures = scaling.packetsPerSecond.map { "\($0.threads) thread\($0.threads == 1 ? "" : "s") \(format($0.value / 1e6, digits: 3)) Mpps" }
                print(indent + "\(scaling.engine): " + figures.joined(separator: ", ")
                      + (scaling.scaling.map { " (scaling \(format($0, digits: 2))x)" } ?? ""))
            }
            for (engine, reason) in report.skipped.sorted(by: { $0.key < $1.key }) where !BenchmarkEngine.tableOrder.contains(engine) {
                print(indent + "skipped (\(engine)): \(reason)")
            }
            for (engine, note) in report.notes.sorted(by: { $0.key < $1.key }) {
                print(indent + "note (\(engine)): \(note)")
            }
            var costs: [String] = []
            if let verify = report.verifyMicroseconds { costs.append("verify \(format(verify)) µs") }
            if let load = report.loadMicroseconds { costs.append("load \(format(load)) µs") }
            if let instructions = report.instructionsPerRun { costs.append("\(instructions) insns/run") }
            if !costs.isEmpty { print(indent + costs.joined(separator: ", ")) }
        }
    }

    private func printMaps(_ maps: MapFigures) {
        print("\nmaps: \(MapFigures.entries)-entry maps, 4-byte keys, 8-byte values")
        if !maps.fromProgram.isEmpty {
            print("  from a program, \(MapFigures.lookupsPerRun) lookups per run; net = minus the same loop without the call")
            print("  " + pad("engine", 13) + pad("map", 7) + pad("ns/run", 12) + pad("loop ns/run", 13) + pad("ns/lookup", 11) + "net ns/lookup")
            for figure in maps.fromProgram {
                print("  " + pad(figure.engine, 13) + pad(figure.map, 7) + pad(format(figure.nsPerRun), 12)
                      + pad(format(figure.loopNsPerRun), 13) + pad(format(figure.nsPerLookup, digits: 2), 11)
                      + format(figure.nsPerLookupNet, digits: 2))
            }
        }
        if !maps.helperCallNanoseconds.isEmpty {
            print("  one near-empty helper call (bpf_get_smp_processor_id), net of the loop: "
                  + maps.helperCallNanoseconds.map { "\($0.engine) \(format($0.value, digits: 2)) ns" }.joined(separator: ", "))
        }
        if !maps.directCalls.isEmpty {
            print("  direct calls into BPFMaps (scattered keys)")
            print("  " + pad("call", 44) + pad("ns/call", 10) + pad("min", 10) + pad("max", 10) + "target")
            for call in maps.directCalls {
                let target = call.targetNanoseconds.map { "≤ \(format($0, digits: 0)) ns: " + (call.meetsTarget == true ? "met" : "MISSED") } ?? "-"
                print("  " + pad(call.name, 44) + pad(format(call.timing.median, digits: 2), 10)
                      + pad(format(call.timing.min, digits: 2), 10) + pad(format(call.timing.max, digits: 2), 10) + target)
            }
        }
        if !maps.hashLookupBreakdown.isEmpty {
            print("  where a direct hash lookup's time goes, and replicas of the helper path's steps (ns/call, min, max)")
            for call in maps.hashLookupBreakdown {
                print("  " + pad(call.name, 68) + pad(format(call.timing.median, digits: 2), 10)
                      + pad(format(call.timing.min, digits: 2), 10) + format(call.timing.max, digits: 2))
            }
        }
        for updates in maps.concurrentUpdates {
            print("  concurrent updates, \(updates.threads) thread\(updates.threads == 1 ? "" : "s"): "
                  + "\(format(updates.updatesPerSecond / 1e6, digits: 2)) M updates/s in total; "
                  + (updates.lost == 0 ? "no update lost" : "\(updates.lost) UPDATES LOST"))
        }
        for (what, reason) in maps.skipped.sorted(by: { $0.key < $1.key }) { print("  skipped (\(what)): \(reason)") }
        for note in maps.notes { print("  note: \(note)") }
    }

    private func printVerifier(_ cost: VerifierCost) {
        print("\nverifier: every program of every sample object in \(cost.samplesDirectory)")
        if let skipped = cost.skipped {
            print("  skipped: \(skipped)")
            return
        }
        print("  \(cost.programs) programs (\(cost.accepted) accepted) in \(cost.objects) objects"
              + (cost.unreadableObjects.isEmpty ? "" : ", \(cost.unreadableObjects.count) unreadable objects"))
        print("  total \(format(cost.totalMilliseconds)) ms, median \(format(cost.medianMilliseconds, digits: 3)) ms per program")
        if let slowest = cost.slowest { print("  slowest: \(slowest.program), \(format(slowest.milliseconds)) ms") }
        print("  peak RSS (ru_maxrss) \(cost.peakRSSKilobytes / 1024) MiB (\(cost.peakRSSKilobytesBefore / 1024) MiB before verifying)"
              + (cost.peakResidentKilobytes.map { "; VmHWM \($0 / 1024) MiB" } ?? "")
              + (cost.peakResidentKilobytesBefore.map { " (\($0 / 1024) MiB before)" } ?? ""))
        print("  agreement with verdicts.csv (Linux 6.18): \(cost.agreeing)/\(cost.compared)")
        for disagreement in cost.disagreements { print("    differs: \(disagreement)") }
    }

    // MARK: JSON

    private func json(_ results: BenchmarkResults) -> JSON {
        var members: [(String, JSON)] = [
            ("machine", .object([("cpu", .string(MachineDescription.cpuModel)),
                                 ("cores", .number(Int64(MachineDescription.cores))),
                                 ("kernel", .string(MachineDescription.kernel))])),
            ("commit", .string(Self.commit())),
            ("quick", .bool(quick)),
            ("workloads", .array(results.workloads.map(json))),
        ]
        if let maps = results.maps { members.append(("maps", json(maps))) }
        if let verifier = results.verifier { members.append(("verifier", json(verifier))) }
        return .object(members)
    }

    private func json(_ timing: Timing) -> JSON {
        var figures: [(String, JSON)] = [("nsPerRun", .double(timing.median)), ("min", .double(timing.min)),
                                         ("max", .double(timing.max))]
        if let perInstruction = timing.nanosecondsPerInstruction {
            figures.append(("nsPerInstruction", .double(perInstruction)))
        }
        return .object(figures)
    }

    private func json(_ report: WorkloadReport) -> JSON {
        var members: [(String, JSON)] = [("name", .string(report.name)), ("input", .string(report.input))]
        members.append(("engines", .object(BenchmarkEngine.tableOrder.compactMap { engine in
            report.engines[engine].map { (engine, json($0)) }
        })))
        let ratios = report.ratios
        if !ratios.isEmpty { members.append(("ratios", .object(ratios.map { ($0.name, .double($0.value)) }))) }
        if !report.skipped.isEmpty {
            members.append(("skipped", .object(report.skipped.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })))
        }
        if !report.notes.isEmpty {
            members.append(("notes", .object(report.notes.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })))
        }
        if let verify = report.verifyMicroseconds { members.append(("verifyMicroseconds", .double(verify))) }
        if let load = report.loadMicroseconds { members.append(("loadMicroseconds", .double(load))) }
        if let instructions = report.instructionsPerRun { members.append(("instructionsPerRun", .unsigned(instructions))) }
        if let scaling = report.threadScaling, !scaling.isEmpty {
            members.append(("packetsPerSecond", .object(scaling.map { engine in
                var figures: [(String, JSON)] = engine.packetsPerSecond.map { ("\($0.threads)", .double($0.value)) }
                if let factor = engine.scaling { figures.append(("scaling", .double(factor))) }
                return (engine.engine, .object(figures))
            })))
        }
        return .object(members)
    }

    private func json(_ maps: MapFigures) -> JSON {
        var members: [(String, JSON)] = [
            ("entries", .number(Int64(MapFigures.entries))),
            ("lookupsPerRun", .number(Int64(MapFigures.lookupsPerRun))),
            ("fromProgram", .array(maps.fromProgram.map { figure in
                .object([("engine", .string(figure.engine)), ("map", .string(figure.map)),
                         ("nsPerRun", .double(figure.nsPerRun)), ("loopNsPerRun", .double(figure.loopNsPerRun)),
                         ("nsPerLookup", .double(figure.nsPerLookup)), ("nsPerLookupNet", .double(figure.nsPerLookupNet))])
            })),
            ("directCalls", .array(maps.directCalls.map { call in
                var figures: [(String, JSON)] = [("name", .string(call.name)), ("nsPerCall", .double(call.timing.median)),
                                                 ("min", .double(call.timing.min)), ("max", .double(call.timing.max))]
                if let target = call.targetNanoseconds {
                    figures.append(("targetNs", .double(target)))
                    figures.append(("meetsTarget", .bool(call.meetsTarget == true)))
                }
                return .object(figures)
            })),
            ("helperCallNanoseconds", .object(maps.helperCallNanoseconds.map { ($0.engine, .double($0.value)) })),
            ("hashLookupBreakdown", .array(maps.hashLookupBreakdown.map { call in
                .object([("name", .string(call.name)), ("nsPerCall", .double(call.timing.median)),
                         ("min", .double(call.timing.min)), ("max", .double(call.timing.max))])
            })),
            ("concurrentUpdates", .array(maps.concurrentUpdates.map { updates in
                .object([("threads", .number(Int64(updates.threads))), ("updatesPerSecond", .double(updates.updatesPerSecond)),
                         ("updates", .number(Int64(updates.updates))), ("lost", .number(Int64(updates.lost)))])
            })),
        ]
        if !maps.skipped.isEmpty {
            members.append(("skipped", .object(maps.skipped.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })))
        }
        if !maps.notes.isEmpty { members.append(("notes", .array(maps.notes.map { .string($0) }))) }
        return .object(members)
    }

    private func json(_ cost: VerifierCost) -> JSON {
        if let skipped = cost.skipped {
            return .object([("samples", .string(cost.samplesDirectory)), ("skipped", .string(skipped))])
        }
        var members: [(String, JSON)] = [
            ("samples", .string(cost.samplesDirectory)),
            ("objects", .number(Int64(cost.objects))),
            ("unreadableObjects", .array(cost.unreadableObjects.map { .string($0) })),
            ("programs", .number(Int64(cost.programs))),
            ("accepted", .number(Int64(cost.accepted))),
            ("totalMilliseconds", .double(cost.totalMilliseconds)),
            ("medianMilliseconds", .double(cost.medianMilliseconds)),
        ]
        if let slowest = cost.slowest {
            members.append(("slowest", .object([("program", .string(slowest.program)), ("milliseconds", .double(slowest.milliseconds))])))
        }
        members += [
            ("peakRSSKilobytes", .number(Int64(cost.peakRSSKilobytes))),
            ("peakRSSKilobytesBefore", .number(Int64(cost.peakRSSKilobytesBefore))),
            ("peakResidentKilobytes", cost.peakResidentKilobytes.map { .number(Int64($0)) } ?? .null),
            ("peakResidentKilobytesBefore", cost.peakResidentKilobytesBefore.map { .number(Int64($0)) } ?? .null),
            ("agreement", .object([("agreeing", .number(Int64(cost.agreeing))), ("compared", .number(Int64(cost.compared)))])),
            ("disagreements", .array(cost.disagreements.map { .string($0) })),
        ]
        return .object(members)
    }

    /// The commit the figures come from (`git rev-parse HEAD` in the current folder).
    private static func commit() -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "rev-parse", "HEAD"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return "unknown" }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let commit = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return process.terminationStatus == 0 && !commit.isEmpty ? commit : "unknown"
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }

    private func format(_ value: Double, digits: Int = 1) -> String {
        String(format: "%.\(digits)f", value)
    }
}
