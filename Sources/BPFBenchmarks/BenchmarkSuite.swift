import BPFKit
import BPFToolchain
import Foundation
import Synchronization

/// What to run and for how long.
public struct BenchmarkOptions: Sendable {
    /// Workload names to run (see ``BenchmarkSuite/workloadNames``); nil runs all.
    public var workloads: Set<String>?
    public var quick: Bool
    /// Timed rounds after the warm-up; each figure is their median.
    public var rounds = 5
    public var roundNanoseconds = 2e8
    /// Wall time budget for repeating a verification or a load to take its median.
    public var repeatBudgetNanoseconds = 1e9
    /// Longest wait for Linux to load one program (its verifier can spin for minutes).
    public var linuxLoadSeconds = 20
    /// Seconds of each thread-scaling round.
    public var scalingRoundSeconds = 0.3
    /// Where the sample objects and verdicts.csv of the verifier workload are.
    public var samplesDirectory = "../shared/samples"

    public init(workloads: Set<String>? = nil, quick: Bool = false) {
        self.workloads = workloads
        self.quick = quick
        if quick {
            roundNanoseconds = 2e7
            repeatBudgetNanoseconds = 2e8
            linuxLoadSeconds = 5
            scalingRoundSeconds = 0.05
        }
    }

    func includes(_ name: String) -> Bool { workloads?.contains(name) ?? true }
}

/// Builds each workload, checks every engine returns the reference result (the
/// native twin's, or Linux's for map workloads), and times them side by side in
/// one process; then the map figures and the verifier's cost.
public struct BenchmarkSuite {
    public var options: BenchmarkOptions
    /// BPFKit's engines to time (the interpreter, and the JIT once it exists).
    public var engines: [ProgramEngine]

    public init(options: BenchmarkOptions, engines: [ProgramEngine] = ProgramEngine.all) {
        self.options = options
        self.engines = engines
    }

    /// Every name `--workload` accepts: the program workloads, then the `maps` and `verifier` groups.
    public static var workloadNames: [String] { ProgramWorkload.all.map(\.name) + ["maps", "verifier"] }

    public func run(progress: (String) -> Void = { _ in }) throws(BenchmarkFailure) -> BenchmarkResults {
        let clang: Clang
        do {
            clang = try Clang.locate()
        } catch {
            throw BenchmarkFailure(description: "\(error)")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bpfkit-bench-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }

        var results = BenchmarkResults()
        // The verifier group first, so that its peak-memory figure is not the other groups'.
        if options.includes("verifier") {
            progress("verifier")
            results.verifier = VerifierCost.measure(samplesDirectory: options.samplesDirectory)
        }
        for workload in ProgramWorkload.all where options.includes(workload.name) {
            progress(workload.name)
            let built = try BuiltWorkload(workload, clang: clang, directory: directory)
            let verification = try measureVerification(built)
            let loadMicroseconds = measureLoad(built, mode: verification.mode)
            for (label, packet) in workload.packets {
                var report = WorkloadReport(name: workload.name, input: label)
                report.verifyMicroseconds = verification.microseconds
                report.loadMicroseconds = loadMicroseconds
                if let refusal = verification.result.refusal {
                    report.notes["interpreter"] = "checked mode: BPFKit's verifier refused it: \(refusal.message)"
                }
                measure(built, packet, verification: verification, into: &report)
                if workload.name == "xdp_parse" && label == "64B" {
                    report.threadScaling = engines.compactMap { engine in
                        measureScaling(built, packet, engine: engine, verification: verification, into: &report)
                    }
                }
                results.workloads.append(report)
            }
        }
        if options.includes("maps") {
            progress("maps")
            results.maps = try MapFigures.measure(options: options, clang: clang, directory: directory)
        }
        return results
    }

    // MARK: Verification and loading

    struct Verification {
        var result: VerificationResult
        var microseconds: Double?
        var mode: ExecutionMode { result.isAccepted ? .trusted : .checked }
    }

    /// BPFKit's verifier on the program, repeated within the budget; the median time.
    func measureVerification(_ built: BuiltWorkload) throws(BenchmarkFailure) -> Verification {
        guard let program = built.spec.program(named: built.workload.name) else {
            throw BenchmarkFailure(description: "\(built.workload.name): the object has no program \(built.workload.name)")
        }
        let input = VerifierInput(program: program, maps: built.spec.maps)
        let verifier = Verifier(options: VerifierOptions())
        var result: VerificationResult?
        let microseconds = Self.medianMicroseconds(budget: options.repeatBudgetNanoseconds) {
            result = verifier.verify(input)
            return true
        }
        // The closure ran at least once.
        return Verification(result: result!, microseconds: microseconds)
    }

    /// ELF file → runnable: parse the object, create its maps, prepare the program
    /// and make a packet runner; repeated within the budget, the median time.
    func measureLoad(_ built: BuiltWorkload, mode: ExecutionMode) -> Double? {
        let path = built.objectPath, name = built.workload.name
        return Self.medianMicroseconds(budget: options.repeatBudgetNanoseconds) {
            guard let spec = try? ObjectSpec(contentsOf: path),
                  let object = try? LoadedObject(spec: spec, options: LoadOptions(mode: mode)),
                  let runner = try? PacketRunner(collection: object, program: name) else { return false }
            blackHole(runner)
            return true
        }
    }

    /// Times `body` up to five times, or fewer if the budget runs out; nil if it ever fails.
    static func medianMicroseconds(budget: Double, _ body: () -> Bool) -> Double? {
        var samples: [Double] = []
        let start = ContinuousClock.now
        while samples.count < 5 {
            let began = ContinuousClock.now
            guard body() else { return nil }
            samples.append(microseconds(since: began))
            if microseconds(since: start) * 1000 > budget { break }
        }
        samples.sort()
        return samples[samples.count / 2]
    }

    static func microseconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) / 1e12
    }

    // MARK: One workload on one input

    private func measure(_ built: BuiltWorkload, _ packet: [UInt8], verification: Verification,
                         into report: inout WorkloadReport) {
        let workload = built.workload
        // The reference: the native twin's result, or Linux's first run on fresh maps.
        var expected: UInt32? = built.nativeResult(packet)
        if expected != nil {
            do {
                report.engines["native"] = try measureNative(built, packet)
            } catch {
                report.skipped["native"] = error.description
            }
        }
        let linuxResult = measureLinux(built, packet, expected: expected, into: &report)
        if expected == nil { expected = linuxResult }

        // Instructions per run, counted by the interpreter on fresh maps.
        if let object = try? LoadedObject(spec: built.spec, options: LoadOptions(mode: verification.mode)),
           let runner = try? PacketRunner(collection: object, program: workload.name),
           let first = try? runner.returnValue(forPacket: packet) {
            report.instructionsPerRun = first.instructionsExecuted
        }

        for engine in engines {
            do {
                let object = try LoadedObject(spec: built.spec, options: LoadOptions(mode: verification.mode))
                let run = try engine.prepare(object, workload.name, verification.result)
                let first = UInt32(truncatingIfNeeded: try run(packet))
                if let expected, first != expected {
                    report.skipped[engine.name] = "returned \(first), \(workload.hasNativeTwin ? "native" : "Linux") returned \(expected)"
                    continue
                }
                if expected == nil { report.notes[engine.name, default: ""] += "unchecked: no reference result. " }
                let ring = object.map(named: "events") as? RingBufferMap
                var delivered = ring?.consume { _ in } ?? 0
                var submitted = Int(first)
                var timing = try Stopwatch.measure(rounds: options.rounds, roundNanoseconds: options.roundNanoseconds) { runs in
                    var total = 0.0
                    var remaining = runs
                    while remaining > 0 {
                        let batch = min(remaining, workload.runsBetweenDrains)
                        total += Stopwatch.time(batch) { _ = try? run(packet) } * Double(batch)
                        if let ring {
                            delivered += ring.consume { _ in }
                            submitted += batch * ProgramWorkload.eventsPerRun
                        }
                        remaining -= batch
                    }
                    return total / Double(runs)
                }
                timing.instructionsPerRun = report.instructionsPerRun
                report.engines[engine.name] = timing
                if ring != nil {
                    report.notes[engine.name, default: ""] += delivered == submitted
                        ? "drained \(delivered) events between batches, none lost."
                        : "LOST EVENTS: \(submitted) submitted, \(delivered) drained."
                }
            } catch {
                report.skipped[engine.name] = "\(error)"
            }
        }
    }

    private func measureNative(_ built: BuiltWorkload, _ packet: [UInt8]) throws(BenchmarkFailure) -> Timing {
        guard let entry = built.native else { throw BenchmarkFailure(description: "no native twin") }
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

    /// Linux's JIT through BPF_PROG_TEST_RUN with `repeat`: the kernel's own per-run
    /// figure. Returns Linux's first result (on fresh maps), or nil if it did not run.
    private func measureLinux(_ built: BuiltWorkload, _ packet: [UInt8], expected: UInt32?,
                              into report: inout WorkloadReport) -> UInt32? {
        guard BPFSyscall.isAvailable else {
            report.skipped["linux"] = "bpf() is not available here"
            return nil
        }
        let workload = built.workload
        do {
            let collection = try KernelCollection(spec: built.spec)
            guard let program = try Self.loadWithTimeLimit(collection, workload.name, seconds: options.linuxLoadSeconds) else {
                report.skipped["linux"] = "Linux's verifier did not finish loading the program within \(options.linuxLoadSeconds) s"
                return nil
            }
            var ring: LinuxRingBuffer?
            if workload.kind == .ringBuffer, let map = collection.maps["events"] {
                ring = try LinuxRingBuffer(descriptor: map.descriptor.rawValue, size: map.maxEntries)
            }
            let first = try program.testRun(data: packet)
            if let expected, first.returnValue != expected {
                report.skipped["linux"] = "returned \(first.returnValue), native returned \(expected)"
                return nil
            }
            var delivered = ring?.drain() ?? 0
            var submitted = Int(first.returnValue)
            report.engines["linux"] = try Stopwatch.measure(rounds: options.rounds,
                                                            roundNanoseconds: options.roundNanoseconds) { runs throws(BenchmarkFailure) -> Double in
                var total = 0.0
                var remaining = runs
                while remaining > 0 {
                    let batch = min(remaining, workload.runsBetweenDrains)
                    do {
                        let result = try program.testRun(data: packet, repeatCount: UInt32(min(batch, Int(UInt32.max))))
                        total += Double(result.durationNanoseconds) * Double(batch)
                    } catch {
                        throw BenchmarkFailure(description: "\(error)")
                    }
                    if let ring {
                        delivered += ring.drain()
                        submitted += batch * ProgramWorkload.eventsPerRun
                    }
                    remaining -= batch
                }
                return total / Double(runs)
            }
            if ring != nil {
                report.notes["linux"] = delivered == submitted
                    ? "drained \(delivered) events through mmap between test runs, none lost."
                    : "LOST EVENTS: \(submitted) submitted, \(delivered) drained."
            }
            return first.returnValue
        } catch let error as KernelLoadError {
            report.skipped["linux"] = "Linux refused it: \(error.summary)"
        } catch {
            report.skipped["linux"] = "\(error)"
        }
        return nil
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

/// Keeps a value alive and observable, so the optimiser cannot drop the work that made it.
@inline(never) @_optimize(none)
func blackHole<T>(_ value: T) {
    withExtendedLifetime(value) {}
}

private let sinkWord = Atomic<UInt64>(0)

/// Publishes an integer result through an atomic store, which the optimiser must keep
/// (so a loop computing it cannot be removed, even around functions it knows are pure).
@inline(never)
func blackHole(_ value: UInt64) {
    sinkWord.store(value, ordering: .relaxed)
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
