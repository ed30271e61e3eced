import BPFInstructionSet

extension Engine {
    func comparison(_ op: Operation) -> Comparison {
        switch op {
        case .jeq64Imm, .jeq64Reg, .jeq32Imm, .jeq32Reg: .eq
        case .jne64Imm, .jne64Reg, .jne32Imm, .jne32Reg: .ne
        case .jgt64Imm, .jgt64Reg, .jgt32Imm, .jgt32Reg: .gt
        case .jge64Imm, .jge64Reg, .jge32Imm, .jge32Reg: .ge
        case .jlt64Imm, .jlt64Reg, .jlt32Imm, .jlt32Reg: .lt
        case .jle64Imm, .jle64Reg, .jle32Imm, .jle32Reg: .le
        case .jsgt64Imm, .jsgt64Reg, .jsgt32Imm, .jsgt32Reg: .sgt
        case .jsge64Imm, .jsge64Reg, .jsge32Imm, .jsge32Reg: .sge
        case .jslt64Imm, .jslt64Reg, .jslt32Imm, .jslt32Reg: .slt
        case .jsle64Imm, .jsle64Reg, .jsle32Imm, .jsle32Reg: .sle
        default: .set
        }
    }

    // MARK: Conditional jumps (check_cond_jmp_op)

    func conditional(_ d: DecodedInstruction, _ path: inout Path) throws -> Bool {
        let pc = d.index
        let op = comparison(d.operation)
        let is32 = d.descriptor.is32Bit
        let dstReg = Int(d.destination)
        let isReg = d.descriptor.form == .conditionalRegister
        let dst = try readRegister(path.state, dstReg, pc)
        let src: RegisterValue = isReg ? try readRegister(path.state, Int(d.source), pc)
                                       : .constant(UInt64(bitPattern: Int64(d.immediate)))
        let bothPacket = (dst.kind.isPacket || dst.kind == .packetEnd) && (src.kind.isPacket || src.kind == .packetEnd)
        if !privileged && isReg && src.isPointer && !bothPacket {
            throw fail(.pointerComparison(pc: pc, register: Int(d.source)))
        }
        let pred = branchTaken(dst, src, op, is32: is32)
        let target = d.target!
        if let pred {
            if pred { facts[pc].seenTaken = true } else { facts[pc].seenNotTaken = true }
            // The outcome depends on the values: they must be precise (check_cond_jmp_op).
            var request = PrecisionRequest(frame: path.state.frames.count - 1)
            if dst.kind == .scalar { request.add(register: dstReg) }
            if isReg && src.kind == .scalar { request.add(register: Int(d.source)) }
            markPrecise(&path, request, skipFirst: true)
            record(&path, pc, taken: pred, decided: true)
            path.pc = pred ? target : pc + 1
            return false
        }
        facts[pc].seenTaken = true
        facts[pc].seenNotTaken = true
        var taken = path.state
        var fall = path.state
        if dst.kind == .scalar && src.kind == .scalar {
            var a1 = dst.value, b1 = src.value, a2 = dst.value, b2 = src.value
            Scalar.refine(&a1, &b1, op, is32: is32)
            Scalar.refine(&a2, &b2, op.negated, is32: is32)
            // A refinement that contradicts itself is not a dead branch for Linux (only
            // is_branch_taken decides those): it resets the register's ranges, keeping its
            // known bits (reg_bounds_sanity_check), and explores the branch.
            a1.resetIfContradictory(); b1.resetIfContradictory(); a2.resetIfContradictory(); b2.resetIfContradictory()
            taken[register: dstReg].value = a1
            if isReg { taken[register: Int(d.source)].value = b1 }
            fall[register: dstReg].value = a2
            if isReg { fall[register: Int(d.source)].value = b2 }
            // Registers linked to an operand learn its new bounds, source first (sync_linked_regs).
            if isReg && src.id != 0 {
                syncLinked(&taken, from: Int(d.source))
                syncLinked(&fall, from: Int(d.source))
            }
            if dst.id != 0 {
                syncLinked(&taken, from: dstReg)
                syncLinked(&fall, from: dstReg)
            }
        }
        var handled = false
        let srcIsZero = src.kind == .scalar && src.value.constantValue == 0
        if !is32 && !isReg && srcIsZero && (op == .eq || op == .ne) && dst.mayBeNull {
            markNull(&taken, id: dst.id, isNull: op == .eq)
            markNull(&fall, id: dst.id, isNull: op == .ne)
            handled = true
        } else if !is32 && isReg && bothPacket {
            handled = matchPacketPointers(op, dst, src, dstReg: dstReg, srcReg: Int(d.source), taken: &taken, fall: &fall)
        }
        if !handled && dst.isPointer && !privileged {
            throw fail(.pointerComparison(pc: pc, register: dstReg))
        }
        if privileged, let flags = linkedCopies(path.state, dst: dst, src: isReg ? src : nil), !path.history.isEmpty {
            path.history[path.history.count - 1] |= flags << 32
        }
        try fork(path, to: target, state: taken, decision: UInt32(pc) << 2 | 1)
        path.state = fall
        record(&path, pc, taken: false, decided: false)
        path.pc = pc + 1
        return false
    }

    /// The history flags naming the registers linked by id to a jump's operands.
    func linkedCopies(_ state: AbstractState, dst: RegisterValue, src: RegisterValue?) -> UInt64? {
        var ids: [UInt32] = []
        if dst.kind == .scalar && dst.id != 0 { ids.append(dst.linkID) }
        if let src, src.kind == .scalar, src.id != 0 { ids.append(src.linkID) }
        guard !ids.isEmpty else { return nil }
        var mask: UInt16 = 0
        var elsewhere = false
        let last = state.frames.count - 1
        for (f, frame) in state.frames.enumerated() {
            for r in 0..<11 where frame.registers[r].kind == .scalar && ids.contains(frame.registers[r].linkID) {
                if f == last { mask |= 1 << UInt16(r) } else { elsewhere = true }
            }
            for s in 0..<frame.stack.storedCount {
                if let v = frame.stack[s].spilled, v.kind == .scalar, ids.contains(v.linkID) { elsewhere = true }
            }
        }
        return HistoryFlag.linked(mask, elsewhere: elsewhere)
    }

    func branchTaken(_ a: RegisterValue, _ b: RegisterValue, _ op: Comparison, is32: Bool) -> Bool? {
        let aPacket = a.kind.isPacket || a.kind == .packetEnd, bPacket = b.kind.isPacket || b.kind == .packetEnd
        if aPacket && bPacket && !is32 {
            // `is_pkt_ptr_branch_taken`: a pointer known to be at or past the end.
            var pkt = a, o = op
            if a.kind == .packetEnd && b.kind == .packet { pkt = b; o = op.flipped }
            else if !(a.kind == .packet && b.kind == .packetEnd) { return nil }
            guard pkt.range < 0 else { return nil }
            switch o {
            case .gt, .le: return pkt.range == Engine.beyondPacketEnd ? o == .gt : nil
            case .lt, .ge: return o == .ge
            default: return nil
            }
        }
        if a.isPointer || b.isPointer {
            var p = a, s = b, o = op
            if !(s.kind == .scalar && s.value.isConst(is32: is32)) { swap(&p, &s); o = op.flipped }
            // Only pointers Linux knows are never NULL (`reg_not_null`) decide a NULL test.
            guard s.kind == .scalar, s.value.isConst(is32: is32), p.isPointer, !p.mayBeNull,
                  p.kind == .mapValue || p.kind == .memory || p.kind.isSocket else { return nil }
            guard s.value.constValue(is32: is32) == 0 else { return nil }
            switch o {
            case .eq: return false
            case .ne: return true
            default: return nil
            }
        }
        return Scalar.branchTaken(a.value, b.value, op, is32: is32)
    }

    /// `mark_ptr_or_null_regs`: after `if (p == NULL)` every copy of p is NULL on one
    /// side and a valid pointer on the other.
    func markNull(_ state: inout AbstractState, id: UInt32, isNull: Bool) {
        guard id != 0 else { return }
        var released: UInt32 = 0
        state.forEachRegister { reg in
            guard reg.mayBeNull && reg.id == id else { return }
            if isNull {
                // Only the acquiring pointer itself (id == ref_obj_id) drops its reference
                // when NULL; a socket derived from it (bpf_sk_fullsock) does not.
                if reg.referenceID != 0 && reg.referenceID == id { released = reg.referenceID }
                reg = .constant(0)
            } else {
                reg.mayBeNull = false
            }
        }
        if released != 0 { state.references.removeAll { $0.id == released } }
    }

    /// `try_match_pkt_pointers`: comparisons of packet pointers with the packet end.
    func matchPacketPointers(_ op: Comparison, _ dst: RegisterValue, _ src: RegisterValue, dstReg: Int, srcReg: Int,
                             taken: inout AbstractState, fall: inout AbstractState) -> Bool {
        // Normalise to `pkt' OP end`.
        var ptr = dst, o = op
        let dstIsData = (dst.kind == .packet && src.kind == .packetEnd) || (dst.kind == .packetMeta && src.kind == .packet)
        let srcIsData = (src.kind == .packet && dst.kind == .packetEnd) || (src.kind == .packetMeta && dst.kind == .packet)
        if dstIsData { ptr = dst } else if srcIsData { ptr = src; o = op.flipped } else { return false }
        // `mark_pkt_end`: where pkt' > end (or >=) holds, that register remembers it.
        let ptrReg = dstIsData ? dstReg : srcReg
        if ptr.kind == .packet {
            switch o {
            case .gt: taken[register: ptrReg].range = Engine.beyondPacketEnd
            case .ge: taken[register: ptrReg].range = Engine.atPacketEnd
            case .lt: fall[register: ptrReg].range = Engine.atPacketEnd
            case .le: fall[register: ptrReg].range = Engine.beyondPacketEnd
            default: break
            }
        }
        switch o {
        case .gt:  // pkt' > end: fall-through has pkt' <= end
            goodPacketPointers(&fall, ptr, rightOpen: false)
        case .ge:  // pkt' >= end: fall-through has pkt' < end
            goodPacketPointers(&fall, ptr, rightOpen: true)
        case .lt:  // pkt' < end: taken has pkt' < end
            goodPacketPointers(&taken, ptr, rightOpen: true)
        case .le:  // pkt' <= end: taken
            goodPacketPointers(&taken, ptr, rightOpen: false)
        default:
            return false
        }
        return true
    }

    /// `find_good_pkt_pointers`.
    func goodPacketPointers(_ state: inout AbstractState, _ ptr: RegisterValue, rightOpen: Bool) {
        if ptr.offset < 0 || (ptr.offset == 0 && rightOpen) { return }
        if ptr.value.umax > UInt64(Engine.maxPacketOffset) || Int64(ptr.value.umax) + Int64(ptr.offset) > Engine.maxPacketOffset { return }
        // A strict comparison (`pkt' < end`) also proves the byte at pkt' itself, so Linux 6.18
        // gives one byte more (it gave one less before).
        let newRange = rightOpen ? ptr.offset + 1 : ptr.offset
        state.forEachRegister { reg in
            if reg.kind == ptr.kind && reg.id == ptr.id { reg.range = max(reg.range, newRange) }
        }
    }

    // MARK: bpf-to-bpf calls

    func callLocal(_ d: DecodedInstruction, _ state: inout AbstractState, returnTo: Int, entry: Int, callback: Bool) throws {
        let pc = d.index
        if state.frames.count >= Registers.maxCallDepth {
            throw fail(.callDepthExceeded(pc: pc, depth: state.frames.count + 1))
        }
        let caller = state.current
        var frame = Frame(frameNumber: state.frames.count, callSite: pc, functionEntry: entry)
        if !callback {
            for r in 1...5 { frame.registers[r] = caller.registers[r] }
        }
        callEdges.insert([caller.functionEntry, entry])
        state.frames.append(frame)
    }

    func exit(_ d: DecodedInstruction, _ path: inout Path) throws -> Bool {
        let pc = d.index
        if path.state.frames.count > 1, let call = structure.slots[path.state.current.callSite], call.operation == .callLocal {
            // A subprogram may leave r0 unset; the caller then cannot read it.
            let r0 = path.state[register: 0]
            if r0.kind == .stack && Int(r0.target) == path.state.frames.count - 1 {
                throw fail(.invalidMemoryAccess(pc: pc, register: 0, kind: "fp", reason: "cannot return stack pointer to the caller frame"))
            }
            let callee = path.state.frames.removeLast()
            for r in 1...5 { path.state[register: r] = .uninitialized }
            path.state[register: 0] = r0
            path.pc = callee.callSite + 1
            return false
        }
        let r0 = try readRegister(path.state, 0, pc)
        if path.state.frames.count > 1 {
            if r0.kind == .stack && Int(r0.target) == path.state.frames.count - 1 {
                throw fail(.invalidMemoryAccess(pc: pc, register: 0, kind: "fp", reason: "cannot return stack pointer to the caller frame"))
            }
            let callee = path.state.frames.removeLast()
            let callSite = callee.callSite
            guard let call = structure.slots[callSite] else { return true }
            if call.operation == .callHelper {
                // A callback returns 0 (go on) or 1 (stop) to the helper.
                if r0.kind == .scalar {
                    var request = PrecisionRequest(frame: path.state.frames.count)
                    request.add(register: 0)
                    markPrecise(&path, request, skipFirst: true)
                }
                if r0.kind != .scalar || r0.value.umax > 1 || (r0.value.smin < 0) {
                    throw fail(.returnValueOutOfRange(pc: pc, range: "[0, 1]", value: r0.description))
                }
                // Back to the call: the helper may run the callback again. Scalars the
                // iteration changed and nothing needs exactly are widened, so it converges.
                if let previous = previousIteration(of: callSite, path, skippingCurrent: false) {
                    widenImprecise(&path.state, from: nodes[previous].state)
                }
                path.pc = callSite
                return false
            }
            for r in 1...5 { path.state[register: r] = .uninitialized }
            do {
                path.state[register: 0] = r0
            }
            path.pc = callSite + 1
            return false
        }
        if verifyingGlobal != nil {
            // A global function returns a scalar to whoever calls it.
            guard r0.kind == .scalar else { throw fail(.returnNotScalar(pc: pc, kind: r0.description)) }
        }
        if let reference = path.state.references.first {
            throw fail(.unreleasedReference(pc: pc, acquiredAt: reference.pc, helper: reference.helper))
        }
        if !privileged && r0.isPointer {
            throw fail(.pointerLeak(pc: pc, register: 0, reason: "leaks addr as return value"))
        }
        if verifyingGlobal == nil, let range = options.contexts.returnRange(input.programType) {
            guard r0.kind == .scalar else { throw fail(.returnNotScalar(pc: pc, kind: r0.description)) }
            var request = PrecisionRequest(frame: path.state.frames.count - 1)
            request.add(register: 0)
            markPrecise(&path, request, skipFirst: true)
            if r0.value.smin < range.lowerBound || r0.value.smax > range.upperBound {
                throw fail(.returnValueOutOfRange(pc: pc, range: "[\(range.lowerBound), \(range.upperBound)]", value: r0.description))
            }
        }
        return true
    }
}
