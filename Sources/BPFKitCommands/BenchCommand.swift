import ArgumentParser
import BPFBenchmarks
import BPFKit
import Foundation

/// `bpfkit bench`: measures the engines on the benchmark workloads.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Measure the interpreter on the benchmark workloads.")

    @Option(help: "Run only this workload.")
    var workload: String?

    @Flag(help: "Shorter rounds, for a quick look.")
    var quick = false

    func run() throws {
        let selected = Workload.all.filter { workload == nil || $0.name == workload }
        guard !selected.isEmpty else {
            throw ValidationError("no workload named '\(workload ?? "")'; known: \(Workload.all.map(\.name).joined(separator: ", "))")
        }
        let roundNanoseconds: UInt64 = quick ? 50_000_000 : 300_000_000
        print(pad("workload", 10) + pad("engine", 22) + pad("ns/run", 14) + pad("min", 12) + pad("max", 12) + "ns/insn")
        for workload in selected {
            for mode in [ExecutionMode.trusted, .checked] {
                let timing = try InterpreterBenchmark.measure(workload, mode: mode, roundNanoseconds: roundNanoseconds)
                print(pad(workload.name, 10) + pad("interpreter (\(mode.rawValue))", 22)
                      + pad(format(timing.median), 14) + pad(format(timing.min), 12) + pad(format(timing.max), 12)
                      + format(timing.nanosecondsPerInstruction, digits: 3))
            }
        }
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }

    private func format(_ value: Double, digits: Int = 1) -> String {
        String(format: "%.\(digits)f", value)
    }
}
