import BPFMaps
import BPFRuntime

/// Packet helpers with Linux's semantics: XDP head/tail/meta adjustment inside
/// test_run's frame, skb loads and stores, checksum arithmetic, redirects.
enum PacketHelpers {
    static let xdpRedirect: UInt64 = 4  // XDP_REDIRECT
    static let xdpAborted: UInt64 = 0
    static let tcRedirect: UInt64 = 7  // TC_ACT_REDIRECT
    static let tcShot: UInt64 = 2
    static let ingressFlag: UInt64 = 1  // BPF_F_INGRESS

    static func bodies(handles: MapHandleTable) -> [(Int32, Helper.Body)] {
        [
            (LinuxHelper.xdpAdjustHead, { arguments, context throws(HelperError) in
                let frame = try xdpFrame(context, "bpf_xdp_adjust_head")
                let offset = Int(Int32(truncatingIfNeeded: arguments.r2))
                let metaLength = frame.data - frame.dataMeta
                let dataStart = frame.bufferStart + TestRunGeometry.xdpFrameHeader + metaLength
                let data = frame.data + offset
                guard data >= dataStart, data <= frame.dataEnd - TestRunGeometry.ethernetHeader else {
                    return HelperSupport.errno(HelperSupport.EINVAL)
                }
                if metaLength > 0 {
                    frame.pointer(frame.dataMeta + offset).copyMemory(from: frame.pointer(frame.dataMeta), byteCount: metaLength)
                }
                frame.dataMeta += offset
                frame.data = data
                frame.syncContext()
                return 0
            }),
            (LinuxHelper.xdpAdjustTail, { arguments, context throws(HelperError) in
                let frame = try xdpFrame(context, "bpf_xdp_adjust_tail")
                let offset = Int(Int32(truncatingIfNeeded: arguments.r2))
                let dataEnd = frame.dataEnd + offset
                guard dataEnd <= frame.bufferLimit, dataEnd >= frame.data + TestRunGeometry.ethernetHeader else {
                    return HelperSupport.errno(HelperSupport.EINVAL)
                }
                // Linux zeroes the area a growing tail exposes.
                if offset > 0 { frame.pointer(frame.dataEnd).initializeMemory(as: UInt8.self, repeating: 0, count: offset) }
                frame.dataEnd = dataEnd
                frame.syncContext()
                return 0
            }),
            (LinuxHelper.xdpAdjustMeta, { arguments, context throws(HelperError) in
                let frame = try xdpFrame(context, "bpf_xdp_adjust_meta")
                let offset = Int(Int32(truncatingIfNeeded: arguments.r2))
                let meta = frame.dataMeta + offset
                let metaLength = frame.data - meta
                guard meta >= frame.bufferStart + TestRunGeometry.xdpFrameHeader, meta <= frame.data else {
                    return HelperSupport.errno(HelperSupport.EINVAL)
                }
                // xdp_metalen_invalid: at most 32 bytes, a multiple of 4.
                guard metaLength <= 32, metaLength & 3 == 0 else { return HelperSupport.errno(13) }  // EACCES
                frame.dataMeta = meta
                frame.syncContext()
                return 0
            }),
            (LinuxHelper.skbLoadBytes, { arguments, context throws(HelperError) in
                let frame = try skbFrame(context, "bpf_skb_load_bytes")
                let length = Int(truncatingIfNeeded: arguments.r4)
                let destination = try context.buffer(at: arguments.r3, count: UInt64(max(length, 0)), write: true)
                let offset = Int(truncatingIfNeeded: UInt32(truncatingIfNeeded: arguments.r2))
                guard arguments.r2 <= UInt64(Int32.max), length > 0, offset + length <= frame.dataEnd - frame.data else {
                    destination.initializeMemory(as: UInt8.self, repeating: 0)
                    return HelperSupport.errno(HelperSupport.EFAULT)
                }
                destination.baseAddress!.copyMemory(from: frame.pointer(frame.data + offset), byteCount: length)
                return 0
            }),
            (LinuxHelper.skbLoadBytesRelative, { arguments, context throws(HelperError) in
                let frame = try skbFrame(context, "bpf_skb_load_bytes_relative")
                let length = Int(truncatingIfNeeded: arguments.r4)
                let destination = try context.buffer(at: arguments.r3, count: UInt64(max(length, 0)), write: true)
                // BPF_HDR_START_MAC (0) or BPF_HDR_START_NET (1).
                let start: Int? = switch arguments.r5 {
                case 0: frame.macHeader
                case 1: frame.macHeader + TestRunGeometry.ethernetHeader
                default: nil
                }
                let offset = Int(truncatingIfNeeded: UInt32(truncatingIfNeeded: arguments.r2))
                guard let start, arguments.r2 <= 0xffff, length > 0, start + offset + length <= frame.dataEnd else {
                    destination.initializeMemory(as: UInt8.self, repeating: 0)
                    return HelperSupport.errno(arguments.r5 > 1 ? HelperSupport.EINVAL : HelperSupport.EFAULT)
                }
                destination.baseAddress!.copyMemory(from: frame.pointer(start + offset), byteCount: length)
                return 0
            }),
            (LinuxHelper.skbStoreBytes, { arguments, context throws(HelperError) in
                let frame = try skbFrame(context, "bpf_skb_store_bytes")
                let length = Int(truncatingIfNeeded: arguments.r4)
                let source = try context.buffer(at: arguments.r3, count: UInt64(max(length, 0)), write: false)
                // BPF_F_RECOMPUTE_CSUM | BPF_F_INVALIDATE_HASH.
                guard arguments.r5 & ~3 == 0 else { return HelperSupport.errno(HelperSupport.EINVAL) }
                let offset = Int(truncatingIfNeeded: UInt32(truncatingIfNeeded: arguments.r2))
                guard arguments.r2 <= UInt64(Int32.max), offset + length <= frame.dataEnd - frame.data else {
                    return HelperSupport.errno(HelperSupport.EFAULT)
                }
                if length > 0 { frame.pointer(frame.data + offset).copyMemory(from: source.baseAddress!, byteCount: length) }
                return 0
            }),
            (LinuxHelper.l3CsumReplace, { arguments, context throws(HelperError) in
                let frame = try skbFrame(context, "bpf_l3_csum_replace")
                guard arguments.r5 & ~0xf == 0 else { return HelperSupport.errno(HelperSupport.EINVAL) }
                guard let field = checksumField(frame, arguments.r2) else { return HelperSupport.errno(HelperSupport.EFAULT) }
                let old = field.loadUnaligned(as: UInt16.self)
                guard let new = Checksum.replace(old, from: arguments.r3, to: arguments.r4, size: arguments.r5 & 0xf) else {
                    return HelperSupport.errno(HelperSupport.EINVAL)
                }
                field.storeBytes(of: new, as: UInt16.self)
                return 0
            }),
            (LinuxHelper.l4CsumReplace, { arguments, context throws(HelperError) in
                let frame = try skbFrame(context, "bpf_l4_csum_replace")
                // BPF_F_HDR_FIELD_MASK | PSEUDO_HDR | MARK_MANGLED_0 | MARK_ENFORCE | IPV6.
                guard arguments.r5 & ~0xff == 0 else { return HelperSupport.errno(HelperSupport.EINVAL) }
                guard let field = checksumField(frame, arguments.r2) else { return HelperSupport.errno(HelperSupport.EFAULT) }
                let markMangled = arguments.r5 & (1 << 5) != 0
                let old = field.loadUnaligned(as: UInt16.self)
                if markMangled && old == 0 { return 0 }
                // test_run skbs are CHECKSUM_NONE, so the pseudo-header flag changes nothing.
                guard var new = Checksum.replace(old, from: arguments.r3, to: arguments.r4, size: arguments.r5 & 0xf) else {
                    return HelperSupport.errno(HelperSupport.EINVAL)
                }
                if markMangled && new == 0 { new = 0xffff }  // CSUM_MANGLED_0
                field.storeBytes(of: new, as: UInt16.self)
                return 0
            }),
            (LinuxHelper.csumDiff, { arguments, context throws(HelperError) in
                // Linux 6.13+ sums any sizes (no multiple-of-4 rule, no scratch buffer limit).
                let fromSize = arguments.r2, toSize = arguments.r4
                let from = try context.buffer(at: arguments.r1, count: fromSize, write: false)
                let to = try context.buffer(at: arguments.r3, count: toSize, write: false)
                return UInt64(Checksum.difference(from: UnsafeRawBufferPointer(from), to: UnsafeRawBufferPointer(to),
                                                  seed: UInt32(truncatingIfNeeded: arguments.r5)))
            }),
            (LinuxHelper.redirect, { arguments, context throws(HelperError) in
                let frame = try HelperSupport.frame(context, "bpf_redirect")
                let target = RedirectTarget.interface(index: UInt32(truncatingIfNeeded: arguments.r1), flags: arguments.r2)
                if case .xdp = frame.kind {
                    guard arguments.r2 == 0 else { return xdpAborted }
                    frame.redirect = target
                    return xdpRedirect
                }
                guard arguments.r2 & ~ingressFlag == 0 else { return tcShot }
                frame.redirect = target
                return tcRedirect
            }),
            (LinuxHelper.redirectMap, { arguments, context throws(HelperError) in
                // BPFKit has no devmap/cpumap/xskmap: any map with the key stands in for one.
                let frame = try HelperSupport.frame(context, "bpf_redirect_map")
                let entry = try handles.map(arguments.r1, context: context, helper: "bpf_redirect_map")
                var key = UInt32(truncatingIfNeeded: arguments.r2)
                let present = entry.keySize == 4 && entry.map.lookup(key: &key, cpu: context.processor) != nil
                // Linux: a missing entry returns the action in the low bits of flags.
                guard present else { return arguments.r3 & 3 }
                frame.redirect = .map(name: entry.name, key: key, flags: arguments.r3)
                if case .xdp = frame.kind { return xdpRedirect }
                return tcRedirect
            }),
        ]
    }

    static func xdpFrame(_ context: HelperCallContext, _ helper: String) throws(HelperError) -> PacketFrame {
        let frame = try HelperSupport.frame(context, helper)
        guard case .xdp = frame.kind else { throw .fault("\(helper) is only for XDP programs") }
        return frame
    }

    static func skbFrame(_ context: HelperCallContext, _ helper: String) throws(HelperError) -> PacketFrame {
        let frame = try HelperSupport.frame(context, helper)
        guard case .socketBuffer = frame.kind else { throw .fault("\(helper) is only for programs that run on an skb") }
        return frame
    }

    /// The 16-bit checksum field at `offset` from skb->data: even, at most 0xffff, inside the packet.
    static func checksumField(_ frame: PacketFrame, _ offset: UInt64) -> UnsafeMutableRawPointer? {
        guard offset <= 0xffff, offset & 1 == 0, Int(offset) + 2 <= frame.dataEnd - frame.data else { return nil }
        return frame.pointer(frame.data + Int(offset))
    }
}

/// Linux's one's-complement checksum arithmetic on values as they lie in memory.
enum Checksum {
    static func add(_ a: UInt32, _ b: UInt32) -> UInt32 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return sum &+ (overflow ? 1 : 0)
    }

    static func fold(_ sum: UInt32) -> UInt16 {
        var value = (sum & 0xffff) + (sum >> 16)
        value = (value & 0xffff) + (value >> 16)
        return ~UInt16(truncatingIfNeeded: value)
    }

    /// csum_replace_by_diff (size 0), csum_replace2 (2), csum_replace4 (4); nil for other sizes.
    static func replace(_ checksum: UInt16, from: UInt64, to: UInt64, size: UInt64) -> UInt16? {
        let unfolded = UInt32(~checksum)
        switch size {
        case 0:
            guard from == 0 else { return nil }
            return fold(add(UInt32(truncatingIfNeeded: to), unfolded))
        case 2:
            // csum16_add(csum16_sub(~sum, from), to), then complemented.
            func add16(_ a: UInt16, _ b: UInt16) -> UInt16 {
                let (sum, overflow) = a.addingReportingOverflow(b)
                return sum &+ (overflow ? 1 : 0)
            }
            return ~add16(add16(~checksum, ~UInt16(truncatingIfNeeded: from)), UInt16(truncatingIfNeeded: to))
        case 4:
            return fold(add(add(unfolded, ~UInt32(truncatingIfNeeded: from)), UInt32(truncatingIfNeeded: to)))
        default:
            return nil
        }
    }

    /// x86-64 csum_partial: little-endian words summed with end-around carry, a
    /// trailing partial word zero-padded, folded to 32 bits.
    static func partial(_ bytes: UnsafeRawBufferPointer, seed: UInt32) -> UInt32 {
        var sum = UInt64(seed)
        var index = 0
        while index + 4 <= bytes.count {
            sum += UInt64(bytes.loadUnaligned(fromByteOffset: index, as: UInt32.self))
            index += 4
        }
        var trail: UInt64 = 0
        for (shift, position) in (index..<bytes.count).enumerated() { trail |= UInt64(bytes[position]) << (8 * shift) }
        sum += trail
        while sum >> 32 != 0 { sum = (sum & 0xffff_ffff) + (sum >> 32) }
        return UInt32(sum)
    }

    /// csum_from32to16: the 32-bit sum folded to 16 bits (not complemented).
    static func from32to16(_ sum: UInt32) -> UInt16 {
        let folded = sum &+ (sum >> 16 | sum << 16)
        return UInt16(truncatingIfNeeded: folded >> 16)
    }

    /// bpf_csum_diff as Linux 6.13+ computes it on every architecture:
    /// `csum_partial(to) - csum_partial(from)` (seeded), folded to 16 bits.
    static func difference(from: UnsafeRawBufferPointer, to: UnsafeRawBufferPointer, seed: UInt32) -> UInt32 {
        let sum: UInt32
        if !from.isEmpty && !to.isEmpty {
            sum = add(partial(to, seed: seed), ~partial(from, seed: 0))
        } else if !to.isEmpty {
            sum = partial(to, seed: seed)
        } else {
            sum = ~partial(from, seed: ~seed)
        }
        return UInt32(from32to16(sum))
    }
}
