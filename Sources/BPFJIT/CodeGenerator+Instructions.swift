import BPFInstructionSet
import BPFRuntime
import BPFVerifier

extension CodeGenerator {
    /// Emits one instruction. Operands come from `DecodedInstruction`; the operation's
    /// descriptor (form, width, access size) drives the choice of encoding.
    mutating func emit(_ instruction: DecodedInstruction) {
        let op = instruction.operation
        let descriptor = instruction.descriptor
        let d = reg(instruction.destination)
        let s = reg(instruction.source)
        let imm = instruction.immediate
        let width: X86Width = descriptor.is32Bit ? .dword : .qword
        let slot = instruction.index

        switch op {
        // MARK: ALU
        case .add64Imm, .add32Imm: aluImmediate(.add, d, imm, width)
        case .sub64Imm, .sub32Imm: aluImmediate(.sub, d, imm, width)
        case .or64Imm, .or32Imm: aluImmediate(.or, d, imm, width)
        case .and64Imm, .and32Imm: aluImmediate(.and, d, imm, width)
        case .xor64Imm, .xor32Imm: aluImmediate(.xor, d, imm, width)
        case .add64Reg, .add32Reg: asm.alu(.add, d, s, width: width)
        case .sub64Reg, .sub32Reg: asm.alu(.sub, d, s, width: width)
        case .or64Reg, .or32Reg: asm.alu(.or, d, s, width: width)
        case .and64Reg, .and32Reg: asm.alu(.and, d, s, width: width)
        case .xor64Reg, .xor32Reg: asm.alu(.xor, d, s, width: width)
        case .mul64Reg, .mul32Reg: asm.imul(d, s, width: width)
        case .mul64Imm, .mul32Imm: asm.imul(d, d, immediate: imm, width: width)
        case .mov64Imm: asm.mov(d, immediate: UInt64(bitPattern: Int64(imm)))
        case .mov32Imm: asm.mov(d, immediate: UInt64(UInt32(bitPattern: imm)))
        case .mov64Reg: if d != s { asm.mov(d, s) }
        case .mov32Reg: asm.mov(d, s, width: .dword)
        case .neg64, .neg32: asm.unary(.neg, d, width: width)
        case .lsh64Imm, .lsh32Imm: shiftImmediate(.shl, d, imm, width)
        case .rsh64Imm, .rsh32Imm: shiftImmediate(.shr, d, imm, width)
        case .arsh64Imm, .arsh32Imm: shiftImmediate(.sar, d, imm, width)
        case .lsh64Reg, .lsh32Reg: shiftRegister(.shl, d, s, width)
        case .rsh64Reg, .rsh32Reg: shiftRegister(.shr, d, s, width)
        case .arsh64Reg, .arsh32Reg: shiftRegister(.sar, d, s, width)
        case .div64Imm, .div32Imm, .mod64Imm, .mod32Imm, .sdiv64Imm, .sdiv32Imm, .smod64Imm, .smod32Imm,
            .div64Reg, .div32Reg, .mod64Reg, .mod32Reg, .sdiv64Reg, .sdiv32Reg, .smod64Reg, .smod32Reg:
            divide(instruction, d, s, width)
        case .movsx8To64: asm.extend(d, s, from: .byte, signed: true, to: .qword)
        case .movsx16To64: asm.extend(d, s, from: .word, signed: true, to: .qword)
        case .movsx32To64: asm.extend(d, s, from: .dword, signed: true, to: .qword)
        case .movsx8To32: asm.extend(d, s, from: .byte, signed: true, to: .dword)
        case .movsx16To32: asm.extend(d, s, from: .word, signed: true, to: .dword)
        case .le16: asm.extend(d, d, from: .word, signed: false, to: .dword)
        case .le32: zeroExtend(d)
        case .le64: break
        case .be16, .bswap16:
            asm.instruction(0xC1, width: .word, reg: X86Encoder.Shift.ror.rawValue, regIsRegister: false, rm: .register(d))
            asm.emit(8)
            asm.extend(d, d, from: .word, signed: false, to: .dword)
        case .be32, .bswap32: asm.bswap(d, width: .dword)
        case .be64, .bswap64: asm.bswap(d, width: .qword)

        // MARK: Jumps
        case .ja, .jaLong:
            let target = instruction.target!
            if target != slot + 1 || checked { jump(if: nil, to: target) }
        case .mayGoto:
            let left = X86Memory(.r12, Context.mayGotoLeft)
            asm.alu(.cmp, .memory(left), immediate: 0)
            asm.jump(if: .equal, label: slotLabels[instruction.target!])
            asm.alu(.sub, .memory(left), immediate: 1)
        case .callLocal: callLocal(instruction)
        case .callHelper, .callRegister: callHelper(instruction)
        case .exit: asm.ret()
        case .callKernelFunction: trap(.fellOffEnd, pc: slot)

        // MARK: 64-bit immediates
        case .loadImm64:
            asm.mov(d, immediate: instruction.wideImmediate)
        case .loadMapFD, .loadMapValue, .loadBTFID, .loadFunction, .loadMapIndex, .loadMapIndexValue:
            asm.mov(d, immediate: program.loadedValue(atSlot: slot) ?? 0)

        // MARK: Memory
        case .ldxb, .ldxh, .ldxw, .ldxdw, .ldxsb, .ldxsh, .ldxsw:
            let size = descriptor.accessSize
            let memory = address(base: s, offset: instruction.offset, size: size, write: false, pc: slot)
            let w = X86Width(rawValue: size)!
            switch op {
            case .ldxsb, .ldxsh, .ldxsw: asm.loadSignExtended(d, memory, width: w)
            default: asm.load(d, memory, width: w)
            }
        case .stb, .sth, .stw, .stdw:
            let size = descriptor.accessSize
            let memory = address(base: d, offset: instruction.offset, size: size, write: true, pc: slot)
            asm.store(memory, immediate: imm, width: X86Width(rawValue: size)!)
        case .stxb, .stxh, .stxw, .stxdw:
            let size = descriptor.accessSize
            let memory = address(base: d, offset: instruction.offset, size: size, write: true, pc: slot)
            asm.store(memory, s, width: X86Width(rawValue: size)!)
        case .loadAcquire8, .loadAcquire16, .loadAcquire32, .loadAcquire64:
            // x86 loads are acquire loads (TSO).
            let size = descriptor.accessSize
            let memory = address(base: s, offset: instruction.offset, size: size, write: false, pc: slot, atomic: true)
            asm.load(d, memory, width: X86Width(rawValue: size)!)
        case .storeRelease8, .storeRelease16, .storeRelease32, .storeRelease64:
            // x86 stores are release stores (TSO).
            let size = descriptor.accessSize
            let memory = address(base: d, offset: instruction.offset, size: size, write: true, pc: slot, atomic: true)
            asm.store(memory, s, width: X86Width(rawValue: size)!)
        case .atomicAdd32, .atomicOr32, .atomicAnd32, .atomicXor32, .atomicFetchAdd32, .atomicFetchOr32,
            .atomicFetchAnd32, .atomicFetchXor32, .atomicXchg32, .atomicCmpxchg32,
            .atomicAdd64, .atomicOr64, .atomicAnd64, .atomicXor64, .atomicFetchAdd64, .atomicFetchOr64,
            .atomicFetchAnd64, .atomicFetchXor64, .atomicXchg64, .atomicCmpxchg64:
            atomic(instruction, d, s)
        case .ldabsb, .ldabsh, .ldabsw, .ldindb, .ldindh, .ldindw:
            packetLoad(instruction, s)

        // MARK: Conditional jumps
        default:
            conditionalJump(instruction, d, s, width)
        }
    }

    // MARK: ALU helpers

    /// Clears the upper half of `d` (`mov r32, r32`), unless the verifier proved it is
    /// already zero here (trusted code with facts).
    mutating func zeroExtend(_ d: X86Register) {
        if let number = registerMap.firstIndex(of: d), upperHalfZero & (1 << number) != 0 { return }
        asm.mov(d, d, width: .dword)
    }

    mutating func aluImmediate(_ op: X86Encoder.ALU, _ d: X86Register, _ imm: Int32, _ width: X86Width) {
        if imm == 0 && (op == .add || op == .sub || op == .or || op == .xor) {
            if width == .dword { zeroExtend(d) }
            return
        }
        if op == .and && imm == -1 && width == .qword { return }
        asm.alu(op, .register(d), immediate: imm, width: width)
    }

    mutating func shiftImmediate(_ op: X86Encoder.Shift, _ d: X86Register, _ imm: Int32, _ width: X86Width) {
        let count = UInt8(truncatingIfNeeded: imm) & (width == .qword ? 63 : 31)
        if count == 0 {
            if width == .dword { zeroExtend(d) }
            return
        }
        asm.shift(op, d, by: count, width: width)
    }

    /// Shifts by a register: the count must be in cl, and rcx is r4.
    mutating func shiftRegister(_ op: X86Encoder.Shift, _ d: X86Register, _ s: X86Register, _ width: X86Width) {
        if s == .rcx {
            asm.shiftByCL(op, d, width: width)
        } else if d == .rcx {
            asm.mov(.r11, .rcx)
            asm.mov(.rcx, s)
            asm.shiftByCL(op, .r11, width: width)
            asm.mov(.rcx, .r11)
        } else {
            asm.mov(.r11, .rcx)
            asm.mov(.rcx, s)
            asm.shiftByCL(op, d, width: width)
            asm.mov(.rcx, .r11)
        }
        // A 32-bit shift by a count that masks to 0 leaves the register as it was:
        // zero-extend explicitly.
        if width == .dword { zeroExtend(d) }
    }

    /// Division and modulo with Linux's rules: by zero, div gives 0 and mod leaves the
    /// dividend (its low 32 bits zero-extended for ALU32); signed INT_MIN / -1 wraps and
    /// INT_MIN % -1 is 0 (x86 would trap, so -1 takes its own path).
    mutating func divide(_ instruction: DecodedInstruction, _ d: X86Register, _ s: X86Register, _ givenWidth: X86Width) {
        let op = instruction.operation
        var width = givenWidth
        let isModulo: Bool, isSigned: Bool
        switch op {
        case .div64Imm, .div32Imm, .div64Reg, .div32Reg: (isModulo, isSigned) = (false, false)
        case .mod64Imm, .mod32Imm, .mod64Reg, .mod32Reg: (isModulo, isSigned) = (true, false)
        case .sdiv64Imm, .sdiv32Imm, .sdiv64Reg, .sdiv32Reg: (isModulo, isSigned) = (false, true)
        default: (isModulo, isSigned) = (true, true)
        }
        let isImmediate = instruction.descriptor.form == .aluImmediate
        let imm = instruction.immediate
        // Unsigned 64-bit division of values the verifier proved to fit in 32 bits is a
        // (faster) 32-bit division with the same result, by zero included.
        if width == .qword && !isSigned && upperHalfZero & (1 << instruction.destination) != 0
            && (isImmediate ? imm >= 0 : upperHalfZero & (1 << instruction.source) != 0) {
            width = .dword
        }
        if isImmediate {
            let divisor: Int64 = width == .qword ? Int64(imm) : Int64(Int32(imm))
            if divisor == 0 {
                if !isModulo { asm.mov(d, immediate: 0) } else if width == .dword { zeroExtend(d) }
                return
            }
            if isSigned && divisor == -1 {
                if isModulo { asm.mov(d, immediate: 0) } else { asm.unary(.neg, d, width: width) }
                return
            }
            if !isSigned && !isModulo && divisor == 1 {
                if width == .dword { zeroExtend(d) }
                return
            }
        }
        let zero = localLabel(), minusOne = localLabel(), done = localLabel()
        if isImmediate {
            asm.mov(.r11, immediate: width == .qword ? UInt64(bitPattern: Int64(imm)) : UInt64(UInt32(bitPattern: imm)))
        } else {
            asm.mov(.r11, s, width: width)
        }
        // Always tested: the verifier's `divisorNonZero` holds on the paths it walked, not
        // on paths it pruned as equivalent with an imprecise divisor.
        let checkZero = !isImmediate
        if checkZero {
            asm.test(.r11, .r11, width: width)
            asm.jump(if: .equal, label: zero)
        }
        if isSigned && !isImmediate {
            asm.alu(.cmp, .register(.r11), immediate: -1, width: width)
            asm.jump(if: .equal, label: minusOne)
        }
        asm.mov(.r10, .rax)
        asm.mov(.r9, .rdx)
        if d != .rax { asm.mov(.rax, d) }
        if isSigned { asm.signExtendAccumulator(width: width) } else { asm.mov(.rdx, immediate: 0) }
        asm.unary(isSigned ? .idiv : .div, .r11, width: width)
        asm.mov(.r11, isModulo ? .rdx : .rax, width: width)
        asm.mov(.rdx, .r9)
        asm.mov(.rax, .r10)
        asm.mov(d, .r11)
        if checkZero || (isSigned && !isImmediate) {
            asm.jump(label: done)
        }
        asm.bind(zero)
        if checkZero {
            if !isModulo { asm.mov(d, immediate: 0) } else if width == .dword { zeroExtend(d) }
            if isSigned && !isImmediate { asm.jump(label: done) }
        }
        asm.bind(minusOne)
        if isSigned && !isImmediate {
            if isModulo { asm.mov(d, immediate: 0) } else { asm.unary(.neg, d, width: width) }
        }
        asm.bind(done)
    }

    // MARK: Jumps

    mutating func conditionalJump(_ instruction: DecodedInstruction, _ d: X86Register, _ s: X86Register,
                                  _ width: X86Width) {
        let target = instruction.target!
        if let fact = fact(instruction.index), let taken = fact.alwaysTaken {
            if taken && target != instruction.index + 1 { jump(if: nil, to: target) }
            return
        }
        let isImmediate = instruction.descriptor.form == .conditionalImmediate
        let imm = instruction.immediate
        let condition: X86Condition
        var isTest = false
        switch instruction.operation {
        case .jeq64Imm, .jeq64Reg, .jeq32Imm, .jeq32Reg: condition = .equal
        case .jne64Imm, .jne64Reg, .jne32Imm, .jne32Reg: condition = .notEqual
        case .jgt64Imm, .jgt64Reg, .jgt32Imm, .jgt32Reg: condition = .above
        case .jge64Imm, .jge64Reg, .jge32Imm, .jge32Reg: condition = .aboveOrEqual
        case .jlt64Imm, .jlt64Reg, .jlt32Imm, .jlt32Reg: condition = .below
        case .jle64Imm, .jle64Reg, .jle32Imm, .jle32Reg: condition = .belowOrEqual
        case .jsgt64Imm, .jsgt64Reg, .jsgt32Imm, .jsgt32Reg: condition = .greater
        case .jsge64Imm, .jsge64Reg, .jsge32Imm, .jsge32Reg: condition = .greaterOrEqual
        case .jslt64Imm, .jslt64Reg, .jslt32Imm, .jslt32Reg: condition = .less
        case .jsle64Imm, .jsle64Reg, .jsle32Imm, .jsle32Reg: condition = .lessOrEqual
        default: condition = .notEqual; isTest = true
        }
        if isTest {
            if isImmediate {
                asm.test(.register(d), immediate: imm, width: width)
            } else {
                asm.test(d, s, width: width)
            }
        } else if isImmediate {
            if imm == 0 { asm.test(d, d, width: width) } else { asm.alu(.cmp, .register(d), immediate: imm, width: width) }
        } else {
            asm.alu(.cmp, d, s, width: width)
        }
        jump(if: condition, to: target)
    }

    // MARK: Calls

    mutating func callLocal(_ instruction: DecodedInstruction) {
        let pc = instruction.index
        asm.alu(.cmp, .rbp, X86Memory(.r12, Context.lowestCallingFramePointer))
        asm.jump(if: .below, label: coldLabel(.trap(.callDepth, pc: pc)))
        if checked { budgetCheck(pc: pc) }
        // Five pushes keep rsp at 8 mod 16 in the callee, as everywhere in JIT'd code.
        for register in [X86Register.rbx, .r13, .r14, .r15, .rbp] { asm.push(register) }
        asm.alu(.sub, .register(.rbp), immediate: 512)
        // The callee's frame starts zeroed, as in the interpreter: the stub stores xmm0 (cleared
        // here) over the top `stores` 16-byte lines of the new frame.
        let target = instruction.target!
        let used = stackDepth.map { min(512, $0[target] ?? 0) } ?? 512
        let stores = (used + 15) / 16
        if stores > 0 {
            asm.clearXMM0()
            asm.call(label: zeroFrame[32 - stores])
        }
        asm.call(label: slotLabels[target])
        for register in [X86Register.rbp, .r15, .r14, .r13, .rbx] { asm.pop(register) }
    }

    /// A helper call goes through the C trampoline with r1-r5 already in the argument
    /// registers and the context in r9; the call site record tells it which helper.
    mutating func callHelper(_ instruction: DecodedInstruction) {
        var index = -1
        if instruction.operation == .callHelper, let helper = program.helpers[instruction.immediate] {
            if let existing = helperIndex[helper.id] {
                index = existing
            } else {
                index = helpers.count
                helperIndex[helper.id] = index
                helpers.append(helper)
            }
        }
        let site = siteBase + siteCount
        siteCount += 1
        // Unsafe: the site buffer was sized for every call instruction of the program;
        // written while generating, before the code can run.
        site.pointee = CallSiteRecord(unit: nil, slot: instruction.index, helperIndex: index)
        if checked {
            for k in 1...5 { asm.push(registerMap[k]) }
        } else {
            asm.alu(.sub, .register(.rsp), immediate: 8)
        }
        asm.store(X86Memory(.r12, Context.callerFramePointer), .rbp, width: .qword)
        asm.mov(.r11, immediate: UInt64(UInt(bitPattern: site)))
        asm.store(X86Memory(.r12, Context.callSite), .r11, width: .qword)
        if instruction.operation == .callRegister {
            asm.store(X86Memory(.r12, Context.helperID), reg(instruction.destination), width: .qword)
        }
        asm.mov(.r9, .r12)
        asm.mov(.r11, immediate: helperTrampoline)
        asm.call(.r11)
        if checked {
            for k in (1...5).reversed() { asm.pop(registerMap[k]) }
        } else {
            asm.alu(.add, .register(.rsp), immediate: 8)
        }
        asm.alu(.cmp, .memory(X86Memory(.r12, Context.status)), immediate: 0)
        asm.jump(if: .notEqual, label: coldLabel(.afterHelper))
    }

    // MARK: Memory

    /// The memory operand of a load or store. In checked mode the address goes to r11 and
    /// is tested against the live stack frames inline, and against the regions out of line.
    mutating func address(base: X86Register, offset: Int16, size: Int, write: Bool, pc: Int,
                          atomic: Bool = false) -> X86Memory {
        guard checked else { return X86Memory(base, Int32(offset)) }
        let staticallyInFrame = base == .rbp && Int(offset) >= -512 && Int(offset) <= -size
        if staticallyInFrame && (!atomic || Int(offset) % size == 0) {
            return X86Memory(.rbp, Int32(offset))
        }
        asm.lea(.r11, X86Memory(base, Int32(offset)))
        let resume = localLabel()
        let slow = coldLabel(.memoryFault(pc: pc, size: size, write: write, resume: resume))
        asm.lea(.r10, X86Memory(.rbp, -512))
        asm.alu(.cmp, .r11, .r10)
        asm.jump(if: .below, label: slow)
        asm.alu(.cmp, .r11, X86Memory(.r12, Context.stackTopMinus(size)))
        asm.jump(if: .above, label: slow)
        asm.bind(resume)
        if atomic && size > 1 {
            asm.test(.register(.r11), immediate: Int32(size - 1), width: .dword)
            asm.jump(if: .notEqual, label: coldLabel(.misaligned(pc: pc, size: size, write: write)))
        }
        return X86Memory(.r11, 0)
    }

    mutating func atomic(_ instruction: DecodedInstruction, _ d: X86Register, _ s: X86Register) {
        let op = instruction.operation
        let size = instruction.descriptor.accessSize
        let width = X86Width(rawValue: size)!
        var memory = address(base: d, offset: instruction.offset, size: size, write: true, pc: instruction.index,
                             atomic: true)
        switch op {
        case .atomicAdd32, .atomicAdd64: asm.lockALU(.add, memory, s, width: width)
        case .atomicOr32, .atomicOr64: asm.lockALU(.or, memory, s, width: width)
        case .atomicAnd32, .atomicAnd64: asm.lockALU(.and, memory, s, width: width)
        case .atomicXor32, .atomicXor64: asm.lockALU(.xor, memory, s, width: width)
        case .atomicFetchAdd32, .atomicFetchAdd64: asm.lockXadd(memory, s, width: width)
        case .atomicXchg32, .atomicXchg64: asm.xchg(memory, s, width: width)
        case .atomicCmpxchg32, .atomicCmpxchg64:
            asm.lockCmpxchg(memory, s, width: width)
            if width == .dword { asm.mov(.rax, .rax, width: .dword) }
        default:
            // fetch or/and/xor: a compare-exchange loop with r0 saved in r10.
            let alu: X86Encoder.ALU = switch op {
            case .atomicFetchOr32, .atomicFetchOr64: .or
            case .atomicFetchAnd32, .atomicFetchAnd64: .and
            default: .xor
            }
            if memory.base == .rax {
                asm.lea(.r11, memory)
                memory = X86Memory(.r11, 0)
            }
            asm.mov(.r10, .rax)
            let operand: X86Register = s == .rax ? .r10 : s
            asm.load(.rax, memory, width: width)
            let loop = localLabel()
            asm.bind(loop)
            asm.mov(.r9, .rax)
            asm.alu(alu, .r9, operand, width: width)
            asm.lockCmpxchg(memory, .r9, width: width)
            asm.jump(if: .notEqual, label: loop)
            if s != .rax {
                asm.mov(s, .rax, width: width)
                asm.mov(.rax, .r10)
            }
        }
    }

    /// Legacy LD_ABS/LD_IND: a big-endian load from the packet into r0; out of bounds the
    /// program ends with r0 = 0, as in Linux.
    mutating func packetLoad(_ instruction: DecodedInstruction, _ s: X86Register) {
        let size = instruction.descriptor.accessSize
        asm.alu(.cmp, .memory(X86Memory(.r12, Context.hasPacket)), immediate: 0)
        asm.jump(if: .equal, label: coldLabel(.trap(.noPacket, pc: instruction.index)))
        switch instruction.operation {
        case .ldindb, .ldindh, .ldindw:
            asm.extend(.r10, s, from: .dword, signed: true, to: .qword)
            if instruction.immediate != 0 { asm.alu(.add, .register(.r10), immediate: instruction.immediate) }
        default:
            asm.mov(.r10, immediate: UInt64(bitPattern: Int64(instruction.immediate)))
        }
        let outOfBounds = coldLabel(.packetOutOfBounds)
        asm.test(.r10, .r10)
        asm.jump(if: .sign, label: outOfBounds)
        asm.load(.r11, X86Memory(.r12, Context.packetLength), width: .qword)
        asm.alu(.sub, .register(.r11), immediate: Int32(size))
        asm.alu(.cmp, .r10, .r11)
        asm.jump(if: .greater, label: outOfBounds)
        asm.alu(.add, .r10, X86Memory(.r12, Context.packet))
        let memory = X86Memory(.r10, 0)
        switch size {
        case 1:
            asm.load(.rax, memory, width: .byte)
        case 2:
            asm.load(.rax, memory, width: .word)
            asm.instruction(0xC1, width: .word, reg: X86Encoder.Shift.rol.rawValue, regIsRegister: false,
                            rm: .register(.rax))
            asm.emit(8)
        default:
            asm.load(.rax, memory, width: .dword)
            asm.bswap(.rax, width: .dword)
        }
    }
}
