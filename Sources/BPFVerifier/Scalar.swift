/// What the verifier knows about a scalar: the known bits (`bits`) and the
/// unsigned/signed 64-bit and 32-bit ranges, kept consistent as Linux's
/// `reg_bounds_sync` does. Every value the register may hold satisfies all five.
public struct Scalar: Hashable, Sendable, CustomStringConvertible {
    public var bits: Tnum
    public var umin: UInt64, umax: UInt64
    public var smin: Int64, smax: Int64
    public var u32min: UInt32, u32max: UInt32
    public var s32min: Int32, s32max: Int32

    public static let unknown = Scalar(bits: .unknown, umin: 0, umax: .max, smin: .min, smax: .max,
                                       u32min: 0, u32max: .max, s32min: .min, s32max: .max)

    public init(bits: Tnum, umin: UInt64, umax: UInt64, smin: Int64, smax: Int64,
                u32min: UInt32, u32max: UInt32, s32min: Int32, s32max: Int32) {
        self.bits = bits
        self.umin = umin; self.umax = umax; self.smin = smin; self.smax = smax
        self.u32min = u32min; self.u32max = u32max; self.s32min = s32min; self.s32max = s32max
    }

    public static func constant(_ v: UInt64) -> Scalar {
        Scalar(bits: .constant(v), umin: v, umax: v, smin: Int64(bitPattern: v), smax: Int64(bitPattern: v),
               u32min: UInt32(truncatingIfNeeded: v), u32max: UInt32(truncatingIfNeeded: v),
               s32min: Int32(truncatingIfNeeded: v), s32max: Int32(truncatingIfNeeded: v))
    }

    /// An unknown value in [min, max] (unsigned).
    public static func range(_ min: UInt64, _ max: UInt64) -> Scalar {
        var s = Scalar.unknown
        s.umin = min; s.umax = max
        s.bits = Tnum.range(min, max)
        s.sync()
        return s
    }

    public var isConstant: Bool { bits.isConstant }
    public var constantValue: UInt64? { bits.isConstant ? bits.value : nil }
    public var isSubregConstant: Bool { bits.isSubregConstant }
    public var isUnbounded: Bool { self == .unknown }

    /// True when `v` satisfies every constraint.
    public func contains(_ v: UInt64) -> Bool {
        let v32 = UInt32(truncatingIfNeeded: v)
        return bits.contains(value: v) && umin <= v && v <= umax && smin <= Int64(bitPattern: v)
            && Int64(bitPattern: v) <= smax && u32min <= v32 && v32 <= u32max
            && s32min <= Int32(bitPattern: v32) && Int32(bitPattern: v32) <= s32max
    }

    /// The constraints contradict each other: no value satisfies them (a dead branch).
    public var isContradictory: Bool {
        umin > umax || smin > smax || u32min > u32max || s32min > s32max
            || !bits.contains(value: bits.value)
    }

    /// Every value of `other` is a value of `self`.
    public func includes(_ other: Scalar) -> Bool {
        umin <= other.umin && other.umax <= umax && smin <= other.smin && other.smax <= smax
            && u32min <= other.u32min && other.u32max <= u32max && s32min <= other.s32min
            && other.s32max <= s32max && bits.contains(other.bits)
    }

    // MARK: Bounds synchronisation (reg_bounds_sync)

    mutating func updateBounds32() {
        let t = bits.subreg
        s32min = max(s32min, Int32(truncatingIfNeeded: t.value | (t.mask & 0x8000_0000)))
        s32max = min(s32max, Int32(truncatingIfNeeded: t.value | (t.mask & 0x7fff_ffff)))
        u32min = max(u32min, UInt32(truncatingIfNeeded: t.value))
        u32max = min(u32max, UInt32(truncatingIfNeeded: t.value | t.mask))
    }

    mutating func updateBounds64() {
        smin = max(smin, Int64(bitPattern: bits.value | (bits.mask & (1 << 63))))
        smax = min(smax, Int64(bitPattern: bits.value | (bits.mask & ~(1 << 63))))
        umin = max(umin, bits.value)
        umax = min(umax, bits.value | bits.mask)
    }

    mutating func updateBounds() {
        updateBounds32()
        updateBounds64()
    }

    mutating func deduceBounds32() {
        if umin >> 32 == umax >> 32 {
            u32min = max(u32min, UInt32(truncatingIfNeeded: umin))
            u32max = min(u32max, UInt32(truncatingIfNeeded: umax))
            if Int32(truncatingIfNeeded: umin) <= Int32(truncatingIfNeeded: umax) {
                s32min = max(s32min, Int32(truncatingIfNeeded: umin))
                s32max = min(s32max, Int32(truncatingIfNeeded: umax))
            }
        }
        if smin >> 32 == smax >> 32 {
            u32min = max(u32min, UInt32(truncatingIfNeeded: smin))
            u32max = min(u32max, UInt32(truncatingIfNeeded: smax))
            if Int32(truncatingIfNeeded: smin) <= Int32(truncatingIfNeeded: smax) {
                s32min = max(s32min, Int32(truncatingIfNeeded: smin))
                s32max = min(s32max, Int32(truncatingIfNeeded: smax))
            }
        }
        if UInt32(truncatingIfNeeded: umin >> 32) &+ 1 == UInt32(truncatingIfNeeded: umax >> 32),
           Int32(truncatingIfNeeded: umin) < 0, Int32(truncatingIfNeeded: umax) >= 0 {
            s32min = max(s32min, Int32(truncatingIfNeeded: umin))
            s32max = min(s32max, Int32(truncatingIfNeeded: umax))
        }
        if UInt32(truncatingIfNeeded: smin >> 32) &+ 1 == UInt32(truncatingIfNeeded: smax >> 32),
           Int32(truncatingIfNeeded: smin) < 0, Int32(truncatingIfNeeded: smax) >= 0 {
            s32min = max(s32min, Int32(truncatingIfNeeded: smin))
            s32max = min(s32max, Int32(truncatingIfNeeded: smax))
        }
        if Int32(bitPattern: u32min) <= Int32(bitPattern: u32max) {
            s32min = max(s32min, Int32(bitPattern: u32min))
            s32max = min(s32max, Int32(bitPattern: u32max))
        }
        if UInt32(bitPattern: s32min) <= UInt32(bitPattern: s32max) {
            u32min = max(u32min, UInt32(bitPattern: s32min))
            u32max = min(u32max, UInt32(bitPattern: s32max))
        }
    }

    mutating func deduceBounds64() {
        if Int64(bitPattern: umin) <= Int64(bitPattern: umax) {
            smin = max(smin, Int64(bitPattern: umin))
            smax = min(smax, Int64(bitPattern: umax))
        }
        if UInt64(bitPattern: smin) <= UInt64(bitPattern: smax) {
            umin = max(umin, UInt64(bitPattern: smin))
            umax = min(umax, UInt64(bitPattern: smax))
        } else {
            if umax < UInt64(bitPattern: smin) {
                smin = Int64(bitPattern: umin)
                umax = min(umax, UInt64(bitPattern: smax))
            } else if UInt64(bitPattern: smax) < umin {
                smax = Int64(bitPattern: umax)
                umin = max(umin, UInt64(bitPattern: smin))
            }
        }
    }

    mutating func deduceMixedBounds() {
        let newUmin = (umin & ~0xffff_ffff) | UInt64(u32min)
        let newUmax = (umax & ~0xffff_ffff) | UInt64(u32max)
        umin = max(umin, newUmin)
        umax = min(umax, newUmax)
        let newSmin = Int64(bitPattern: (UInt64(bitPattern: smin) & ~0xffff_ffff) | UInt64(u32min))
        let newSmax = Int64(bitPattern: (UInt64(bitPattern: smax) & ~0xffff_ffff) | UInt64(u32max))
        smin = max(smin, newSmin)
        smax = min(smax, newSmax)
        if s32min >= 0, s32max >= s32min, smin >= Int64(Int32.min), smax <= Int64(Int32.max) {
            smin = Int64(s32min); smax = Int64(s32max)
            umin = UInt64(s32min); umax = UInt64(s32max)
            bits = bits.intersect(Tnum.range(UInt64(bitPattern: smin), UInt64(bitPattern: smax)))
        }
    }

    mutating func deduceBounds() {
        deduceBounds32()
        deduceBounds64()
        deduceMixedBounds()
    }

    mutating func boundOffset() {
        let t64 = bits.intersect(Tnum.range(umin, umax))
        let t32 = t64.subreg.intersect(Tnum.range(UInt64(u32min), UInt64(u32max)))
        bits = t64.clearingSubreg | t32
    }

    /// Linux's `reg_bounds_sync`: learn bounds from the known bits, deduce across
    /// the signed/unsigned and 32/64-bit views, and learn bits back from the bounds.
    public mutating func sync() {
        guard !isContradictory else { return }
        updateBounds()
        deduceBounds()
        guard !isContradictory else { return }
        deduceBounds()
        guard !isContradictory else { return }
        boundOffset()
        updateBounds()
    }

    public func synced() -> Scalar { var s = self; s.sync(); return s }

    /// Linux's reaction to bounds that contradict each other: forget the ranges, keep
    /// what the known bits say.
    public mutating func resetIfContradictory() {
        guard isContradictory else { return }
        let known = bits
        self = .unknown
        bits = known
        sync()
        if isContradictory { self = .unknown }
    }

    mutating func markUnbounded64() { umin = 0; umax = .max; smin = .min; smax = .max }
    mutating func markUnbounded32() { u32min = 0; u32max = .max; s32min = .min; s32max = .max }

    /// The 32-bit result of an ALU32 operation written into the full register (upper half zero).
    public mutating func zeroExtend32() {
        bits = bits.subreg
        umin = UInt64(u32min); umax = UInt64(u32max)
        smax = (s32min >= 0 && s32max >= 0) ? Int64(s32max) : Int64(UInt32.max)
        smin = s32min >= 0 ? Int64(s32min) : 0
    }

    public var description: String {
        if let c = constantValue { return "\(Int64(bitPattern: c))" }
        var parts: [String] = []
        if smin != .min { parts.append("smin=\(smin)") }
        if smax != .max { parts.append("smax=\(smax)") }
        if umin != 0 { parts.append("umin=\(umin)") }
        if umax != .max { parts.append("umax=\(umax)") }
        if s32min != .min { parts.append("smin32=\(s32min)") }
        if s32max != .max { parts.append("smax32=\(s32max)") }
        if u32min != 0 { parts.append("umin32=\(u32min)") }
        if u32max != .max { parts.append("umax32=\(u32max)") }
        if !bits.isUnknown { parts.append("var_off=\(bits)") }
        return parts.isEmpty ? "scalar()" : "scalar(" + parts.joined(separator: ",") + ")"
    }
}
