/// Linked scalars (Linux's scalar ids, `BPF_ADD_CONST64`/`BPF_ADD_CONST32`, `sync_linked_regs`).
///
/// Copies of a scalar share an id: a branch that bounds one bounds them all. Since Linux 6.11
/// a copy that then had a constant added stays linked too: after `r4 = r2; r4 += 1`, r4 keeps
/// r2's id with a flag and remembers the constant in `offset`. Each register of a link holds
/// "the link's base value + its offset" (offset 0 without a flag); with the 32-bit flag
/// (`w4 += 1` on a copy whose value fit in 32 bits) it holds that sum's low 32 bits,
/// zero-extended. The kernel on this machine (6.18.44) has the stable backports: `add` and
/// `sub` of a constant in [-2^31, 2^31) link, in 64 or 32 bits, once; any other write, a
/// second constant, or `rX += rX` breaks the link.
extension RegisterValue {
    /// Linux's `BPF_ADD_CONST64`, kept in the id's top bits as Linux keeps it.
    static let addedConstant64: UInt32 = 1 << 31
    /// Linux's `BPF_ADD_CONST32`.
    static let addedConstant32: UInt32 = 1 << 30
    static let addedConstant: UInt32 = addedConstant64 | addedConstant32

    /// The id without the flags: registers with the same link id are linked.
    var linkID: UInt32 { id & ~RegisterValue.addedConstant }
    /// The register had a constant (its `offset`) added after it was linked.
    var hasAddedConstant: Bool { id & RegisterValue.addedConstant != 0 }
    /// The constant was added in 32-bit arithmetic.
    var hasAddedConstant32: Bool { id & RegisterValue.addedConstant32 != 0 }

    /// Linux's `assign_scalar_id_before_mov`: a scalar about to be copied (register move,
    /// spill) gets an id to link the copy with; one with a constant added loses its link first,
    /// as a second constant cannot be recorded.
    mutating func prepareLinkedCopy(newID: () -> UInt32) {
        guard kind == .scalar else { return }
        if hasAddedConstant { unlink() }
        if id == 0 && !value.isConstant { id = newID() }
    }

    /// The link after `self op= c` for `add`/`sub` of a known constant `c` (the low 32 bits
    /// when `is32`), as `adjust_reg_min_max_vals` keeps it. `umaxBefore` is the register's
    /// umax before the operation. Kept with the offset when the register was linked with no
    /// constant yet and the constant fits, broken otherwise.
    mutating func linkAfterConstant(_ op: ScalarOperation, _ c: UInt64, is32: Bool, umaxBefore: UInt64) {
        guard id != 0, !hasAddedConstant, op == .add || op == .sub else { unlink(); return }
        if !is32 && Int64(bitPattern: c) != Int64(Int32(truncatingIfNeeded: c)) { unlink(); return }
        if is32 && umaxBefore > UInt64(UInt32.max) { unlink(); return }
        var off = Int32(truncatingIfNeeded: c)
        if op == .sub {
            if off == .min { unlink(); return }
            off = -off
        }
        id |= is32 ? RegisterValue.addedConstant32 : RegisterValue.addedConstant64
        offset = off
    }

    /// Any other write: no link.
    mutating func unlink() { id = 0; if kind == .scalar { offset = 0 } }
}

extension Engine {
    /// Linux's `sync_linked_regs`: every other scalar linked to register `r` takes its bounds,
    /// shifted by the difference of their offsets. One with the same offset becomes a copy, id
    /// included, as in Linux; the others keep their id and offset. A 32-bit offset on one side
    /// and a 64-bit one on the other relate the two only through wrapping: Linux leaves such a
    /// register alone, and so does BPFKit. A register with a 32-bit offset is the zero-extended
    /// low half of the sum. Where Linux would add in 64 bits a delta that may wrap the 32-bit
    /// value it came from (a known register with a 32-bit offset, a register without), BPFKit
    /// goes back to the link's base through the low 32 bits, so the result stays sound.
    func syncLinked(_ state: inout AbstractState, from r: Int) {
        let known = state[register: r]
        guard known.kind == .scalar, known.id != 0 else { return }
        let link = known.linkID
        let last = state.frames.count - 1
        func sync(_ reg: inout RegisterValue) {
            guard reg.kind == .scalar, reg.linkID == link else { return }
            let crossWidth = (reg.hasAddedConstant32 && known.id & RegisterValue.addedConstant64 != 0)
                || (known.hasAddedConstant32 && reg.id & RegisterValue.addedConstant64 != 0)
            if crossWidth { return }
            if (!reg.hasAddedConstant && !known.hasAddedConstant) || reg.offset == known.offset {
                reg.value = known.value
                reg.id = known.id
                return
            }
            let delta = Int64(reg.offset) - Int64(known.offset)
            if reg.hasAddedConstant32 {
                // reg = zext(low 32 bits of known + delta).
                reg.value = Scalar.apply(.add, known.value, .constant(UInt64(bitPattern: delta)), is32: true)
            } else if known.hasAddedConstant32 {
                // base = zext(known's low 32 bits - known.off); reg = base + reg.off (0 here).
                let base = Scalar.apply(.add, known.value, .constant(UInt64(bitPattern: -Int64(known.offset))), is32: true)
                reg.value = Scalar.apply(.add, base, .constant(UInt64(bitPattern: Int64(reg.offset))), is32: false)
            } else {
                reg.value = Scalar.apply(.add, known.value, .constant(UInt64(bitPattern: delta)), is32: false)
            }
        }
        for f in state.frames.indices {
            for i in 0..<11 where !(f == last && i == r) { sync(&state.frames[f].registers[i]) }
            for s in 0..<state.frames[f].stack.storedCount where state.frames[f].stack[s].spilled != nil { sync(&state.frames[f].stack[s].spilled!) }
        }
    }
}
