import BPFLinux
import BPFLoader
import BPFMaps
import BPFRuntime
import Testing

/// Contexts built as BPF_PROG_TEST_RUN builds them, compared with Linux where possible.
@Suite("Packet contexts")
struct ContextTests {
    static let packets: [[UInt8]] = [
        Packet.ipv4(proto: 6, payload: Packet.tcp),
        Packet.ipv4(proto: 17, payload: Packet.udp),
        Packet.ipv6(nextHeader: 17, payload: Packet.udp),
        Packet.ipv6(nextHeader: 6, payload: Packet.tcp),
        Packet.arp,
        Array(Packet.ipv4(proto: 6, payload: Packet.tcp).prefix(30)),  // truncated IPv4 header
        Packet.ethernetIPv4 + [0x45, 0],
        Array(Packet.ipv6(nextHeader: 17, payload: Packet.udp).prefix(40)),  // truncated IPv6 header
        Packet.ethernetIPv6 + [0x60],
        Array(Packet.arp.prefix(20)),
    ]

    /// The XDP parser's classification without maps, so Linux can run the same object.
    static let parser = """
        enum { OTHER = 0, IPV4 = 1, IPV6 = 2, TCP = 4, UDP = 8 };
        static __attribute__((always_inline)) int classify(void *data, void *end) {
            struct ethhdr *eth = data;
            if ((void *)(eth + 1) > end) return OTHER;
            if (eth->h_proto == bpf_htons(ETH_P_IP)) {
                struct iphdr *ip = (void *)(eth + 1);
                if ((void *)(ip + 1) > end) return IPV4 | 16;
                if (ip->protocol == IPPROTO_TCP) return IPV4 | TCP;
                if (ip->protocol == IPPROTO_UDP) return IPV4 | UDP;
                return IPV4;
            }
            if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
                struct ipv6hdr *ip6 = (void *)(eth + 1);
                if ((void *)(ip6 + 1) > end) return IPV6 | 16;
                if (ip6->nexthdr == IPPROTO_TCP) return IPV6 | TCP;
                if (ip6->nexthdr == IPPROTO_UDP) return IPV6 | UDP;
                return IPV6;
            }
            return OTHER;
        }
        SEC("xdp") int parse(struct xdp_md *ctx) {
            void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
            return classify(data, end) | ((end - data) << 8);
        }
        #define FIELD(section, name, expression) SEC(section) int name(struct __sk_buff *skb) { return expression; }
        FIELD("tc", tc_len, skb->len)
        FIELD("tc", tc_protocol, skb->protocol)
        FIELD("tc", tc_pkt_type, skb->pkt_type)
        FIELD("tc", tc_ifindex, skb->ifindex)
        FIELD("tc", tc_ingress_ifindex, skb->ingress_ifindex)
        FIELD("tc", tc_mark, skb->mark)
        FIELD("tc", tc_hash, skb->hash)
        FIELD("tc", tc_queue_mapping, skb->queue_mapping)
        FIELD("tc", tc_data_length, skb->data_end - skb->data)
        FIELD("tc", tc_meta_length, skb->data - skb->data_meta)
        FIELD("socket", sk_len, skb->len)
        FIELD("socket", sk_protocol, skb->protocol)
        FIELD("socket", sk_pkt_type, skb->pkt_type)
        FIELD("socket", sk_ifindex, skb->ifindex)
        SEC("tc") int fields(struct __sk_buff *skb) {
            void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
            unsigned char first = 0;
            if (data + 1 <= end) first = *(unsigned char *)data;
            return classify(data, end) | (first << 8);
        }
        SEC("tc") int rewrite(struct __sk_buff *skb) {
            void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
            if (data + 14 > end) return 2;
            ((unsigned char *)data)[0] = 0xaa;
            __u8 byte = 0x55;
            bpf_skb_store_bytes(skb, 1, &byte, 1, 0);
            __u8 loaded[2] = {};
            long failed = bpf_skb_load_bytes(skb, skb->len - 1, loaded, 2);
            skb->mark = 7;
            skb->cb[2] = 9;
            return failed == -14 ? 100 + loaded[0] + loaded[1] : 1;
        }
        unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
        SEC("socket") int filter(struct __sk_buff *skb) {
            unsigned long long proto = load_byte(skb, 9);
            unsigned long long version = load_byte(skb, 0) >> 4;
            if (skb->protocol != bpf_htons(ETH_P_IP)) return skb->len | 0x10000;
            return (proto == IPPROTO_TCP ? skb->len : 0) | (version << 24) | (skb->pkt_type << 20);
        }
        """

    static func collection() throws -> LoadedObject? {
        try Fixture.load(parser, name: "parser")
    }

    @Test func xdpContextCoversTheFrameAndMatchesLinux() throws {
        guard let collection = try Self.collection() else { return }
        let tcp = try collection.run(program: "parse", packet: Self.packets[0])
        #expect(tcp.returnValue == UInt64(1 | 4 | Self.packets[0].count << 8))
        #expect(tcp.packetAfter == Self.packets[0])
        let context = tcp.contextAfter
        let data = try #require(load(Array(context[0..<4]), as: UInt32.self))
        let dataEnd = try #require(load(Array(context[4..<8]), as: UInt32.self))
        let dataMeta = try #require(load(Array(context[8..<12]), as: UInt32.self))
        #expect(dataEnd - data == UInt32(Self.packets[0].count) && dataMeta == data)
        guard KernelOracle.isAvailable else { return }
        try KernelOracle.compare(collection, program: "parse", packets: Self.packets)
    }

    @Test func schedClsSeesTheEthernetHeaderAndMatchesLinux() throws {
        guard let collection = try Self.collection() else { return }
        let result = try collection.run(program: "fields", packet: Self.packets[0])
        #expect(result.returnValue == 1 | 4)
        #expect(try collection.run(program: "tc_len", packet: Self.packets[0]).returnValue == UInt64(Self.packets[0].count))
        #expect(try collection.run(program: "tc_protocol", packet: Self.packets[0]).returnValue == 0x0008)  // __be16 0x0800
        #expect(try collection.run(program: "tc_protocol", packet: Self.packets[2]).returnValue == 0xdd86)
        guard KernelOracle.isAvailable else { return }
        let valid = Self.packets.filter { $0.count > 14 }
        for name in ["fields", "tc_len", "tc_protocol", "tc_pkt_type", "tc_ifindex", "tc_ingress_ifindex", "tc_mark",
                     "tc_hash", "tc_queue_mapping", "tc_data_length", "tc_meta_length"] {
            try KernelOracle.compare(collection, program: name, packets: valid)
        }
        try KernelOracle.compare(collection, program: "rewrite", packets: valid)
    }

    @Test func schedClsWritesPacketMarkAndControlBuffer() throws {
        guard let collection = try Self.collection() else { return }
        let packet = Self.packets[1]
        let result = try collection.run(program: "rewrite", packet: packet)
        // The 2-byte load at len - 1 runs past the end: -EFAULT and a zeroed destination.
        #expect(result.returnValue == 100)
        #expect(Array(result.packetAfter.prefix(2)) == [0xaa, 0x55])
        #expect(Array(result.packetAfter.dropFirst(2)) == Array(packet.dropFirst(2)))
        #expect(load(Array(result.contextAfter[8..<12]), as: UInt32.self) == 7)
        #expect(load(Array(result.contextAfter[56..<60]), as: UInt32.self) == 9)
    }

    @Test func socketFilterStartsAtTheNetworkHeaderAndMatchesLinux() throws {
        guard let collection = try Self.collection() else { return }
        let packet = Self.packets[0]
        let result = try collection.run(program: "filter", packet: packet)
        #expect(result.returnValue == UInt64(packet.count - 14) | 4 << 24)
        #expect(result.packetAfter == [UInt8](repeating: 0, count: 14) + packet.dropFirst(14))
        guard KernelOracle.isAvailable else { return }
        let valid = Self.packets.filter { $0.count > 14 }
        for name in ["filter", "sk_len", "sk_protocol", "sk_pkt_type", "sk_ifindex"] {
            try KernelOracle.compare(collection, program: name, packets: valid)
        }
    }

    @Test func aReusedRunnerGivesTheSameResultsAsFreshRuns() throws {
        guard let collection = try Self.collection() else { return }
        for name in ["parse", "rewrite", "filter", "tc_len"] {
            let runner = try PacketRunner(collection: collection, program: name)
            // Twice over every packet: a packet must not see the previous one's writes.
            for packet in (Self.packets + Self.packets) where packet.count > 14 {
                guard var fresh = try? collection.run(program: name, packet: packet) else {
                    #expect(throws: CollectionRunError.self) { try runner.run(packet: packet) }
                    continue
                }
                var reused = try runner.run(packet: packet)
                // data, data_end and data_meta hold each frame's own addresses.
                let pointerFields = fresh.contextAfter.count == 24 ? [0, 4, 8] : [76, 80, 140]
                for offset in pointerFields where offset + 4 <= fresh.contextAfter.count {
                    fresh.contextAfter.replaceSubrange(offset..<offset + 4, with: [0, 0, 0, 0])
                    reused.contextAfter.replaceSubrange(offset..<offset + 4, with: [0, 0, 0, 0])
                }
                #expect(reused == fresh, "\(name) over \(packet.count) bytes")
                #expect(try runner.returnValue(forPacket: packet).returnValue == fresh.returnValue)
            }
        }
    }

    @Test func writingAReadOnlyContextFieldIsRefusedOrFaults() throws {
        guard Fixture.isClangAvailable else { return }
        let spec = try Fixture.compile("""
            SEC("tc") int set_len(struct __sk_buff *skb) { *(volatile __u32 *)&skb->len = 1; return 0; }
            SEC("tc") int set_data(struct __sk_buff *skb) { skb->data = skb->data_end; return 0; }
            SEC("xdp") int set_xdp_data(struct xdp_md *ctx) { ctx->data_end = ctx->data; return XDP_PASS; }
            SEC("tc") int set_priority(struct __sk_buff *skb) { skb->priority = 3; skb->tc_index = 4; return skb->priority; }
            """, name: "ctxwrite")
        // Linux refuses stores to read-only context fields at load; so does BPFKit's verifier.
        for program in ["set_len", "set_data", "set_xdp_data"] {
            #expect(Fixture.expectRefusal(spec, program: program)?.contains("context access") == true, "\(program)")
        }
        let collection = try LoadedObject(spec: spec, options: LoadOptions(programNames: ["set_priority"]))
        #expect(try collection.run(program: "set_priority", packet: Self.packets[0]).returnValue == 3)
        // Unverified, the checked run faults on the store instead.
        let unverified = try LoadedObject(spec: spec, options: LoadOptions(verifies: false))
        #expect(throws: CollectionRunError.self) { try unverified.run(program: "set_len", packet: Self.packets[0]) }
        do {
            _ = try unverified.run(program: "set_len", packet: Self.packets[0])
        } catch {
            guard case .execution(let program, .memoryFault(_, _, _, _, let isWrite, _)) = error else {
                Issue.record("expected a memory fault, got \(error)")
                return
            }
            #expect(program == "set_len" && isWrite)
        }
    }
}
