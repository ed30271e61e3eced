import BPFInstructionSet
import BPFLinux
import BPFLoader
import BPFRuntime
import Testing

/// Verified programs read packet pointers through Linux-style context rewriting
/// (64-bit loads of a hidden shadow), so their packets may lie anywhere in memory.
@Suite("Context rewriting")
struct ContextRewriteTests {
    static let source = """
        SEC("xdp") int xdp_lengths(struct xdp_md *ctx) {
            void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
            void *meta = (void *)(long)ctx->data_meta;
            __u32 queue = ctx->rx_queue_index;
            return (end - data) | ((data - meta) << 16) | (queue << 24);
        }
        SEC("tc") int tc_lengths(struct __sk_buff *skb) {
            void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
            void *meta = (void *)(long)skb->data_meta;
            __u32 mark = skb->mark;
            return (end - data) | ((data - meta) << 16) | (mark << 24);
        }
        SEC("xdp") int xdp_meta(struct xdp_md *ctx) {
            if (bpf_xdp_adjust_meta(ctx, -8)) return XDP_ABORTED;
            void *data = (void *)(long)ctx->data;
            __u32 *meta = (void *)(long)ctx->data_meta;
            if ((void *)(meta + 2) > data) return XDP_DROP;
            meta[0] = 0x11223344;
            meta[1] = (void *)(long)ctx->data_end - data;
            if (bpf_xdp_adjust_head(ctx, 14)) return XDP_ABORTED;
            unsigned char *first = (void *)(long)ctx->data;
            if ((void *)(first + 1) > (void *)(long)ctx->data_end) return XDP_DROP;
            return *first == 0x45 ? XDP_PASS : XDP_TX;
        }
        SEC("cgroup_skb/ingress") int cgroup_first(struct __sk_buff *skb) {
            unsigned char *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
            if ((void *)(data + 1) > (void *)end) return 0;
            return data[0] >> 4 == 4;
        }
        SEC("socket") int socket_data(struct __sk_buff *skb) {
            return (void *)(long)skb->data_end - (void *)(long)skb->data;
        }
        """

    static let packets: [[UInt8]] = [
        Packet.ipv4(proto: 6, payload: Packet.tcp),
        Packet.ipv6(nextHeader: 17, payload: Packet.udp),
        Packet.arp,
        Packet.ethernetIPv4 + [0x45] + [UInt8](repeating: 0, count: 19),
    ]

    /// The shadow slot of each 32-bit packet-pointer field, by context field offset.
    static let xdpFields: [Int16: Int16] = [0: 192, 4: 200, 8: 208]  // data, data_end, data_meta
    static let skbFields: [Int16: Int16] = [76: 192, 80: 200, 140: 208]

    /// Every 32-bit load of a pointer field straight from r1 (which these tiny programs
    /// never overwrite before reading the context) is a 64-bit shadow load; nothing else changes.
    func expectRewritten(_ program: LoadedProgram, fields: [Int16: Int16], sourceLocation: SourceLocation = #_sourceLocation) {
        let before = program.relocatedInstructions, after = program.executableInstructions
        #expect(before.count == after.count, sourceLocation: sourceLocation)
        var rewritten = Set<Int16>()
        for (pc, (old, new)) in zip(before, after).enumerated() {
            if old.opcode == 0x61, old.source == 1, let slot = fields[old.offset] {
                #expect(new == Instruction(opcode: 0x79, destination: old.destination, source: 1, offset: slot),
                        "\(program.name) pc \(pc)", sourceLocation: sourceLocation)
                rewritten.insert(old.offset)
            } else {
                #expect(new == old, "\(program.name) pc \(pc) changed", sourceLocation: sourceLocation)
            }
        }
        #expect(rewritten == Set(fields.keys), "\(program.name) reads every pointer field", sourceLocation: sourceLocation)
    }

    @Test func verifiedPointerLoadsBecomeShadowLoads() throws {
        guard let collection = try Fixture.load(Self.source, name: "rewrite", options: LoadOptions(programNames: ["xdp_lengths", "tc_lengths"]))
        else { return }
        expectRewritten(try #require(collection.program(named: "xdp_lengths")), fields: Self.xdpFields)
        expectRewritten(try #require(collection.program(named: "tc_lengths")), fields: Self.skbFields)
        // Unverified programs keep the 32-bit loads (their frames lie below 4 GiB).
        let unverified = try LoadedObject(spec: collection.spec, options: LoadOptions(verifies: false))
        for program in unverified.programs {
            #expect(program.executableInstructions == program.relocatedInstructions, "\(program.name)")
            #expect(program.mode == .checked && program.verification == nil)
        }
    }

    @Test func rewrittenProgramsMatchLinux() throws {
        guard let collection = try Fixture.load(Self.source, name: "rewrite",
                                                options: LoadOptions(programNames: ["xdp_lengths", "tc_lengths", "xdp_meta", "cgroup_first"]))
        else { return }
        let tcp = Self.packets[0]
        #expect(try collection.run(program: "xdp_lengths", packet: tcp).returnValue == UInt64(tcp.count))
        #expect(try collection.run(program: "tc_lengths", packet: tcp, context: PacketContext(mark: 3)).returnValue
                == UInt64(tcp.count | 3 << 24))
        let meta = try collection.run(program: "xdp_meta", packet: tcp)
        #expect(meta.returnValue == 2)  // XDP_PASS: the IPv4 header follows the pulled Ethernet header
        #expect(meta.packetAfter == u32(0x1122_3344) + u32(UInt32(tcp.count)) + tcp.dropFirst(14))
        #expect(try collection.run(program: "cgroup_first", packet: tcp).returnValue == 1)
        // Forced checked mode reads the shadow through a granted read-only region.
        let checked = try LoadedObject(spec: collection.spec, options: LoadOptions(mode: .checked, programNames: ["xdp_meta", "tc_lengths"]))
        #expect(checked.program(named: "xdp_meta")?.mode == .checked)
        let checkedMeta = try checked.run(program: "xdp_meta", packet: tcp)
        #expect(checkedMeta.returnValue == meta.returnValue && checkedMeta.packetAfter == meta.packetAfter)
        // The contexts agree but for the pointer fields, which hold each object's own frame addresses.
        #expect(EngineAgreementTests.withoutPointers(checkedMeta.contextAfter, .xdp)
                == EngineAgreementTests.withoutPointers(meta.contextAfter, .xdp))
        guard KernelOracle.isAvailable else { return }
        for name in ["xdp_lengths", "tc_lengths", "xdp_meta", "cgroup_first"] {
            try KernelOracle.compare(collection, program: name, packets: Self.packets)
        }
        try KernelOracle.compare(checked, program: "xdp_meta", packets: Self.packets)
        try KernelOracle.compare(checked, program: "tc_lengths", packets: Self.packets)
        // Unverified (checked, below 4 GiB) gives the same results.
        let unverified = try LoadedObject(spec: collection.spec, options: LoadOptions(verifies: false, programNames: ["xdp_meta"]))
        try KernelOracle.compare(unverified, program: "xdp_meta", packets: Self.packets)
    }

    @Test func socketFiltersMayNotReadPacketPointersAsInLinux() throws {
        guard Fixture.isClangAvailable else { return }
        let spec = try Fixture.compile(Self.source, name: "rewrite")
        #expect(Fixture.expectRefusal(spec, program: "socket_data")?.contains("context access") == true)
        guard KernelOracle.isAvailable else { return }
        let unverified = try LoadedObject(spec: spec, options: LoadOptions(verifies: false, programNames: ["socket_data"]))
        #expect(throws: (any Error).self) { _ = try KernelOracle.load(try #require(unverified.program(named: "socket_data"))) }
    }
}
