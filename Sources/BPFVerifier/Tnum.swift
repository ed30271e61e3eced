/// A tristate number ("tnum") as Linux's verifier tracks it: every bit is known 0,
/// known 1, or unknown. `value` holds the known-1 bits, `mask` the unknown bits;
/// a bit is never set in both.
public struct Tnum: Hashable, Sendable, CustomStringConvertible {
    public var value: UInt64
    public var mask: UInt64

    @inlinable public init(value: UInt64, mask: UInt64) {
        self.value = value & ~mask
        self.mask = mask
    }

    @inlinable public static func constant(_ value: UInt64) -> Tnum { Tnum(value: value, mask: 0) }
    public static let unknown = Tnum(value: 0, mask: ~0)

    /// The smallest tnum holding every value of [min, max].
    public static func range(_ min: UInt64, _ max: UInt64) -> Tnum {
        let chi = min ^ max
        let bits = chi == 0 ? 0 : 64 - chi.leadingZeroBitCount
        if bits > 63 { return .unknown }
        let delta: UInt64 = (1 << UInt64(bits)) - 1
        return Tnum(value: min & ~delta, mask: delta)
    }

    @inlinable public var isConstant: Bool { mask == 0 }
    @inlinable public var isUnknown: Bool { mask == ~0 }
    /// The largest value the tnum can hold (all unknown bits 1).
    @inlinable public var maxValue: UInt64 { value | mask }

    public func shiftedLeft(_ shift: UInt64) -> Tnum { Tnum(value: value << shift, mask: mask << shift) }
    public func shiftedRight(_ shift: UInt64) -> Tnum { Tnum(value: value >> shift, mask: mask >> shift) }
    /// Arithmetic right shift in 64- or 32-bit arithmetic (the 32-bit result is zero-extended).
    public func arithmeticShiftedRight(_ shift: UInt64, bits: Int) -> Tnum {
        if bits == 32 {
            let v = UInt32(bitPattern: Int32(truncatingIfNeeded: value) >> Int32(shift))
            let m = UInt32(bitPattern: Int32(truncatingIfNeeded: mask) >> Int32(shift))
            return Tnum(value: UInt64(v), mask: UInt64(m))
        }
        let v = UInt64(bitPattern: Int64(bitPattern: value) >> Int64(shift))
        let m = UInt64(bitPattern: Int64(bitPattern: mask) >> Int64(shift))
        return Tnum(value: v, mask: m)
    }

    public static func + (a: Tnum, b: Tnum) -> Tnum {
        let sm = a.mask &+ b.mask
        let sv = a.value &+ b.value
        let sigma = sm &+ sv
        let chi = sigma ^ sv
        let mu = chi | a.mask | b.mask
        return Tnum(value: sv & ~mu, mask: mu)
    }

    public static func - (a: Tnum, b: Tnum) -> Tnum {
        let dv = a.value &- b.value
        let alpha = dv &+ a.mask
        let beta = dv &- b.mask
        let chi = alpha ^ beta
        let mu = chi | a.mask | b.mask
        return Tnum(value: dv & ~mu, mask: mu)
    }

    public static func & (a: Tnum, b: Tnum) -> Tnum {
        let alpha = a.value | a.mask
        let beta = b.value | b.mask
        let v = a.value & b.value
        return Tnum(value: v, mask: alpha & beta & ~v)
    }

    public static func | (a: Tnum, b: Tnum) -> Tnum {
        let v = a.value | b.value
        let mu = a.mask | b.mask
        return Tnum(value: v, mask: mu & ~v)
    }

    public static func ^ (a: Tnum, b: Tnum) -> Tnum {
        let v = a.value ^ b.value
        let mu = a.mask | b.mask
        return Tnum(value: v & ~mu, mask: mu)
    }

    public static func * (a: Tnum, b: Tnum) -> Tnum {
        let accV = a.value &* b.value
        var accM = Tnum.constant(0)
        var a = a, b = b
        while a.value != 0 || a.mask != 0 {
            if a.value & 1 != 0 {
                accM = accM + Tnum(value: 0, mask: b.mask)
            } else if a.mask & 1 != 0 {
                accM = accM + Tnum(value: 0, mask: b.value | b.mask)
            }
            a = a.shiftedRight(1)
            b = b.shiftedLeft(1)
        }
        return Tnum.constant(accV) + accM
    }

    public var negated: Tnum { Tnum.constant(0) - self }

    /// Values in both `self` and `other` (both must hold the true value).
    public func intersect(_ other: Tnum) -> Tnum {
        let v = value | other.value
        let mu = mask & other.mask
        return Tnum(value: v & ~mu, mask: mu)
    }

    /// The smallest tnum holding every value of both.
    public func union(_ other: Tnum) -> Tnum {
        let mu = mask | other.mask | (value ^ other.value)
        return Tnum(value: value & ~mu, mask: mu)
    }

    /// Truncated to `size` bytes.
    public func cast(toBytes size: Int) -> Tnum {
        if size >= 8 { return self }
        let keep: UInt64 = (1 << UInt64(size * 8)) - 1
        return Tnum(value: value & keep, mask: mask & keep)
    }

    public var subreg: Tnum { cast(toBytes: 4) }
    public var clearingSubreg: Tnum { shiftedRight(32).shiftedLeft(32) }
    public func withSubreg(_ sub: Tnum) -> Tnum { clearingSubreg | sub.subreg }
    public var isSubregConstant: Bool { mask & 0xffff_ffff == 0 }

    /// True when every value of `other` is a value of `self`.
    public func contains(_ other: Tnum) -> Bool {
        if other.mask & ~mask != 0 { return false }
        return value == (other.value & ~mask)
    }

    public func contains(value v: UInt64) -> Bool { (v & ~mask) == value }

    public func isAligned(_ size: UInt64) -> Bool {
        size == 0 ? true : (value | mask) & (size - 1) == 0
    }

    public var description: String {
        if isConstant { return "\(value)" }
        return "(0x\(String(value, radix: 16)); 0x\(String(mask, radix: 16)))"
    }
}
