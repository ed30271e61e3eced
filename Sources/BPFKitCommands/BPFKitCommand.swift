/// BPFKitCommands: the `bpfkit` subcommands. This target only wires the library
/// to the command line; no BPF logic lives here.
import ArgumentParser
import BPFKit

public struct BPFKitCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "bpfkit",
        abstract: "Build, inspect, verify, run, assemble and disassemble eBPF programs in user space.",
        subcommands: [RunCommand.self, VerifyCommand.self, BuildCommand.self, InspectCommand.self, AsmCommand.self, DisasmCommand.self, ConformanceCommand.self, BenchCommand.self]
    )
    public init() {}
}
