/// The arithmetic operations of the ALU classes, as the bounds tracker sees them.
public enum ScalarOperation: Sendable, Hashable {
    case add, sub, mul, div, sdiv, mod, smod, or, and, xor, lsh, rsh, arsh, neg
}

extension Scalar {
    /// Linux's `adjust_scalar_min_max_vals`: the abstract result of `dst op src` in
    /// 64-bit (`is32 == false`) or 32-bit sub-register arithmetic (zero-extended).
    public static func apply(_ op: ScalarOperation, _ dst: Scalar, _ src: Scalar, is32: Bool) -> Scalar {
        var d = dst
        let bitness: UInt64 = is32 ? 32 : 64
        let srcConst: Bool = is32
            ? (src.bits.isSubregConstant && src.s32min == src.s32max && src.u32min == src.u32max)
            : (src.bits.isConstant && src.smin == src.smax && src.umin == src.umax)
        switch op {
        case .add, .sub, .neg, .and, .or, .xor, .mul: break
        case .lsh, .rsh, .arsh:
            guard srcConst, src.umax < bitness else { return .unknown }
        default:
            return .unknown
        }
        switch op {
        case .add:
            d.add32(src); d.add64(src); d.bits = d.bits + src.bits
        case .sub:
            d.sub32(src); d.sub64(src); d.bits = d.bits - src.bits
        case .neg:
            let original = d
            d = .constant(0)
            d.sub32(original); d.sub64(original)
            d.bits = original.bits.negated
        case .mul:
            d.bits = d.bits * src.bits
            d.mul32(src); d.mul64(src)
        case .and:
            d.bits = d.bits & src.bits
            d.and32(src); d.and64(src)
        case .or:
            d.bits = d.bits | src.bits
            d.or32(src); d.or64(src)
        case .xor:
            d.bits = d.bits ^ src.bits
            d.xor32(src); d.xor64(src)
        case .lsh:
            if is32 { d.lsh32(src) } else { d.lsh64(src) }
        case .rsh:
            if is32 { d.rsh32(src) } else { d.rsh64(src) }
        case .arsh:
            if is32 { d.arsh32(src) } else { d.arsh64(src) }
        default:
            return .unknown
        }
        if is32 { d.zeroExtend32() }
        d.sync()
        return d
    }

    // MARK: add / sub

    mutating func add32(_ s: Scalar) {
        let (a, o1) = s32min.addingReportingOverflow(s.s32min)
        let (b, o2) = s32max.addingReportingOverflow(s.s32max)
        if o1 || o2 { s32min = .min; s32max = .max } else { s32min = a; s32max = b }
        let (c, minOverflow) = u32min.addingReportingOverflow(s.u32min)
        let (e, maxOverflow) = u32max.addingReportingOverflow(s.u32max)
        if !minOverflow && maxOverflow { u32min = 0; u32max = .max } else { u32min = c; u32max = e }
    }

    mutating func add64(_ s: Scalar) {
        let (a, o1) = smin.addingReportingOverflow(s.smin)
        let (b, o2) = smax.addingReportingOverflow(s.smax)
        if o1 || o2 { smin = .min; smax = .max } else { smin = a; smax = b }
        let (c, minOverflow) = umin.addingReportingOverflow(s.umin)
        let (e, maxOverflow) = umax.addingReportingOverflow(s.umax)
        if !minOverflow && maxOverflow { umin = 0; umax = .max } else { umin = c; umax = e }
    }

    mutating func sub32(_ s: Scalar) {
        let (a, o1) = s32min.subtractingReportingOverflow(s.s32max)
        let (b, o2) = s32max.subtractingReportingOverflow(s.s32min)
        if o1 || o2 { s32min = .min; s32max = .max } else { s32min = a; s32max = b }
        let (c, minUnderflow) = u32min.subtractingReportingOverflow(s.u32max)
        let (e, maxUnderflow) = u32max.subtractingReportingOverflow(s.u32min)
        if minUnderflow && !maxUnderflow { u32min = 0; u32max = .max } else { u32min = c; u32max = e }
    }

    mutating func sub64(_ s: Scalar) {
        let (a, o1) = smin.subtractingReportingOverflow(s.smax)
        let (b, o2) = smax.subtractingReportingOverflow(s.smin)
        if o1 || o2 { smin = .min; smax = .max } else { smin = a; smax = b }
        let (c, minUnderflow) = umin.subtractingReportingOverflow(s.umax)
        let (e, maxUnderflow) = umax.subtractingReportingOverflow(s.umin)
        if minUnderflow && !maxUnderflow { umin = 0; umax = .max } else { umin = c; umax = e }
    }

    // MARK: mul

    mutating func mul32(_ s: Scalar) {
        let (a, o1) = u32max.multipliedReportingOverflow(by: s.u32max)
        let (b, o2) = u32min.multipliedReportingOverflow(by: s.u32min)
        if o1 || o2 { u32min = 0; u32max = .max } else { u32min = b; u32max = a }
        let products = [s32min.multipliedReportingOverflow(by: s.s32min), s32min.multipliedReportingOverflow(by: s.s32max),
                        s32max.multipliedReportingOverflow(by: s.s32min), s32max.multipliedReportingOverflow(by: s.s32max)]
        if products.contains(where: \.overflow) { s32min = .min; s32max = .max } else {
            s32min = products.map(\.partialValue).min()!
            s32max = products.map(\.partialValue).max()!
        }
    }

    mutating func mul64(_ s: Scalar) {
        let (a, o1) = umax.multipliedReportingOverflow(by: s.umax)
        let (b, o2) = umin.multipliedReportingOverflow(by: s.umin)
        if o1 || o2 { umin = 0; umax = .max } else { umin = b; umax = a }
        let products = [smin.multipliedReportingOverflow(by: s.smin), smin.multipliedReportingOverflow(by: s.smax),
                        smax.multipliedReportingOverflow(by: s.smin), smax.multipliedReportingOverflow(by: s.smax)]
        if products.contains(where: \.overflow) { smin = .min; smax = .max } else {
            smin = products.map(\.partialValue).min()!
            smax = products.map(\.partialValue).max()!
        }
    }

    // MARK: bitwise (bits already combined)

    mutating func signed32FromUnsigned() {
        if Int32(bitPattern: u32min) <= Int32(bitPattern: u32max) {
            s32min = Int32(bitPattern: u32min); s32max = Int32(bitPattern: u32max)
        } else { s32min = .min; s32max = .max }
    }

    mutating func signed64FromUnsigned() {
        if Int64(bitPattern: umin) <= Int64(bitPattern: umax) {
            smin = Int64(bitPattern: umin); smax = Int64(bitPattern: umax)
        } else { smin = .min; smax = .max }
    }

    mutating func setKnown32(_ v: UInt32) {
        u32min = v; u32max = v; s32min = Int32(bitPattern: v); s32max = Int32(bitPattern: v)
    }

    mutating func and32(_ s: Scalar) {
        let t = bits.subreg
        if s.bits.isSubregConstant && bits.isSubregConstant { setKnown32(UInt32(truncatingIfNeeded: t.value)); return }
        u32min = UInt32(truncatingIfNeeded: t.value)
        u32max = min(u32max, s.u32max)
        signed32FromUnsigned()
    }

    mutating func and64(_ s: Scalar) {
        if s.bits.isConstant && bits.isConstant { self = .constant(bits.value); return }
        umin = bits.value
        umax = min(umax, s.umax)
        signed64FromUnsigned()
        updateBounds()
    }

    mutating func or32(_ s: Scalar) {
        let t = bits.subreg
        if s.bits.isSubregConstant && bits.isSubregConstant { setKnown32(UInt32(truncatingIfNeeded: t.value)); return }
        u32min = max(u32min, s.u32min)
        u32max = UInt32(truncatingIfNeeded: t.value | t.mask)
        signed32FromUnsigned()
    }

    mutating func or64(_ s: Scalar) {
        if s.bits.isConstant && bits.isConstant { self = .constant(bits.value); return }
        umin = max(umin, s.umin)
        umax = bits.value | bits.mask
        signed64FromUnsigned()
        updateBounds()
    }

    mutating func xor32(_ s: Scalar) {
        let t = bits.subreg
        if s.bits.isSubregConstant && bits.isSubregConstant { setKnown32(UInt32(truncatingIfNeeded: t.value)); return }
        u32min = UInt32(truncatingIfNeeded: t.value)
        u32max = UInt32(truncatingIfNeeded: t.value | t.mask)
        signed32FromUnsigned()
    }

    mutating func xor64(_ s: Scalar) {
        if s.bits.isConstant && bits.isConstant { self = .constant(bits.value); return }
        umin = bits.value
        umax = bits.value | bits.mask
        signed64FromUnsigned()
        updateBounds()
    }

    // MARK: shifts (the shift amount is a known constant below the bitness)

    mutating func lsh32Bounds(_ lo: UInt64, _ hi: UInt64) {
        s32min = .min; s32max = .max
        if hi > 31 || UInt64(u32max) > (1 << (31 - hi)) {
            u32min = 0; u32max = .max
        } else {
            u32min <<= UInt32(lo); u32max <<= UInt32(hi)
        }
    }

    mutating func lsh32(_ s: Scalar) {
        let sub = bits.subreg
        lsh32Bounds(s.umin, s.umax)
        bits = sub.shiftedLeft(s.umin).subreg
        markUnbounded64()
        updateBounds32()
    }

    mutating func lsh64(_ s: Scalar) {
        let lo = s.umin, hi = s.umax
        smax = (lo == 32 && hi == 32 && s32max >= 0) ? Int64(s32max) << 32 : .max
        smin = (lo == 32 && hi == 32 && s32min >= 0) ? Int64(s32min) << 32 : .min
        if umax > (1 << (63 - hi)) {
            umin = 0; umax = .max
        } else {
            umin <<= lo; umax <<= hi
        }
        lsh32Bounds(lo, hi)
        bits = bits.shiftedLeft(lo)
        updateBounds()
    }

    mutating func rsh32(_ s: Scalar) {
        let sub = bits.subreg
        s32min = .min; s32max = .max
        bits = sub.shiftedRight(s.umin)
        u32min >>= UInt32(s.umax); u32max >>= UInt32(s.umin)
        markUnbounded64()
        updateBounds32()
    }

    mutating func rsh64(_ s: Scalar) {
        smin = .min; smax = .max
        bits = bits.shiftedRight(s.umin)
        umin >>= s.umax; umax >>= s.umin
        markUnbounded32()
        updateBounds()
    }

    mutating func arsh32(_ s: Scalar) {
        let k = Int32(s.umin)
        s32min >>= k; s32max >>= k
        bits = bits.subreg.arithmeticShiftedRight(s.umin, bits: 32)
        u32min = 0; u32max = .max
        markUnbounded64()
        updateBounds32()
    }

    mutating func arsh64(_ s: Scalar) {
        let k = Int64(s.umin)
        smin >>= k; smax >>= k
        bits = bits.arithmeticShiftedRight(s.umin, bits: 64)
        umin = 0; umax = .max
        markUnbounded32()
        updateBounds()
    }

    // MARK: moves, sign extension, byte swaps, truncation

    /// The value truncated to `size` bytes and zero-extended (narrow loads, `le16`...).
    public func truncated(toBytes size: Int) -> Scalar {
        if size >= 8 { return self }
        if let c = constantValue { return .constant(c & ((1 << UInt64(size * 8)) - 1)) }
        let limit: UInt64 = (1 << UInt64(size * 8)) - 1
        var r = Scalar.unknown
        r.bits = bits.cast(toBytes: size)
        if umax <= limit { r.umin = umin; r.umax = umax } else { r.umin = 0; r.umax = limit }
        if size == 4 {
            r.u32min = u32min; r.u32max = u32max; r.s32min = s32min; r.s32max = s32max
        }
        r.sync()
        return r
    }

    /// The low `size` bytes sign-extended to 64 bits (`movsx`, `ldxs*`), as Linux 6.18 computes
    /// it (`coerce_reg_to_size_sx`): from the signed bounds only. Known bits are not used, so a
    /// value Linux cannot pin down is not pinned down here either.
    public func signExtended(fromBytes size: Int) -> Scalar {
        if size >= 8 { return self }
        let width = UInt64(size * 8)
        func sext(_ v: UInt64) -> Int64 {
            let shift = 64 - width
            return Int64(bitPattern: v << shift) >> Int64(shift)
        }
        if let c = constantValue { return .constant(UInt64(bitPattern: sext(c))) }
        var r = Scalar.unknown
        let high = UInt64(bitPattern: smax) >> width, low = UInt64(bitPattern: smin) >> width
        let a = sext(UInt64(bitPattern: smax)), b = sext(UInt64(bitPattern: smin))
        let lo = min(a, b), hi = max(a, b)
        if high == low && (lo >= 0) == (hi >= 0) {
            r.smin = lo; r.smax = hi
            r.s32min = Int32(truncatingIfNeeded: lo); r.s32max = Int32(truncatingIfNeeded: hi)
            r.umin = UInt64(bitPattern: lo); r.umax = UInt64(bitPattern: hi)
            r.u32min = UInt32(truncatingIfNeeded: lo); r.u32max = UInt32(truncatingIfNeeded: hi)
            r.bits = .range(UInt64(bitPattern: lo), UInt64(bitPattern: hi))
        } else {
            let bound = Int64(1) << (width - 1)
            r.smin = -bound; r.smax = bound - 1
            r.s32min = Int32(truncatingIfNeeded: -bound); r.s32max = Int32(truncatingIfNeeded: bound - 1)
        }
        r.sync()
        return r
    }

    /// A sign-extending move into the 32-bit sub-register, zero-extended to 64 bits, as
    /// Linux 6.18 computes it (`coerce_subreg_to_size_sx`): from the 32-bit signed bounds only.
    public func signExtended32(fromBytes size: Int) -> Scalar {
        let width = UInt32(size * 8)
        func sext(_ v: UInt32) -> Int32 {
            let shift = 32 - width
            return Int32(bitPattern: v << shift) >> Int32(shift)
        }
        if bits.isSubregConstant {
            return .constant(UInt64(UInt32(bitPattern: sext(UInt32(truncatingIfNeeded: bits.value)))))
        }
        let high = UInt32(bitPattern: s32max) >> width, low = UInt32(bitPattern: s32min) >> width
        let a = sext(UInt32(bitPattern: s32max)), b = sext(UInt32(bitPattern: s32min))
        let lo = min(a, b), hi = max(a, b)
        var r = Scalar.unknown
        if high == low && (lo >= 0) == (hi >= 0) {
            r.s32min = lo; r.s32max = hi
            r.u32min = UInt32(bitPattern: lo); r.u32max = UInt32(bitPattern: hi)
            r.bits = Tnum.range(UInt64(UInt32(bitPattern: lo)), UInt64(UInt32(bitPattern: hi))).subreg
        } else {
            let bound = Int32(1) << (width - 1)
            r.s32min = -bound; r.s32max = bound - 1
            r.bits = Tnum.unknown.subreg
        }
        // Zero-extended to 64 bits.
        r.umin = UInt64(r.u32min); r.umax = UInt64(r.u32max)
        r.smin = Int64(r.umin); r.smax = Int64(r.umax)
        r.sync()
        return r
    }

    /// The result of a byte-swap (`be16`, `bswap32`...); `size` in bytes.
    public func byteSwapped(bytes size: Int) -> Scalar {
        if let c = constantValue {
            switch size {
            case 2: return .constant(UInt64(UInt16(truncatingIfNeeded: c).byteSwapped))
            case 4: return .constant(UInt64(UInt32(truncatingIfNeeded: c).byteSwapped))
            default: return .constant(c.byteSwapped)
            }
        }
        // The known bits move with their bytes.
        func swapped(_ x: UInt64) -> UInt64 {
            switch size {
            case 2: UInt64(UInt16(truncatingIfNeeded: x).byteSwapped)
            case 4: UInt64(UInt32(truncatingIfNeeded: x).byteSwapped)
            default: x.byteSwapped
            }
        }
        var r = Scalar.unknown
        r.bits = Tnum(value: swapped(bits.value), mask: swapped(bits.mask))
        r.sync()
        return r
    }
}
