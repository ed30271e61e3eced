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

    @Flag(help: "Also compile the program with the JIT and show the x86-64 code of each instruction.")
    var jit = false

    @Option(help: "With --jit: trusted or checked code.")
    var mode: ConformanceMode = .trusted

    func run() throws {
        do {
            let input = try ProgramInput.load(path: file)
            let decoded: [DecodedInstruction]
            do {
                decoded = try ProgramDecoder.decode(input.instructions)
            } catch {
                throw ProgramInput.Failure(description: "\(file): \(error.description)")
            }
            if jit {
                print(try JITListing.text(of: decoded, syntax: syntax, mode: mode.executionMode, file: file), terminator: "")
                return
            }
            print(Disassembler.listing(decoded, syntax: syntax), terminator: "")
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(2)
        }
    }
}

extension AssemblySyntax: ExpressibleByArgument {}

/// `disasm --jit`: each BPF instruction followed by its machine code, with mnemonics from
/// objdump when it is installed (bytes only otherwise).
enum JITListing {
    static func text(of decoded: [DecodedInstruction], syntax: AssemblySyntax, mode: ExecutionMode,
                     file: String) throws -> String {
        // Helpers and map references get placeholders: only the code's shape matters here.
        var helpers = HelperRegistry()
        for instruction in decoded where instruction.operation == .callHelper {
            helpers.register(Helper(id: instruction.immediate, name: "helper \(instruction.immediate)") { _, _ in 0 })
        }
        let compiled: JITProgram
        do {
            let program = try ExecutableProgram(decoded, helpers: helpers, name: file) { _ throws(LoadError) in 0 }
            compiled = try JITCompiler().compile(program, mode: mode)
        } catch {
            throw ProgramInput.Failure(description: "\(file): \(error)")
        }
        let code = compiled.machineCode
        let mnemonics = objdump(code)
        var lines: [String] = []
        func dump(_ range: Range<Int>) {
            var offset = range.lowerBound
            while offset < range.upperBound {
                if let (length, text) = mnemonics[offset], offset + length <= range.upperBound {
                    let bytes = code[offset..<offset + length].map { hex(UInt64($0), width: 2) }.joined(separator: " ")
                    lines.append("    \(hex(UInt64(offset), width: 4)): \(bytes.padding(toLength: max(bytes.count, 30), withPad: " ", startingAt: 0)) \(text)")
                    offset += length
                } else {
                    let end = min(range.upperBound, offset + 16)
                    let bytes = code[offset..<end].map { hex(UInt64($0), width: 2) }.joined(separator: " ")
                    lines.append("    \(hex(UInt64(offset), width: 4)): \(bytes)")
                    offset = end
                }
            }
        }
        let ranges = compiled.instructionCode
        let bodyStart = ranges.map(\.code).filter { !$0.isEmpty }.map(\.lowerBound).min() ?? code.count
        let bodyEnd = ranges.map(\.code.upperBound).max() ?? code.count
        lines.append("; host entry")
        dump(0..<bodyStart)
        for (instruction, (_, range)) in zip(decoded, ranges) {
            lines.append("\(instruction.index): \(Disassembler.text(of: instruction, syntax: syntax))")
            dump(range)
        }
        lines.append("; end of program, out-of-line paths and shared stubs")
        dump(bodyEnd..<code.count)
        return lines.joined(separator: "\n") + "\n"
    }

    /// Offset -> (length, mnemonic) from `objdump -D -b binary -m i386:x86-64 -M intel`.
    static func objdump(_ code: [UInt8]) -> [Int: (Int, String)] {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bpfkit-jit-\(getpid()).bin").path
        guard FileManager.default.createFile(atPath: path, contents: Data(code)) else { return [:] }
        defer { try? FileManager.default.removeItem(atPath: path) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["objdump", "-D", "-b", "binary", "-m", "i386:x86-64", "-M", "intel", "--insn-width=16", path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return [:] }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        var result: [Int: (Int, String)] = [:]
        for line in output.split(separator: "\n") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count >= 3, let offset = Int(fields[0].trimmingCharacters(in: .whitespaces).dropLast(), radix: 16)
            else { continue }
            let length = fields[1].split(separator: " ").count
            result[offset] = (length, fields[2...].joined(separator: " ").replacingOccurrences(of: "  ", with: " "))
        }
        return result
    }
}
