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
    /// BPFKit's verifier on the program (median of a few runs).
    public var verifyMicroseconds: Double?
    /// ELF file → runnable: parse the object, create and fill maps, prepare the program, make a runner.
    public var loadMicroseconds: Double?
    /// The program's instruction count for this input (BPFKit's interpreter counts them).
    public var instructionsPerRun: UInt64?
    /// XDP packets per second over several threads sharing one loaded object.
    public var threadScaling: [ThreadScaling]?

    public init(name: String, input: String) {
        self.name = name
        self.input = input
    }

    /// `engine/native` and `engine/linux` for every measured engine: how many times slower.
    public var ratios: [(name: String, value: Double)] {
        var result: [(String, Double)] = []
        for reference in ["native", "linux"] {
            guard let base = engines[reference]?.median, base > 0 else { continue }
            for engine in BenchmarkEngine.tableOrder where engine != reference {
                if let timing = engines[engine] { result.append(("\(engine)/\(reference)", timing.median / base)) }
            }
        }
        return result
    }
}

/// Packets per second of one program over 1, 2, … threads, each with its own
/// ``PacketRunner`` on the same loaded object.
public struct ThreadScaling: Sendable {
    public var engine: String
    /// Threads → total packets per second (median of the rounds).
    public var packetsPerSecond: [(threads: Int, value: Double)]

    /// Packets per second on the most threads over packets per second on one.
    public var scaling: Double? {
        guard let one = packetsPerSecond.first(where: { $0.threads == 1 })?.value, one > 0,
              let most = packetsPerSecond.max(by: { $0.threads < $1.threads }), most.threads > 1 else { return nil }
        return most.value / one
    }
}

/// Everything one `bpfkit bench` produced.
public struct BenchmarkResults: Sendable {
    public var workloads: [WorkloadReport] = []
    public var maps: MapFigures?
    public var verifier: VerifierCost?

    public init() {}
}
