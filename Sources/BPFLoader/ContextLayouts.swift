import BPFObject
import BPFRuntime

import BPFABI

// Context offsets come from BPFABI's `ContextLayout` (the single source of
// truth); every context offset the loader uses is looked up in this file.

/// Offsets of `struct xdp_md` fields.
enum XDPMetadataLayout {
    static let layout = ContextLayout.xdpMD
    static let size = layout.size
    static let data = offset("data")
    static let dataEnd = offset("data_end")
    static let dataMeta = offset("data_meta")
    static let ingressInterfaceIndex = offset("ingress_ifindex")
    static let receiveQueueIndex = offset("rx_queue_index")

    static func offset(_ name: String) -> Int {
        guard let field = layout.field(named: name) else { preconditionFailure("xdp_md has no field \(name)") }
        return field.offset
    }
}

/// Offsets of `struct __sk_buff` fields (every member, whatever the program type may access).
enum SocketBufferLayout {
    static let size = 192
    static let len = offset("len")
    static let packetType = offset("pkt_type")
    static let mark = offset("mark")
    static let `protocol` = offset("protocol")
    static let priority = offset("priority")
    static let vlanPresent = offset("vlan_present")
    static let vlanTCI = offset("vlan_tci")
    static let vlanProtocol = offset("vlan_proto")
    static let interfaceIndex = offset("ifindex")
    static let data = offset("data")
    static let dataEnd = offset("data_end")
    static let dataMeta = offset("data_meta")

    static func offset(_ name: String) -> Int {
        guard let field = ContextLayout.skBuffFields.first(where: { $0.name == name }) else {
            preconditionFailure("__sk_buff has no field \(name)")
        }
        return field.offset
    }
}

/// The context as checked-mode regions: the fields `type` may read (read-only)
/// and those it may write (writable), adjacent fields merged. Linux refuses other
/// accesses at load, as BPFKit's verifier does; an unverified program faults at run time.
func contextRegions(for type: ProgramType, base: UInt64) -> [MemoryRegion] {
    guard let layout = ContextLayout.for(type) else { return [] }
    var ranges: [(range: Range<Int>, writable: Bool)] = []
    for field in layout.fields.sorted(by: { $0.offset < $1.offset }) {
        let writable = field.access == .readWrite
        if let last = ranges.last, last.writable == writable, last.range.upperBound == field.offset {
            ranges[ranges.count - 1].range = last.range.lowerBound..<field.range.upperBound
        } else {
            ranges.append((field.range, writable))
        }
    }
    return ranges.map { entry in
        MemoryRegion(start: base + UInt64(entry.range.lowerBound), length: UInt64(entry.range.count),
                     isWritable: entry.writable, name: entry.writable ? "context (writable fields)" : "context")
    }
}

/// Linux constants of BPF_PROG_TEST_RUN's packet buffers.
enum TestRunGeometry {
    /// XDP_PACKET_HEADROOM.
    static let xdpHeadroom = 256
    /// SKB_DATA_ALIGN(sizeof(struct skb_shared_info)) on x86-64: the tailroom of an XDP frame.
    static let sharedInfoSize = 320
    /// The XDP frame size test_run gives a packet (one page).
    static let xdpFrameSize = 4096
    /// sizeof(struct xdp_frame): the front of the headroom that xdp_adjust_head/meta may not enter.
    static let xdpFrameHeader = 40
    /// The largest packet test_run accepts for XDP without fragments.
    static let xdpMaxData = xdpFrameSize - xdpHeadroom - sharedInfoSize
    /// NET_SKB_PAD + NET_IP_ALIGN on x86-64: headroom of a test_run skb.
    static let skbHeadroom = 64
    /// ETH_HLEN.
    static let ethernetHeader = 14
    /// Room reserved for the context struct (at most 192 bytes) and its pointer
    /// shadow (``ContextShadow``, 192..<216) in front of the packet buffer.
    static let contextArea = 256
}
