import BPFObject
import BPFRuntime

/// What the host says about a packet besides its bytes (Linux's test_run
/// takes these from the optional `ctx_in`).
public struct PacketContext: Sendable, Equatable {
    /// `xdp_md.ingress_ifindex` (0 unless given, as test_run without ctx_in).
    public var ingressInterfaceIndex: UInt32
    /// `xdp_md.rx_queue_index`.
    public var receiveQueueIndex: UInt32
    /// `__sk_buff.ifindex`: the device the skb is on; test_run uses loopback (1).
    public var interfaceIndex: UInt32
    /// Initial `__sk_buff.mark` and `priority`.
    public var mark: UInt32
    public var priority: UInt32

    public init(ingressInterfaceIndex: UInt32 = 0, receiveQueueIndex: UInt32 = 0, interfaceIndex: UInt32 = 1,
                mark: UInt32 = 0, priority: UInt32 = 0) {
        self.ingressInterfaceIndex = ingressInterfaceIndex
        self.receiveQueueIndex = receiveQueueIndex
        self.interfaceIndex = interfaceIndex
        self.mark = mark
        self.priority = priority
    }
}

/// Where `bpf_redirect`/`bpf_redirect_map` sent the packet.
public enum RedirectTarget: Sendable, Equatable {
    case interface(index: UInt32, flags: UInt64)
    case map(name: String, key: UInt32, flags: UInt64)
}

/// The outcome of running a program over one packet.
public struct PacketRunResult: Sendable, Equatable {
    /// r0 at exit (an XDP or TC action, a socket filter's byte count, ...).
    public var returnValue: UInt64
    /// The packet as Linux's test_run returns it in `data_out`: for XDP from
    /// `data_meta` to `data_end` after head/tail/meta adjustment; for sched_cls
    /// from the Ethernet header; for socket filters and cgroup_skb the Ethernet
    /// header is zeroed, as test_run does.
    public var packetAfter: [UInt8]
    /// The context struct after the run (`xdp_md` or `__sk_buff`), e.g. `mark` or `cb[]` written by the program.
    public var contextAfter: [UInt8]
    /// Lines written by bpf_trace_printk.
    public var trace: [String]
    /// The redirect the program asked for, if any.
    public var redirect: RedirectTarget?
    public var instructionsExecuted: UInt64
}

/// The outcome of a run over raw context bytes (kprobe, tracepoint, raw tracepoint).
public struct RunResult: Sendable, Equatable {
    public var returnValue: UInt64
    public var trace: [String]
    public var instructionsExecuted: UInt64
}

/// One packet's context and buffer for one run, laid out as Linux's
/// BPF_PROG_TEST_RUN lays them out; the run's `userInfo`, through which packet
/// helpers move `data`/`data_end`/`data_meta`.
///
/// Memory: `[context struct | pointer shadow | headroom | packet | tailroom]` in
/// one ``FrameMemory`` mapping. For programs whose context loads were rewritten
/// (verified), the shadow (``ContextShadow``) holds the 64-bit `data`,
/// `data_end` and `data_meta` and the mapping lies anywhere; otherwise the
/// mapping lies below 4 GiB and the 32-bit context fields hold real addresses.
final class PacketFrame {
    enum Kind { case xdp, socketBuffer(linkLayer: Bool) }

    let kind: Kind
    let programType: ProgramType
    let memory: FrameMemory
    /// The program reads packet pointers from the shadow (its loads were rewritten).
    let rewritesContext: Bool
    /// Largest packet the mapping holds (skb frames; XDP frames are always one page).
    let capacity: Int
    /// Offset of the buffer's first byte (`data_hard_start`).
    let bufferStart: Int
    /// Highest offset `data_end` may reach (XDP: the frame end minus the shared-info tailroom).
    var bufferLimit = 0
    /// Offset of the Ethernet (MAC) header of an skb.
    var macHeader = 0
    var data = 0
    var dataEnd = 0
    var dataMeta = 0
    var redirect: RedirectTarget?
    /// Memory helpers lend the program during a call (callback keys).
    let scratch = HelperScratch()

    /// A frame for one packet, sized to it.
    convenience init(programType: ProgramType, packet: [UInt8], context: PacketContext, programName: String,
                     rewritesContext: Bool) throws(CollectionRunError) {
        try self.init(programType: programType, capacity: packet.count, programName: programName,
                      rewritesContext: rewritesContext)
        try load(packet: packet, context: context, programName: programName)
    }

    /// An empty frame that can hold packets of up to `capacity` bytes, to be
    /// reused for many packets.
    init(programType: ProgramType, capacity: Int, programName: String, rewritesContext: Bool) throws(CollectionRunError) {
        self.programType = programType
        self.rewritesContext = rewritesContext
        let contextArea = TestRunGeometry.contextArea
        let below4GiB = !rewritesContext
        switch programType {
        case .xdp:
            kind = .xdp
            memory = try FrameMemory(byteCount: contextArea + TestRunGeometry.xdpFrameSize, below4GiB: below4GiB)
            self.capacity = TestRunGeometry.xdpMaxData
        case .schedCls, .schedAct, .socketFilter, .cgroupSkb:
            let linkLayer = programType == .schedCls || programType == .schedAct
            kind = .socketBuffer(linkLayer: linkLayer)
            memory = try FrameMemory(byteCount: contextArea + TestRunGeometry.skbHeadroom + max(capacity, 0)
                                     + TestRunGeometry.sharedInfoSize, below4GiB: below4GiB)
            self.capacity = max(capacity, 0)
        default:
            throw .wrongInput(program: programName, type: programType, expected: "raw context bytes, not a packet")
        }
        bufferStart = contextArea
    }

    /// Puts `packet` in the frame and builds the context as test_run does.
    func load(packet: [UInt8], context: PacketContext, programName: String) throws(CollectionRunError) {
        guard packet.count >= TestRunGeometry.ethernetHeader else {
            throw .invalidPacket(program: programName, reason: "test runs need at least an Ethernet header (14 bytes); the packet has \(packet.count)")
        }
        guard packet.count <= capacity else {
            throw .invalidPacket(program: programName, reason: "the packet has \(packet.count) bytes; this frame holds at most \(capacity)")
        }
        redirect = nil
        switch kind {
        case .xdp:
            bufferLimit = bufferStart + TestRunGeometry.xdpFrameSize - TestRunGeometry.sharedInfoSize
            data = bufferStart + TestRunGeometry.xdpHeadroom
            macHeader = data
        case .socketBuffer(let linkLayer):
            // test_run refuses IPv4 and IPv6 packets whose network header is cut short.
            let networkLength = packet.count - TestRunGeometry.ethernetHeader
            switch Self.ethernetProtocol(packet).bigEndian {
            case 0x0800 where networkLength < 20:
                throw .invalidPacket(program: programName, reason: "the IPv4 header is cut short (\(networkLength) of 20 bytes), which Linux's test_run refuses")
            case 0x86dd where networkLength < 40:
                throw .invalidPacket(program: programName, reason: "the IPv6 header is cut short (\(networkLength) of 40 bytes), which Linux's test_run refuses")
            default:
                break
            }
            macHeader = bufferStart + TestRunGeometry.skbHeadroom
            // eth_type_trans pulls the Ethernet header; sched_cls/sched_act push it back.
            data = linkLayer ? macHeader : macHeader + TestRunGeometry.ethernetHeader
            bufferLimit = macHeader + packet.count
        }
        dataMeta = data
        let packetStart = macHeader
        dataEnd = packetStart + packet.count
        // Safety: the context area and [packetStart, packetStart + count) lie inside
        // the mapping, sized for `capacity` bytes of packet in `init`.
        memory.base.initializeMemory(as: UInt8.self, repeating: 0, count: TestRunGeometry.contextArea)
        packet.withUnsafeBytes { (memory.base + packetStart).copyMemory(from: $0.baseAddress!, byteCount: packet.count) }
        fillContext(context, packet: packet)
    }

    var contextAddress: UInt64 { memory.address(0) }
    var contextSize: Int {
        if case .xdp = kind { XDPMetadataLayout.size } else { SocketBufferLayout.size }
    }

    /// Writes a 32-bit context field. Safety: offsets come from the layouts, all < contextArea.
    func setField(_ offset: Int, _ value: UInt32) {
        memory.base.storeBytes(of: value, toByteOffset: offset, as: UInt32.self)
    }

    func field(_ offset: Int) -> UInt32 {
        memory.base.load(fromByteOffset: offset, as: UInt32.self)
    }

    private func fillContext(_ context: PacketContext, packet: [UInt8]) {
        switch kind {
        case .xdp:
            setField(XDPMetadataLayout.ingressInterfaceIndex, context.ingressInterfaceIndex)
            setField(XDPMetadataLayout.receiveQueueIndex, context.receiveQueueIndex)
        case .socketBuffer:
            // eth_type_trans on the loopback device: its address and its broadcast
            // address are both 00:00:00:00:00:00, so ff:ff:ff:ff:ff:ff is multicast.
            let destination = packet[0..<6]
            let packetType: UInt32 = destination.allSatisfy { $0 == 0 } ? 0  // PACKET_HOST
                : destination.first! & 1 == 0 ? 3  // PACKET_OTHERHOST
                : 2  // PACKET_MULTICAST
            setField(SocketBufferLayout.packetType, packetType)
            setField(SocketBufferLayout.protocol, UInt32(Self.ethernetProtocol(packet)))
            setField(SocketBufferLayout.mark, context.mark)
            setField(SocketBufferLayout.priority, context.priority)
            setField(SocketBufferLayout.interfaceIndex, context.interfaceIndex)
        }
        syncContext()
    }

    /// eth_type_trans's protocol as `skb->protocol` holds it: the __be16 as it lies in memory.
    static func ethernetProtocol(_ packet: [UInt8]) -> UInt16 {
        let typeField = UInt16(packet[12]) << 8 | UInt16(packet[13])
        let proto: UInt16
        if typeField >= 0x600 {  // ETH_P_802_3_MIN
            proto = typeField
        } else if packet.count >= 16 && packet[14] == 0xff && packet[15] == 0xff {
            proto = 0x0001  // ETH_P_802_3 (raw 802.3)
        } else {
            proto = 0x0004  // ETH_P_802_2
        }
        return proto.bigEndian
    }

    /// Stores data/data_end/data_meta (and skb->len) after the run starts or a helper moved them:
    /// the 64-bit pointers in the shadow, and in the 32-bit fields their low 32 bits
    /// (the whole address in a frame below 4 GiB, which unrewritten programs read).
    func syncContext() {
        // Safety: the shadow lies at ContextShadow.offset..<+size, inside the context area.
        memory.base.storeBytes(of: memory.address(data), toByteOffset: ContextShadow.data, as: UInt64.self)
        memory.base.storeBytes(of: memory.address(dataEnd), toByteOffset: ContextShadow.dataEnd, as: UInt64.self)
        memory.base.storeBytes(of: memory.address(dataMeta), toByteOffset: ContextShadow.dataMeta, as: UInt64.self)
        func field(_ offset: Int) -> UInt32 { UInt32(truncatingIfNeeded: memory.address(offset)) }
        switch kind {
        case .xdp:
            setField(XDPMetadataLayout.data, field(data))
            setField(XDPMetadataLayout.dataEnd, field(dataEnd))
            setField(XDPMetadataLayout.dataMeta, field(dataMeta))
        case .socketBuffer(let linkLayer):
            setField(SocketBufferLayout.len, UInt32(dataEnd - data))
            if linkLayer || programType == .cgroupSkb {
                setField(SocketBufferLayout.data, field(data))
                setField(SocketBufferLayout.dataEnd, field(dataEnd))
                setField(SocketBufferLayout.dataMeta, field(dataMeta))
            }
        }
    }

    /// The context and packet regions of a checked run.
    func regions() -> [MemoryRegion] {
        var regions = contextRegions(for: programType, base: contextAddress)
        if rewritesContext {
            // Rewritten loads read the shadow (a verified program forced to run checked).
            regions.append(MemoryRegion(start: contextAddress + UInt64(ContextShadow.offset), length: UInt64(ContextShadow.size),
                                        isWritable: false, name: "context (pointer shadow)"))
        }
        switch kind {
        case .xdp:
            regions.append(MemoryRegion(start: memory.address(bufferStart), length: UInt64(TestRunGeometry.xdpFrameSize),
                                        isWritable: true, name: "packet"))
        case .socketBuffer(let linkLayer):
            // sched_cls/sched_act: the headroom too, where vlan_push moves the packet's start.
            if linkLayer || programType == .cgroupSkb {
                let start = linkLayer ? bufferStart : macHeader
                regions.append(MemoryRegion(start: memory.address(start), length: UInt64(bufferLimit - start),
                                            isWritable: linkLayer, name: "packet"))
            }
        }
        return regions
    }

    /// The packet from `data` for LD_ABS/LD_IND (skb programs).
    var legacyPacket: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: memory.base + data, count: dataEnd - data)
    }

    /// `data_out` as test_run returns it.
    func packetAfter() -> [UInt8] {
        switch kind {
        case .xdp:
            return Array(UnsafeRawBufferPointer(start: memory.base + dataMeta, count: dataEnd - dataMeta))
        case .socketBuffer(let linkLayer):
            let bytes = Array(UnsafeRawBufferPointer(start: memory.base + data, count: dataEnd - data))
            return linkLayer ? bytes : [UInt8](repeating: 0, count: TestRunGeometry.ethernetHeader) + bytes
        }
    }

    func contextAfter() -> [UInt8] {
        Array(UnsafeRawBufferPointer(start: memory.base, count: contextSize))
    }

    /// A pointer `offset` bytes into the mapping. Callers keep offsets inside it.
    func pointer(_ offset: Int) -> UnsafeMutableRawPointer { memory.base + offset }
}
