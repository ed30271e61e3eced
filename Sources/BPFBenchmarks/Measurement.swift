import BPFKit

/// Median and spread of nanoseconds per run over several rounds.
public struct Timing: Sendable {
    public var median: Double
    public var min: Double
    public var max: Double
    /// Instructions executed in one run.
    public var instructionsPerRun: UInt64

    public var nanosecondsPerInstruction: Double {
        instructionsPerRun == 0 ? 0 : median / Double(instructionsPerRun)
    }
}

/// Why a workload could not be measured.
public struct BenchmarkFailure: Error, CustomStringConvertible {
    public var description: String
}

/// Times a workload on the interpreter.
public enum InterpreterBenchmark {
    /// Runs `rounds` timed rounds after a warm-up; each round lasts about `roundNanoseconds`.
    public static func measure(_ workload: Workload, mode: ExecutionMode, rounds: Int = 7,
                               roundNanoseconds: UInt64 = 200_000_000) throws(BenchmarkFailure) -> Timing {
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
            // Calibrate the number of runs per round from one timed batch.
            var runs = 1
            while true {
                let elapsed = time(runs) { _ = try? interpreter.run(memory: buffer) }
                if elapsed > roundNanoseconds / 10 || runs > 1 << 24 {
                    runs = max(1, Int(Double(runs) * Double(roundNanoseconds) / Double(max(elapsed, 1))))
                    break
                }
                runs *= 4
            }
            var perRun: [Double] = []
            for _ in 0..<rounds {
                let elapsed = time(runs) { _ = try? interpreter.run(memory: buffer) }
                perRun.append(Double(elapsed) / Double(runs))
            }
            perRun.sort()
            return .success(Timing(median: perRun[perRun.count / 2], min: perRun.first!, max: perRun.last!,
                                   instructionsPerRun: first.instructionsExecuted))
        }
        return try outcome.get()
    }

    @inline(never)
    static func time(_ runs: Int, _ body: () -> Void) -> UInt64 {
        let start = ContinuousClock.now
        for _ in 0..<runs { body() }
        let duration = ContinuousClock.now - start
        return UInt64(duration.components.seconds) * 1_000_000_000 + UInt64(duration.components.attoseconds / 1_000_000_000)
    }
}
