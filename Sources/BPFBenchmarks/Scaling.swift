import BPFKit
import Foundation
import Synchronization

extension BenchmarkSuite {
    /// Thread counts of the packets-per-second figure.
    static let scalingThreadCounts = [1, 2]

    /// Packets per second of `engine` on 1 and 2 threads, each thread with its own
    /// prepared runner (for the interpreter its own ``PacketRunner``) over one
    /// shared ``LoadedObject``; nil (with the reason in `skipped`) if it cannot run.
    func measureScaling(_ built: BuiltWorkload, _ packet: [UInt8], engine: BenchmarkEngine,
                        verification: Verification, into report: inout WorkloadReport) -> ThreadScaling? {
        let object: LoadedObject
        do {
            object = try LoadedObject(spec: built.spec, options: engine.loadOptions(verification.result))
        } catch {
            report.skipped["\(engine.name) threads"] = "\(error)"
            return nil
        }
        var figures: [(threads: Int, value: Double)] = []
        for threads in Self.scalingThreadCounts {
            var runs: [BenchmarkEngine.Run] = []
            do {
                for _ in 0..<threads { runs.append(try engine.prepare(object, built.workload.name, verification.result)) }
            } catch {
                report.skipped["\(engine.name) threads"] = "\(error)"
                return nil
            }
            var rounds: [Double] = []
            for _ in 0..<3 {
                rounds.append(Self.packetsPerSecond(runs, packet, seconds: options.scalingRoundSeconds))
            }
            rounds.sort()
            figures.append((threads, rounds[rounds.count / 2]))
        }
        return ThreadScaling(engine: engine.name, packetsPerSecond: figures)
    }

    /// Runs every `run` on its own thread for about `seconds`, all starting together;
    /// the sum of each thread's packets over its own elapsed time.
    static func packetsPerSecond(_ runs: [BenchmarkEngine.Run], _ packet: [UInt8], seconds: Double) -> Double {
        final class Slots: @unchecked Sendable {
            // Slot i is written only by thread i, before it signals `done`; read after all
            // signalled. Separate raw slots, so no thread touches another's memory.
            let rates: UnsafeMutableBufferPointer<Double>
            init(_ count: Int) {
                rates = .allocate(capacity: count)
                rates.initialize(repeating: 0)
            }
            deinit { rates.deallocate() }
        }
        let slots = Slots(runs.count)
        let ready = DispatchSemaphore(value: 0)
        let start = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        let limit = Duration.nanoseconds(Int64(seconds * 1e9))
        for (index, run) in runs.enumerated() {
            // Each run function is used by this thread only.
            nonisolated(unsafe) let run = run
            Thread.detachNewThread {
                ready.signal()
                start.wait()
                let began = ContinuousClock.now
                var packets = 0
                var elapsed = Duration.zero
                repeat {
                    for _ in 0..<64 { _ = try? run(packet) }
                    packets += 64
                    elapsed = ContinuousClock.now - began
                } while elapsed < limit
                let nanoseconds = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
                slots.rates[index] = Double(packets) / nanoseconds * 1e9
                done.signal()
            }
        }
        for _ in runs { ready.wait() }
        for _ in runs { start.signal() }
        for _ in runs { done.wait() }
        return slots.rates.reduce(0, +)
    }
}
