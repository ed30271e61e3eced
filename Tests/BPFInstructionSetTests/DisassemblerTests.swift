import BPFInstructionSet
import Testing

// Expected C-syntax texts follow llvm-objdump / the Linux verifier log (print_bpf_insn),
// written down from those formats, not from this disassembler's output.

private func ins(_ opcode: UInt8, dst: UInt8 = 0, src: UInt8 = 0, off: Int16 = 0, imm: Int32 = 0) -> Instruction {
    Instruction(opcode: opcode, destination: dst, source: src, offset: off, immediate: imm)
}

/// The text of the first instruction of `slots` (padded with `exit` so jumps are in range).
private func text(_ slots: [Instruction], _ syntax: AssemblySyntax) throws -> String {
    let program = try ProgramDecoder.decode(slots + [Instruction](repeating: ins(0x95), count: 8))
    return Disassembler.text(of: program[0], syntax: syntax)
}

@Suite("Disassembler")
struct DisassemblerTests {
    @Test("C syntax for a representative of every form", arguments: [
        ([ins(0x61, src: 1, off: 8)], "r0 = *(u32 *)(r1 + 8)"),
        ([ins(0x79, dst: 2, src: 10, off: -8)], "r2 = *(u64 *)(r10 - 8)"),
        ([ins(0x91, src: 1, off: 2)], "r0 = *(s8 *)(r1 + 2)"),
        ([ins(0x15, dst: 1, off: 3)], "if r1 == 0x0 goto +3"),
        ([ins(0x56, dst: 1, off: 1, imm: 255)], "if w1 != 0xff goto +1"),
        ([ins(0x6d, dst: 1, src: 2, off: 1)], "if r1 s> r2 goto +1"),
        ([ins(0x04, imm: 5)], "w0 += 5"),
        ([ins(0x0f, dst: 3, src: 4)], "r3 += r4"),
        ([ins(0xbc, dst: 1, src: 2)], "w1 = w2"),
        ([ins(0xbf, src: 1, off: 8)], "r0 = (s8)r1"),
        ([ins(0xbc, src: 1, off: 16)], "w0 = (s16)w1"),
        ([ins(0x3f, src: 1, off: 1)], "r0 s/= r1"),
        ([ins(0x87)], "r0 = -r0"),
        ([ins(0x84, dst: 2)], "w2 = -w2"),
        ([ins(0xdc, dst: 1, imm: 16)], "r1 = be16 r1"),
        ([ins(0xd7, dst: 1, imm: 64)], "r1 = bswap64 r1"),
        ([ins(0x05, off: 2)], "goto +2"),
        ([ins(0x85, imm: 5)], "call 5"),
        ([ins(0x85, src: 1, imm: 2)], "call pc+2"),
        ([ins(0x8d, dst: 2)], "callx r2"),
        ([ins(0x95)], "exit"),
        ([ins(0x62, dst: 10, off: -8, imm: 5)], "*(u32 *)(r10 - 8) = 5"),
        ([ins(0x7b, dst: 10, src: 1, off: -8)], "*(u64 *)(r10 - 8) = r1"),
        ([ins(0xdb, dst: 10, src: 1, off: -8)], "lock *(u64 *)(r10 - 8) += r1"),
        ([ins(0xc3, dst: 10, src: 1, off: -4, imm: 0x50)], "lock *(u32 *)(r10 - 4) &= w1"),
        ([ins(0xdb, dst: 10, src: 1, off: -8, imm: 0x01)], "r1 = atomic_fetch_add((u64 *)(r10 - 8), r1)"),
        ([ins(0xdb, dst: 10, src: 1, off: -8, imm: 0xe1)], "r1 = xchg_64(r10 - 8, r1)"),
        ([ins(0xc3, dst: 10, src: 1, off: -8, imm: 0xf1)], "w0 = cmpxchg32_32(r10 - 8, w0, w1)"),
        ([ins(0x18, imm: 0x55667788), ins(0, imm: 0x11223344)], "r0 = 0x1122334455667788 ll"),
        ([ins(0x18, dst: 1, src: 1, imm: 3), ins(0)], "r1 = map[3]"),
        ([ins(0x20, imm: 12)], "r0 = *(u32 *)skb[12]"),
        ([ins(0x48, src: 1, imm: 12)], "r0 = *(u16 *)skb[r1 + 12]"),
    ])
    func cSyntax(slots: [Instruction], expected: String) throws {
        #expect(try text(slots, .c) == expected)
    }

    @Test("conformance syntax for every form", arguments: [
        ([ins(0x61, src: 1, off: 8)], "ldxw %r0, [%r1+8]"),
        ([ins(0x7b, dst: 10, src: 1, off: -8)], "stxdw [%r10-8], %r1"),
        ([ins(0x62, dst: 10, off: -8, imm: 5)], "stw [%r10-8], 5"),
        ([ins(0xb4, imm: -1)], "mov32 %r0, -1"),
        ([ins(0x0f, src: 1)], "add %r0, %r1"),
        ([ins(0xd7, imm: 16)], "bswap16 %r0"),
        ([ins(0xbc, src: 1, off: 8)], "movsx832 %r0, %r1"),
        ([ins(0x15, dst: 1, off: 3)], "jeq %r1, 0, +3"),
        ([ins(0x5d, src: 1, off: 0)], "jne %r0, %r1, +0"),
        ([ins(0x06, imm: 1)], "ja32 +1"),
        ([ins(0xe5, off: 2)], "may_goto +2"),
        ([ins(0x85, imm: 5)], "call 5"),
        ([ins(0x85, src: 1, imm: 1)], "call local +1"),
        ([ins(0x85, src: 2, imm: 7)], "call kfunc 7"),
        ([ins(0x8d, dst: 2)], "call %r2"),
        ([ins(0xc3, dst: 10, src: 1, off: -4, imm: 0x01)], "lock fetch add32 [%r10-4], %r1"),
        ([ins(0xdb, src: 1, imm: 0x100)], "ldacqdw %r0, [%r1+0]"),
        ([ins(0xc3, dst: 1, src: 2, imm: 0x110)], "strelw [%r1+0], %r2"),
        ([ins(0x18, imm: 0x55667788), ins(0, imm: 0x11223344)], "lddw %r0, 0x1122334455667788"),
        ([ins(0x18, dst: 1, src: 2, imm: 3), ins(0, imm: 8)], "lddw %r1, map_value:3+8"),
        ([ins(0x18, dst: 1, src: 4, imm: 2), ins(0)], "lddw %r1, func:+2"),
        ([ins(0x20, imm: 12)], "ldabsw 12"),
        ([ins(0x48, src: 1, imm: 12)], "ldindh %r1, 12"),
    ])
    func conformanceSyntax(slots: [Instruction], expected: String) throws {
        #expect(try text(slots, .conformance) == expected)
    }

    @Test("listings: one line per instruction; the C listing numbers slots like llvm-objdump")
    func listings() throws {
        let program = try ProgramDecoder.decode([ins(0x18, imm: 1), ins(0), ins(0x95)])
        #expect(Disassembler.listing(program, syntax: .conformance) == "lddw %r0, 0x1\nexit\n")
        #expect(Disassembler.listing(program, syntax: .c) == "    0: r0 = 0x1 ll\n    2: exit\n")
    }
}
