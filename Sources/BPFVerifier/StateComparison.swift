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

    static func includes(_ old: AbstractState, _ new: AbstractState, live: UInt16, mode: Mode = .notExact) -> Bool {
        guard old.frames.count == new.frames.count, old.references.count == new.references.count,
              old.mayGotoDepth == new.mayGotoDepth || true else { return false }
        var ids = IDMap()
        for (o, n) in zip(old.references, new.references) where !ids.check(o.id, n.id) { return false }
        let last = old.frames.count - 1
        for f in 0...last {
            guard old.frames[f].callSite == new.frames[f].callSite else { return false }
        }
        for f in 0...last {
            let of = old.frames[f], nf = new.frames[f]
            for r in 0..<11 {
                if f == last {
                    if live & (1 << UInt16(r)) == 0 { continue }
                } else if r <= 5 { continue }
                if !register(of.registers[r], covers: nf.registers[r], &ids, mode) { return false }
            }
            for s in 0..<64 {
                if !slot(of.stack[s], covers: nf.stack[s], &ids, mode) { return false }
            }
        }
        return true
    }

    static func register(_ old: RegisterValue, covers new: RegisterValue, _ ids: inout IDMap, _ mode: Mode) -> Bool {
        if old.kind == .notInitialized { return true }
        guard old.kind == new.kind else { return false }
        switch old.kind {
        case .scalar:
            if mode == .notExact && !old.precise { return true }
            if old.id != 0 && !ids.checkScalar(old.id, new.id) { return false }
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

    /// Linux's `scalar_reg_for_stack`: a spilled scalar, or eight bytes of unknown data
    /// (which read back as an unknown scalar).
    static func scalarForStack(_ s: StackSlot) -> RegisterValue? {
        if let spilled = s.spilled { return spilled.kind == .scalar ? spilled : nil }
        for i in 0..<8 where s.byte(i) != .misc { return nil }
        return .unknownScalar
    }

    static func slot(_ old: StackSlot, covers new: StackSlot, _ ids: inout IDMap, _ mode: Mode) -> Bool {
        if old.isEmpty { return true }
        if let o = scalarForStack(old), let n = scalarForStack(new) {
            return register(o, covers: n, &ids, mode)
        }
        if let o = old.spilled {
            if let n = new.spilled { return register(o, covers: n, &ids, mode) }
            // An unbounded spilled scalar covers any initialised bytes.
            if o.kind == .scalar && (o.value.isUnbounded || (mode == .notExact && !o.precise)) && o.id == 0 {
                return (0..<8).allSatisfy { new.byte($0) == .misc || new.byte($0) == .zero }
            }
            return false
        }
        for i in 0..<8 {
            let ob = old.byte(i)
            let nb = new.byte(i)
            switch ob {
            case .invalid: continue
            case .misc:
                if nb == .misc || nb == .zero { continue }
                if nb == .spill, let n = new.spilled, n.kind == .scalar { continue }
                return false
            case .zero:
                if nb == .zero { continue }
                if nb == .spill, let n = new.spilled, n.kind == .scalar, n.value.constantValue == 0 { continue }
                return false
            case .spill:
                return false
            }
        }
        return true
    }
}
