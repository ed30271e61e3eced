import BPFLoader
import BPFMaps
import Testing

/// Each map type used from a program, with the results read back through BPFMaps.
@Suite("Maps from programs")
struct MapTests {
    static let source = """
        struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 16); __type(key, __u32); __type(value, __u64); } counts SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } totals SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); } per_cpu SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_PERCPU_HASH); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } per_cpu_hash SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_LRU_HASH); __uint(max_entries, 2); __type(key, __u32); __type(value, __u32); } recent SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_QUEUE); __uint(max_entries, 4); __type(value, __u32); } fifo SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_STACK); __uint(max_entries, 4); __type(value, __u32); } lifo SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_BLOOM_FILTER); __uint(max_entries, 16); __type(value, __u32); } seen SEC(".maps");

        SEC("xdp") int use_hash(struct xdp_md *ctx) {
            __u32 key = ctx->data_end - ctx->data;
            __u64 one = 1, *value = bpf_map_lookup_elem(&counts, &key);
            if (value) { __sync_fetch_and_add(value, 1); return 1; }
            bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST);
            return 2;
        }
        SEC("xdp") int use_hash_delete(struct xdp_md *ctx) {
            __u32 key = ctx->data_end - ctx->data;
            return bpf_map_delete_elem(&counts, &key) == 0 ? 1 : 0;
        }
        SEC("xdp") int use_array(struct xdp_md *ctx) {
            __u32 key = 1, outside = 4;
            __u64 *value = bpf_map_lookup_elem(&totals, &key);
            if (!value || bpf_map_lookup_elem(&totals, &outside)) return 0;
            *value += ctx->data_end - ctx->data;
            return *value;
        }
        SEC("xdp") int use_per_cpu(struct xdp_md *ctx) {
            __u32 key = 0;
            __u64 *value = bpf_map_lookup_elem(&per_cpu, &key);
            if (!value) return 0;
            *value += 1;
            __u64 *hashed = bpf_map_lookup_elem(&per_cpu_hash, &key);
            if (hashed) *hashed += 10; else { __u64 ten = 10; bpf_map_update_elem(&per_cpu_hash, &key, &ten, BPF_ANY); }
            return 1;
        }
        SEC("xdp") int use_lru(struct xdp_md *ctx) {
            unsigned char *data = (void *)(long)ctx->data;
            if ((void *)(data + 1) > (void *)(long)ctx->data_end) return 0;
            __u32 key = data[0];
            __u32 value = key * 10;
            return bpf_map_update_elem(&recent, &key, &value, BPF_ANY) == 0;
        }
        SEC("xdp") int use_queue_stack(struct xdp_md *ctx) {
            // The counter stays in a register: a counter whose address the helper takes
            // lives in a 32-bit stack slot Linux cannot bound ("infinite loop detected").
            for (__u32 step = 1; step <= 3; step++) {
                __u32 value = step * 10;
                bpf_map_push_elem(&fifo, &value, 0);
                bpf_map_push_elem(&lifo, &value, 0);
            }
            __u32 first = 0, last = 0, peeked = 0;
            bpf_map_pop_elem(&fifo, &first);
            bpf_map_pop_elem(&lifo, &last);
            bpf_map_peek_elem(&lifo, &peeked);
            return first * 10000 + last * 100 + peeked;
        }
        SEC("xdp") int use_bloom(struct xdp_md *ctx) {
            __u32 member = 42, stranger = 7;
            bpf_map_push_elem(&seen, &member, 0);
            long present = bpf_map_peek_elem(&seen, &member);
            long absent = bpf_map_peek_elem(&seen, &stranger);
            return present == 0 && absent == -2;
        }
        """

    static let packet = Packet.ipv4(proto: 17, payload: Packet.udp)

    static func collection() throws -> LoadedObject? { try Fixture.load(source, name: "maps") }

    @Test func hashCountsAcrossRunsAndDeletes() throws {
        guard let collection = try Self.collection() else { return }
        #expect(try collection.run(program: "use_hash", packet: Self.packet).returnValue == 2)
        #expect(try collection.run(program: "use_hash", packet: Self.packet).returnValue == 1)
        #expect(try collection.run(program: "use_hash", packet: Self.packet).returnValue == 1)
        let counts = try #require(collection.map(named: "counts"))
        #expect(try counts.lookup(UInt32(Self.packet.count), as: UInt64.self) == 3)
        #expect(try collection.run(program: "use_hash_delete", packet: Self.packet).returnValue == 1)
        #expect(try counts.lookup(UInt32(Self.packet.count), as: UInt64.self) == nil)
        #expect(try collection.run(program: "use_hash_delete", packet: Self.packet).returnValue == 0)
    }

    @Test func arrayValuesAreWrittenInPlace() throws {
        guard let collection = try Self.collection() else { return }
        let length = UInt64(Self.packet.count)
        #expect(try collection.run(program: "use_array", packet: Self.packet).returnValue == length)
        #expect(try collection.run(program: "use_array", packet: Self.packet).returnValue == 2 * length)
        #expect(try collection.map(named: "totals")?.lookup(UInt32(1), as: UInt64.self) == 2 * length)
    }

    @Test func perCPUMapsSumToTheRunCount() throws {
        guard let collection = try Self.collection() else { return }
        for _ in 0..<5 { #expect(try collection.run(program: "use_per_cpu", packet: Self.packet).returnValue == 1) }
        let array = try #require(collection.map(named: "per_cpu") as? ArrayMap)
        let slots = try #require(try array.lookupPerCPU(key: u32(0)))
        #expect(slots.count == PossibleCPUs.count)
        #expect(slots.compactMap { load($0, as: UInt64.self) }.reduce(0, +) == 5)
        let hash = try #require(collection.map(named: "per_cpu_hash") as? HashMap)
        let hashed = try #require(try hash.lookupPerCPU(key: u32(0)))
        #expect(hashed.compactMap { load($0, as: UInt64.self) }.reduce(0, +) == 50)
    }

    @Test func lruHashKeepsTheRecentKeys() throws {
        guard let collection = try Self.collection() else { return }
        for first in [UInt8(1), 2, 3] {
            #expect(try collection.run(program: "use_lru", packet: [first] + Self.packet.dropFirst()).returnValue == 1)
        }
        let recent = try #require(collection.map(named: "recent"))
        let keys = try recent.keys().compactMap { load($0, as: UInt32.self) }
        #expect(keys.count == 2 && keys.contains(3))
        #expect(try recent.lookup(UInt32(3), as: UInt32.self) == 30)
    }

    @Test func queueIsFIFOAndStackIsLIFO() throws {
        guard let collection = try Self.collection() else { return }
        #expect(try collection.run(program: "use_queue_stack", packet: Self.packet).returnValue == 10 * 10000 + 30 * 100 + 20)
        let fifo = try #require(collection.map(named: "fifo") as? QueueStackMap)
        let lifo = try #require(collection.map(named: "lifo") as? QueueStackMap)
        #expect(try fifo.pop() == u32(20) && fifo.count == 1)
        #expect(try lifo.pop() == u32(20) && lifo.count == 1)
    }

    @Test func bloomFilterAnswersMembership() throws {
        guard let collection = try Self.collection() else { return }
        #expect(try collection.run(program: "use_bloom", packet: Self.packet).returnValue == 1)
    }

    @Test func lpmTrieFiltersSourceAddresses() throws {
        guard Fixture.isClangAvailable else { return }
        let source = """
            struct key { __u32 prefix; __u8 address[4]; };
            struct { __uint(type, BPF_MAP_TYPE_LPM_TRIE); __uint(max_entries, 8); __uint(map_flags, BPF_F_NO_PREALLOC);
                     __type(key, struct key); __type(value, __u32); } rules SEC(".maps");
            SEC("xdp") int ip_filter(struct xdp_md *ctx) {
                void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
                struct ethhdr *eth = data;
                struct iphdr *ip = (void *)(eth + 1);
                if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
                struct key key = { .prefix = 32 };
                __builtin_memcpy(key.address, &ip->saddr, 4);
                __u32 *action = bpf_map_lookup_elem(&rules, &key);
                return action ? *action : XDP_PASS;
            }
            """
        func rule(_ prefix: UInt32, _ address: [UInt8], _ action: UInt32) -> (key: [UInt8], value: [UInt8]) {
            (LPMTrieMap.key(prefixLength: prefix, data: address), u32(action))
        }
        let options = LoadOptions(mapInitialEntries: ["rules": [rule(8, [10, 0, 0, 0], 1), rule(16, [10, 1, 0, 0], 2),
                                                                rule(32, [10, 1, 2, 3], 3)]])
        guard let collection = try Fixture.load(source, name: "lpm", options: options) else { return }
        func verdict(_ source: [UInt8]) throws -> UInt64 {
            try collection.run(program: "ip_filter", packet: Packet.ipv4(source: source, proto: 17, payload: Packet.udp)).returnValue
        }
        #expect(try verdict([10, 9, 9, 9]) == 1)  // XDP_DROP by 10/8
        #expect(try verdict([10, 1, 9, 9]) == 2)  // XDP_PASS by 10.1/16
        #expect(try verdict([10, 1, 2, 3]) == 3)  // XDP_TX by the /32
        #expect(try verdict([192, 168, 0, 1]) == 2)  // no rule
    }

    @Test func ringBufferRecordsReachTheConsumer() throws {
        guard let collection = try Fixture.load("""
            struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } events SEC(".maps");
            struct event { __u32 length; __u32 magic; __u64 first; };
            SEC("xdp") int report(struct xdp_md *ctx) {
                struct event *event = bpf_ringbuf_reserve(&events, sizeof(*event), 0);
                if (!event) return 0;
                event->length = ctx->data_end - ctx->data;
                event->magic = 0xfeedbeef;
                event->first = 0x1122334455667788ULL;
                if (event->length < 20) { bpf_ringbuf_discard(event, 0); return 2; }
                bpf_ringbuf_submit(event, 0);
                return 1;
            }
            """, name: "ringbuf") else { return }
        #expect(try collection.run(program: "report", packet: Self.packet).returnValue == 1)
        #expect(try collection.run(program: "report", packet: Array(Self.packet.prefix(16))).returnValue == 2)
        #expect(try collection.run(program: "report", packet: Array(Self.packet.prefix(30))).returnValue == 1)
        let ring = try #require(collection.map(named: "events") as? RingBufferMap)
        let records = ring.drain()
        #expect(records.count == 2)
        #expect(records.map { load($0, as: UInt32.self) } == [UInt32(Self.packet.count), 30])
        #expect(records.allSatisfy { load(Array($0.dropFirst(4)), as: UInt32.self) == 0xfeedbeef })
    }
}
