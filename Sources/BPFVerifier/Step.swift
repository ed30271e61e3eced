import BPFInstructionSet

extension Engine {
    func fail(_ e: VerifierError) -> Failure { Failure(error: e) }

    func readRegister(_ state: AbstractState, _ r: Int, _ pc: Int) throws -> RegisterValue {
        let v = state[register: r]
        guard v.isInitialized else { throw fail(.uninitializedRegister(pc: pc, register: r)) }
        return v
    }

    func writeCheck(_ r: Int, _ pc: Int) throws {
        if r == 10 { throw fail(.framePointerWrite(pc: pc)) }
    }

    /// Executes one instruction on `path`. Returns true when the path ends.
    func step(_ d: DecodedInstruction, _ path: inout Path) throws -> Bool {
        let pc = d.index
        try checkSpinLockRules(d, path.state)
        switch d.descriptor.form {
        case .aluRegister, .aluImmediate, .unary:
            try alu(d, &path)
            let dst = path.state[register: Int(d.destination)]
            if !(dst.kind == .scalar && dst.value.umax <= UInt64(UInt32.max)) { facts[pc].upperHalfZero = false }
            path.pc += 1
        case .loadImmediate64:
            try loadImmediate(d, &path.state)
            path.pc += 2
        case .loadMemory, .loadAcquire:
            try load(d, &path.state)
            path.pc += 1
        case .storeImmediate, .storeRegister, .storeRelease:
            try store(d, &path)
            path.pc += 1
        case .atomic:
            try atomic(d, &path.state)
            path.pc += 1
        case .jump, .jumpLong:
            path.pc = d.target!
        case .mayGoto:
            // As Linux: the path with budget left (fall-through) waits, one level deeper,
            // its imprecise scalars that changed since the previous iteration widened to
            // unknown so iterations converge; this path takes the jump (budget exhausted).
            var queued = path.state
            queued.mayGotoDepth += 1
            if let previous = previousIteration(of: pc, path) { widenImprecise(&queued, from: nodes[previous].state) }
            try fork(path, to: pc + 1, state: queued, decision: UInt32(pc) << 2)
            record(&path, pc, taken: true, decided: false)
            path.pc = d.target!
        case .conditionalImmediate, .conditionalRegister:
            return try conditional(d, &path)
        case .callHelper:
            return try callHelper(d, &path)
        case .callLocal:
            if let signature = input.globalFunctions[d.target!] {
                try callGlobal(d, &path, signature: signature, entry: d.target!)
                return false
            }
            try callLocal(d, &path.state, returnTo: pc + 1, entry: d.target!, callback: false)
            path.pc = d.target!
        case .callKernelFunction:
            throw fail(.unsupportedInstruction(pc: pc, what: "calling kernel functions (kfuncs)"))
        case .callRegister:
            throw fail(.unsupportedInstruction(pc: pc, what: "callx (indirect calls)"))
        case .exit:
            return try exit(d, &path)
        case .packetAbsolute, .packetIndirect:
            try legacyPacketLoad(d, &path.state)
            path.pc += 1
        }
        return false
    }

    /// The checkpoint of the previous iteration at a loop instruction (find_prev_entry). At
    /// `may_goto` the path's own checkpoint at `pc` is the current iteration, so it is skipped
    /// (Linux looks from the state's parent); back from a callback, the latest checkpoint at the
    /// call is the iteration just run (Linux looks from the state itself).
    func previousIteration(of pc: Int, _ path: Path, skippingCurrent: Bool = true) -> Int? {
        guard path.parentNode >= 0 else { return nil }
        var n = skippingCurrent && nodes[path.parentNode].pc == pc ? nodes[path.parentNode].parent : path.parentNode
        while n >= 0 {
            if nodes[n].pc == pc && nodes[n].state.frames.count == path.state.frames.count { return n }
            n = nodes[n].parent
        }
        return nil
    }

    /// Linux's `widen_imprecise_scalars`.
    func widenImprecise(_ state: inout AbstractState, from old: AbstractState) {
        guard old.frames.count == state.frames.count else { return }
        func widen(_ o: RegisterValue, _ n: inout RegisterValue) {
            guard o.kind == .scalar, n.kind == .scalar, !o.precise, !n.precise, o != n else { return }
            n = .unknownScalar
        }
        for f in state.frames.indices {
            for r in 0..<11 { widen(old.frames[f].registers[r], &state.frames[f].registers[r]) }
            for s in 0..<min(old.frames[f].stack.storedCount, state.frames[f].stack.storedCount) {
                if let o = old.frames[f].stack[s].spilled, state.frames[f].stack[s].spilled != nil {
                    widen(o, &state.frames[f].stack[s].spilled!)
                }
            }
        }
    }

    // MARK: ALU

    func scalarOperation(_ op: Operation) -> (ScalarOperation, Bool)? {
        switch op {
        case .add64Imm, .add64Reg: (.add, false)
        case .add32Imm, .add32Reg: (.add, true)
        case .sub64Imm, .sub64Reg: (.sub, false)
        case .sub32Imm, .sub32Reg: (.sub, true)
        case .mul64Imm, .mul64Reg: (.mul, false)
        case .mul32Imm, .mul32Reg: (.mul, true)
        case .div64Imm, .div64Reg: (.div, false)
        case .div32Imm, .div32Reg: (.div, true)
        case .sdiv64Imm, .sdiv64Reg: (.sdiv, false)
        case .sdiv32Imm, .sdiv32Reg: (.sdiv, true)
        case .mod64Imm, .mod64Reg: (.mod, false)
        case .mod32Imm, .mod32Reg: (.mod, true)
        case .smod64Imm, .smod64Reg: (.smod, false)
        case .smod32Imm, .smod32Reg: (.smod, true)
        case .or64Imm, .or64Reg: (.or, false)
        case .or32Imm, .or32Reg: (.or, true)
        case .and64Imm, .and64Reg: (.and, false)
        case .and32Imm, .and32Reg: (.and, true)
        case .xor64Imm, .xor64Reg: (.xor, false)
        case .xor32Imm, .xor32Reg: (.xor, true)
        case .lsh64Imm, .lsh64Reg: (.lsh, false)
        case .lsh32Imm, .lsh32Reg: (.lsh, true)
        case .rsh64Imm, .rsh64Reg: (.rsh, false)
        case .rsh32Imm, .rsh32Reg: (.rsh, true)
        case .arsh64Imm, .arsh64Reg: (.arsh, false)
        case .arsh32Imm, .arsh32Reg: (.arsh, true)
        case .neg64: (.neg, false)
        case .neg32: (.neg, true)
        default: nil
        }
    }

    func alu(_ d: DecodedInstruction, _ path: inout Path) throws {
        let pc = d.index
        let dstReg = Int(d.destination), srcReg = Int(d.source)
        let isImm = d.descriptor.form == .aluImmediate
        let is32 = d.descriptor.is32Bit
        try writeCheck(dstReg, pc)
        switch d.operation {
        case .mov64Imm:
            path.state[register: dstReg] = .constant(UInt64(bitPattern: Int64(d.immediate)))
            return
        case .mov32Imm:
            path.state[register: dstReg] = .constant(UInt64(UInt32(bitPattern: d.immediate)))
            return
        case .mov64Reg:
            var src = try readRegister(path.state, srcReg, pc)
            if src.kind == .scalar {
                let before = src
                src.prepareLinkedCopy(newID: newID)
                if src != before { path.state[register: srcReg] = src }
            }
            path.state[register: dstReg] = src
            return
        case .mov32Reg:
            let src = try readRegister(path.state, srcReg, pc)
            if src.kind == .scalar {
                var v = src.value.truncated(toBytes: 4)
                v.sync()
                var r = RegisterValue.scalar(v)
                if src.value.umax <= UInt64(UInt32.max) {
                    var s = src
                    s.prepareLinkedCopy(newID: newID)
                    if s != src { path.state[register: srcReg] = s }
                    r.id = s.id
                }
                path.state[register: dstReg] = r
            } else {
                if !privileged { throw fail(.pointerLeak(pc: pc, register: srcReg, reason: "partial copy of pointer")) }
                path.state[register: dstReg] = .scalar(.range(0, UInt64(UInt32.max)))
            }
            return
        case .movsx8To64, .movsx16To64, .movsx32To64, .movsx8To32, .movsx16To32:
            let src = try readRegister(path.state, srcReg, pc)
            let bytes = Int(d.offset) / 8
            guard src.kind == .scalar else {
                if !privileged { throw fail(.pointerLeak(pc: pc, register: srcReg, reason: "sign-extension part of pointer")) }
                path.state[register: dstReg] = is32 ? .scalar(.range(0, UInt64(UInt32.max))) : .unknownScalar
                return
            }
            var r = RegisterValue.scalar(is32 ? src.value.signExtended32(fromBytes: bytes) : src.value.signExtended(fromBytes: bytes))
            if src.value.umax < 1 << UInt64(bytes * 8 - 1) {
                // No sign bit can be set: the copy equals the source and stays linked to it
                // (Linux prepares the source as for a move, which ends a link with a constant).
                var s = src
                s.prepareLinkedCopy(newID: newID)
                if s != src { path.state[register: srcReg] = s }
                r.id = s.id
            }
            path.state[register: dstReg] = r
            return
        case .le16, .le32, .le64, .be16, .be32, .be64, .bswap16, .bswap32, .bswap64:
            let dst = try readRegister(path.state, dstReg, pc)
            if dst.isPointer && privileged {
                // Linux lets root turn a pointer into a meaningless number.
                path.state[register: dstReg] = .unknownScalar
                return
            }
            guard dst.kind == .scalar else {
                throw fail(.pointerArithmetic(pc: pc, register: dstReg, reason: "pointer arithmetic prohibited (byte swap of a pointer)"))
            }
            let size = Int(d.immediate) / 8
            let result: Scalar
            switch d.operation {
            case .le16, .le32, .le64: result = dst.value.truncated(toBytes: size)
            default: result = dst.value.byteSwapped(bytes: size)
            }
            path.state[register: dstReg] = .scalar(result)
            return
        default: break
        }
        guard let (op, _) = scalarOperation(d.operation) else {
            throw fail(.unsupportedInstruction(pc: pc, what: d.descriptor.mnemonic))
        }
        let dst = try readRegister(path.state, dstReg, pc)
        if op == .neg && dst.isPointer && privileged {
            path.state[register: dstReg] = .unknownScalar
            return
        }
        let src: RegisterValue
        if op == .neg {
            src = .constant(0)
        } else if isImm {
            let imm = Int64(d.immediate)
            if [.lsh, .rsh, .arsh].contains(op) && (imm < 0 || imm >= (is32 ? 32 : 64)) {
                throw fail(.invalidShift(pc: pc, amount: imm))
            }
            if [.div, .sdiv, .mod, .smod].contains(op) && imm == 0 { throw fail(.divisionByZero(pc: pc)) }
            src = .constant(is32 ? UInt64(UInt32(bitPattern: d.immediate)) : UInt64(bitPattern: imm))
        } else {
            src = try readRegister(path.state, srcReg, pc)
        }
        if [.div, .sdiv, .mod, .smod].contains(op) {
            let nonZero = src.kind == .scalar && (is32 ? src.value.u32min > 0 : src.value.umin > 0)
            if !nonZero { facts[pc].divisorNonZero = false }
        }
        if dst.kind == .scalar && src.kind == .scalar {
            if !privileged && !isImm && (op == .add || op == .sub) {
                // Linux's sanitize_val_alu: the instruction adds numbers on every path.
                try recordSanitation(pc, op, dstReg: dstReg, ALUSanitation(state: ALUSanitation.nonPointer, limit: 0))
            }
            var r = RegisterValue.scalar(Scalar.apply(op, dst.value, src.value, is32: is32))
            if privileged && (op == .add || op == .sub) && src.value.isConst(is32: is32) && (isImm || srcReg != dstReg) {
                // `r += c` keeps r linked, with c as its offset (BPF_ADD_CONST).
                r.id = dst.id
                r.offset = dst.offset
                r.linkAfterConstant(op, src.value.constValue(is32: is32), is32: is32, umaxBefore: dst.value.umax)
            }
            path.state[register: dstReg] = r
            return
        }
        if !isImm && !is32 && (op == .add || op == .sub) && dst.isPointer != src.isPointer {
            // The scalar becomes part of a pointer: its value must be precise.
            var request = PrecisionRequest(frame: path.state.frames.count - 1)
            request.add(register: dst.isPointer ? srcReg : dstReg)
            markPrecise(&path, request, skipFirst: true)
        }
        path.state[register: dstReg] = try pointerArithmetic(pc, op, is32, dstReg, dst, isImm ? -1 : srcReg, src)
    }

    static let maxVarOffset: Int64 = 1 << 29

    /// Linux's `adjust_ptr_min_max_vals`.
    func pointerArithmetic(_ pc: Int, _ op: ScalarOperation, _ is32: Bool, _ dstReg: Int, _ dst: RegisterValue,
                           _ srcReg: Int, _ src: RegisterValue) throws -> RegisterValue {
        let opName: String = { switch op { case .add: "+="; case .sub: "-="; default: "\(op)" } }()
        if is32 {
            if op == .sub && privileged { return .unknownScalar }
            throw fail(.pointerArithmetic(pc: pc, register: dstReg, reason: "32-bit pointer arithmetic prohibited"))
        }
        if dst.isPointer && src.isPointer {
            if op == .sub && privileged { return .unknownScalar }
            throw fail(.pointerArithmetic(pc: pc, register: dstReg, reason: "pointer \(opName) pointer prohibited"))
        }
        guard op == .add || op == .sub else {
            let what = [.and, .or, .xor].contains(op) ? "bitwise operator \(op) on pointer prohibited"
                                                       : "pointer arithmetic with \(op) operator prohibited"
            throw fail(.pointerArithmetic(pc: pc, register: dstReg, reason: what))
        }
        var ptr = dst, scalar = src, ptrReg = dstReg
        if !dst.isPointer {
            guard op == .add else {
                throw fail(.pointerArithmetic(pc: pc, register: dstReg, reason: "tried to subtract pointer from scalar"))
            }
            ptr = src; scalar = dst; ptrReg = srcReg
        }
        if op == .sub && ptr.kind == .stack && dst.isPointer {
            throw fail(.pointerArithmetic(pc: pc, register: dstReg, reason: "subtraction from stack pointer prohibited"))
        }
        if ptr.mayBeNull {
            throw fail(.pointerArithmetic(pc: pc, register: ptrReg,
                                          reason: "pointer arithmetic on \(ptr.kind)_or_null prohibited, null-check it first"))
        }
        switch ptr.kind {
        case .mapPointer, .packetEnd, .function, .socketCommon, .socket, .tcpSocket:
            throw fail(.pointerArithmetic(pc: pc, register: ptrReg, reason: "pointer arithmetic on \(ptr.kind) prohibited"))
        default: break
        }
        var sanitation: (maskToLeft: Bool, record: ALUSanitation)?
        if !privileged && srcReg >= 0 {
            sanitation = try sanitizeRegisterOffset(pc, op, dstReg: dstReg, ptrReg: ptrReg,
                                                    scalarReg: ptrReg == dstReg ? srcReg : dstReg, ptr: ptr, scalar: scalar.value)
        }
        if !privileged && ptr.kind == .stack && !scalar.value.isConstant {
            throw fail(.pointerArithmetic(pc: pc, register: ptrReg, reason: "variable stack access prohibited for !root"))
        }
        let result = try movedPointer(pc, op, dstReg, ptr, scalar)
        if !privileged { try sanitizeResult(pc, dstReg: dstReg, result) }
        if let sanitation {
            try commitSanitation(pc, op, dstReg: dstReg, result: result, maskToLeft: sanitation.maskToLeft, before: sanitation.record)
        }
        return result
    }

    /// The pointer after `ptr op= scalar` (Linux's bounds arithmetic in `adjust_ptr_min_max_vals`).
    private func movedPointer(_ pc: Int, _ op: ScalarOperation, _ dstReg: Int, _ ptr: RegisterValue,
                              _ scalar: RegisterValue) throws -> RegisterValue {
        let s = scalar.value
        if s.smin == .min {
            throw fail(.pointerArithmetic(pc: pc, register: dstReg,
                                          reason: "math between \(ptr.kind) pointer and register with unbounded min value is not allowed"))
        }
        if s.smin <= -Engine.maxVarOffset || s.smin >= Engine.maxVarOffset {
            throw fail(.pointerArithmetic(pc: pc, register: dstReg,
                                          reason: "value \(s.smin) makes \(ptr.kind) pointer be out of bounds"))
        }
        var result = ptr
        if let c = s.constantValue {
            let delta = Int64(bitPattern: c)
            let newOffset = op == .add ? Int64(ptr.offset) + delta : Int64(ptr.offset) - delta
            guard abs(newOffset) < Engine.maxVarOffset else {
                throw fail(.pointerArithmetic(pc: pc, register: dstReg, reason: "value \(delta) makes \(ptr.kind) pointer be out of bounds"))
            }
            result.offset = Int32(newOffset)
            return result
        }
        result.value = Scalar.apply(op, ptr.value, s, is32: false)
        if result.value.smin <= -Engine.maxVarOffset || result.value.smin >= Engine.maxVarOffset {
            throw fail(.pointerArithmetic(pc: pc, register: dstReg, reason: "the variable offset makes the \(ptr.kind) pointer be out of bounds"))
        }
        if ptr.kind.isPacket {
            result.id = newID()
            result.range = 0
        }
        return result
    }

    // MARK: lddw

    func loadImmediate(_ d: DecodedInstruction, _ state: inout AbstractState) throws {
        let pc = d.index
        let r = Int(d.destination)
        try writeCheck(r, pc)
        if let reference = input.mapReferences[pc] {
            guard reference.map < input.maps.count else { throw fail(.invalidMapReference(pc: pc, reason: "no map \(reference.map)")) }
            if let offset = reference.valueOffset {
                state[register: r] = mapValuePointer(reference.map, offset: offset, pc: pc)
            } else {
                state[register: r] = .pointer(.mapPointer, target: Int32(reference.map))
            }
            try checkMapValueOffset(state[register: r], pc: pc)
            return
        }
        switch d.operation {
        case .loadImm64:
            state[register: r] = .constant(d.wideImmediate)
        case .loadMapFD, .loadMapIndex:
            let index = Int(d.immediate)
            guard index >= 0, index < input.maps.count else {
                throw fail(.invalidMapReference(pc: pc, reason: "fd \(index) is not pointing to valid bpf_map"))
            }
            state[register: r] = .pointer(.mapPointer, target: Int32(index))
        case .loadMapValue, .loadMapIndexValue:
            let index = Int(d.immediate)
            guard index >= 0, index < input.maps.count else {
                throw fail(.invalidMapReference(pc: pc, reason: "fd \(index) is not pointing to valid bpf_map"))
            }
            state[register: r] = mapValuePointer(index, offset: Int(Int32(truncatingIfNeeded: d.wideImmediate >> 32)), pc: pc)
            try checkMapValueOffset(state[register: r], pc: pc)
        case .loadFunction:
            if !input.hasFunctionInfo {
                throw fail(.unsupportedInstruction(pc: pc, what: "a callback without BTF function info (missing btf func_info); compile with -g"))
            }
            state[register: r] = .pointer(.function, target: Int32(d.target!))
        default:
            throw fail(.unsupportedInstruction(pc: pc, what: "lddw with BTF ids"))
        }
    }

    func mapValuePointer(_ index: Int, offset: Int, pc: Int) -> RegisterValue {
        var v = RegisterValue.pointer(.mapValue, target: Int32(index), offset: Int32(offset))
        v.readOnly = input.maps[index].isReadOnly
        return v
    }

    func checkMapValueOffset(_ v: RegisterValue, pc: Int) throws {
        guard v.kind == .mapValue else { return }
        let map = input.maps[Int(v.target)]
        // Only single-element arrays (global data) hand out their value's address.
        guard map.type == .array else {
            throw fail(.invalidMapReference(pc: pc, reason: "no direct value access support for this map type (\(map.type)): only arrays with one element"))
        }
        guard map.maxEntries == 1 else {
            throw fail(.invalidMapReference(pc: pc, reason: "invalid access to map value pointer, value_size=\(map.valueSize) off=\(v.offset): direct value access needs an array with one element, not \(map.maxEntries)"))
        }
        guard v.offset >= 0, Int(v.offset) < max(map.valueSize, 1) else {
            throw fail(.invalidMapReference(pc: pc, reason: "invalid access to map value pointer, value_size=\(map.valueSize) off=\(v.offset)"))
        }
        guard map.type == .array || map.type == .perCPUArray || map.maxEntries == 1 || true else { return }
    }
}
