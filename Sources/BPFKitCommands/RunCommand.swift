import ArgumentParser
import BPFKit
import Foundation

/// `bpfkit run FILE`: loads a program and runs it once, printing r0.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a program (.data, .s/.asm or .bin) once and print r0.",
        discussion: """
            The memory given with --mem-hex or --mem (or a .data file's '-- mem' section) is \
            passed in r1 with its length in r2. Programs run in checked mode: every load and store \
            is checked and a bad one stops the program with an error naming the instruction.
            With --json, one line: {"accepted": true, "error": null, "r0": "0x…", "instructionsExecuted": N}.
            """
    )

    @Argument(help: "The program: a conformance .data file, assembly (.s, .asm) or raw instructions (.bin).")
    var file: String

    @Option(name: .customLong("mem-hex"), help: "Memory for the program, as hex bytes.")
    var memoryHex: String?

    @Option(name: .customLong("mem"), help: "Memory for the program, read from a file.")
    var memoryPath: String?

    @Option(help: "Stop the program after this many instructions.")
    var budget: UInt64 = Interpreter.defaultInstructionBudget

    @Flag(help: "Print one JSON object on one line.")
    var json = false

    func validate() throws {
        if memoryHex != nil && memoryPath != nil {
            throw ValidationError("give the memory either with --mem-hex or with --mem, not both")
        }
    }

    func run() throws {
        let program: ExecutableProgram
        var memory: [UInt8]
        do {
            let input = try ProgramInput.load(path: file)
            if let memoryHex {
                memory = try ProgramInput.parseHex(memoryHex)
            } else if let memoryPath {
                memory = try ProgramInput.readFile(memoryPath)
            } else {
                memory = input.memory ?? []
            }
            do {
                program = try ExecutableProgram(slots: input.instructions, helpers: ConformanceRunner.helpers,
                                                name: input.name)
            } catch {
                throw ProgramInput.Failure(description: "\(file): \(error.description)")
            }
        } catch {
            report(.object([("accepted", .bool(false)), ("error", .string("\(error)"))]),
                   plain: "error: \(error)")
            throw ExitCode(2)
        }

        let interpreter = Interpreter(program: program, mode: .checked, instructionBudget: budget)
        let result = memory.withUnsafeMutableBytes { buffer in
            Result { () throws(ExecutionError) -> ExecutionResult in try interpreter.run(memory: buffer) }
        }
        switch result {
        case .success(let outcome):
            let r0 = "0x" + hex(outcome.returnValue, width: 16)
            report(.object([("accepted", .bool(true)), ("error", .null), ("r0", .string(r0)),
                            ("instructionsExecuted", .unsigned(outcome.instructionsExecuted))]),
                   plain: r0)
        case .failure(let error):
            report(.object([("accepted", .bool(true)), ("error", .string("\(error)")), ("r0", .null)]),
                   plain: "error: \(error)")
            throw ExitCode(1)
        }
    }

    private func report(_ value: JSON, plain: String) {
        if json {
            print(value.text)
        } else if plain.hasPrefix("error: ") {
            FileHandle.standardError.write(Data((plain + "\n").utf8))
        } else {
            print(plain)
        }
    }
}
