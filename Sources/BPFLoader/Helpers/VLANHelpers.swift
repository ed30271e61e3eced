import BPFRuntime

/// bpf_skb_vlan_push and bpf_skb_vlan_pop with Linux's skb_vlan_push/pop:
/// the outermost tag lives in the skb's metadata (the "hardware-accelerated"
/// tag, `__sk_buff.vlan_present/vlan_tci/vlan_proto`); pushing a second tag
/// moves the first into the packet after the MAC addresses, popping moves an
/// in-packet tag back into the metadata.
enum VLANHelpers {
    static let dot1Q: UInt16 = 0x8100
    static let dot1AD: UInt16 = 0x88a8
    static let tagLength = 4
    static let macAddresses = 12

    static func bodies() -> [(Int32, Helper.Body)] {
        [
            (LinuxHelper.skbVlanPush, { arguments, context throws(HelperError) in
                let frame = try linkLayerFrame(context, "bpf_skb_vlan_push")
                var proto = UInt16(truncatingIfNeeded: arguments.r2).byteSwapped  // __be16 as passed
                if proto != dot1Q && proto != dot1AD { proto = dot1Q }
                if frame.field(SocketBufferLayout.vlanPresent) != 0 {
                    guard frame.macHeader - tagLength >= frame.bufferStart else { return HelperSupport.errno(12) }  // ENOMEM
                    // __vlan_insert_inner_tag: MAC addresses move 4 bytes forward, the old tag follows them.
                    let oldProto = UInt16(truncatingIfNeeded: frame.field(SocketBufferLayout.vlanProtocol)).byteSwapped
                    let oldTCI = UInt16(truncatingIfNeeded: frame.field(SocketBufferLayout.vlanTCI))
                    let start = frame.macHeader - tagLength
                    frame.pointer(start).copyMemory(from: frame.pointer(frame.macHeader), byteCount: macAddresses)
                    frame.pointer(start + macAddresses).storeBytes(of: oldProto.bigEndian, as: UInt16.self)
                    frame.pointer(start + macAddresses + 2).storeBytes(of: oldTCI.bigEndian, as: UInt16.self)
                    frame.macHeader = start
                    frame.data = start
                    frame.dataMeta = start
                    frame.setField(SocketBufferLayout.protocol, UInt32(oldProto.bigEndian))
                }
                setTag(frame, proto: proto, tci: UInt16(truncatingIfNeeded: arguments.r3))
                frame.syncContext()
                return 0
            }),
            (LinuxHelper.skbVlanPop, { arguments, context throws(HelperError) in
                let frame = try linkLayerFrame(context, "bpf_skb_vlan_pop")
                if frame.field(SocketBufferLayout.vlanPresent) != 0 {
                    for offset in [SocketBufferLayout.vlanPresent, SocketBufferLayout.vlanTCI, SocketBufferLayout.vlanProtocol] {
                        frame.setField(offset, 0)
                    }
                } else {
                    guard isVLAN(frame) else { return 0 }
                    guard popInPacket(frame) != nil else { return HelperSupport.errno(HelperSupport.EINVAL) }
                }
                // The next in-packet tag, if any, becomes the metadata tag.
                if isVLAN(frame) {
                    let proto = currentProtocol(frame)
                    guard let tci = popInPacket(frame) else { return HelperSupport.errno(HelperSupport.EINVAL) }
                    setTag(frame, proto: proto, tci: tci)
                }
                frame.syncContext()
                return 0
            }),
        ]
    }

    static func linkLayerFrame(_ context: HelperCallContext, _ helper: String) throws(HelperError) -> PacketFrame {
        let frame = try HelperSupport.frame(context, helper)
        guard case .socketBuffer(linkLayer: true) = frame.kind else {
            throw .fault("\(helper) is only for sched_cls and sched_act programs")
        }
        return frame
    }

    static func setTag(_ frame: PacketFrame, proto: UInt16, tci: UInt16) {
        frame.setField(SocketBufferLayout.vlanPresent, 1)
        frame.setField(SocketBufferLayout.vlanTCI, UInt32(tci))
        frame.setField(SocketBufferLayout.vlanProtocol, UInt32(proto.bigEndian))
    }

    /// skb->protocol in host order.
    static func currentProtocol(_ frame: PacketFrame) -> UInt16 {
        UInt16(truncatingIfNeeded: frame.field(SocketBufferLayout.protocol)).byteSwapped
    }

    static func isVLAN(_ frame: PacketFrame) -> Bool {
        let proto = currentProtocol(frame)
        return proto == dot1Q || proto == dot1AD
    }

    /// __skb_vlan_pop: removes the tag after the MAC addresses; returns its TCI.
    static func popInPacket(_ frame: PacketFrame) -> UInt16? {
        let start = frame.macHeader
        guard frame.dataEnd - start >= macAddresses + tagLength + 2 else { return nil }
        let tci = UInt16(bigEndian: frame.pointer(start + macAddresses + 2).loadUnaligned(as: UInt16.self))
        let inner = frame.pointer(start + macAddresses + tagLength).loadUnaligned(as: UInt16.self)  // big-endian in memory
        frame.pointer(start + tagLength).copyMemory(from: frame.pointer(start), byteCount: macAddresses)
        frame.macHeader = start + tagLength
        frame.data = frame.macHeader
        frame.dataMeta = frame.macHeader
        frame.setField(SocketBufferLayout.protocol, UInt32(inner))
        return tci
    }
}
