import ArgumentParser
import BPFKit
import Foundation

/// `bpfkit conformance PATH...`: runs conformance `.data` files and counts the results.
struct ConformanceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conformance",
        abstract: "Run every .data file in the given folders and files.",
        discussion: "Ends with the line 'N passed, N failed' (', N skipped' when any); exits non-zero on any failure."
    )

    @Argument(help: "Folders and .data files.")
    var paths: [String]

    @Flag(name: .shortAndLong, help: "Also list the tests that pass.")
    var verbose = false

    @Option(help: "The engine that runs the programs: interpreter or jit.")
    var engine: ConformanceEngine = .interpreter

    @Option(help: "checked (every access tested) or trusted.")
    var mode: ConformanceMode = .checked

    func run() throws {
        let files: [String]
        do {
            files = try ConformanceRunner.dataFiles(in: paths)
        } catch {
            FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
            throw ExitCode(2)
        }
        let runner = switch engine {
        case .interpreter: ConformanceRunner(mode: mode.executionMode)
        case .jit:
            ConformanceRunner(mode: mode.executionMode) { program, mode, budget in
                try JITCompiler(JITOptions(instructionBudget: budget)).compile(program, mode: mode)
            }
        }
        var passed = 0, failed = 0, skipped = 0
        for file in files {
            let outcome = runner.run(file: file)
            switch outcome.status {
            case .passed:
                passed += 1
                if verbose { print("PASS \(outcome.name)") }
            case .failed(let reason):
                failed += 1
                print("FAIL \(outcome.name): \(reason)")
            case .skipped(let reason):
                skipped += 1
                print("SKIP \(outcome.name): \(reason)")
            }
        }
        print("\(passed) passed, \(failed) failed" + (skipped > 0 ? ", \(skipped) skipped" : ""))
        if failed > 0 { throw ExitCode(1) }
    }
}

/// The engines `bpfkit conformance --engine` can run programs on.
enum ConformanceEngine: String, ExpressibleByArgument, CaseIterable {
    case interpreter, jit
}

/// `--mode` of `bpfkit conformance`.
enum ConformanceMode: String, ExpressibleByArgument, CaseIterable {
    case checked, trusted
    var executionMode: ExecutionMode { self == .checked ? .checked : .trusted }
}
