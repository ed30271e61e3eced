import BPFLinux
import BPFLoader
import BPFMaps
import Testing

/// bpf_for_each_map_elem: callbacks over a map's elements, compared with Linux.
@Suite("bpf_for_each_map_elem")
struct ForEachTests {
    static let source = """
        struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 6); __type(key, __u32); __type(value, __u64); } numbers SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 16); __type(key, __u32); __type(value, __u64); } table SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 3); __type(key, __u32); __type(value, __u64); } per_cpu SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_PERCPU_HASH); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } per_cpu_table SEC(".maps");
        struct walk { __u64 sum; __u64 calls; __u32 stop_at; };

        static long add_and_bump(void *map, __u32 *key, __u64 *value, struct walk *walk) {
            walk->calls++;
            walk->sum += *key * 100 + *value;
            *value += *key + 1;                   /* callbacks may write the value in place */
            return *key == walk->stop_at;         /* 1 stops */
        }
        SEC("xdp") int each_array(struct xdp_md *ctx) {
            struct walk full = { .stop_at = 100 }, stopped = { .stop_at = 2 };
            long all = bpf_for_each_map_elem(&numbers, add_and_bump, &full, 0);
            long some = bpf_for_each_map_elem(&numbers, add_and_bump, &stopped, 0);
            long refused = bpf_for_each_map_elem(&numbers, add_and_bump, &full, 1);   /* flags must be 0 */
            if (refused != -22) return 0;
            return full.sum * 1000000 + all * 10000 + full.calls * 1000 + some * 100 + stopped.calls * 10 + (stopped.sum & 7);
        }

        static long weigh(void *map, __u32 *key, __u64 *value, struct walk *walk) {
            walk->calls++;
            walk->sum += *key * *value;
            if (*key & 1) bpf_map_delete_elem(map, key);  /* deleting the current element is allowed */
            return 0;
        }
        SEC("xdp") int each_hash(struct xdp_md *ctx) {
            void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
            __u32 first = data + 1 <= end ? *(unsigned char *)data : 0;
            for (__u32 key = 1; key <= 5; key++) {
                __u64 value = key + first;
                bpf_map_update_elem(&table, &key, &value, BPF_ANY);
            }
            struct walk before = {}, after = {};
            long visited = bpf_for_each_map_elem(&table, weigh, &before, 0);   /* 5 elements, odd keys deleted */
            long left = bpf_for_each_map_elem(&table, weigh, &after, 0);       /* keys 2 and 4 */
            return before.sum * 10000 + visited * 1000 + left * 100 + after.calls * 10 + (after.sum == 2 * (2 + first) + 4 * (4 + first));
        }

        static long count_cpu(void *map, __u32 *key, __u64 *value, struct walk *walk) {
            walk->calls++;
            walk->sum += *value + *key;
            return 0;
        }
        SEC("xdp") int each_per_cpu(struct xdp_md *ctx) {
            __u32 key = 1;
            __u64 *slot = bpf_map_lookup_elem(&per_cpu, &key);
            if (slot) *slot = 5;  /* not +=: runs may land on different CPUs */
            __u64 ten = 10;
            bpf_map_update_elem(&per_cpu_table, &key, &ten, BPF_ANY);
            struct walk array = {}, hash = {};
            long a = bpf_for_each_map_elem(&per_cpu, count_cpu, &array, 0);
            long h = bpf_for_each_map_elem(&per_cpu_table, count_cpu, &hash, 0);
            return array.sum * 100000 + a * 1000 + hash.sum * 10 + h;
        }
        """

    static let packets: [[UInt8]] = [
        Packet.ipv4(proto: 6, payload: Packet.tcp),
        Packet.ipv6(nextHeader: 17, payload: Packet.udp),
        Packet.arp,
    ]

    // Verified, as Linux verifies them (the callback gets map, key, value and ctx).
    static let options = LoadOptions()

    @Test func arraysAreWalkedInIndexOrderUntilTheCallbackStops() throws {
        guard let collection = try Fixture.load(Self.source, name: "foreach", options: Self.options) else { return }
        let result = try collection.run(program: "each_array", packet: Self.packets[0])
        // Full walk: keys 0-5, values 0: sum = 100 * (0+1+...+5) = 1500; then values are key + 1.
        // Stopped walk: keys 0, 1, 2 (the one that stops counts), sum = 0+1 + 100+2 + 200+3.
        let stoppedSum: UInt64 = 1 + 102 + 203
        #expect(result.returnValue == 1500 * 1_000_000 + 6 * 10000 + 6 * 1000 + 3 * 100 + 3 * 10 + (stoppedSum & 7))
        let numbers = try #require(collection.map(named: "numbers"))
        #expect(try (0..<6).map { try numbers.lookup(UInt32($0), as: UInt64.self) } == [2, 4, 6, 4, 5, 6])
    }

    @Test func hashWalksSeeEveryElementAndMayDeleteIt() throws {
        guard let collection = try Fixture.load(Self.source, name: "foreach", options: Self.options) else { return }
        let result = try collection.run(program: "each_hash", packet: Self.packets[0])
        // The first byte of an Ethernet frame here is 0: values are the keys.
        #expect(result.returnValue == (1 + 4 + 9 + 16 + 25) * 10000 + 5 * 1000 + 2 * 100 + 2 * 10 + 1)
        let table = try #require(collection.map(named: "table"))
        #expect(try table.keys().map { load($0, as: UInt32.self)! }.sorted() == [2, 4])
    }

    @Test func perCPUMapsGiveThisCPUsValues() throws {
        guard let collection = try Fixture.load(Self.source, name: "foreach", options: Self.options) else { return }
        let first = try collection.run(program: "each_per_cpu", packet: Self.packets[0]).returnValue
        // Array: values 0, 5, 0 plus keys 0+1+2; hash: one element, 10 + key 1.
        #expect(first == (5 + 3) * 100000 + 3 * 1000 + 11 * 10 + 1)
    }

    @Test func keysAreReadOnlyToTheCallback() throws {
        guard Fixture.isClangAvailable else { return }
        let spec = try Fixture.compile("""
            struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 2); __type(key, __u32); __type(value, __u64); } numbers SEC(".maps");
            static long scribble(void *map, __u32 *key, __u64 *value, void *ctx) { *(volatile __u32 *)key = 7; return 0; }
            SEC("xdp") int write_key(struct xdp_md *ctx) { return bpf_for_each_map_elem(&numbers, scribble, 0, 0); }
            """, name: "foreach_key")
        // The verifier refuses the write, as Linux's does ...
        let message = Fixture.expectRefusal(spec, program: "write_key")
        #expect(message?.contains("read-only") == true, "\(message ?? "")")
        // ... and unverified, the checked run stops at it.
        let collection = try LoadedObject(spec: spec, options: LoadOptions(verifies: false))
        #expect(throws: CollectionRunError.self) { try collection.run(program: "write_key", packet: Self.packets[0]) }
    }

    @Test func matchesLinux() throws {
        guard Fixture.isClangAvailable, KernelOracle.isAvailable else { return }
        let spec = try Fixture.compile(Self.source, name: "foreach")
        let ours = try LoadedObject(spec: spec, options: Self.options)
        let kernel = try KernelCollection(spec: spec)
        for name in ["each_array", "each_hash", "each_per_cpu"] {
            let program = try KernelProgramWithFunctions(kernel, program: name)
            for (index, packet) in (Self.packets + Self.packets).enumerated() {
                let expected = try program.testRun(data: packet)
                let result = try ours.run(program: name, packet: packet)
                #expect(UInt32(truncatingIfNeeded: result.returnValue) == expected.returnValue, "\(name), run \(index)")
            }
        }
        // The callbacks' writes left the same values.
        let numbers = try #require(kernel.maps["numbers"])
        for key in 0..<UInt32(6) {
            #expect(try numbers.lookup(key: u32(key)) == ours.map(named: "numbers")?.lookup(key: u32(key)), "numbers[\(key)]")
        }
        #expect(try kernel.maps["table"]?.keys().count == 2)
    }
}
