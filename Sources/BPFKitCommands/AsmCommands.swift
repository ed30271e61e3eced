import ArgumentParser
import BPFKit
import Foundation

/// `bpfkit asm FILE`: assembly text to raw little-endian instruction bytes.
struct AsmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "asm", abstract: "Assemble a program into raw 8-byte instructions.")

    @Argument(help: "Assembly text (.s, .asm) or a conformance .data file.")
    var file: String

    @Option(name: .shortAndLong, help: "Write the bytes to this file instead of standard output.")
    var output: String?

    func run() throws {
        let input: ProgramInput
        do {
            input = try ProgramInput.load(path: file)
        } catch {
            FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
            throw ExitCode(2)
        }
        let bytes = Data(Instruction.encodeSlots(input.instructions))
        if let output {
            guard FileManager.default.createFile(atPath: output, contents: bytes) else {
                FileHandle.standardError.write(Data("error: cannot write \(output)\n".utf8))
                throw ExitCode(2)
            }
        } else {
            FileHandle.standardOutput.write(bytes)
        }
    }
}

/// `bpfkit disasm FILE`: instructions to text, in either syntax.
struct DisasmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "disasm", abstract: "Disassemble a program (.bin, .s/.asm or .data).")

    @Argument(help: "The program.")
    var file: String

    @Option(help: "conformance (reassembles to the same bytes) or c (llvm-objdump / verifier style).")
    var syntax: AssemblySyntax = .conformance

    func run() throws {
        do {
            let input = try ProgramInput.load(path: file)
            let decoded: [DecodedInstruction]
            do {
                decoded = try ProgramDecoder.decode(input.instructions)
            } catch {
                throw ProgramInput.Failure(description: "\(file): \(error.description)")
            }
            print(Disassembler.listing(decoded, syntax: syntax), terminator: "")
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(2)
        }
    }
}

extension AssemblySyntax: ExpressibleByArgument {}
