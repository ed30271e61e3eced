import BPFLoader
import BPFMaps
import BPFRuntime
import Testing

/// Tail calls, subprograms, maps of maps and global data.
@Suite("Programs and objects")
struct ProgramTests {
    static let packet = Packet.ipv4(proto: 6, payload: Packet.tcp)

    static let tailCalls = """
            SEC("xdp") int tail_a(struct xdp_md *ctx) { return 1; }
            SEC("xdp") int tail_b(struct xdp_md *ctx) { return 2; }
            struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 4); __type(key, __u32);
                     __array(values, int (struct xdp_md *)); } jumps SEC(".maps") = { .values = { [0] = &tail_a, [2] = &tail_b } };
            struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 1); __type(key, __u32);
                     __array(values, int (struct xdp_md *)); } loop SEC(".maps");
            struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u32); } runs SEC(".maps");
            SEC("xdp") int entry(struct xdp_md *ctx) {
                void *data = (void *)(long)ctx->data;
                if (data + 1 > (void *)(long)ctx->data_end) return 0;
                bpf_tail_call(ctx, &jumps, *(unsigned char *)data);
                return 99;
            }
            SEC("xdp") int chain(struct xdp_md *ctx) {
                __u32 key = 0;
                __u32 *count = bpf_map_lookup_elem(&runs, &key);
                if (count) *count += 1;
                bpf_tail_call(ctx, &loop, 0);
                return 7;
            }
            """

    @Test func tailCallsReplaceTheProgramAndMissingSlotsFallThrough() throws {
        guard let collection = try Fixture.load(Self.tailCalls, name: "tailcalls") else { return }
        func run(first: UInt8) throws -> UInt64 {
            try collection.run(program: "entry", packet: [first] + Self.packet.dropFirst()).returnValue
        }
        #expect(try run(first: 0) == 1)
        #expect(try run(first: 2) == 2)
        #expect(try run(first: 1) == 99)  // empty slot
        #expect(try run(first: 9) == 99)  // index beyond max_entries
        // A program that tail-calls itself runs 1 + 33 times (Linux's MAX_TAIL_CALL_CNT), then falls through.
        let loop = try #require(collection.map(named: "loop") as? ObjectArrayMap)
        try loop.set(try #require(collection.program(named: "chain")).executable, at: 0)
        #expect(try collection.run(program: "chain", packet: Self.packet).returnValue == 7)
        #expect(try collection.map(named: "runs")?.lookup(UInt32(0), as: UInt32.self) == 34)
    }

    @Test func programNamesChooseWhatIsLoaded() throws {
        guard Fixture.isClangAvailable else { return }
        let spec = try Fixture.compile(Self.tailCalls, name: "tailcalls")
        let collection = try LoadedObject(spec: spec, options: LoadOptions(programNames: ["entry", "tail_b"]))
        #expect(collection.programs.map(\.name).sorted() == ["entry", "tail_b"])
        #expect(collection.spec.program(named: "tail_a") != nil && collection.program(named: "tail_a") == nil)
        #expect(throws: CollectionRunError.unknownProgram(name: "tail_a")) {
            try collection.run(program: "tail_a", packet: Self.packet)
        }
        // The prog-array slot of the program left out stays empty: the tail call falls through.
        #expect(try collection.run(program: "entry", packet: [0] + Self.packet.dropFirst()).returnValue == 99)
        #expect(try collection.run(program: "entry", packet: [2] + Self.packet.dropFirst()).returnValue == 2)
        #expect(throws: CollectionLoadError.unknownProgram(name: "nothing")) {
            _ = try LoadedObject(spec: spec, options: LoadOptions(programNames: ["entry", "nothing"]))
        }
    }

    @Test func staticAndGlobalSubprograms() throws {
        guard let collection = try Fixture.load("""
            static __attribute__((noinline)) int scale(int value, int factor) { return value * factor; }
            __attribute__((noinline)) int global_offset(int value) { return value + 1000; }
            SEC("xdp") int calls(struct xdp_md *ctx) {
                int length = ctx->data_end - ctx->data;
                return global_offset(scale(length, 3)) + scale(2, 5);
            }
            """, name: "calls") else { return }
        #expect(try collection.run(program: "calls", packet: Self.packet).returnValue == UInt64(Self.packet.count * 3 + 1000 + 10))
        #expect(collection.program(named: "calls")?.spec.subprograms.count == 2)
    }

    static let globalData = """
        const volatile __u32 config_add = 5;
        __u32 counter = 100;
        __u64 total;
        SEC("xdp") int globals(struct xdp_md *ctx) {
            counter += 1;
            total += config_add;
            return counter * 1000 + config_add;
        }
        SEC("xdp") int write_rodata(struct xdp_md *ctx) {
            *(volatile __u32 *)&config_add = 9;
            return 0;
        }
        """

    @Test func globalDataIsFilledAndRodataIsFrozen() throws {
        guard Fixture.isClangAvailable else { return }
        let spec = try Fixture.compile(Self.globalData, name: "globals")
        let collection = try LoadedObject(spec: spec, options: LoadOptions(programNames: ["globals"]))
        #expect(try collection.run(program: "globals", packet: Self.packet).returnValue == 101_005)
        #expect(try collection.run(program: "globals", packet: Self.packet).returnValue == 102_005)
        #expect(try collection.map(named: ".data")?.lookup(UInt32(0), as: UInt32.self) == 102)
        #expect(try collection.map(named: ".bss")?.lookup(UInt32(0), as: UInt64.self) == 10)
        let rodata = try #require(collection.map(named: ".rodata"))
        #expect(try rodata.lookup(UInt32(0), as: UInt32.self) == 5)
        #expect(throws: MapError.self) { try rodata.update(UInt32(0), UInt32(6)) }
        // Programs only read .rodata (BPF_F_RDONLY_PROG): the verifier refuses a
        // store, and without verification it faults in checked mode.
        #expect(Fixture.expectRefusal(spec, program: "write_rodata")?.contains("read-only") == true)
        let unverified = try LoadedObject(spec: spec, options: LoadOptions(verifies: false))
        #expect(throws: CollectionRunError.self) { try unverified.run(program: "write_rodata", packet: Self.packet) }
        #expect(try unverified.map(named: ".rodata")?.lookup(UInt32(0), as: UInt32.self) == 5)
    }

    @Test func rodataCanBeOverriddenBeforeLoading() throws {
        guard let collection = try Fixture.load(Self.globalData, name: "globals",
                                                options: LoadOptions(programNames: ["globals"],
                                                                     readOnlyData: [".rodata": u32(40)])) else { return }
        #expect(try collection.run(program: "globals", packet: Self.packet).returnValue == 101_040)
        #expect(throws: CollectionLoadError.wrongDataSize(map: ".rodata", expected: 4, given: 2)) {
            _ = try Fixture.load(Self.globalData, name: "globals",
                                 options: LoadOptions(programNames: ["globals"], readOnlyData: [".rodata": [1, 2]]))
        }
    }

    @Test func mapsOfMaps() throws {
        guard let collection = try Fixture.load("""
            struct inner { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 2); __type(key, __u32); __type(value, __u64); };
            struct inner first SEC(".maps"), second SEC(".maps");
            struct { __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS); __uint(max_entries, 2); __type(key, __u32);
                     __array(values, struct inner); } by_index SEC(".maps") = { .values = { [1] = &second } };
            struct { __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS); __uint(max_entries, 4); __type(key, __u32);
                     __array(values, struct inner); } by_key SEC(".maps");
            static __attribute__((always_inline)) int bump(void *outer, __u32 outer_key) {
                void *inner = bpf_map_lookup_elem(outer, &outer_key);
                if (!inner) return 0;
                __u32 key = 1;
                __u64 *value = bpf_map_lookup_elem(inner, &key);
                if (!value) return 0;
                *value += 5;
                return *value;
            }
            SEC("xdp") int through_array(struct xdp_md *ctx) { return bump(&by_index, 1) + 1000 * bump(&by_index, 0); }
            SEC("xdp") int through_hash(struct xdp_md *ctx) { return bump(&by_key, 77); }
            """, name: "mapinmap") else { return }
        #expect(try collection.run(program: "through_array", packet: Self.packet).returnValue == 5)  // slot 0 is empty
        #expect(try collection.map(named: "second")?.lookup(UInt32(1), as: UInt64.self) == 5)
        let byKey = try #require(collection.map(named: "by_key") as? HashOfMapsMap)
        #expect(try collection.run(program: "through_hash", packet: Self.packet).returnValue == 0)
        // An inner map the collection did not create: found through the outer map, its values become reachable.
        let outside = try ArrayMap(MapDefinition(type: .array, keySize: 4, valueSize: 8, maxEntries: 2, name: "outside"))
        try byKey.set(outside, forKey: u32(77))
        #expect(try collection.run(program: "through_hash", packet: Self.packet).returnValue == 5)
        #expect(try collection.run(program: "through_hash", packet: Self.packet).returnValue == 10)
        #expect(try outside.lookup(UInt32(1), as: UInt64.self) == 10)
    }
}
