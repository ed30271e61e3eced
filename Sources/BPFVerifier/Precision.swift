import BPFInstructionSet

/// Registers and stack slots whose exact values matter, per frame (Linux's `backtrack_state`).
struct PrecisionRequest {
    /// The frame the instruction being walked runs in.
    var frame: Int
    var registers: [UInt16] = Array(repeating: 0, count: Registers.maxCallDepth + 1)
    var slots: [UInt64] = Array(repeating: 0, count: Registers.maxCallDepth + 1)

    init(frame: Int) { self.frame = frame }

    mutating func add(register r: Int) { registers[frame] |= 1 << UInt16(r) }
    func has(_ r: Int) -> Bool { registers[frame] & (1 << UInt16(r)) != 0 }
    mutating func remove(_ r: Int) { registers[frame] &= ~(1 << UInt16(r)) }
    var isEmpty: Bool { registers.allSatisfy { $0 == 0 } && slots.allSatisfy { $0 == 0 } }
}

/// Flags stored with an instruction in a path's history (bits above the pc).
enum HistoryFlag {
    /// The instruction spilled to or filled from a stack slot at a fixed offset:
    /// bit 0 set, frame in bits 1-4, slot in bits 5-10.
    static func stack(frame: Int, slot: Int) -> UInt64 { 1 | UInt64(frame) << 1 | UInt64(slot) << 5 }
    static func stackSlot(_ flags: UInt64) -> (frame: Int, slot: Int)? {
        flags & 1 == 0 ? nil : (Int(flags >> 1 & 0xf), Int(flags >> 5 & 0x3f))
    }
    /// A conditional jump refined registers linked to its operands: their mask in
    /// bits 11-21; bit 22 when copies outside the frame's registers (spills, other
    /// frames) were refined too.
    static func linked(_ mask: UInt16, elsewhere: Bool) -> UInt64 {
        UInt64(mask) << 11 | (elsewhere ? 1 << 22 : 0)
    }
    static func linkedMask(_ flags: UInt64) -> UInt16 { UInt16(flags >> 11 & 0x7ff) }
    static func linkedElsewhere(_ flags: UInt64) -> Bool { flags & (1 << 22) != 0 }
}

/// Precision tracking (Linux's `mark_chain_precision`): when a decision depends on a
/// scalar's exact value, walk the path back instruction by instruction to find every
/// register and spilled slot it came from, and mark them precise in the checkpoints on
/// the way. Checkpoints compare only precise scalars, so loops whose counters matter
/// nowhere converge.
extension Engine {
    func markPrecise(_ path: inout Path, _ request: PrecisionRequest, skipFirst: Bool) {
        guard privileged, !request.isEmpty else { return }
        var bt = request
        var segment = path.history
        var skip = skipFirst
        var subsequent = path.pc
        var node = path.parentNode
        while true {
            var k = segment.count - 1
            while k >= 0 {
                let entry = segment[k]
                k -= 1
                let pc = Int(entry & 0xffff_ffff)
                if skip { skip = false; subsequent = pc; continue }
                if !backtrack(pc, flags: entry >> 32, subsequent: subsequent, &bt) {
                    markAllPrecise(path)
                    return
                }
                if bt.isEmpty { return }
                subsequent = pc
            }
            guard node >= 0 else { break }
            if !mark(node, &bt) {
                markAllPrecise(path)
                return
            }
            if bt.isEmpty { return }
            segment = nodes[node].history
            subsequent = nodes[node].pc
            node = nodes[node].parent
        }
        if !bt.isEmpty { markAllPrecise(path) }
    }

    /// Marks the requested registers and slots precise in a checkpoint; those already
    /// precise (their sources were marked before) or not scalars leave the request.
    func mark(_ index: Int, _ bt: inout PrecisionRequest) -> Bool {
        guard nodes[index].state.frames.count == bt.frame + 1 else { return false }
        for f in 0...bt.frame {
            var mask = bt.registers[f]
            while mask != 0 {
                let r = mask.trailingZeroBitCount
                mask &= mask - 1
                let value = nodes[index].state.frames[f].registers[r]
                if value.kind != .scalar || value.precise {
                    bt.registers[f] &= ~(1 << UInt16(r))
                } else {
                    nodes[index].state.frames[f].registers[r].precise = true
                }
            }
            var slots = bt.slots[f]
            while slots != 0 {
                let s = slots.trailingZeroBitCount
                slots &= slots - 1
                guard let spilled = nodes[index].state.frames[f].stack[s].spilled, spilled.kind == .scalar, !spilled.precise else {
                    bt.slots[f] &= ~(1 << UInt64(s))
                    continue
                }
                nodes[index].state.frames[f].stack[s].spilled!.precise = true
            }
        }
        return true
    }

    /// When backtracking is lost (an instruction it cannot follow), every scalar of every
    /// checkpoint on the path becomes precise: fewer prunes, never a wrong one.
    func markAllPrecise(_ path: Path) {
        var n = path.parentNode
        // A checkpoint marked so before had all its ancestors marked too.
        while n >= 0 && !nodes[n].allPrecise {
            nodes[n].allPrecise = true
            if !nodes[n].state.frames.isEmpty {
                nodes[n].state.forEachRegister { if $0.kind == .scalar { $0.precise = true } }
            }
            n = nodes[n].parent
        }
    }

    /// After a prune: what the covering checkpoint needed precise, the current path needs too.
    func propagatePrecision(from index: Int, to path: inout Path) {
        let old = nodes[index].state
        var request = PrecisionRequest(frame: old.frames.count - 1)
        for (f, frame) in old.frames.enumerated() {
            for r in 0..<11 where frame.registers[r].kind == .scalar && frame.registers[r].precise {
                request.registers[f] |= 1 << UInt16(r)
            }
            for s in 0..<frame.stack.storedCount {
                if let spilled = frame.stack[s].spilled, spilled.kind == .scalar, spilled.precise {
                    request.slots[f] |= 1 << UInt64(s)
                }
            }
        }
        markPrecise(&path, request, skipFirst: false)
    }

    /// Linux's `backtrack_insn`: the registers and slots needing precision before `pc`,
    /// given those needing it after. False when it cannot follow the instruction.
    func backtrack(_ pc: Int, flags: UInt64, subsequent: Int, _ bt: inout PrecisionRequest) -> Bool {
        guard let d = structure.slots[pc] else { return false }
        let dst = Int(d.destination), src = Int(d.source)
        switch d.descriptor.form {
        case .aluRegister:
            guard bt.has(dst) else { return true }
            switch d.operation {
            case .mov64Reg, .mov32Reg, .movsx8To64, .movsx16To64, .movsx32To64, .movsx8To32, .movsx16To32:
                bt.remove(dst)
                bt.add(register: src)
            default:
                bt.add(register: src)
            }
        case .aluImmediate:
            if bt.has(dst) && (d.operation == .mov64Imm || d.operation == .mov32Imm) { bt.remove(dst) }
        case .unary, .jump, .jumpLong, .mayGoto, .conditionalImmediate:
            if d.descriptor.form == .conditionalImmediate { return followLinked(flags, dst, dst, &bt) }
        case .conditionalRegister:
            if bt.has(dst) || bt.has(src) {
                bt.add(register: dst)
                bt.add(register: src)
            }
            return followLinked(flags, dst, src, &bt)
        case .loadImmediate64:
            if bt.has(dst) { bt.remove(dst) }
        case .loadMemory, .loadAcquire:
            guard bt.has(dst) else { return true }
            bt.remove(dst)
            if let (frame, slot) = HistoryFlag.stackSlot(flags) {
                guard frame <= bt.frame else { return false }
                bt.slots[frame] |= 1 << UInt64(slot)
            }
        case .storeImmediate, .storeRegister, .storeRelease:
            guard let (frame, slot) = HistoryFlag.stackSlot(flags) else { return true }
            guard bt.slots[frame] & (1 << UInt64(slot)) != 0 else { return true }
            bt.slots[frame] &= ~(1 << UInt64(slot))
            if d.descriptor.form != .storeImmediate { bt.add(register: src) }
        case .atomic:
            if let (frame, slot) = HistoryFlag.stackSlot(flags), bt.slots[frame] & (1 << UInt64(slot)) != 0 { return false }
            if bt.has(src) || bt.has(0) { return false }
        case .packetAbsolute, .packetIndirect:
            if bt.registers[bt.frame] & 0b111110 != 0 { return false }
            bt.remove(0)
        case .callHelper:
            if subsequent != pc + 1 {
                // Back out of a callback's frame into the helper call that ran it: the
                // callback's r1-r5 come from the helper, not from the caller's registers.
                guard bt.frame > 0, bt.registers[bt.frame] & ~0b111110 == 0, bt.slots[bt.frame] == 0 else { return false }
                bt.registers[bt.frame] = 0
                bt.frame -= 1
                return true
            }
            if bt.registers[bt.frame] & 0b111110 != 0 { return false }
            bt.remove(0)
        case .callLocal:
            guard subsequent == d.target, bt.frame > 0 else { return false }
            // Back out of the callee: its r1-r5 are the caller's.
            let mask = bt.registers[bt.frame]
            guard mask & ~0b111110 == 0, bt.slots[bt.frame] == 0 else { return false }
            bt.registers[bt.frame] = 0
            bt.frame -= 1
            bt.registers[bt.frame] |= mask
        case .exit:
            guard bt.frame + 1 < bt.registers.count else { return false }
            if subsequent < structure.callsCallback.count && structure.callsCallback[subsequent] {
                // Back into a callback from the helper call it returned to: the caller's
                // registers are untouched by it.
                bt.frame += 1
                bt.registers[bt.frame] = 0
                bt.slots[bt.frame] = 0
                return true
            }
            // Back into a function from the instruction after its call.
            guard subsequent > 0, let call = structure.slots[subsequent - 1], call.operation == .callLocal else { return false }
            let callerMask = bt.registers[bt.frame]
            if callerMask & 0b111110 != 0 { return false }
            bt.remove(0)
            bt.frame += 1
            bt.registers[bt.frame] = callerMask & 1
            bt.slots[bt.frame] = 0
        case .callKernelFunction, .callRegister:
            return false
        }
        return true
    }

    /// At a conditional jump that refined linked copies: if any operand or copy needs
    /// precision, all do (Linux's `bt_sync_linked_regs`).
    func followLinked(_ flags: UInt64, _ dst: Int, _ src: Int, _ bt: inout PrecisionRequest) -> Bool {
        let mask = HistoryFlag.linkedMask(flags)
        guard mask != 0 else { return true }
        let operands = UInt16(1 << dst) | UInt16(1 << src)
        if HistoryFlag.linkedElsewhere(flags) {
            // Copies in stack slots or other frames were refined too, and the history does not
            // name them: if anything there needs precision it may be one of them, so give up
            // following (every scalar becomes precise) rather than miss the link.
            let elsewhere = bt.slots.contains { $0 != 0 }
                || bt.registers.indices.contains { $0 != bt.frame && bt.registers[$0] != 0 }
            if elsewhere || bt.registers[bt.frame] & (mask | operands) != 0 { return false }
            return true
        }
        let needed = bt.registers[bt.frame] & (mask | operands)
        guard needed != 0 else { return true }
        bt.registers[bt.frame] |= mask | operands
        return true
    }
}
