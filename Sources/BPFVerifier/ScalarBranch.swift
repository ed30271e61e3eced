/// A conditional jump's comparison. `notSet` is the fall-through of `jset`
/// (Linux's `BPF_JSET | BPF_X` in `rev_opcode`).
public enum Comparison: Sendable, Hashable {
    case eq, ne, gt, ge, lt, le, sgt, sge, slt, sle, set, notSet

    /// The condition that holds on the other side of the branch.
    public var negated: Comparison {
        switch self {
        case .eq: .ne
        case .ne: .eq
        case .gt: .le
        case .le: .gt
        case .ge: .lt
        case .lt: .ge
        case .sgt: .sle
        case .sle: .sgt
        case .sge: .slt
        case .slt: .sge
        case .set: .notSet
        case .notSet: .set
        }
    }

    /// The same condition with the operands swapped (`a > b` is `b < a`).
    public var flipped: Comparison {
        switch self {
        case .gt: .lt
        case .lt: .gt
        case .ge: .le
        case .le: .ge
        case .sgt: .slt
        case .slt: .sgt
        case .sge: .sle
        case .sle: .sge
        default: self
        }
    }

    public var symbol: String {
        switch self {
        case .eq: "=="
        case .ne: "!="
        case .gt: ">"
        case .ge: ">="
        case .lt: "<"
        case .le: "<="
        case .sgt: "s>"
        case .sge: "s>="
        case .slt: "s<"
        case .sle: "s<="
        case .set: "&"
        case .notSet: "!&"
        }
    }

    /// Evaluates the comparison on concrete values.
    public func holds(_ a: UInt64, _ b: UInt64, is32: Bool) -> Bool {
        let ua = is32 ? a & 0xffff_ffff : a, ub = is32 ? b & 0xffff_ffff : b
        let sa = is32 ? Int64(Int32(truncatingIfNeeded: a)) : Int64(bitPattern: a)
        let sb = is32 ? Int64(Int32(truncatingIfNeeded: b)) : Int64(bitPattern: b)
        switch self {
        case .eq: return ua == ub
        case .ne: return ua != ub
        case .gt: return ua > ub
        case .ge: return ua >= ub
        case .lt: return ua < ub
        case .le: return ua <= ub
        case .sgt: return sa > sb
        case .sge: return sa >= sb
        case .slt: return sa < sb
        case .sle: return sa <= sb
        case .set: return ua & ub != 0
        case .notSet: return ua & ub == 0
        }
    }
}

extension Scalar {
    func isConst(is32: Bool) -> Bool { is32 ? bits.isSubregConstant : bits.isConstant }
    func constValue(is32: Bool) -> UInt64 { is32 ? bits.value & 0xffff_ffff : bits.value }

    /// Linux's `is_scalar_branch_taken`: `true`/`false` when the comparison is decided
    /// for every pair of values, `nil` when both outcomes are possible.
    public static func branchTaken(_ a: Scalar, _ b: Scalar, _ op: Comparison, is32: Bool) -> Bool? {
        var r1 = a, r2 = b
        var t1 = is32 ? r1.bits.subreg : r1.bits
        var t2 = is32 ? r2.bits.subreg : r2.bits
        func bounds(_ r: Scalar) -> (UInt64, UInt64, Int64, Int64) {
            is32 ? (UInt64(r.u32min), UInt64(r.u32max), Int64(r.s32min), Int64(r.s32max))
                 : (r.umin, r.umax, r.smin, r.smax)
        }
        let (umin1, umax1, smin1, smax1) = bounds(r1)
        let (umin2, umax2, smin2, smax2) = bounds(r2)
        switch op {
        case .eq, .ne:
            let equal: Bool? = {
                if t1.isConstant && t2.isConstant { return t1.value == t2.value }
                if umin1 > umax2 || umax1 < umin2 { return false }
                if smin1 > smax2 || smax1 < smin2 { return false }
                if (t1.value ^ t2.value) & ~(t1.mask | t2.mask) != 0 { return false }
                if !is32 {
                    if r1.u32min > r2.u32max || r1.u32max < r2.u32min { return false }
                    if r1.s32min > r2.s32max || r1.s32max < r2.s32min { return false }
                }
                return nil
            }()
            guard let equal else { return nil }
            return op == .eq ? equal : !equal
        case .set, .notSet:
            if !r2.isConst(is32: is32) { swap(&r1, &r2); swap(&t1, &t2) }
            guard r2.isConst(is32: is32) else { return nil }
            var result: Bool?
            if t1.value & t2.value != 0 { result = true }
            else if (t1.mask | t1.value) & t2.value == 0 { result = false }
            guard let result else { return nil }
            return op == .set ? result : !result
        case .gt:
            if umin1 > umax2 { return true }
            if umax1 <= umin2 { return false }
        case .sgt:
            if smin1 > smax2 { return true }
            if smax1 <= smin2 { return false }
        case .lt:
            if umax1 < umin2 { return true }
            if umin1 >= umax2 { return false }
        case .slt:
            if smax1 < smin2 { return true }
            if smin1 >= smax2 { return false }
        case .ge:
            if umin1 >= umax2 { return true }
            if umax1 < umin2 { return false }
        case .sge:
            if smin1 >= smax2 { return true }
            if smax1 < smin2 { return false }
        case .le:
            if umax1 <= umin2 { return true }
            if umin1 > umax2 { return false }
        case .sle:
            if smax1 <= smin2 { return true }
            if smin1 > smax2 { return false }
        }
        return nil
    }

    /// Linux's `regs_refine_cond_op` followed by `reg_bounds_sync`: narrows both
    /// operands to the values for which `a op b` holds. The result may be
    /// contradictory when no pair satisfies the condition.
    public static func refine(_ a: inout Scalar, _ b: inout Scalar, _ op: Comparison, is32: Bool) {
        refineUnsynced(&a, &b, op, is32: is32)
        a.sync()
        b.sync()
    }

    static func refineUnsynced(_ a: inout Scalar, _ b: inout Scalar, _ op: Comparison, is32: Bool) {
        switch op {
        case .gt, .ge, .sgt, .sge:
            refineUnsynced(&b, &a, op.flipped, is32: is32)
            return
        default: break
        }
        switch op {
        case .eq:
            if is32 {
                a.u32min = max(a.u32min, b.u32min); a.u32max = min(a.u32max, b.u32max)
                a.s32min = max(a.s32min, b.s32min); a.s32max = min(a.s32max, b.s32max)
                b.u32min = a.u32min; b.u32max = a.u32max; b.s32min = a.s32min; b.s32max = a.s32max
                let t = a.bits.subreg.intersect(b.bits.subreg)
                a.bits = a.bits.withSubreg(t); b.bits = b.bits.withSubreg(t)
            } else {
                a.umin = max(a.umin, b.umin); a.umax = min(a.umax, b.umax)
                a.smin = max(a.smin, b.smin); a.smax = min(a.smax, b.smax)
                b.umin = a.umin; b.umax = a.umax; b.smin = a.smin; b.smax = a.smax
                let t = a.bits.intersect(b.bits)
                a.bits = t; b.bits = t
            }
        case .ne:
            if !b.isConst(is32: is32) { swap(&a, &b); defer { swap(&a, &b) }; refineNotEqual(&a, b, is32: is32); return }
            refineNotEqual(&a, b, is32: is32)
        case .set, .notSet:
            var swapped = false
            if !b.isConst(is32: is32) { swap(&a, &b); swapped = true }
            defer { if swapped { swap(&a, &b) } }
            guard b.isConst(is32: is32) else { return }
            let v = b.constValue(is32: is32)
            if op == .set {
                guard v != 0, v & (v - 1) == 0 else { return }
                if is32 { a.bits = a.bits.withSubreg(a.bits.subreg | .constant(v)) }
                else { a.bits = a.bits | .constant(v) }
            } else {
                if is32 { a.bits = a.bits.withSubreg(a.bits.subreg & .constant(~v)) }
                else { a.bits = a.bits & .constant(~v) }
                // Linux 6.18 forgets the ranges after clearing bits and recomputes them from the
                // known bits alone ("bpf: Forget ranges when refining tnum after JSET"), so a
                // bound such as `r >= 1000` does not survive `!(r & 31)`.
                a = Scalar(bits: a.bits, umin: 0, umax: .max, smin: .min, smax: .max,
                           u32min: 0, u32max: .max, s32min: .min, s32max: .max)
            }
        case .le:
            if is32 { a.u32max = min(a.u32max, b.u32max); b.u32min = max(a.u32min, b.u32min) }
            else { a.umax = min(a.umax, b.umax); b.umin = max(a.umin, b.umin) }
        case .lt:
            if is32 {
                if b.u32max == 0 || a.u32min == .max { a.u32min = 1; a.u32max = 0; return }
                a.u32max = min(a.u32max, b.u32max - 1); b.u32min = max(a.u32min + 1, b.u32min)
            } else {
                if b.umax == 0 || a.umin == .max { a.umin = 1; a.umax = 0; return }
                a.umax = min(a.umax, b.umax - 1); b.umin = max(a.umin + 1, b.umin)
            }
        case .sle:
            if is32 { a.s32max = min(a.s32max, b.s32max); b.s32min = max(a.s32min, b.s32min) }
            else { a.smax = min(a.smax, b.smax); b.smin = max(a.smin, b.smin) }
        case .slt:
            if is32 {
                if b.s32max == .min || a.s32min == .max { a.s32min = 1; a.s32max = 0; return }
                a.s32max = min(a.s32max, b.s32max - 1); b.s32min = max(a.s32min + 1, b.s32min)
            } else {
                if b.smax == .min || a.smin == .max { a.smin = 1; a.smax = 0; return }
                a.smax = min(a.smax, b.smax - 1); b.smin = max(a.smin + 1, b.smin)
            }
        default: break
        }
    }

    static func refineNotEqual(_ a: inout Scalar, _ b: Scalar, is32: Bool) {
        guard b.isConst(is32: is32) else { return }
        let v = b.constValue(is32: is32)
        if is32 {
            let u = UInt32(truncatingIfNeeded: v), s = Int32(bitPattern: u)
            if a.u32min == u && a.u32min == a.u32max { a.u32min = 1; a.u32max = 0; return }
            if a.u32min == u { a.u32min += 1 }
            if a.u32max == u { a.u32max -= 1 }
            if a.s32min == s && a.s32min != a.s32max { a.s32min += 1 } else if a.s32min == s { a.s32min = 1; a.s32max = 0; return }
            if a.s32max == s { a.s32max -= 1 }
        } else {
            let s = Int64(bitPattern: v)
            if a.umin == v && a.umin == a.umax { a.umin = 1; a.umax = 0; return }
            if a.umin == v { a.umin += 1 }
            if a.umax == v { a.umax -= 1 }
            if a.smin == s && a.smin != a.smax { a.smin += 1 } else if a.smin == s { a.smin = 1; a.smax = 0; return }
            if a.smax == s { a.smax -= 1 }
        }
    }
}
