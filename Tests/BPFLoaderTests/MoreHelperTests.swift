import BPFLoader
import BPFMaps
import Foundation
import Testing

/// The packet parser with per-protocol counters, locks and process helpers.
@Suite("Parser, locks and process helpers")
struct MoreHelperTests {
    @Test func xdpParserCountsProtocolsInAnArrayMap() throws {
        guard let collection = try Fixture.load("""
            enum { OTHER, IPV4, IPV6, TCP, UDP, KINDS };
            struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, KINDS); __type(key, __u32); __type(value, __u64); } seen SEC(".maps");
            static __attribute__((always_inline)) void count(__u32 kind) {
                __u64 *value = bpf_map_lookup_elem(&seen, &kind);
                if (value) __sync_fetch_and_add(value, 1);
            }
            SEC("xdp") int count_protocols(struct xdp_md *ctx) {
                void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
                struct ethhdr *eth = data;
                if ((void *)(eth + 1) > end) return XDP_DROP;
                __u8 proto;
                if (eth->h_proto == bpf_htons(ETH_P_IP)) {
                    struct iphdr *ip = (void *)(eth + 1);
                    if ((void *)(ip + 1) > end) return XDP_DROP;
                    count(IPV4);
                    proto = ip->protocol;
                } else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
                    struct ipv6hdr *ip6 = (void *)(eth + 1);
                    if ((void *)(ip6 + 1) > end) return XDP_DROP;
                    count(IPV6);
                    proto = ip6->nexthdr;
                } else {
                    count(OTHER);
                    return XDP_PASS;
                }
                if (proto == IPPROTO_TCP) count(TCP); else if (proto == IPPROTO_UDP) count(UDP); else count(OTHER);
                return XDP_PASS;
            }
            """, name: "counter") else { return }
        let packets: [[UInt8]] = [
            Packet.ipv4(proto: 6, payload: Packet.tcp), Packet.ipv4(proto: 6, payload: Packet.tcp),
            Packet.ipv4(proto: 17, payload: Packet.udp), Packet.ipv6(nextHeader: 17, payload: Packet.udp),
            Packet.ipv6(nextHeader: 58, payload: [128, 0, 0, 0]), Packet.arp,
            Array(Packet.ipv4(proto: 6, payload: Packet.tcp).prefix(20)),
        ]
        let verdicts = try packets.map { try collection.run(program: "count_protocols", packet: $0).returnValue }
        #expect(verdicts == [2, 2, 2, 2, 2, 2, 1])
        let seen = try #require(collection.map(named: "seen"))
        let counts = try (0..<5).map { try seen.lookup(UInt32($0), as: UInt64.self) ?? 0 }
        #expect(counts == [2, 3, 2, 2, 2])  // other, IPv4, IPv6, TCP, UDP
    }

    @Test func spinLocksGuardMapValues() throws {
        guard let collection = try Fixture.load("""
            struct guarded { struct bpf_spin_lock lock; __u32 count; };
            struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, struct guarded); } state SEC(".maps");
            SEC("xdp") int locked(struct xdp_md *ctx) {
                __u32 key = 0;
                struct guarded *value = bpf_map_lookup_elem(&state, &key);
                if (!value) return 0;
                bpf_spin_lock(&value->lock);
                __u32 count = ++value->count;
                bpf_spin_unlock(&value->lock);
                return count;
            }
            """, name: "spinlock") else { return }
        let packet = Packet.ipv4(proto: 6, payload: Packet.tcp)
        // Two threads at once: every increment happens under the lock.
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            for _ in 0..<200 { _ = try? collection.run(program: "locked", packet: packet) }
        }
        let value = try #require(try collection.map(named: "state")?.lookup(key: u32(0)))
        #expect(load(Array(value[0..<4]), as: UInt32.self) == 0)  // released
        #expect(load(Array(value[4..<8]), as: UInt32.self) == 400)
    }

    @Test func processHelpersDescribeTheHost() throws {
        guard let collection = try Fixture.load("""
            struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, char[16]); } comm SEC(".maps");
            SEC("raw_tracepoint/sys_enter") int who(void *ctx) {
                __u32 key = 0;
                char *name = bpf_map_lookup_elem(&comm, &key);
                if (name) bpf_get_current_comm(name, 16);
                __u64 before = bpf_ktime_get_ns(), after = bpf_ktime_get_ns();
                return after >= before ? bpf_get_current_pid_tgid() >> 32 : 0;
            }
            SEC("raw_tracepoint/sys_enter") int uid(void *ctx) { return (__u32)bpf_get_current_uid_gid(); }
            """, name: "process") else { return }
        #expect(try collection.run(program: "who", context: u64(0)).returnValue == UInt64(ProcessInfo.processInfo.processIdentifier))
        #expect(try collection.run(program: "uid", context: u64(0)).returnValue == UInt64(getuid()))
        let name = try #require(try collection.map(named: "comm")?.lookup(key: u32(0)))
        let expected = try String(contentsOfFile: "/proc/self/comm", encoding: .utf8).trimmingCharacters(in: .newlines)
        #expect(String(decoding: name.prefix { $0 != 0 }, as: UTF8.self) == String(expected.prefix(15)))
    }
}
