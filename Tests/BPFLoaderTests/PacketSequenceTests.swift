import BPFLinux
import BPFLoader
import BPFMaps
import Testing

/// Map state carried over a sequence of packets: a parser counting protocols and
/// an LPM source-address filter counting rule hits, against Linux's maps.
@Suite("Packet sequences")
struct PacketSequenceTests {
    static let source = """
        struct key { __u32 prefix; __u8 address[4]; };
        struct rule { __u32 action; __u32 pad; __u64 hits; };
        struct { __uint(type, BPF_MAP_TYPE_LPM_TRIE); __uint(max_entries, 8); __uint(map_flags, BPF_F_NO_PREALLOC);
                 __type(key, struct key); __type(value, struct rule); } rules SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 16); __type(key, __u32); __type(value, __u64); } protocols SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 2); __type(key, __u32); __type(value, __u64); } totals SEC(".maps");

        static __attribute__((always_inline)) void add(void *map, __u32 key, __u64 amount) {
            __u64 *value = bpf_map_lookup_elem(map, &key);
            if (value) __sync_fetch_and_add(value, amount);
            else bpf_map_update_elem(map, &key, &amount, BPF_NOEXIST);
        }
        SEC("xdp") int classify_and_filter(struct xdp_md *ctx) {
            void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
            struct ethhdr *eth = data;
            if ((void *)(eth + 1) > end) return XDP_DROP;
            add(&totals, 0, 1);
            add(&totals, 1, end - data);
            __u32 kind = (__u32)bpf_ntohs(eth->h_proto) << 8;
            int verdict = XDP_PASS;
            if (eth->h_proto == bpf_htons(ETH_P_IP)) {
                struct iphdr *ip = (void *)(eth + 1);
                if ((void *)(ip + 1) > end) return XDP_DROP;
                kind |= ip->protocol;
                struct key key = { .prefix = 32 };
                __builtin_memcpy(key.address, &ip->saddr, 4);
                struct rule *rule = bpf_map_lookup_elem(&rules, &key);
                if (rule) {
                    __sync_fetch_and_add(&rule->hits, 1);
                    verdict = rule->action;
                }
            } else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
                struct ipv6hdr *ip6 = (void *)(eth + 1);
                if ((void *)(ip6 + 1) > end) return XDP_DROP;
                kind |= ip6->nexthdr;
            }
            add(&protocols, kind, 1);
            return verdict;
        }
        """

    static let rules: [(prefix: UInt32, address: [UInt8], action: UInt32)] = [
        (8, [10, 0, 0, 0], 1),     // XDP_DROP 10/8
        (16, [10, 1, 0, 0], 2),    // XDP_PASS 10.1/16
        (32, [10, 1, 2, 3], 3),    // XDP_TX 10.1.2.3
    ]

    static func ruleEntry(_ rule: (prefix: UInt32, address: [UInt8], action: UInt32)) -> (key: [UInt8], value: [UInt8]) {
        (LPMTrieMap.key(prefixLength: rule.prefix, data: rule.address), u32(rule.action) + u32(0) + u64(0))
    }

    static let packets: [[UInt8]] = [
        Packet.ipv4(source: [10, 9, 9, 9], proto: 6, payload: Packet.tcp),        // 10/8: drop
        Packet.ipv4(source: [10, 1, 9, 9], proto: 17, payload: Packet.udp),       // 10.1/16: pass
        Packet.ipv4(source: [10, 1, 2, 3], proto: 6, payload: Packet.tcp),        // /32: tx
        Packet.ipv4(source: [10, 1, 2, 3], proto: 6, payload: Packet.tcp),        // /32 again
        Packet.ipv4(source: [192, 168, 0, 1], proto: 17, payload: Packet.udp),    // no rule
        Packet.ipv6(nextHeader: 17, payload: Packet.udp),
        Packet.ipv6(nextHeader: 6, payload: Packet.tcp),
        Packet.arp,
        Array(Packet.ipv4(proto: 6, payload: Packet.tcp).prefix(20)),             // cut IPv4 header: dropped
    ]

    @Test func countersAndRuleHitsFollowThePackets() throws {
        let options = LoadOptions(mapInitialEntries: ["rules": Self.rules.map(Self.ruleEntry)])
        guard let collection = try Fixture.load(Self.source, name: "sequence", options: options) else { return }
        let runner = try PacketRunner(collection: collection, program: "classify_and_filter")
        let verdicts = try Self.packets.map { try runner.run(packet: $0).returnValue }
        #expect(verdicts == [1, 2, 3, 3, 2, 2, 2, 2, 1])

        let protocols = try #require(collection.map(named: "protocols"))
        var counts: [UInt32: UInt64] = [:]
        for (key, value) in try protocols.entries() { counts[load(key, as: UInt32.self)!] = load(value, as: UInt64.self) }
        #expect(counts == [0x08_0006: 3, 0x08_0011: 2, 0x86dd_11: 1, 0x86dd_06: 1, 0x0806_00: 1])

        let totals = try #require(collection.map(named: "totals"))
        #expect(try totals.lookup(UInt32(0), as: UInt64.self) == UInt64(Self.packets.count))
        #expect(try totals.lookup(UInt32(1), as: UInt64.self) == UInt64(Self.packets.reduce(0) { $0 + $1.count }))

        let rules = try #require(collection.map(named: "rules"))
        let hits = try Self.rules.map { rule in try load(rules.lookup(key: Self.ruleEntry(rule).key).map { Array($0[8..<16]) }, as: UInt64.self) }
        #expect(hits == [1, 1, 2])
    }

    @Test func mapContentsMatchLinux() throws {
        guard Fixture.isClangAvailable, KernelOracle.isAvailable else { return }
        let spec = try Fixture.compile(Self.source, name: "sequence")
        let ours = try LoadedObject(spec: spec, options: LoadOptions(mapInitialEntries: ["rules": Self.rules.map(Self.ruleEntry)]))
        let kernel = try KernelCollection(spec: spec)
        for rule in Self.rules {
            let entry = Self.ruleEntry(rule)
            try #require(kernel.maps["rules"]).update(key: entry.key, value: entry.value)
        }
        let program = try kernel.program(named: "classify_and_filter")
        for (index, packet) in Self.packets.enumerated() {
            let expected = try program.testRun(data: packet)
            #expect(try UInt32(ours.run(program: "classify_and_filter", packet: packet).returnValue) == expected.returnValue,
                    "packet \(index)")
        }
        for name in ["protocols", "totals", "rules"] {
            let kernelMap = try #require(kernel.maps[name])
            let ourMap = try #require(ours.map(named: name))
            let kernelKeys = try kernelMap.keys()
            #expect(Set(kernelKeys) == Set(try ourMap.keys()), "\(name) keys")
            for key in kernelKeys {
                #expect(try kernelMap.lookup(key: key) == ourMap.lookup(key: key), "\(name)[\(key)]")
            }
        }
    }
}
