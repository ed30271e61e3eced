/// The x86-64 general registers, numbered as in their encoding.
public enum X86Register: UInt8, Sendable, CaseIterable {
    case rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15

    /// The three bits that go in ModRM/SIB/opcode.
    var low: UInt8 { rawValue & 7 }
    /// Needs a REX extension bit.
    var isExtended: Bool { rawValue >= 8 }

    public var name64: String {
        ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"][Int(rawValue)]
    }
}

/// Condition codes of `jcc`/`setcc`, by their encoding.
public enum X86Condition: UInt8, Sendable {
    case overflow = 0, noOverflow, below, aboveOrEqual, equal, notEqual, belowOrEqual, above
    case sign, noSign, parity, noParity, less, greaterOrEqual, lessOrEqual, greater
}

/// A memory operand `[base + index + displacement]` (index scale 1).
public struct X86Memory: Sendable, Equatable {
    public var base: X86Register
    public var index: X86Register?
    public var displacement: Int32

    public init(_ base: X86Register, _ displacement: Int32 = 0, index: X86Register? = nil) {
        self.base = base
        self.displacement = displacement
        self.index = index
    }
}

/// The r/m operand of an instruction: a register or memory.
public enum X86Operand: Sendable, Equatable {
    case register(X86Register)
    case memory(X86Memory)
}

/// Integer operand widths.
public enum X86Width: Int, Sendable {
    case byte = 1, word = 2, dword = 4, qword = 8
}

/// Encodes x86-64 instructions into bytes, with labels whose jumps are relaxed to
/// their short forms over several passes (see `JITCompiler`). Every encoding follows
/// the Intel SDM: legacy prefixes, REX (W, R, X, B), opcode, ModRM, SIB, displacement,
/// immediate.
public struct X86Encoder {
    public private(set) var bytes: [UInt8] = []

    // MARK: Labels and relaxation state

    /// Positions of labels in this pass (-1 while unbound).
    var labels: [Int] = []
    /// Positions of labels in the previous pass, if any.
    var previousLabels: [Int]?
    /// Per jump (in emission order): whether it is short in this pass, and its start.
    var jumpIsShort: [Bool] = []
    var jumpStarts: [Int] = []
    var previousJumpIsShort: [Bool]?
    var previousJumpStarts: [Int]?
    /// Displacements to patch at the end of the pass.
    var fixups: [(position: Int, size: Int, end: Int, label: Int)] = []

    public init() {}

    public var count: Int { bytes.count }

    mutating func newLabel() -> Int {
        labels.append(-1)
        return labels.count - 1
    }

    mutating func bind(_ label: Int) {
        labels[label] = bytes.count
    }

    /// Starts another pass with the same labels; the last pass's positions guide jump sizes.
    mutating func startPass() {
        previousLabels = labels
        previousJumpIsShort = jumpIsShort
        previousJumpStarts = jumpStarts
        labels = [Int](repeating: -1, count: labels.count)
        jumpIsShort = []
        jumpStarts = []
        fixups = []
        bytes.removeAll(keepingCapacity: true)
    }

    /// Patches jump displacements; false when a short jump does not reach (another pass is needed).
    mutating func resolve() -> Bool {
        var fits = true
        for fixup in fixups {
            let target = labels[fixup.label]
            precondition(target >= 0, "jump to an unbound label")
            let displacement = target - fixup.end
            if fixup.size == 1 {
                guard let value = Int8(exactly: displacement) else { fits = false; continue }
                bytes[fixup.position] = UInt8(bitPattern: value)
            } else {
                let value = UInt32(bitPattern: Int32(displacement))
                for k in 0..<4 { bytes[fixup.position + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(k))) }
            }
        }
        return fits
    }

    /// True when the jump about to be emitted (ordinal `jumpStarts.count`) should be short.
    private func shortJumpFits(to label: Int, shortLength: Int) -> Bool {
        let ordinal = jumpStarts.count
        guard let previousLabels, let previousJumpStarts, ordinal < previousJumpStarts.count,
              label < previousLabels.count, previousLabels[label] >= 0 else { return false }
        if let previousJumpIsShort, previousJumpIsShort[ordinal] { return true }
        let estimate = previousLabels[label] - (previousJumpStarts[ordinal] + shortLength)
        // A margin keeps estimates safe while other code around the jump shrinks too.
        return estimate >= -128 + 8 && estimate <= 127 - 8
    }

    // MARK: Raw bytes

    mutating func emit(_ byte: UInt8) { bytes.append(byte) }
    mutating func emit(_ values: [UInt8]) { bytes.append(contentsOf: values) }
    mutating func emit32(_ value: Int32) {
        let v = UInt32(bitPattern: value)
        bytes.append(contentsOf: [UInt8(truncatingIfNeeded: v), UInt8(truncatingIfNeeded: v >> 8),
                                  UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 24)])
    }
    mutating func emit64(_ value: UInt64) {
        for k in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(k)))) }
    }
    mutating func emit16(_ value: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: value))
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
    }

    // MARK: The general form

    /// Emits `[66] [F0] [REX] opcode ModRM [SIB] [disp]` with `reg` in ModRM.reg (a register
    /// number or an opcode extension /digit) and `rm` as the r/m operand. `byteRegisters`
    /// asks for a REX prefix whenever a register operand is spl/bpl/sil/dil, so that it is
    /// not read as ah/ch/dh/bh.
    mutating func instruction(_ opcode: UInt8, _ secondOpcode: UInt8? = nil, width: X86Width, reg: UInt8, regIsRegister: Bool = true,
                              rm: X86Operand, lock: Bool = false) {
        if width == .word { emit(0x66) }
        if lock { emit(0xF0) }
        var rex: UInt8 = 0
        if width == .qword { rex |= 0x08 }
        if reg >= 8 { rex |= 0x04 }
        var needsRex = false
        if width == .byte {
            if regIsRegister && (4...7).contains(reg) { needsRex = true }
            if case .register(let r) = rm, (4...7).contains(r.rawValue) { needsRex = true }
        }
        switch rm {
        case .register(let r):
            if r.isExtended { rex |= 0x01 }
        case .memory(let m):
            if m.base.isExtended { rex |= 0x01 }
            if let index = m.index, index.isExtended { rex |= 0x02 }
        }
        if rex != 0 || needsRex { emit(0x40 | rex) }
        emit(opcode)
        if let secondOpcode { emit(secondOpcode) }
        let regBits = (reg & 7) << 3
        switch rm {
        case .register(let r):
            emit(0xC0 | regBits | r.low)
        case .memory(let m):
            let disp = m.displacement
            // mod 00 with base rbp/r13 means RIP-relative or disp32: those bases need disp8 0.
            let mod: UInt8 = disp == 0 && m.base.low != 5 ? 0x00 : (Int8(exactly: disp) != nil ? 0x40 : 0x80)
            if let index = m.index {
                precondition(index != .rsp, "rsp cannot be an index")
                emit(mod | regBits | 0x04)
                emit((index.low << 3) | m.base.low)
            } else if m.base.low == 4 {
                // rsp/r12 as base need a SIB byte (index none).
                emit(mod | regBits | 0x04)
                emit(0x24)
            } else {
                emit(mod | regBits | m.base.low)
            }
            if mod == 0x40 { emit(UInt8(bitPattern: Int8(disp))) } else if mod == 0x80 { emit32(disp) }
        }
    }

    // MARK: Moves

    /// `mov dst, src` (64-bit, or 32-bit zero-extending).
    public mutating func mov(_ dst: X86Register, _ src: X86Register, width: X86Width = .qword) {
        instruction(0x89, width: width, reg: src.rawValue, rm: .register(dst))
    }

    /// Loads a constant into `dst` in the shortest form: `xor r32, r32` for 0 (flags change),
    /// `mov r32, imm32` when it zero-extends, `mov r64, simm32`, else `mov r64, imm64`.
    public mutating func mov(_ dst: X86Register, immediate value: UInt64, keepFlags: Bool = false) {
        if value == 0 && !keepFlags {
            instruction(0x31, width: .dword, reg: dst.rawValue, rm: .register(dst))
        } else if value <= UInt64(UInt32.max) {
            if dst.isExtended { emit(0x41) }
            emit(0xB8 + dst.low)
            emit32(Int32(bitPattern: UInt32(value)))
        } else if Int32(exactly: Int64(bitPattern: value)) != nil {
            instruction(0xC7, width: .qword, reg: 0, regIsRegister: false, rm: .register(dst))
            emit32(Int32(truncatingIfNeeded: Int64(bitPattern: value)))
        } else {
            emit(0x48 | (dst.isExtended ? 1 : 0))
            emit(0xB8 + dst.low)
            emit64(value)
        }
    }

    /// `mov dst, [mem]` zero-extending for bytes and words (`movzx`), plain for dword/qword.
    public mutating func load(_ dst: X86Register, _ memory: X86Memory, width: X86Width) {
        switch width {
        case .byte: instruction(0x0F, 0xB6, width: .dword, reg: dst.rawValue, rm: .memory(memory))
        case .word: instruction(0x0F, 0xB7, width: .dword, reg: dst.rawValue, rm: .memory(memory))
        case .dword: instruction(0x8B, width: .dword, reg: dst.rawValue, rm: .memory(memory))
        case .qword: instruction(0x8B, width: .qword, reg: dst.rawValue, rm: .memory(memory))
        }
    }

    /// `movsx dst, [mem]` to 64 bits (`movsxd` for dwords).
    public mutating func loadSignExtended(_ dst: X86Register, _ memory: X86Memory, width: X86Width) {
        switch width {
        case .byte: instruction(0x0F, 0xBE, width: .qword, reg: dst.rawValue, rm: .memory(memory))
        case .word: instruction(0x0F, 0xBF, width: .qword, reg: dst.rawValue, rm: .memory(memory))
        case .dword: instruction(0x63, width: .qword, reg: dst.rawValue, rm: .memory(memory))
        case .qword: load(dst, memory, width: .qword)
        }
    }

    /// `mov [mem], src` of `width` bytes.
    public mutating func store(_ memory: X86Memory, _ src: X86Register, width: X86Width) {
        instruction(width == .byte ? 0x88 : 0x89, width: width, reg: src.rawValue, rm: .memory(memory))
    }

    /// `mov [mem], imm` of `width` bytes (qword: the immediate is sign-extended).
    public mutating func store(_ memory: X86Memory, immediate: Int32, width: X86Width) {
        instruction(width == .byte ? 0xC6 : 0xC7, width: width, reg: 0, regIsRegister: false, rm: .memory(memory))
        switch width {
        case .byte: emit(UInt8(truncatingIfNeeded: immediate))
        case .word: emit16(UInt16(truncatingIfNeeded: immediate))
        default: emit32(immediate)
        }
    }

    /// `movzx`/`movsx` between registers; `signed` with dword source is `movsxd`.
    public mutating func extend(_ dst: X86Register, _ src: X86Register, from: X86Width, signed: Bool, to: X86Width) {
        let operand = X86Operand.register(src)
        switch (from, signed) {
        case (.byte, false):
            // movzx r32, r/m8: the REX for sil/dil must come from the source.
            rexForByteSource(src, dst: dst, width: .dword)
            emit([0x0F, 0xB6]); emit(0xC0 | (dst.low << 3) | src.low)
        case (.byte, true):
            rexForByteSource(src, dst: dst, width: to)
            emit([0x0F, 0xBE]); emit(0xC0 | (dst.low << 3) | src.low)
        case (.word, false): instruction(0x0F, 0xB7, width: .dword, reg: dst.rawValue, rm: operand)
        case (.word, true): instruction(0x0F, 0xBF, width: to, reg: dst.rawValue, rm: operand)
        case (.dword, true): instruction(0x63, width: .qword, reg: dst.rawValue, rm: operand)
        case (.dword, false): mov(dst, src, width: .dword)
        case (.qword, _): mov(dst, src)
        }
    }

    private mutating func rexForByteSource(_ src: X86Register, dst: X86Register, width: X86Width) {
        var rex: UInt8 = 0
        if width == .qword { rex |= 0x08 }
        if dst.isExtended { rex |= 0x04 }
        if src.isExtended { rex |= 0x01 }
        if rex != 0 || (4...7).contains(src.rawValue) { emit(0x40 | rex) }
    }

    /// `lea dst, [mem]`.
    public mutating func lea(_ dst: X86Register, _ memory: X86Memory) {
        instruction(0x8D, width: .qword, reg: dst.rawValue, rm: .memory(memory))
    }

    // MARK: Arithmetic

    /// The ALU operations sharing the `op r/m, reg` / `81 /digit` encodings.
    public enum ALU: UInt8, Sendable {
        case add = 0, or = 1, and = 4, sub = 5, xor = 6, cmp = 7
        var registerOpcode: UInt8 { rawValue << 3 | 0x01 }
    }

    /// `op dst, src`.
    public mutating func alu(_ op: ALU, _ dst: X86Register, _ src: X86Register, width: X86Width = .qword) {
        instruction(op.registerOpcode, width: width, reg: src.rawValue, rm: .register(dst))
    }

    /// `op r/m, imm` (imm8 form when it fits).
    public mutating func alu(_ op: ALU, _ dst: X86Operand, immediate: Int32, width: X86Width = .qword) {
        if Int8(exactly: immediate) != nil {
            instruction(0x83, width: width, reg: op.rawValue, regIsRegister: false, rm: dst)
            emit(UInt8(bitPattern: Int8(immediate)))
        } else {
            instruction(0x81, width: width, reg: op.rawValue, regIsRegister: false, rm: dst)
            emit32(immediate)
        }
    }

    /// `op dst, [mem]` (reg ← reg op mem).
    public mutating func alu(_ op: ALU, _ dst: X86Register, _ memory: X86Memory, width: X86Width = .qword) {
        instruction(op.rawValue << 3 | 0x03, width: width, reg: dst.rawValue, rm: .memory(memory))
    }

    /// `test a, b`.
    public mutating func test(_ a: X86Register, _ b: X86Register, width: X86Width = .qword) {
        instruction(0x85, width: width, reg: b.rawValue, rm: .register(a))
    }

    /// `test r/m, imm32` (`test r8, imm8` for bytes).
    public mutating func test(_ a: X86Operand, immediate: Int32, width: X86Width = .qword) {
        if width == .byte {
            instruction(0xF6, width: .byte, reg: 0, regIsRegister: false, rm: a)
            emit(UInt8(truncatingIfNeeded: immediate))
        } else {
            instruction(0xF7, width: width, reg: 0, regIsRegister: false, rm: a)
            emit32(immediate)
        }
    }

    /// `imul dst, src`.
    public mutating func imul(_ dst: X86Register, _ src: X86Register, width: X86Width = .qword) {
        instruction(0x0F, 0xAF, width: width, reg: dst.rawValue, rm: .register(src))
    }

    /// `imul dst, src, imm`.
    public mutating func imul(_ dst: X86Register, _ src: X86Register, immediate: Int32, width: X86Width = .qword) {
        if Int8(exactly: immediate) != nil {
            instruction(0x6B, width: width, reg: dst.rawValue, rm: .register(src))
            emit(UInt8(bitPattern: Int8(immediate)))
        } else {
            instruction(0x69, width: width, reg: dst.rawValue, rm: .register(src))
            emit32(immediate)
        }
    }

    /// The `F7 /digit` group.
    public enum Unary: UInt8, Sendable { case not = 2, neg = 3, mul = 4, div = 6, idiv = 7 }

    public mutating func unary(_ op: Unary, _ operand: X86Register, width: X86Width = .qword) {
        instruction(0xF7, width: width, reg: op.rawValue, regIsRegister: false, rm: .register(operand))
    }

    /// The shift group (`C1`/`D3 /digit`).
    public enum Shift: UInt8, Sendable { case rol = 0, ror = 1, shl = 4, shr = 5, sar = 7 }

    /// `shift dst, imm8`.
    public mutating func shift(_ op: Shift, _ dst: X86Register, by count: UInt8, width: X86Width = .qword) {
        if count == 1 {
            instruction(0xD1, width: width, reg: op.rawValue, regIsRegister: false, rm: .register(dst))
        } else {
            instruction(0xC1, width: width, reg: op.rawValue, regIsRegister: false, rm: .register(dst))
            emit(count)
        }
    }

    /// `shift dst, cl`.
    public mutating func shiftByCL(_ op: Shift, _ dst: X86Register, width: X86Width = .qword) {
        instruction(0xD3, width: width, reg: op.rawValue, regIsRegister: false, rm: .register(dst))
    }

    /// `cqo` (qword) or `cdq` (dword): sign-extend rax into rdx.
    public mutating func signExtendAccumulator(width: X86Width) {
        if width == .qword { emit(0x48) }
        emit(0x99)
    }

    /// `bswap r32/r64`.
    public mutating func bswap(_ register: X86Register, width: X86Width) {
        var rex: UInt8 = width == .qword ? 0x08 : 0
        if register.isExtended { rex |= 0x01 }
        if rex != 0 { emit(0x40 | rex) }
        emit([0x0F, 0xC8 + register.low])
    }

    // MARK: Atomics

    /// `lock op [mem], src` for add/or/and/xor.
    public mutating func lockALU(_ op: ALU, _ memory: X86Memory, _ src: X86Register, width: X86Width) {
        instruction(op.registerOpcode, width: width, reg: src.rawValue, rm: .memory(memory), lock: true)
    }

    /// `lock xadd [mem], src`.
    public mutating func lockXadd(_ memory: X86Memory, _ src: X86Register, width: X86Width) {
        instruction(0x0F, 0xC1, width: width, reg: src.rawValue, rm: .memory(memory), lock: true)
    }

    /// `xchg [mem], src` (always locked).
    public mutating func xchg(_ memory: X86Memory, _ src: X86Register, width: X86Width) {
        instruction(0x87, width: width, reg: src.rawValue, rm: .memory(memory))
    }

    /// `lock cmpxchg [mem], src`.
    public mutating func lockCmpxchg(_ memory: X86Memory, _ src: X86Register, width: X86Width) {
        instruction(0x0F, 0xB1, width: width, reg: src.rawValue, rm: .memory(memory), lock: true)
    }

    // MARK: Stack and control

    public mutating func push(_ register: X86Register) {
        if register.isExtended { emit(0x41) }
        emit(0x50 + register.low)
    }

    public mutating func pop(_ register: X86Register) {
        if register.isExtended { emit(0x41) }
        emit(0x58 + register.low)
    }

    public mutating func ret() { emit(0xC3) }

    /// `call r64`.
    public mutating func call(_ register: X86Register) {
        instruction(0xFF, width: .dword, reg: 2, regIsRegister: false, rm: .register(register))
    }

    /// `jmp r64`.
    public mutating func jump(_ register: X86Register) {
        instruction(0xFF, width: .dword, reg: 4, regIsRegister: false, rm: .register(register))
    }

    /// `call rel32` to a label.
    mutating func call(label: Int) {
        emit(0xE8)
        fixups.append((bytes.count, 4, bytes.count + 4, label))
        emit32(0)
    }

    /// `jmp` to a label, short when the previous pass says it reaches.
    mutating func jump(label: Int) {
        let short = shortJumpFits(to: label, shortLength: 2)
        jumpStarts.append(bytes.count)
        jumpIsShort.append(short)
        if short {
            emit(0xEB)
            fixups.append((bytes.count, 1, bytes.count + 1, label))
            emit(0)
        } else {
            emit(0xE9)
            fixups.append((bytes.count, 4, bytes.count + 4, label))
            emit32(0)
        }
    }

    /// `jcc` to a label.
    mutating func jump(if condition: X86Condition, label: Int) {
        let short = shortJumpFits(to: label, shortLength: 2)
        jumpStarts.append(bytes.count)
        jumpIsShort.append(short)
        if short {
            emit(0x70 + condition.rawValue)
            fixups.append((bytes.count, 1, bytes.count + 1, label))
            emit(0)
        } else {
            emit([0x0F, 0x80 + condition.rawValue])
            fixups.append((bytes.count, 4, bytes.count + 4, label))
            emit32(0)
        }
    }

    /// `movups [mem], xmm0` and `xorps xmm0, xmm0`, to clear stack frames 16 bytes at a time.
    mutating func clearXMM0() { emit([0x0F, 0x57, 0xC0]) }
    mutating func storeXMM0(_ memory: X86Memory) {
        instruction(0x0F, 0x11, width: .dword, reg: 0, regIsRegister: false, rm: .memory(memory))
    }

    /// `mfence`.
    mutating func mfence() { emit([0x0F, 0xAE, 0xF0]) }
}
