import BPFAssembler
import BPFInstructionSet
import BPFJIT
import BPFRuntime
import Testing

/// Every ALU operation with every destination and source register (x86 division needs rax
/// and rdx, shifts need cl: r0, r3 and r4 are the awkward ones) and edge values, on both engines.
@Suite struct RegisterPairTests {
    static let values: [UInt64] = [
        0, 1, 2, 3, 31, 32, 63, 64, 0xffff_ffff, 0x8000_0000, 0x7fff_ffff_ffff_ffff, 0x8000_0000_0000_0000,
        UInt64.max, UInt64.max - 1, 0x1234_5678_9abc_def0, 0xffff_ffff_0000_0001, 0x0000_0001_0000_0000,
    ]
    static let mnemonics = ["add", "sub", "mul", "div", "sdiv", "or", "and", "lsh", "rsh", "mod", "smod", "xor", "mov", "arsh"]

    @Test(arguments: ["", "32"])
    func everyOperationWithEveryRegisterPair(width: String) throws {
        var failures: [String] = []
        var counter = 0
        for mnemonic in Self.mnemonics {
            for dst in 0...9 {
                for src in 0...9 {
                    counter += 1
                    let a = Self.values[counter % Self.values.count]
                    let b = Self.values[(counter * 7 + 3) % Self.values.count]
                    // The other registers hold distinct values, so clobbering one shows.
                    var lines = (0...9).map { "lddw %r\($0), \(0x1111_1111_1111_1111 &* UInt64($0 + 1))" }
                    lines.append("lddw %r\(src), \(b)")
                    lines.append("lddw %r\(dst), \(a)")
                    lines.append("\(mnemonic)\(width) %r\(dst), %r\(src)")
                    lines.append(Self.fold)
                    if let failure = try compare(lines.joined(separator: "\n")) { failures.append(failure) }
                }
                let imm = Int32(truncatingIfNeeded: Self.values[(counter + dst) % Self.values.count])
                var lines = (0...9).map { "lddw %r\($0), \(0x1111_1111_1111_1111 &* UInt64($0 + 1))" }
                lines.append("lddw %r\(dst), \(Self.values[counter % Self.values.count])")
                lines.append("\(mnemonic)\(width) %r\(dst), \(imm)")
                lines.append(Self.fold)
                if let failure = try compare(lines.joined(separator: "\n")) { failures.append(failure) }
            }
        }
        #expect(failures.isEmpty, "\(failures.prefix(5).joined(separator: "\n\n"))")
    }

    static let jumps = ["jeq", "jne", "jgt", "jge", "jlt", "jle", "jsgt", "jsge", "jslt", "jsle", "jset"]

    @Test(arguments: ["", "32"])
    func everyConditionalJumpWithEveryRegisterPair(width: String) throws {
        var failures: [String] = []
        var counter = 0
        for mnemonic in Self.jumps {
            for dst in 0...9 {
                for src in 0...10 {
                    counter += 1
                    let a = Self.values[counter % Self.values.count]
                    let b = Self.values[(counter * 5 + 1) % Self.values.count]
                    let operand = src == 10
                        ? "\(Int32(truncatingIfNeeded: b))"
                        : "%r\(src)"
                    var lines: [String] = []
                    if src < 10 { lines.append("lddw %r\(src), \(b)") }
                    lines.append("lddw %r\(dst), \(a)")
                    lines += ["\(mnemonic)\(width) %r\(dst), \(operand), +2", "mov %r0, 1", "exit", "mov %r0, 2", "exit"]
                    if let failure = try compare(lines.joined(separator: "\n")) { failures.append(failure) }
                }
            }
        }
        #expect(failures.isEmpty, "\(failures.prefix(5).joined(separator: "\n\n"))")
    }

    /// Folds r0-r9 into r0 through the stack.
    static let fold = (0...9).map { "stxdw [%r10-\(8 * ($0 + 1))], %r\($0)" }.joined(separator: "\n")
        + "\nmov %r0, 0\n"
        + (1...10).map { "ldxdw %r1, [%r10-\(8 * $0)]\nmul %r0, 31\nxor %r0, %r1" }.joined(separator: "\n")
        + "\nexit"

    func compare(_ source: String) throws -> String? {
        let program = try executable(source)
        // ALU code is the same in both modes; trusted keeps the test short.
        for mode in [ExecutionMode.trusted] {
            let native = outcome(of: try JITCompiler().compile(program, mode: mode)).result
            let interpreted = outcome(of: Interpreter(program: program, mode: mode)).result
            if !sameOutcome(native, interpreted) {
                return "\(mode): JIT \(native), interpreter \(interpreted)\n" + source
            }
        }
        return nil
    }
}
