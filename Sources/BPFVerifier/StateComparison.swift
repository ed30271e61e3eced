/// Linux's `states_equal`/`regsafe`/`stacksafe`: when is a state already proven safe
/// at an instruction enough to cover a new state arriving there.
enum StateComparison {
    /// Linux's `enum exact_level`.
    enum Mode {
        /// Imprecise scalars of the old state cover any scalar (normal pruning).
        case notExact
        /// Every scalar compared by range (unprivileged programs, loops still being explored).
        case rangeWithin
    }

    /// Consistent renaming of ids between the old and the new state.
    struct IDMap {
        var pairs: [(UInt32, UInt32)] = []
        var temporary: UInt32 = 0x8000_0000
        mutating func check(_ old: UInt32, _ new: UInt32) -> Bool {
            if old == 0 && new == 0 { return true }
            if old == 0 || new == 0 { return false }
            for (o, n) in pairs {
                if o == old { return n == new }
                if n == new { return false }
            }
            pairs.append((old, new))
            return true
        }
        /// `check_scalar_ids`: an id of 0 stands for a register linked to nothing.
        mutating func checkScalar(_ old: UInt32, _ new: UInt32) -> Bool {
            var o = old, n = new
            if o == 0 { temporary += 1; o = temporary }
            if n == 0 { temporary += 1; n = temporary }
            return check(o, n)
        }
    }

    /// `maps`: the input's maps; values of maps with a spin lock compare their ids
    /// (which name the lock), as Linux's `regsafe` does.
    /// `liveStack`: the current frame's slots that may still be read (others are not compared).
    static func includes(_ old: AbstractState, _ new: AbstractState, live: UInt16, liveStack: UInt64 = .max,
                         mode: Mode = .notExact, maps: [VerifierMap] = []) -> Bool {
        guard old.frames.count == new.frames.count, old.references.count == new.references.count,
              old.mayGotoDepth == new.mayGotoDepth || true else { return false }
        var ids = IDMap()
        for (o, n) in zip(old.references, new.references) where !ids.check(o.id, n.id) { return false }
        // refsafe: the same lock held (same map, ids renamed consistently), or none.
        switch (old.heldLock, new.heldLock) {
        case (nil, nil): break
        case (let o?, let n?): if o.map != n.map || !ids.check(o.id, n.id) { return false }
        default: return false
        }
        let last = old.frames.count - 1
        for f in 0...last {
            guard old.frames[f].callSite == new.frames[f].callSite else { return false }
            // A state that ran the bpf_loop callback more times has fewer runs left to check.
            guard old.frames[f].callbackDepth <= new.frames[f].callbackDepth else { return false }
        }
        for f in 0...last {
            let of = old.frames[f], nf = new.frames[f]
            for r in 0..<11 {
                if f == last {
                    if live & (1 << UInt16(r)) == 0 { continue }
                } else if r <= 5 { continue }
                if !register(of.registers[r], covers: nf.registers[r], &ids, mode) { return false }
                if !lockIDs(of.registers[r], nf.registers[r], &ids, maps) { return false }
            }
            // Slots below the deepest byte the old frame touched are empty there: covered.
            let used = min(64, (of.stackDepth + 7) / 8)
            for s in 0..<used {
                if f == last && liveStack & (1 << UInt64(s)) == 0 { continue }
                if !slot(of.stack[s], covers: nf.stack[s], &ids, mode) { return false }
                if let o = of.stack[s].spilled, let n = nf.stack[s].spilled, !lockIDs(o, n, &ids, maps) { return false }
            }
        }
        return true
    }

    /// Map value pointers into maps with a spin lock: their ids name the lock they can
    /// unlock, so they must correspond (`check_ids` in Linux's `regsafe`).
    static func lockIDs(_ old: RegisterValue, _ new: RegisterValue, _ ids: inout IDMap, _ maps: [VerifierMap]) -> Bool {
        guard !maps.isEmpty, old.kind == .mapValue, new.kind == .mapValue, !old.mayBeNull,
              maps.indices.contains(Int(old.target)), maps[Int(old.target)].spinLockOffset != nil else { return true }
        return ids.check(old.id, new.id)
    }

    static func register(_ old: RegisterValue, covers new: RegisterValue, _ ids: inout IDMap, _ mode: Mode) -> Bool {
        if old.kind == .notInitialized { return true }
        guard old.kind == new.kind else { return false }
        switch old.kind {
        case .scalar:
            if mode == .notExact && !old.precise { return true }
            // A constant added to a linked register (BPF_ADD_CONST) must match exactly, and
            // the link itself is mapped by its id without the flag, so that the old state's
            // `r4 = r2 + 1` is only matched by the same relation between the same registers.
            if old.hasAddedConstant != new.hasAddedConstant { return false }
            if old.hasAddedConstant && old.offset != new.offset { return false }
            if old.id != 0 && !ids.checkScalar(old.linkID, new.linkID) { return false }
            return old.value.includes(new.value)
        default:
            guard old.mayBeNull == new.mayBeNull, old.offset == new.offset, old.target == new.target,
                  old.readOnly == new.readOnly, old.value.includes(new.value) else { return false }
            if old.kind == .stack && old.value != new.value { return false }
            if old.kind.isPacket {
                if old.range > new.range { return false }
            } else if old.range != new.range { return false }
            if old.mayBeNull || old.kind.isPacket {
                if !ids.check(old.id, new.id) { return false }
            }
            if old.referenceID != 0 || new.referenceID != 0 {
                if !ids.check(old.referenceID, new.referenceID) { return false }
            }
            return true
        }
    }

    /// Linux's `scalar_reg_for_stack`: a spilled 8-byte scalar, or eight bytes of unknown
    /// data (which read back as an unknown scalar).
    static func scalarForStack(_ s: StackSlot, _ privileged: Bool) -> RegisterValue? {
        if s.bytes == 0x0303030303030303, let spilled = s.spilled { return spilled.kind == .scalar ? spilled : nil }
        for i in 0..<8 {
            let b = s.byte(i)
            if b == .misc || (b == .invalid && privileged) { continue }
            return nil
        }
        return .unknownScalar
    }

    /// Linux's `stacksafe` for one slot.
    static func slot(_ old: StackSlot, covers new: StackSlot, _ ids: inout IDMap, _ mode: Mode) -> Bool {
        if old.isEmpty { return true }
        if old.bytes == new.bytes {
            // Identical bytes without a spilled register, or the same id-free scalar: covered.
            guard let o = old.spilled else { return new.spilled == nil }
            if let n = new.spilled, o.kind == .scalar, o.id == 0, n.id == 0, o.value == n.value, n.kind == .scalar { return true }
        }
        let privileged = mode == .notExact
        if let o = scalarForStack(old, privileged), let n = scalarForStack(new, privileged) {
            return register(o, covers: n, &ids, mode)
        }
        for i in 0..<8 {
            let ob = old.byte(i)
            let nb = new.byte(i)
            if ob == .invalid || (privileged && ob == .misc) { continue }
            if ob == .misc && nb == .zero { continue }
            if ob != nb { return false }
        }
        if old.byte(0) == .spill, let o = old.spilled {
            guard let n = new.spilled else { return false }
            return register(o, covers: n, &ids, mode)
        }
        return true
    }
}
