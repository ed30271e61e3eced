import BPFKit
import BPFToolchain
import Foundation

/// The figures of one workload on one input.
public struct WorkloadReport: Sendable {
    public var name: String
    public var input: String
    /// Engine name (`interpreter`, `jit`, `native`, `linux`) → timing.
    public var engines: [String: Timing] = [:]
    /// Engine name → why it did not run.
    public var skipped: [String: String] = [:]
    /// Engine name → how it ran, where that is worth saying (e.g. checked mode).
    public var notes: [String: String] = [:]
    public var verifyMicroseconds: Double?
    public var loadMicroseconds: Double?

    public init(name: String, input: String) {
        self.name = name
        self.input = input
    }
}

/// What to run and for how long.
public struct BenchmarkOptions: Sendable {
    public var workloads: Set<String>?
    public var rounds = 5
    public var roundNanoseconds = 2e8

    public init(workloads: Set<String>? = nil, quick: Bool = false) {
        self.workloads = workloads
        if quick {
            rounds = 5
            roundNanoseconds = 2e7
        }
    }
}

/// Builds each compute workload for BPF and natively, checks every engine returns
/// the native result, and times them side by side in one process.
public struct BenchmarkSuite {
    public var options: BenchmarkOptions
    /// Extra engines (the interpreter and the JIT) supplied by the caller: each gets
    /// the built workload and a packet and returns (r0, timing) or throws to be skipped.
    public var engines: [(name: String, run: (BuiltWorkload, [UInt8], BenchmarkOptions) throws -> (UInt32, Timing))]

    public init(options: BenchmarkOptions,
                engines: [(name: String, run: (BuiltWorkload, [UInt8], BenchmarkOptions) throws -> (UInt32, Timing))] = []) {
        self.options = options
        self.engines = engines
    }

    public static var workloadNames: [String] { ComputeWorkload.all.map(\.name) }

    public func run(progress: (String) -> Void = { _ in }) throws(BenchmarkFailure) -> [WorkloadReport] {
        let clang: Clang
        do {
            clang = try Clang.locate()
        } catch {
            throw BenchmarkFailure(description: "\(error)")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bpfkit-bench-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }

        var reports: [WorkloadReport] = []
        for workload in ComputeWorkload.all where options.workloads?.contains(workload.name) ?? true {
            progress(workload.name)
            let built = try BuiltWorkload(workload, clang: clang, directory: directory)
            for (label, packet) in workload.packets {
                var report = WorkloadReport(name: workload.name, input: label)
                let expected = built.nativeResult(packet)
                report.engines["native"] = try measureNative(built, packet)
                measureInterpreter(built, packet, expected: expected, into: &report)
                for engine in engines {
                    do {
                        let (result, timing) = try engine.run(built, packet, options)
                        if result == expected {
                            report.engines[engine.name] = timing
                        } else {
                            report.skipped[engine.name] = "returned \(result), native returned \(expected)"
                        }
                    } catch {
                        report.skipped[engine.name] = "\(error)"
                    }
                }
                measureLinux(built, packet, expected: expected, into: &report)
                reports.append(report)
            }
        }
        return reports
    }

    private func measureNative(_ built: BuiltWorkload, _ packet: [UInt8]) throws(BenchmarkFailure) -> Timing {
        let entry = built.native
        return try packet.withUnsafeBufferPointer { buffer throws(BenchmarkFailure) -> Timing in
            let start = buffer.baseAddress, end = buffer.baseAddress.map { $0 + buffer.count }
            var sink: UInt32 = 0
            let timing = try Stopwatch.measure(rounds: options.rounds, roundNanoseconds: options.roundNanoseconds) { runs in
                Stopwatch.time(runs) { sink &+= entry(start, end) }
            }
            blackHole(sink)
            return timing
        }
    }

    /// BPFKit's interpreter: verified by BPFKit's verifier (timed), loaded (timed),
    /// then run trusted, or checked with a note when the verifier refuses.
    private func measureInterpreter(_ built: BuiltWorkload, _ packet: [UInt8], expected: UInt32,
                                    into report: inout WorkloadReport) {
        let name = built.workload.name
        guard let programSpec = built.spec.program(named: name) else {
            report.skipped["interpreter"] = "the object has no program \(name)"
            return
        }
        let verifyStart = ContinuousClock.now
        let verdict = Verifier().verify(VerifierInput(program: programSpec, maps: built.spec.maps))
        report.verifyMicroseconds = Self.microseconds(since: verifyStart)
        let mode: ExecutionMode = verdict.isAccepted ? .trusted : .checked
        if let refusal = verdict.refusal {
            report.notes["interpreter"] = "checked mode: BPFKit's verifier refused it: \(refusal.message)"
        }
        do {
            let loadStart = ContinuousClock.now
            let collection = try LoadedObject(spec: built.spec, options: LoadOptions(mode: mode))
            let runner = try PacketRunner(collection: collection, program: name)
            report.loadMicroseconds = Self.microseconds(since: loadStart)
            let first = try runner.returnValue(forPacket: packet)
            guard UInt32(truncatingIfNeeded: first.returnValue) == expected else {
                report.skipped["interpreter"] = "returned \(first.returnValue), native returned \(expected)"
                return
            }
            var timing = try Stopwatch.measure(rounds: options.rounds, roundNanoseconds: options.roundNanoseconds) { runs in
                Stopwatch.time(runs) { _ = try? runner.returnValue(forPacket: packet) }
            }
            timing.instructionsPerRun = first.instructionsExecuted
            report.engines["interpreter"] = timing
        } catch {
            report.skipped["interpreter"] = "\(error)"
        }
    }

    static func microseconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) / 1e12
    }

    /// Linux's JIT through BPF_PROG_TEST_RUN with `repeat`; the kernel's own per-run figure.
    private func measureLinux(_ built: BuiltWorkload, _ packet: [UInt8], expected: UInt32,
                              into report: inout WorkloadReport) {
        guard BPFSyscall.isAvailable else {
            report.skipped["linux"] = "bpf() is not available here"
            return
        }
        do {
            let collection = try KernelCollection(spec: built.spec)
            guard let program = try Self.loadWithTimeLimit(collection, built.workload.name, seconds: 20) else {
                report.skipped["linux"] = "Linux's verifier did not finish loading the program within 20 s"
                return
            }
            let first = try program.testRun(data: packet)
            guard first.returnValue == expected else {
                report.skipped["linux"] = "returned \(first.returnValue), native returned \(expected)"
                return
            }
            report.engines["linux"] = try Stopwatch.measure(rounds: options.rounds,
                                                            roundNanoseconds: options.roundNanoseconds) { runs throws(BenchmarkFailure) -> Double in
                do {
                    let result = try program.testRun(data: packet, repeatCount: UInt32(min(runs, Int(UInt32.max))))
                    return Double(result.durationNanoseconds)
                } catch {
                    throw BenchmarkFailure(description: "\(error)")
                }
            }
        } catch let error as KernelLoadError {
            report.skipped["linux"] = "Linux refused it: \(error.summary)"
        } catch {
            report.skipped["linux"] = "\(error)"
        }
    }
}

extension BenchmarkSuite {
    /// Loads a program into the kernel on another thread and waits at most `seconds`.
    /// Linux's verifier can spin on some programs for minutes and only a fatal signal
    /// stops it, so a load that overruns is abandoned (process exit ends it).
    static func loadWithTimeLimit(_ collection: KernelCollection, _ name: String,
                                  seconds: Int) throws(KernelLoadError) -> KernelProgram? {
        final class Outcome: @unchecked Sendable {
            // Written by the loading thread before it signals; read after the wait.
            var result: Result<KernelProgram, KernelLoadError>?
        }
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) let collection = collection
        Thread.detachNewThread {
            outcome.result = Result { () throws(KernelLoadError) -> KernelProgram in try collection.program(named: name) }
            done.signal()
        }
        guard done.wait(timeout: .now() + .seconds(seconds)) == .success else { return nil }
        return try outcome.result?.get()
    }
}

@inline(never)
func blackHole<T>(_ value: T) {
    withExtendedLifetime(value) {}
}

/// The machine the figures come from.
public enum MachineDescription {
    public static var cpuModel: String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            return line.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
        }
        return "unknown"
    }

    public static var cores: Int { ProcessInfo.processInfo.activeProcessorCount }

    public static var kernel: String {
        (try? String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown"
    }
}
