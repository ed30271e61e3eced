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
    public var engines: [BenchmarkEngine]

    public init(options: BenchmarkOptions, engines: [BenchmarkEngine] = BenchmarkEngine.all) {
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
        let input = VerifierInput(program: program, object: built.spec)
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
                  let object = try? LoadedObject(spec: spec, options: LoadOptions(mode: mode, verifies: mode == .trusted)),
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

    /// An engine ready to be timed: `batch(n)` runs the workload n times and returns
    /// nanoseconds per run; `finish` adds what it has to say once the rounds are over.
    struct TimedEngine {
        var name: String
        var batch: (Int) throws(BenchmarkFailure) -> Double
        var finish: (inout WorkloadReport) -> Void = { _ in }
    }

    /// Counts ring-buffer events submitted by timed runs and drained between batches.
    final class EventCount {
        var submitted = 0
        var drained = 0
        func note(_ how: String) -> String {
            drained == submitted ? "drained \(drained) events \(how), none lost."
                : "LOST EVENTS: \(submitted) submitted, \(drained) drained."
        }
    }

    /// Sets every engine up and checks its first result against the reference (the
    /// native twin's, or Linux's first run on fresh maps), then times them all with
    /// interleaved rounds, so that a burst of load on this shared machine falls on
    /// every engine alike rather than on whichever ran at that moment.
    private func measure(_ built: BuiltWorkload, _ packet: [UInt8], verification: Verification,
                         into report: inout WorkloadReport) {
        let workload = built.workload
        var timed: [TimedEngine] = []
        var expected: UInt32? = built.nativeResult(packet)
        // The native twin reads a private copy of the packet, alive until the rounds end.
        let nativePacket = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(packet.count, 1))
        defer { nativePacket.deallocate() }
        _ = nativePacket.initialize(from: packet)
        if let entry = built.native {
            let start = UnsafePointer(nativePacket.baseAddress), end = start.map { $0 + packet.count }
            timed.append(TimedEngine(name: "native") { runs in
                var sink: UInt32 = 0
                let perRun = Stopwatch.time(runs) { sink &+= entry(start, end) }
                blackHole(UInt64(sink))
                return perRun
            })
        }
        if let linux = prepareLinux(built, packet, expected: expected, into: &report) {
            timed.append(linux.engine)
            if expected == nil { expected = linux.firstResult }
        }

        // Instructions per run, counted by the interpreter on fresh maps.
        if let object = try? LoadedObject(spec: built.spec, options: BenchmarkEngine.interpreter.loadOptions(verification.result)),
           let runner = try? PacketRunner(collection: object, program: workload.name),
           let first = try? runner.returnValue(forPacket: packet) {
            report.instructionsPerRun = first.instructionsExecuted
        }

        for engine in engines {
            do {
                let object = try LoadedObject(spec: built.spec, options: engine.loadOptions(verification.result))
                let run = try engine.prepare(object, workload.name, verification.result)
                let first = UInt32(truncatingIfNeeded: try run(packet))
                if let expected, first != expected {
                    report.skipped[engine.name] = "returned \(first), \(workload.hasNativeTwin ? "native" : "Linux") returned \(expected)"
                    continue
                }
                if expected == nil { report.notes[engine.name, default: ""] += "unchecked: no reference result. " }
                let ring = object.map(named: "events") as? RingBufferMap
                let events = EventCount()
                events.submitted = Int(first)
                events.drained = ring?.consume { _ in } ?? 0
                let limit = workload.runsBetweenDrains
                timed.append(TimedEngine(name: engine.name, batch: { runs in
                    var total = 0.0
                    var remaining = runs
                    while remaining > 0 {
                        let batch = min(remaining, limit)
                        total += Stopwatch.time(batch) { _ = try? run(packet) } * Double(batch)
                        if let ring {
                            events.drained += ring.consume { _ in }
                            events.submitted += batch * ProgramWorkload.eventsPerRun
                        }
                        remaining -= batch
                    }
                    return total / Double(runs)
                }, finish: { report in
                    if ring != nil { report.notes[engine.name, default: ""] += events.note("between batches") }
                }))
            } catch {
                report.skipped[engine.name] = "\(error)"
            }
        }

        let results = Stopwatch.measureInterleaved(rounds: options.rounds, roundNanoseconds: options.roundNanoseconds,
                                                   batches: timed.map(\.batch))
        for (engine, result) in zip(timed, results) {
            switch result {
            case .success(var timing):
                if engine.name != "native" && engine.name != "linux" { timing.instructionsPerRun = report.instructionsPerRun }
                report.engines[engine.name] = timing
                engine.finish(&report)
            case .failure(let failure):
                report.skipped[engine.name] = failure.description
            }
        }
    }

    /// Linux's JIT through BPF_PROG_TEST_RUN with `repeat`: the batch is the kernel's
    /// own per-run figure. Loads the program (with the time guard), checks its first
    /// result on fresh maps; nil (with the reason in `skipped`) if it cannot run.
    private func prepareLinux(_ built: BuiltWorkload, _ packet: [UInt8], expected: UInt32?,
                              into report: inout WorkloadReport) -> (engine: TimedEngine, firstResult: UInt32)? {
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
            let events = EventCount()
            events.submitted = Int(first.returnValue)
            events.drained = ring?.drain() ?? 0
            let limit = workload.runsBetweenDrains
            let engine = TimedEngine(name: "linux", batch: { runs throws(BenchmarkFailure) -> Double in
                // The collection owns the maps the program uses; keep it with the program.
                withExtendedLifetime(collection) {}
                var total = 0.0
                var remaining = runs
                while remaining > 0 {
                    let batch = min(remaining, limit)
                    do {
                        let result = try program.testRun(data: packet, repeatCount: UInt32(min(batch, Int(UInt32.max))))
                        total += Double(result.durationNanoseconds) * Double(batch)
                    } catch {
                        throw BenchmarkFailure(description: "\(error)")
                    }
                    if let ring {
                        events.drained += ring.drain()
                        events.submitted += batch * ProgramWorkload.eventsPerRun
                    }
                    remaining -= batch
                }
                return total / Double(runs)
            }, finish: { report in
                if ring != nil { report.notes["linux"] = events.note("through mmap between test runs") }
            })
            return (engine, first.returnValue)
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
