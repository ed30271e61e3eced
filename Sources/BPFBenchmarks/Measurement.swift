import BPFKit

/// Median and spread of nanoseconds per run over several rounds.
public struct Timing: Sendable {
    public var median: Double
    public var min: Double
    public var max: Double
    /// BPF instructions executed in one run, where the engine counts them.
    public var instructionsPerRun: UInt64?

    public var nanosecondsPerInstruction: Double? {
        instructionsPerRun.map { $0 == 0 ? 0 : median / Double($0) }
    }
}

/// Why a workload could not be measured.
public struct BenchmarkFailure: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}

/// Rounds of calibrated batches: `batch(n)` runs the workload n times and returns
/// the nanoseconds one run took on average.
public enum Stopwatch {
    public static func measure(rounds: Int, roundNanoseconds: Double,
                               batch: (Int) throws(BenchmarkFailure) -> Double) throws(BenchmarkFailure) -> Timing {
        let runs = try calibrate(roundNanoseconds: roundNanoseconds, batch: batch)
        var samples: [Double] = []
        for _ in 0..<Swift.max(rounds, 1) { samples.append(try batch(runs)) }
        return timing(samples)
    }

    /// As ``measure(rounds:roundNanoseconds:batch:)`` for several workloads at once:
    /// each is warmed up and calibrated, then round i of every one runs before round
    /// i + 1 of any, so a burst of outside load lands on all of them alike.
    public static func measureInterleaved(rounds: Int, roundNanoseconds: Double,
                                          batches: [(Int) throws(BenchmarkFailure) -> Double]) -> [Result<Timing, BenchmarkFailure>] {
        var runs: [Result<Int, BenchmarkFailure>] = batches.map { batch in
            Result { () throws(BenchmarkFailure) -> Int in try calibrate(roundNanoseconds: roundNanoseconds, batch: batch) }
        }
        var samples = [[Double]](repeating: [], count: batches.count)
        for _ in 0..<Swift.max(rounds, 1) {
            for (index, batch) in batches.enumerated() {
                guard case .success(let count) = runs[index] else { continue }
                do {
                    samples[index].append(try batch(count))
                } catch {
                    runs[index] = .failure(error)
                }
            }
        }
        return runs.indices.map { index in runs[index].map { _ in timing(samples[index]) } }
    }

    /// Warms up, then finds how many runs fill about `roundNanoseconds`.
    static func calibrate(roundNanoseconds: Double, batch: (Int) throws(BenchmarkFailure) -> Double) throws(BenchmarkFailure) -> Int {
        _ = try batch(1)  // warm-up
        var runs = 1
        while true {
            let perRun = try batch(runs)
            if perRun * Double(runs) >= roundNanoseconds / 10 || runs >= 1 << 26 {
                return Swift.max(1, Int(roundNanoseconds / Swift.max(perRun, 0.01)))
            }
            runs *= 4
        }
    }

    static func timing(_ samples: [Double]) -> Timing {
        let sorted = samples.sorted()
        return Timing(median: sorted[sorted.count / 2], min: sorted.first!, max: sorted.last!)
    }

    /// Wall-clock nanoseconds per run of `body` repeated `runs` times.
    @inline(never)
    public static func time(_ runs: Int, _ body: () -> Void) -> Double {
        let start = ContinuousClock.now
        for _ in 0..<runs { body() }
        let elapsed = ContinuousClock.now - start
        let nanoseconds = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
        return nanoseconds / Double(runs)
    }
}

/// Times an assembly workload on the interpreter (the instruction-level figure).
public enum InterpreterBenchmark {
    public static func measure(_ workload: Workload, mode: ExecutionMode, rounds: Int = 7,
                               roundNanoseconds: Double = 2e8) throws(BenchmarkFailure) -> Timing {
        let program: ExecutableProgram
        do {
            program = try ExecutableProgram(slots: try Assembler.assemble(workload.assembly), name: workload.name)
        } catch {
            throw BenchmarkFailure(description: "\(workload.name): \(error)")
        }
        let interpreter = Interpreter(program: program, mode: mode)
        var memory = workload.memory
        let outcome = memory.withUnsafeMutableBytes { buffer -> Result<Timing, BenchmarkFailure> in
            let first: ExecutionResult
            do {
                first = try interpreter.run(memory: buffer)
            } catch {
                return .failure(BenchmarkFailure(description: "\(workload.name): \(error)"))
            }
            guard first.returnValue == workload.expectedResult else {
                return .failure(BenchmarkFailure(description: "\(workload.name): returned 0x\(hex(first.returnValue)), expected 0x\(hex(workload.expectedResult))"))
            }
            return Result { () throws(BenchmarkFailure) -> Timing in
                var timing = try Stopwatch.measure(rounds: rounds, roundNanoseconds: roundNanoseconds) { runs in
                    Stopwatch.time(runs) { _ = try? interpreter.run(memory: buffer) }
                }
                timing.instructionsPerRun = first.instructionsExecuted
                return timing
            }
        }
        return try outcome.get()
    }
}
