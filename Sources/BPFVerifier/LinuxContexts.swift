import BPFObject

/// Context access rules per program type (x86-64, Linux 6.18): which offsets and
/// sizes a program may read or write, and which fields are packet pointers.
/// Narrower than BPFABI's layouts only where the verifier checks more (narrow
/// loads, per-type write rules); BPFABI's layouts are the offsets' reference.
public struct LinuxContexts: ContextCatalog {
    public init() {}

    // MARK: Context layouts

    /// __sk_buff field offsets of `data`, `data_end`, `data_meta`.
    static let skbData = 76, skbDataEnd = 80, skbDataMeta = 140

    public func access(_ type: ProgramType, offset: Int, size: Int, isWrite: Bool) -> ContextAccess? {
        guard offset >= 0, size > 0, offset % size == 0 else { return nil }
        switch type {
        case .socketFilter, .schedCls, .schedAct, .cgroupSkb, .lwtIn, .lwtOut, .lwtXmit, .lwtSeg6local, .skSkb:
            return skbAccess(type, offset: offset, size: size, isWrite: isWrite)
        case .xdp:
            // egress_ifindex (20) is only for programs attached to device maps.
            guard !isWrite, size == 4, offset + size <= 20 else { return nil }
            switch offset { case 0: return .packetStart; case 4: return .packetEnd; case 8: return .packetMeta; default: return .scalar }
        case .kprobe:
            guard !isWrite, offset + size <= 168 else { return nil }
            return .scalar
        case .tracepoint, .rawTracepointWritable:
            guard !isWrite, offset + size <= 8192 else { return nil }
            return .scalar
        case .rawTracepoint, .tracing, .lsm:
            guard !isWrite, offset + size <= 96 else { return nil }
            return .scalar
        case .perfEvent:
            guard !isWrite, offset + size <= 184 else { return nil }
            if offset >= 168 && size != 8 && size != 4 { return nil }
            return .scalar
        case .sockOps:
            return sockOpsAccess(offset: offset, size: size, isWrite: isWrite)
        case .cgroupSock:
            guard offset + size <= 80 else { return nil }
            if isWrite { return (size == 4 && [0, 16, 20].contains(offset)) ? .scalar : nil }
            return .scalar
        default:
            guard !isWrite, offset + size <= 8192 else { return nil }
            return .scalar
        }
    }

    func skbAccess(_ type: ProgramType, offset: Int, size: Int, isWrite: Bool) -> ContextAccess? {
        guard offset + size <= 192 else { return nil }
        let cb = 48..<68
        let familyToLocalPort = 88..<140
        let fieldStart = offset & ~3
        // Fields a program type may not touch at all.
        switch type {
        case .socketFilter:
            if [72, 76, 80, 140].contains(fieldStart) || familyToLocalPort.contains(offset) || (152..<160).contains(offset)
                || fieldStart == 160 || (184..<192).contains(offset) { return nil }
            if isWrite && !cb.contains(offset) { return nil }
        case .schedCls, .schedAct:
            if familyToLocalPort.contains(offset) { return nil }
            if isWrite {
                let writable = [8, 44, 32, 72, 12]
                guard cb.contains(offset) || writable.contains(fieldStart) || (152..<160).contains(offset) else { return nil }
            }
        case .cgroupSkb:
            if [72, 140].contains(fieldStart) || fieldStart == 160 { return nil }
            if isWrite && !(cb.contains(offset) || [8, 32].contains(fieldStart) || (152..<160).contains(offset)) { return nil }
        default:
            if [72, 140].contains(fieldStart) || familyToLocalPort.contains(offset) { return nil }
            if isWrite && !cb.contains(offset) { return nil }
        }
        switch offset {
        case 144..<152: return nil // flow_keys
        case 152..<160, 184..<192: return size == 8 ? .scalar : nil
        case 168..<176: return nil // sk: a socket pointer, not modelled
        case 180..<184: return nil
        case Self.skbData: return size == 4 ? .packetStart : nil
        case Self.skbDataEnd: return size == 4 ? .packetEnd : nil
        case Self.skbDataMeta: return size == 4 ? .packetMeta : nil
        case 92..<132: return size == 4 ? .scalar : nil
        default:
            if cb.contains(offset) { return offset + size <= 68 ? .scalar : nil }
            if isWrite { return size == 4 ? .scalar : nil }
            return size <= 4 ? .scalar : nil
        }
    }

    func sockOpsAccess(offset: Int, size: Int, isWrite: Bool) -> ContextAccess? {
        guard offset + size <= 224 else { return nil }
        if isWrite { return (size == 4 && (offset == 4 || offset == 164)) ? .scalar : nil }
        switch offset {
        case 168, 176, 216: return size == 8 ? .scalar : nil
        case 184: return nil // sk: socket pointer, not modelled
        case 192: return size == 8 ? .packetStart : nil
        case 200: return size == 8 ? .packetEnd : nil
        default: return size == 4 ? .scalar : nil
        }
    }

    public func returnRange(_ type: ProgramType) -> ClosedRange<Int64>? {
        switch type {
        case .cgroupSkb, .cgroupSock, .sockOps, .cgroupDevice, .cgroupSysctl, .cgroupSockopt, .netfilter: 0...1
        case .cgroupSockAddr: 0...1
        case .skLookup: 0...1
        default: nil
        }
    }
}
