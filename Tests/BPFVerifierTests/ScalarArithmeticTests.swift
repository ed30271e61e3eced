import Testing
@testable import BPFVerifier

/// Brute-force soundness of tnums and bounds: for small abstract values, every
/// concrete result of an operation must be contained in the abstract result.
@Suite struct ScalarArithmeticTests {
    static func samples() -> [(Scalar, [UInt64])] {
        var out: [(Scalar, [UInt64])] = []
        let interesting: [UInt64] = [0, 1, 2, 3, 5, 7, 8, 15, 16, 31, 32, 63, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff,
                                     0x1_0000_0000, 0x7fff_ffff_ffff_ffff, 0x8000_0000_0000_0000, ~0, ~1, ~7]
        for v in interesting { out.append((.constant(v), [v])) }
        let ranges: [(UInt64, UInt64)] = [(0, 3), (1, 4), (0, 7), (2, 9), (0, 15), (5, 6), (0xffff_fffe, 0x1_0000_0001),
                                          (~3, ~0), (0x7fff_fffe, 0x8000_0001), (0x7fff_ffff_ffff_fffe, 0x8000_0000_0000_0001)]
        for (a, b) in ranges {
            var values: [UInt64] = []
            var v = a
            while true { values.append(v); if v == b { break }; v &+= 1 }
            out.append((.range(a, b), values))
        }
        var neg = Scalar.unknown
        neg.smin = -3; neg.smax = 2; neg.sync()
        out.append((neg, [-3, -2, -1, 0, 1, 2].map { UInt64(bitPattern: $0) }))
        return out
    }

    static func concrete(_ op: ScalarOperation, _ a: UInt64, _ b: UInt64, is32: Bool) -> UInt64? {
        if is32 {
            let x = UInt32(truncatingIfNeeded: a), y = UInt32(truncatingIfNeeded: b)
            let r: UInt32
            switch op {
            case .add: r = x &+ y
            case .sub: r = x &- y
            case .mul: r = x &* y
            case .and: r = x & y
            case .or: r = x | y
            case .xor: r = x ^ y
            case .neg: r = 0 &- x
            case .lsh: guard y < 32 else { return nil }; r = x << y
            case .rsh: guard y < 32 else { return nil }; r = x >> y
            case .arsh: guard y < 32 else { return nil }; r = UInt32(bitPattern: Int32(bitPattern: x) >> Int32(y))
            case .div: r = y == 0 ? 0 : x / y
            case .mod: r = y == 0 ? x : x % y
            default: return nil
            }
            return UInt64(r)
        }
        switch op {
        case .add: return a &+ b
        case .sub: return a &- b
        case .mul: return a &* b
        case .and: return a & b
        case .or: return a | b
        case .xor: return a ^ b
        case .neg: return 0 &- a
        case .lsh: return b < 64 ? a << b : nil
        case .rsh: return b < 64 ? a >> b : nil
        case .arsh: return b < 64 ? UInt64(bitPattern: Int64(bitPattern: a) >> Int64(b)) : nil
        case .div: return b == 0 ? 0 : a / b
        case .mod: return b == 0 ? a : a % b
        default: return nil
        }
    }

    @Test(arguments: [ScalarOperation.add, .sub, .mul, .and, .or, .xor, .neg, .lsh, .rsh, .arsh, .div, .mod])
    func aluIsSound(op: ScalarOperation) {
        let samples = Self.samples()
        for is32 in [false, true] {
            for (a, av) in samples {
                for (b, bv) in samples {
                    let result = Scalar.apply(op, a, b, is32: is32)
                    for x in av {
                        for y in bv {
                            guard let r = Self.concrete(op, x, y, is32: is32) else { continue }
                            #expect(result.contains(r), "\(op) is32=\(is32): \(x) op \(y) = \(r) not in \(result) from \(a) and \(b)")
                        }
                    }
                }
            }
        }
    }

    @Test func tnumOperationsAreSoundExhaustivelyOnFourBits() {
        var tnums: [Tnum] = []
        for mask in 0..<16 as Range<UInt64> { for value in 0..<16 as Range<UInt64> where value & mask == 0 { tnums.append(Tnum(value: value, mask: mask)) } }
        func members(_ t: Tnum) -> [UInt64] { (0..<16 as Range<UInt64>).filter { t.contains(value: $0) } }
        for a in tnums {
            for b in tnums {
                let sum = a + b, diff = a - b, product = a * b, and = a & b, or = a | b, xor = a ^ b
                for x in members(a) {
                    for y in members(b) {
                        #expect(sum.contains(value: x &+ y))
                        #expect(diff.contains(value: x &- y))
                        #expect(product.contains(value: x &* y))
                        #expect(and.contains(value: x & y))
                        #expect(or.contains(value: x | y))
                        #expect(xor.contains(value: x ^ y))
                    }
                }
                #expect(a.union(b).contains(a) && a.union(b).contains(b))
            }
        }
    }

    @Test func tnumRangeCoversRange() {
        for lo in 0..<40 as Range<UInt64> {
            for hi in lo..<40 {
                let t = Tnum.range(lo, hi)
                for v in lo...hi { #expect(t.contains(value: v)) }
            }
        }
        #expect(Tnum.range(0, .max).isUnknown)
    }

    @Test(arguments: [Comparison.eq, .ne, .gt, .ge, .lt, .le, .sgt, .sge, .slt, .sle, .set, .notSet])
    func branchRefinementIsSound(op: Comparison) {
        let samples = Self.samples()
        for is32 in [false, true] {
            for (a, av) in samples {
                for (b, bv) in samples {
                    var ra = a, rb = b
                    Scalar.refine(&ra, &rb, op, is32: is32)
                    let decided = Scalar.branchTaken(a, b, op, is32: is32)
                    for x in av {
                        for y in bv {
                            let holds = op.holds(x, y, is32: is32)
                            if let decided { #expect(decided == holds, "\(op) decided \(decided) for \(x), \(y) from \(a), \(b)") }
                            if holds && decided == nil {
                                #expect(ra.contains(x) && rb.contains(y), "\(op) is32=\(is32) lost \(x), \(y): \(ra) \(rb)")
                            }
                        }
                    }
                }
            }
        }
    }

    @Test func syncKeepsMembersAndTightens() {
        var s = Scalar.unknown
        s.umax = 100
        s.sync()
        #expect(s.smin == 0 && s.smax == 100 && s.u32max == 100 && s.s32min == 0)
        #expect(s.bits.mask == 127)
        var t = Scalar.unknown
        t.s32min = -5; t.s32max = -1
        t.sync()
        #expect(t.u32min == 0xffff_fffb && t.u32max == 0xffff_ffff)
    }

    @Test func signExtensionAndTruncation() {
        #expect(Scalar.constant(0x80).signExtended(fromBytes: 1).constantValue == UInt64(bitPattern: -128))
        let small = Scalar.range(0, 100).signExtended(fromBytes: 1)
        #expect(small.smin == 0 && small.smax == 100)
        let any = Scalar.unknown.signExtended(fromBytes: 2)
        #expect(any.smin == -32768 && any.smax == 32767)
        for v: UInt64 in [0, 0x7f, 0x80, 0xff, 0x1234_5680] {
            #expect(Scalar.range(v, v + 3).signExtended(fromBytes: 1).contains(UInt64(bitPattern: Int64(Int8(truncatingIfNeeded: v + 2)))))
        }
        #expect(Scalar.unknown.truncated(toBytes: 2).umax == 0xffff)
        #expect(Scalar.constant(0x1234).byteSwapped(bytes: 2).constantValue == 0x3412)
    }

    /// Historical Linux bug class (CVE-2020-8835): 32-bit bounds must not be taken from
    /// 64-bit bounds that cross a 32-bit boundary.
    @Test func thirtyTwoBitBoundsAcrossBoundary() {
        let s = Scalar.range(0xffff_fffe, 0x1_0000_0001)
        for v: UInt64 in [0xffff_fffe, 0xffff_ffff, 0x1_0000_0000, 0x1_0000_0001] { #expect(s.contains(v)) }
        #expect(s.u32min == 0 && s.u32max == .max)
    }

    /// Historical bug class (CVE-2021-3490): 32-bit AND/OR with unknown upper halves.
    @Test func alu32BitwiseWithUnknownUpperHalf() {
        var a = Scalar.unknown
        a.bits = Tnum(value: 0, mask: 0xffff_ffff_0000_000f); a.sync()
        let r = Scalar.apply(.and, a, .constant(0xff), is32: true)
        #expect(r.umax <= 0xf)
        let o = Scalar.apply(.or, a, .constant(0x10), is32: true)
        #expect(o.umax <= 0x1f && o.umin >= 0x10)
    }
}
