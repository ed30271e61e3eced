import BPFObject
import BPFABI

/// Context access rules per program type (x86-64, Linux 6.18). Field offsets, sizes,
/// packet-pointer kinds and which program types may write each field come from
/// BPFABI's `ContextLayout` (the one description of the contexts); this type adds
/// only what the verifier checks beyond the layout: access sizes (narrow loads,
/// full-width writes), the kind of socket a socket-pointer field holds, and the
/// types BPFABI does not describe yet (sock_ops, cgroup/sock and the generic fallback).
public struct LinuxContexts: ContextCatalog {
    public init() {}

    public func access(_ type: ProgramType, offset: Int, size: Int, isWrite: Bool) -> ContextAccess? {
        guard offset >= 0, size > 0, offset % size == 0 else { return nil }
        switch type {
        case .sockOps:
            return sockOpsAccess(offset: offset, size: size, isWrite: isWrite)
        case .cgroupSock:
            guard offset + size <= 80 else { return nil }
            if isWrite { return (size == 4 && [0, 16, 20].contains(offset)) ? .scalar : nil }
            return .scalar
        default:
            break
        }
        guard let layout = ContextLayout.for(type) else {
            guard !isWrite, offset + size <= 8192 else { return nil }
            return .scalar
        }
        guard offset + size <= layout.size, let field = layout.field(containing: offset),
              offset + size <= field.offset + field.size else { return nil }
        // egress_ifindex is only for XDP programs attached to device maps.
        if type == .xdp && field.name == "egress_ifindex" { return nil }
        if isWrite && field.access != .readWrite { return nil }
        switch field.kind {
        case .packetStart, .packetEnd, .packetMeta:
            guard !isWrite, offset == field.offset, size == field.size else { return nil }
            switch field.kind {
            case .packetStart: return .packetStart
            case .packetEnd: return .packetEnd
            default: return .packetMeta
            }
        case .socketPointer:
            // `__sk_buff.sk`: PTR_TO_SOCK_COMMON_OR_NULL, read whole (bpf_skb_is_valid_access).
            guard !isWrite, offset == field.offset, size == 8 else { return nil }
            return .socketOrNull(.socketCommon)
        case .flowKeysPointer:
            // The flow dissector's keys: a kernel structure the verifier does not model.
            return nil
        case .scalar:
            return scalarAccess(layout, field, offset: offset, size: size, isWrite: isWrite) ? .scalar : nil
        }
    }

    /// Sizes Linux allows for a number field: within one element; writes and 8-byte
    /// fields at full width, 4-byte fields also by narrower reads (except addresses).
    func scalarAccess(_ layout: ContextLayout, _ field: ContextField, offset: Int, size: Int, isWrite: Bool) -> Bool {
        let element = field.elementSize
        // `cb` is scratch space: any aligned access within it (Linux allows 8-byte ones).
        if layout.structName == "__sk_buff" && field.name == "cb" { return true }
        // Opaque byte arrays (a tracepoint's record) take any aligned access.
        if element > 1 {
            let elementStart = field.offset + (offset - field.offset) / element * element
            guard offset + size <= elementStart + element else { return false }
        }
        switch layout.structName {
        case "__sk_buff":
            if element == 8 { return size == 8 }
            if isWrite { return size == 4 || field.name == "cb" || element < 4 }
            if ["remote_ip4", "local_ip4", "remote_ip6", "local_ip6"].contains(field.name) { return size == 4 }
            return size <= 4
        case "xdp_md":
            return size == 4
        case "bpf_perf_event_data":
            if field.offset >= 168 { return size == 8 || size == 4 }
            return true
        default:
            return true
        }
    }

    func sockOpsAccess(offset: Int, size: Int, isWrite: Bool) -> ContextAccess? {
        guard offset + size <= 224 else { return nil }
        if isWrite { return (size == 4 && (offset == 4 || offset == 164)) ? .scalar : nil }
        switch offset {
        case 168, 176, 216: return size == 8 ? .scalar : nil
        case 184: return size == 8 ? .socketOrNull(.socket) : nil // sk: PTR_TO_SOCKET_OR_NULL
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
