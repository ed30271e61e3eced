@testable import BPFJIT
import Testing

/// The encoder's bytes against the Intel SDM encodings: REX.W/R/X/B, the rsp/r12 base
/// (SIB byte) and rbp/r13 base (disp8 0) special cases, byte registers needing a bare REX,
/// 16-bit operand-size prefix, short and long immediates, and jump relaxation.
@Suite struct EncoderTests {
    func bytes(_ build: (inout X86Encoder) -> Void) -> [UInt8] {
        var encoder = X86Encoder()
        build(&encoder)
        return encoder.bytes
    }

    @Test func registerMoves() {
        #expect(bytes { $0.mov(.rax, .rbx) } == [0x48, 0x89, 0xD8])
        #expect(bytes { $0.mov(.r8, .rdi) } == [0x49, 0x89, 0xF8])
        #expect(bytes { $0.mov(.rax, .r13, width: .dword) } == [0x44, 0x89, 0xE8])
        #expect(bytes { $0.mov(.r11, .rbp) } == [0x49, 0x89, 0xEB])
    }

    @Test func immediateMovesTakeTheShortestForm() {
        #expect(bytes { $0.mov(.rax, immediate: 0) } == [0x31, 0xC0])
        #expect(bytes { $0.mov(.r15, immediate: 0) } == [0x45, 0x31, 0xFF])
        #expect(bytes { $0.mov(.rax, immediate: 1) } == [0xB8, 0x01, 0x00, 0x00, 0x00])
        #expect(bytes { $0.mov(.r9, immediate: 0xffff_ffff) } == [0x41, 0xB9, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(bytes { $0.mov(.rax, immediate: UInt64(bitPattern: -1)) } == [0x48, 0xC7, 0xC0, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(bytes { $0.mov(.r11, immediate: 0x1122_3344_5566_7788) }
                == [0x49, 0xBB, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11])
        // 0x80000000 zero-extends (mov r32), it must not be taken as a sign-extended imm32.
        #expect(bytes { $0.mov(.rdx, immediate: 0x8000_0000) } == [0xBA, 0x00, 0x00, 0x00, 0x80])
        #expect(bytes { $0.mov(.rdx, immediate: 0x1_0000_0000) }
                == [0x48, 0xBA, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00])
    }

    @Test func loadsOfEveryWidthAndBase() {
        #expect(bytes { $0.load(.rax, X86Memory(.rbp, -8), width: .qword) } == [0x48, 0x8B, 0x45, 0xF8])
        // r12 as base needs a SIB byte; r13 as base with no displacement needs disp8 0.
        #expect(bytes { $0.load(.rax, X86Memory(.r12, 0), width: .dword) } == [0x41, 0x8B, 0x04, 0x24])
        #expect(bytes { $0.load(.rax, X86Memory(.r12, 8), width: .qword) } == [0x49, 0x8B, 0x44, 0x24, 0x08])
        #expect(bytes { $0.load(.rax, X86Memory(.r13, 0), width: .qword) } == [0x49, 0x8B, 0x45, 0x00])
        #expect(bytes { $0.load(.rax, X86Memory(.rsp, 0), width: .qword) } == [0x48, 0x8B, 0x04, 0x24])
        #expect(bytes { $0.load(.rax, X86Memory(.rbp, 0), width: .qword) } == [0x48, 0x8B, 0x45, 0x00])
        #expect(bytes { $0.load(.rax, X86Memory(.rdi, 1), width: .byte) } == [0x0F, 0xB6, 0x47, 0x01])
        #expect(bytes { $0.load(.r14, X86Memory(.rsi, 0x100), width: .word) }
                == [0x44, 0x0F, 0xB7, 0xB6, 0x00, 0x01, 0x00, 0x00])
        #expect(bytes { $0.loadSignExtended(.rax, X86Memory(.rcx, 0), width: .byte) } == [0x48, 0x0F, 0xBE, 0x01])
        #expect(bytes { $0.loadSignExtended(.rdx, X86Memory(.rbx, 4), width: .dword) } == [0x48, 0x63, 0x53, 0x04])
        #expect(bytes { $0.loadSignExtended(.r9, X86Memory(.r15, -2), width: .word) } == [0x4D, 0x0F, 0xBF, 0x4F, 0xFE])
    }

    @Test func storesOfEveryWidth() {
        // sil needs a REX prefix, or the encoding means dh.
        #expect(bytes { $0.store(X86Memory(.rbp, -1), .rsi, width: .byte) } == [0x40, 0x88, 0x75, 0xFF])
        #expect(bytes { $0.store(X86Memory(.rax, 0), .rdx, width: .byte) } == [0x88, 0x10])
        #expect(bytes { $0.store(X86Memory(.rdi, 0), .r8, width: .word) } == [0x66, 0x44, 0x89, 0x07])
        #expect(bytes { $0.store(X86Memory(.rax, 0x80), .rcx, width: .dword) } == [0x89, 0x88, 0x80, 0x00, 0x00, 0x00])
        #expect(bytes { $0.store(X86Memory(.r12, 0), .r13, width: .qword) } == [0x4D, 0x89, 0x2C, 0x24])
        #expect(bytes { $0.store(X86Memory(.rbp, -1), immediate: 7, width: .byte) } == [0xC6, 0x45, 0xFF, 0x07])
        #expect(bytes { $0.store(X86Memory(.rsp, 0), immediate: 0x1234, width: .word) } == [0x66, 0xC7, 0x04, 0x24, 0x34, 0x12])
        #expect(bytes { $0.store(X86Memory(.rbp, -16), immediate: -1, width: .qword) }
                == [0x48, 0xC7, 0x45, 0xF0, 0xFF, 0xFF, 0xFF, 0xFF])
    }

    @Test func arithmetic() {
        #expect(bytes { $0.alu(.add, .rdi, .rsi) } == [0x48, 0x01, 0xF7])
        #expect(bytes { $0.alu(.add, .register(.rax), immediate: 2) } == [0x48, 0x83, 0xC0, 0x02])
        #expect(bytes { $0.alu(.add, .register(.rax), immediate: 0x1000) } == [0x48, 0x81, 0xC0, 0x00, 0x10, 0x00, 0x00])
        #expect(bytes { $0.alu(.sub, .register(.rcx), immediate: 1, width: .dword) } == [0x83, 0xE9, 0x01])
        #expect(bytes { $0.alu(.xor, .r8, .r15, width: .dword) } == [0x45, 0x31, 0xF8])
        #expect(bytes { $0.alu(.cmp, .rbp, X86Memory(.r12, 72)) } == [0x49, 0x3B, 0x6C, 0x24, 0x48])
        #expect(bytes { $0.imul(.rdx, .r15) } == [0x49, 0x0F, 0xAF, 0xD7])
        #expect(bytes { $0.imul(.rax, .rax, immediate: 1000, width: .dword) } == [0x69, 0xC0, 0xE8, 0x03, 0x00, 0x00])
        #expect(bytes { $0.shift(.shl, .rbx, by: 3) } == [0x48, 0xC1, 0xE3, 0x03])
        #expect(bytes { $0.shift(.shr, .r14, by: 1) } == [0x49, 0xD1, 0xEE])
        #expect(bytes { $0.shiftByCL(.sar, .rdx, width: .dword) } == [0xD3, 0xFA])
        #expect(bytes { $0.unary(.neg, .r8) } == [0x49, 0xF7, 0xD8])
        #expect(bytes { $0.unary(.div, .r11) } == [0x49, 0xF7, 0xF3])
        #expect(bytes { $0.unary(.idiv, .r11, width: .dword) } == [0x41, 0xF7, 0xFB])
        #expect(bytes { $0.signExtendAccumulator(width: .qword) } == [0x48, 0x99])
        #expect(bytes { $0.signExtendAccumulator(width: .dword) } == [0x99])
        #expect(bytes { $0.test(.r9, .r9) } == [0x4D, 0x85, 0xC9])
        #expect(bytes { $0.test(.register(.rdi), immediate: 16, width: .dword) } == [0xF7, 0xC7, 0x10, 0x00, 0x00, 0x00])
        #expect(bytes { $0.lea(.r11, X86Memory(.rbp, -512)) } == [0x4C, 0x8D, 0x9D, 0x00, 0xFE, 0xFF, 0xFF])
    }

    @Test func extensionsAndByteSwaps() {
        #expect(bytes { $0.extend(.rax, .rdi, from: .byte, signed: true, to: .qword) } == [0x48, 0x0F, 0xBE, 0xC7])
        #expect(bytes { $0.extend(.rax, .rsi, from: .byte, signed: false, to: .dword) } == [0x40, 0x0F, 0xB6, 0xC6])
        #expect(bytes { $0.extend(.rcx, .r8, from: .word, signed: true, to: .dword) } == [0x41, 0x0F, 0xBF, 0xC8])
        #expect(bytes { $0.extend(.rax, .rcx, from: .dword, signed: true, to: .qword) } == [0x48, 0x63, 0xC1])
        #expect(bytes { $0.bswap(.rax, width: .dword) } == [0x0F, 0xC8])
        #expect(bytes { $0.bswap(.r15, width: .qword) } == [0x49, 0x0F, 0xCF])
    }

    @Test func atomicsCarryTheLockPrefix() {
        #expect(bytes { $0.lockALU(.add, X86Memory(.rdi, 8), .rsi, width: .dword) } == [0xF0, 0x01, 0x77, 0x08])
        #expect(bytes { $0.lockALU(.or, X86Memory(.rbp, -8), .rbx, width: .qword) } == [0xF0, 0x48, 0x09, 0x5D, 0xF8])
        #expect(bytes { $0.lockXadd(X86Memory(.rbp, -8), .rax, width: .qword) } == [0xF0, 0x48, 0x0F, 0xC1, 0x45, 0xF8])
        #expect(bytes { $0.xchg(X86Memory(.r11, 0), .rdx, width: .dword) } == [0x41, 0x87, 0x13])
        #expect(bytes { $0.lockCmpxchg(X86Memory(.r11, 0), .r9, width: .qword) } == [0xF0, 0x4D, 0x0F, 0xB1, 0x0B])
    }

    @Test func stackAndControl() {
        #expect(bytes { $0.push(.r12) } == [0x41, 0x54])
        #expect(bytes { $0.pop(.rbx) } == [0x5B])
        #expect(bytes { $0.ret() } == [0xC3])
        #expect(bytes { $0.call(.r11) } == [0x41, 0xFF, 0xD3])
        #expect(bytes { $0.jump(.r11) } == [0x41, 0xFF, 0xE3])
    }

    @Test func jumpsAreLongFirstAndShortOnceTheyReach() {
        func program(_ encoder: inout X86Encoder, labels: inout [Int]) {
            if labels.isEmpty { labels = [encoder.newLabel(), encoder.newLabel()] }
            encoder.bind(labels[0])
            encoder.jump(if: .equal, label: labels[1])
            for _ in 0..<3 { encoder.ret() }
            encoder.bind(labels[1])
            encoder.jump(label: labels[0])
        }
        var encoder = X86Encoder()
        var labels: [Int] = []
        program(&encoder, labels: &labels)
        let resolved = encoder.resolve()
        #expect(resolved)
        // je rel32 to +3, rets, jmp rel32 back to 0.
        #expect(encoder.bytes == [0x0F, 0x84, 0x03, 0x00, 0x00, 0x00, 0xC3, 0xC3, 0xC3, 0xE9, 0xF2, 0xFF, 0xFF, 0xFF])
        encoder.startPass()
        program(&encoder, labels: &labels)
        let resolvedAgain = encoder.resolve()
        #expect(resolvedAgain)
        #expect(encoder.bytes == [0x74, 0x03, 0xC3, 0xC3, 0xC3, 0xEB, 0xF9])
    }
}
