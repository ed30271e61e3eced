import BPFObject

// Context struct layouts of the program types BPFKit runs, from
// include/uapi/linux/bpf.h. TEMPORARY home: when the `abi` branch's
// `ContextLayout.for(ProgramType)` lands, these offsets come from there; every
// context offset the loader uses is in this file.

/// `struct xdp_md`: all fields read-only to programs.
enum XDPMetadataLayout {
    static let size = 24
    static let data = 0
    static let dataEnd = 4
    static let dataMeta = 8
    static let ingressInterfaceIndex = 12
    static let receiveQueueIndex = 16
    static let egressInterfaceIndex = 20
}

/// `struct __sk_buff` (192 bytes).
enum SocketBufferLayout {
    static let size = 192
    static let len = 0
    static let packetType = 4
    static let mark = 8
    static let queueMapping = 12
    static let `protocol` = 16
    static let vlanPresent = 20
    static let vlanTCI = 24
    static let vlanProtocol = 28
    static let priority = 32
    static let ingressInterfaceIndex = 36
    static let interfaceIndex = 40
    static let tcIndex = 44
    static let controlBuffer = 48  // cb[5]
    static let hash = 68
    static let tcClassID = 72
    static let data = 76
    static let dataEnd = 80
    static let napiID = 84
    static let family = 88
    static let dataMeta = 140
    static let timestamp = 152
    static let wireLength = 160
    static let gsoSegments = 164
    static let gsoSize = 176

    /// Byte ranges programs of `type` may write, as Linux's `*_is_valid_access`
    /// allows (writes elsewhere are refused by Linux's verifier at load; BPFKit
    /// faults at run time until its verifier exists).
    static func writableRanges(for type: ProgramType) -> [Range<Int>] {
        let controlBuffer = Self.controlBuffer..<(Self.controlBuffer + 20)
        switch type {
        case .schedCls, .schedAct:
            return [mark..<(mark + 8),  // mark, queue_mapping
                    priority..<(priority + 4), tcIndex..<(tcIndex + 4), controlBuffer,
                    tcClassID..<(tcClassID + 4), timestamp..<(timestamp + 8)]
        case .cgroupSkb:
            return [mark..<(mark + 4), priority..<(priority + 4), controlBuffer, timestamp..<(timestamp + 8)]
        default:
            return [controlBuffer]
        }
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
    /// Room reserved for the context struct in front of the packet buffer.
    static let contextArea = 256
}
