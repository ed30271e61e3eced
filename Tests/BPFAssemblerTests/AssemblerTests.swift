import BPFAssembler
import BPFInstructionSet
import Testing

// Expected encodings are written from RFC 9669 (opcode = operation | source | class;
// classes LD 0x00, LDX 0x01, ST 0x02, STX 0x03, ALU 0x04, JMP 0x05, JMP32 0x06, ALU64 0x07)
// and the Linux additions (load-acquire 0x100 / store-release 0x110, may_goto 0xe5,
// lddw pseudo sources 1-6), not from the assembler's output.

/// The one instruction a line assembles to.
private func single(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Instruction {
    let slots = try Assembler.assemble(text)
    try #require(slots.count == 1, "'\(text)' gave \(slots.count) slots", sourceLocation: sourceLocation)
    return slots[0]
}

private func ins(_ opcode: UInt8, dst: UInt8 = 0, src: UInt8 = 0, off: Int16 = 0, imm: Int32 = 0) -> Instruction {
    Instruction(opcode: opcode, destination: dst, source: src, offset: off, immediate: imm)
}

/// Assembling `text` fails on `line` (and `column` when given) with a message containing `fragment`.
private func expectFailure(_ text: String, line: Int, column: Int? = nil, _ fragment: String,
                           sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        let slots = try Assembler.assemble(text)
        Issue.record("'\(text)' assembled to \(slots) instead of failing", sourceLocation: sourceLocation)
    } catch {
        #expect(error.line == line, "\(error)", sourceLocation: sourceLocation)
        if let column { #expect(error.column == column, "\(error)", sourceLocation: sourceLocation) }
        #expect(error.description.contains(fragment), "'\(error)' lacks '\(fragment)'", sourceLocation: sourceLocation)
        let prefix = error.column.map { "line \(line), column \($0): " } ?? "line \(line): "
        #expect(error.description.hasPrefix(prefix), "\(error)", sourceLocation: sourceLocation)
    }
}

@Suite("Assembler forms")
struct AssemblerFormTests {
    @Test("ALU register, immediate, unary, sign-extending moves and byte swaps")
    func alu() throws {
        #expect(try single("mov32 %r0, 0") == ins(0xb4))
        #expect(try single("mov %r3, -1") == ins(0xb7, dst: 3, imm: -1))
        #expect(try single("mov64 %r3, 7") == ins(0xb7, dst: 3, imm: 7))
        #expect(try single("add %r0, %r1") == ins(0x0f, src: 1))
        #expect(try single("add32 %r2, 5") == ins(0x04, dst: 2, imm: 5))
        #expect(try single("sub32 %r2, %r9") == ins(0x1c, dst: 2, src: 9))
        #expect(try single("sdiv %r0, 3") == ins(0x37, off: 1, imm: 3))
        #expect(try single("smod32 %r0, %r1") == ins(0x9c, src: 1, off: 1))
        #expect(try single("arsh %r4, 0x3f") == ins(0xc7, dst: 4, imm: 0x3f))
        #expect(try single("neg %r0") == ins(0x87))
        #expect(try single("neg32 %r5") == ins(0x84, dst: 5))
        #expect(try single("le16 %r0") == ins(0xd4, imm: 16))
        #expect(try single("be64 %r1") == ins(0xdc, dst: 1, imm: 64))
        #expect(try single("bswap16 %r0") == ins(0xd7, imm: 16))
        #expect(try single("swap16 %r0") == ins(0xd7, imm: 16))
        #expect(try single("swap32 %r2") == ins(0xd7, dst: 2, imm: 32))
        #expect(try single("movsx832 %r0, %r1") == ins(0xbc, src: 1, off: 8))
        #expect(try single("movsx1664 %r0, %r1") == ins(0xbf, src: 1, off: 16))
        #expect(try single("movsx3264 %r0, %r1") == ins(0xbf, src: 1, off: 32))
        #expect(try single("mov r1, r10") == ins(0xbf, dst: 1, src: 10))
    }

    @Test("loads, stores, sign-extending loads, load-acquire and store-release")
    func memory() throws {
        #expect(try single("ldxdw %r0, [%r1+8]") == ins(0x79, src: 1, off: 8))
        #expect(try single("ldxw %r0, [%r10-8]") == ins(0x61, src: 10, off: -8))
        #expect(try single("ldxh %r0, [%r1]") == ins(0x69, src: 1))
        #expect(try single("ldxb %r2, [ %r1 + 0x10 ]") == ins(0x71, dst: 2, src: 1, off: 16))
        #expect(try single("ldxsb %r0, [%r1+2]") == ins(0x91, src: 1, off: 2))
        #expect(try single("ldxsh %r0, [%r1+2]") == ins(0x89, src: 1, off: 2))
        #expect(try single("ldxsw %r0, [%r1+2]") == ins(0x81, src: 1, off: 2))
        #expect(try single("stw [%r10-8], 5") == ins(0x62, dst: 10, off: -8, imm: 5))
        #expect(try single("stb [%r1+32767], -1") == ins(0x72, dst: 1, off: 32767, imm: -1))
        #expect(try single("stdw [%r1-32768], 0x7fffffff") == ins(0x7a, dst: 1, off: -32768, imm: Int32.max))
        #expect(try single("stxdw [%r10-8], %r1") == ins(0x7b, dst: 10, src: 1, off: -8))
        #expect(try single("stxh [%r10-2], %r3") == ins(0x6b, dst: 10, src: 3, off: -2))
        #expect(try single("ldacqdw %r0, [%r1+0]") == ins(0xdb, src: 1, imm: 0x100))
        #expect(try single("ldacqb %r0, [%r1+0]") == ins(0xd3, src: 1, imm: 0x100))
        #expect(try single("strelw [%r1+0], %r2") == ins(0xc3, dst: 1, src: 2, imm: 0x110))
        #expect(try single("strelh [%r1+4], %r2") == ins(0xcb, dst: 1, src: 2, off: 4, imm: 0x110))
    }

    @Test("atomics: multi-word mnemonics with and without fetch")
    func atomics() throws {
        #expect(try single("lock add [%r10-8], %r1") == ins(0xdb, dst: 10, src: 1, off: -8, imm: 0x00))
        #expect(try single("lock add64 [%r10-8], %r1") == ins(0xdb, dst: 10, src: 1, off: -8, imm: 0x00))
        #expect(try single("lock add32 [%r10-4], %r1") == ins(0xc3, dst: 10, src: 1, off: -4, imm: 0x00))
        #expect(try single("lock fetch add32 [%r10-4], %r1") == ins(0xc3, dst: 10, src: 1, off: -4, imm: 0x01))
        #expect(try single("lock fetch or [%r10-8], %r3") == ins(0xdb, dst: 10, src: 3, off: -8, imm: 0x41))
        #expect(try single("lock and32 [%r10-8], %r1") == ins(0xc3, dst: 10, src: 1, off: -8, imm: 0x50))
        #expect(try single("lock fetch xor [%r10-8], %r1") == ins(0xdb, dst: 10, src: 1, off: -8, imm: 0xa1))
        #expect(try single("lock xchg [%r10-8], %r1") == ins(0xdb, dst: 10, src: 1, off: -8, imm: 0xe1))
        #expect(try single("lock cmpxchg32 [%r10-8], %r1") == ins(0xc3, dst: 10, src: 1, off: -8, imm: 0xf1))
        #expect(try single("lock   fetch   and [%r1], %r2") == ins(0xdb, dst: 1, src: 2, imm: 0x51))
    }

    @Test("jumps with numeric offsets, calls, exit, packet loads")
    func control() throws {
        #expect(try single("ja +3") == ins(0x05, off: 3))
        #expect(try single("ja -2") == ins(0x05, off: -2))
        #expect(try single("ja 4") == ins(0x05, off: 4))
        #expect(try single("ja32 +70000") == ins(0x06, imm: 70000))
        #expect(try single("gotol -1") == ins(0x06, imm: -1))
        #expect(try single("jeq %r1, 0, +3") == ins(0x15, dst: 1, off: 3))
        #expect(try single("jne %r0, %r1, -1") == ins(0x5d, src: 1, off: -1))
        #expect(try single("jset32 %r1, 0x8, +1") == ins(0x46, dst: 1, off: 1, imm: 8))
        #expect(try single("jset32 %r1, %r2, +1") == ins(0x4e, dst: 1, src: 2, off: 1))
        #expect(try single("jsle %r1, 0xfffffffd, +0") == ins(0xd5, dst: 1, imm: -3))
        #expect(try single("jlt32 %r1, %r2, +2") == ins(0xae, dst: 1, src: 2, off: 2))
        #expect(try single("may_goto +2") == ins(0xe5, off: 2))
        #expect(try single("call 5") == ins(0x85, imm: 5))
        #expect(try single("call helper 5") == ins(0x85, imm: 5))
        #expect(try single("call local +3") == ins(0x85, src: 1, imm: 3))
        #expect(try single("call local -1") == ins(0x85, src: 1, imm: -1))
        #expect(try single("call %r2") == ins(0x8d, dst: 2))
        #expect(try single("callx %r3") == ins(0x8d, dst: 3))
        #expect(try single("call kfunc 7") == ins(0x85, src: 2, imm: 7))
        #expect(try single("call kfunc 7, 2") == ins(0x85, src: 2, off: 2, imm: 7))
        #expect(try single("exit") == ins(0x95))
        #expect(try single("ldabsw 12") == ins(0x20, imm: 12))
        #expect(try single("ldabsb 1") == ins(0x30, imm: 1))
        #expect(try single("ldindh %r1, 12") == ins(0x48, src: 1, imm: 12))
    }

    @Test("lddw: 64-bit constants in every notation")
    func lddwConstants() throws {
        func wide(_ text: String) throws -> (Instruction, Instruction) {
            let slots = try Assembler.assemble(text)
            try #require(slots.count == 2)
            return (slots[0], slots[1])
        }
        var (a, b) = try wide("lddw %r0, 0x1122334455667788")
        #expect(a == ins(0x18, imm: 0x55667788) && b == ins(0x00, imm: 0x11223344))
        #expect(a.rawValue == 0x5566778800000018 && b.rawValue == 0x1122334400000000)
        (a, b) = try wide("lddw %r1, -1")
        #expect(a == ins(0x18, dst: 1, imm: -1) && b == ins(0, imm: -1))
        (a, b) = try wide("lddw %r1, 18446744073709551615")
        #expect(a == ins(0x18, dst: 1, imm: -1) && b == ins(0, imm: -1))
        (a, b) = try wide("lddw %r1, -9223372036854775808")
        #expect(a == ins(0x18, dst: 1, imm: 0) && b == ins(0, imm: Int32.min))
        (a, b) = try wide("lddw %r2, 2147483648")
        #expect(a == ins(0x18, dst: 2, imm: Int32.min) && b == ins(0, imm: 0))
        (a, b) = try wide("lddw %r2, 0xFFFFFFFFFFFFFFFF")
        #expect(a == ins(0x18, dst: 2, imm: -1) && b == ins(0, imm: -1))
    }

    @Test("lddw pseudo sources 1-6")
    func lddwPseudo() throws {
        #expect(try Assembler.assemble("lddw %r1, map:3") == [ins(0x18, dst: 1, src: 1, imm: 3), ins(0)])
        #expect(try Assembler.assemble("lddw %r1, map_value:3+8")
            == [ins(0x18, dst: 1, src: 2, imm: 3), ins(0, imm: 8)])
        #expect(try Assembler.assemble("lddw %r1, map_value:3-8")
            == [ins(0x18, dst: 1, src: 2, imm: 3), ins(0, imm: -8)])
        #expect(try Assembler.assemble("lddw %r1, btf_id:42") == [ins(0x18, dst: 1, src: 3, imm: 42), ins(0)])
        #expect(try Assembler.assemble("lddw %r1, func:+2") == [ins(0x18, dst: 1, src: 4, imm: 2), ins(0)])
        #expect(try Assembler.assemble("lddw %r1, map_idx:0") == [ins(0x18, dst: 1, src: 5), ins(0)])
        #expect(try Assembler.assemble("lddw %r1, map_idx_value:1+16")
            == [ins(0x18, dst: 1, src: 6, imm: 1), ins(0, imm: 16)])
        // func: with a label is relative to the slot after the first lddw slot, like call local.
        let text = """
            lddw %r1, func:callee
            exit
            callee:
            exit
            """
        #expect(try Assembler.assemble(text) == [ins(0x18, dst: 1, src: 4, imm: 2), ins(0), ins(0x95), ins(0x95)])
    }

    @Test("immediate ranges: decimal signed 32-bit, hexadecimal up to 0xffffffff, negative hexadecimal")
    func immediateRanges() throws {
        #expect(try single("mov32 %r0, 2147483647") == ins(0xb4, imm: Int32.max))
        #expect(try single("mov32 %r0, -2147483648") == ins(0xb4, imm: Int32.min))
        #expect(try single("mov32 %r0, 0xffffffff") == ins(0xb4, imm: -1))
        #expect(try single("mov32 %r0, 0x80000000") == ins(0xb4, imm: Int32.min))
        #expect(try single("mov32 %r0, -0x80000000") == ins(0xb4, imm: Int32.min))
        #expect(try single("mov32 %r0, -0x1") == ins(0xb4, imm: -1))
        #expect(try single("mov32 %r0, +7") == ins(0xb4, imm: 7))
        #expect(try single("mov32 %r0, 0XAb") == ins(0xb4, imm: 0xab))
    }
}

@Suite("Assembler labels, comments, .raw and source lines")
struct AssemblerStructureTests {
    @Test("forward and backward labels, labels named like mnemonics, label on an instruction line")
    func labels() throws {
        let text = """
            mov %r0, 0          # slot 0
            jeq %r0, 0, forward # slot 1 -> 4: offset 2
            exit                # slot 2
            back:
            exit                # slot 3
            forward: ja back    # slot 4 -> 3: offset -2
            mov: ja32 mov       # slot 5 -> 5: imm -1
            """
        let program = try Assembler.assembleProgram(text)
        #expect(program.instructions == [
            ins(0xb7), ins(0x15, off: 2), ins(0x95), ins(0x95), ins(0x05, off: -2), ins(0x06, imm: -1),
        ])
        #expect(program.labels == ["back": 3, "forward": 4, "mov": 5])
        #expect(program.lineOfSlot == [1, 2, 3, 5, 6, 7])
    }

    @Test("the first exit instruction is the label 'exit' unless the text defines it")
    func implicitExitLabel() throws {
        let implicit = """
            jne %r0, %r1, exit
            mov %r0, 1
            exit
            exit
            """
        #expect(try Assembler.assemble(implicit) == [ins(0x5d, src: 1, off: 1), ins(0xb7, imm: 1), ins(0x95), ins(0x95)])
        let explicit = """
            ja exit
            exit
            exit:
            exit
            """
        #expect(try Assembler.assemble(explicit) == [ins(0x05, off: 1), ins(0x95), ins(0x95)])
    }

    @Test("call local to a label: imm = target - (index + 1)")
    func callLocal() throws {
        let text = """
            mov %r1, 1
            call local func1
            exit
            func1:
            mov %r0, %r1
            exit
            """
        #expect(try Assembler.assemble(text)[1] == ins(0x85, src: 1, imm: 1))
        let backward = "f:\nexit\ncall local f\nexit"
        #expect(try Assembler.assemble(backward)[1] == ins(0x85, src: 1, imm: -2))
    }

    @Test("lddw counts two slots for labels and line numbers")
    func wideSlots() throws {
        let text = "ja end\nlddw %r0, 1\nend:\nexit"
        let program = try Assembler.assembleProgram(text)
        #expect(program.instructions[0] == ins(0x05, off: 2))
        #expect(program.lineOfSlot == [1, 2, 2, 4])
        #expect(program.labels["end"] == 3)
    }

    @Test(".raw takes one slot in memory order, whatever it encodes")
    func raw() throws {
        #expect(try single(".raw b701000005000000") == ins(0xb7, dst: 1, imm: 5))
        #expect(try single(".raw 8d 02 00 00 00 00 00 00") == ins(0x8d, dst: 2))
        // Malformed encodings are allowed: unknown opcode 0xff, register 15, non-zero reserved fields.
        #expect(try single(".raw ffff0180efbeadde").rawValue == 0xdeadbeef_8001_ffff)
        let program = try Assembler.assembleProgram("start: .raw 9500000000000000 # exit\nja start")
        #expect(program.instructions == [ins(0x95), ins(0x05, off: -2)])
    }

    @Test("comments, blank lines, tabs and CRLF line ends")
    func trivia() throws {
        let text = "# header\r\n\r\n\tmov32 %r0, 1 # one\r\n   \r\nexit# done\r\n"
        let program = try Assembler.assembleProgram(text)
        #expect(program.instructions == [ins(0xb4, imm: 1), ins(0x95)])
        #expect(program.lineOfSlot == [3, 5])
        #expect(try Assembler.assemble("") == [])
        #expect(try Assembler.assemble("# nothing\n\n") == [])
    }
}

@Suite("Assembler errors")
struct AssemblerErrorTests {
    @Test("registers")
    func registers() {
        expectFailure("mov %r0, 1\nor %r0, %r50", line: 2, column: 9,
                      "expected a register like %r1, found '%r50' (registers are %r0-%r10)")
        expectFailure("mov %r11, 1", line: 1, column: 5, "found '%r11'")
        expectFailure("neg %x1", line: 1, column: 5, "found '%x1'")
        expectFailure("neg 5", line: 1, column: 5, "expected a register")
        expectFailure("callx 5", line: 1, column: 7, "expected a register")
        expectFailure("stxdw [%r10-8], 5", line: 1, column: 17, "expected a register")
    }

    @Test("mnemonics and operand counts")
    func mnemonics() {
        expectFailure("ldxq %r0, %r1", line: 1, column: 1, "unknown mnemonic 'ldxq'")
        expectFailure("exit\n  MOV %r0, 1", line: 2, column: 3, "unknown mnemonic 'MOV' (mnemonics are lower-case)")
        expectFailure("exit\nlddw %r0", line: 2, column: 1, "'lddw' takes 2 operands, found 1")
        expectFailure("add %r0, %r1, %r2", line: 1, "'add' takes 2 operands, found 3")
        expectFailure("exit %r0", line: 1, "'exit' takes 0 operands, found 1")
        expectFailure("jeq %r0, 1", line: 1, "'jeq' takes 3 operands, found 2")
        expectFailure("lock or [%r10-8]\nexit", line: 1, column: 1, "'lock or' takes 2 operands, found 1")
        expectFailure("lock\nexit", line: 1, column: 1, "number of operands for 'lock'")
        expectFailure("lock fetch [%r1], %r2", line: 1, "number of operands for 'lock fetch'")
        expectFailure("lock nand [%r1], %r2", line: 1, "unknown mnemonic 'lock nand'")
        expectFailure("add %r0,", line: 1, column: 9, "expected an operand")
        expectFailure("add %r0,, 1", line: 1, column: 9, "expected an operand")
        expectFailure(".data 1", line: 1, column: 1, "unknown directive '.data'")
        expectFailure("mov %r0, 1 @", line: 1, column: 12, "unexpected character '@'")
    }

    @Test("immediates and offsets out of range")
    func ranges() {
        expectFailure("mov32 %r0, 2147483648", line: 1, column: 12, "immediate 2147483648 does not fit in 32 bits")
        expectFailure("mov32 %r0, -2147483649", line: 1, column: 12, "immediate -2147483649 does not fit in 32 bits")
        expectFailure("mov32 %r0, 0x100000000", line: 1, column: 12, "immediate 0x100000000 does not fit in 32 bits")
        expectFailure("mov32 %r0, -0x80000001", line: 1, column: 12, "does not fit in 32 bits")
        expectFailure("lddw %r0, 0x10000000000000000", line: 1, column: 11, "does not fit in 64 bits")
        expectFailure("lddw %r0, 18446744073709551616", line: 1, column: 11, "does not fit in 64 bits")
        expectFailure("lddw %r0, -9223372036854775809", line: 1, column: 11, "does not fit in 64 bits")
        expectFailure("ldxb %r0, [%r1+0x10000]", line: 1, column: 15, "offset +0x10000 does not fit in 16 bits")
        expectFailure("ldxb %r0, [%r1+32768]", line: 1, column: 15, "does not fit in 16 bits")
        expectFailure("stb [%r1-32769], 0", line: 1, column: 9, "does not fit in 16 bits")
        expectFailure("ja +32768", line: 1, column: 4, "does not fit in 16 bits")
        expectFailure("mov %r0, 12abc", line: 1, column: 10, "'12abc' is not a number")
        expectFailure("ldxb %r0, %r1", line: 1, column: 11, "expected a memory operand like [%r1+8], found '%r1'")
        expectFailure("ldxb %r0, [%r1*2]", line: 1, "unexpected character '*'")
        expectFailure("mov %r0, label", line: 1, column: 10, "expected an immediate")
    }

    @Test("labels: undefined, duplicate, too far")
    func labels() {
        expectFailure("ja NOT_A_LABEL\nexit", line: 1, column: 4, "undefined label 'NOT_A_LABEL'")
        expectFailure("exit\ncall local nowhere", line: 2, column: 12, "undefined label 'nowhere'")
        expectFailure("lddw %r1, func:gone\nexit", line: 1, column: 16, "undefined label 'gone'")
        expectFailure("a:\nexit\n a:\nexit", line: 3, column: 2, "duplicate label 'a' (first defined on line 1)")
        let far = "ja far\n" + String(repeating: "exit\n", count: 32768) + "far:\nexit"
        expectFailure(far, line: 1, column: 4, "'far' is 32768 slots away, which does not fit in the 16-bit offset")
        // The same distance fits ja32's 32-bit immediate.
        let farLong = "ja32 far\n" + String(repeating: "exit\n", count: 32768) + "far:\nexit"
        #expect((try? Assembler.assemble(farLong))?.first == ins(0x06, imm: 32768))
    }

    @Test(".raw and lddw pseudo operand errors")
    func rawAndPseudo() {
        expectFailure(".raw 95000000", line: 1, column: 6, ".raw expects one 8-byte slot as 16 hex digits")
        expectFailure(".raw 950000000000000g", line: 1, column: 6, "found '950000000000000g'")
        expectFailure("lddw %r1, mop:3", line: 1, column: 11, "found 'mop:'")
        expectFailure("lddw %r1, map:", line: 1, "expected a number after 'map:'")
        expectFailure("lddw %r1, map:0x100000000", line: 1, "does not fit in 32 bits")
    }
}

@Suite("Assembler and disassembler agree")
struct AssemblerDisassemblerTests {
    @Test("every opcode table row, disassembled in conformance syntax, assembles back to the same slots")
    func everyRow() throws {
        for descriptor in OpcodeTable.descriptors {
            var first = descriptor.template
            // Give the used fields non-trivial values so a swapped field would show.
            if descriptor.form.usesDestination { first.destination = 3 }
            if descriptor.form.usesSource { first.source = 4 }
            if descriptor.form.usesOffset, !descriptor.form.isBranch { first.offset = -8 }
            // func: targets are relative like calls; 0 would name the lddw's own second slot.
            if descriptor.operation == .loadFunction { first.immediate = 1 }
            var slots = [first]
            // A negative second immediate (map_value:N+-5) checks the offset notation; the
            // conformance text of func: carries no second immediate, so it stays 0 there.
            if descriptor.isWide {
                slots.append(Instruction(opcode: 0, immediate: descriptor.operation == .loadFunction ? 0 : -5))
            }
            slots += [Instruction](repeating: Instruction(opcode: 0x95), count: 2)
            let decoded = try ProgramDecoder.decode(slots)
            let listing = Disassembler.listing(decoded, syntax: .conformance)
            do {
                #expect(try Assembler.assemble(listing) == slots, "\(descriptor.mnemonic): \(listing)")
            } catch {
                Issue.record("\(descriptor.operation): '\(listing)' does not assemble: \(error)")
            }
        }
    }
}
