import BPFInstructionSet
import BPFObject
import Testing

/// Objects compiled from C by the test, with specs asserted field by field.
@Suite struct FixtureTests {
    static let source = Fixtures.prelude + """
        struct pair { __u64 a; __u64 b; };
        struct { __uint(type, 1); __uint(max_entries, 128); __type(key, __u32); __type(value, __u64);
                 __uint(map_flags, 1); __uint(pinning, 1); } hash SEC(".maps");
        struct { __uint(type, 2); __uint(max_entries, 4); __type(key, __u32); __type(value, struct pair); } arr SEC(".maps");
        struct inner { __uint(type, 2); __uint(max_entries, 1); __type(key, __u32); __type(value, __u32); } inner_a SEC(".maps");
        struct { __uint(type, 12); __uint(max_entries, 2); __type(key, __u32); __array(values, struct inner); } outer SEC(".maps") = {
            .values = { [1] = &inner_a },
        };
        SEC("xdp") int tail0(void *ctx) { return 1; }
        struct { __uint(type, 3); __uint(max_entries, 4); __uint(key_size, 4); __uint(value_size, 4);
                 __array(values, int (void *)); } jumps SEC(".maps") = {
            .values = { [2] = (void *)&tail0 },
        };
        int counter = 7;
        const volatile int limit = 42;
        int zeroed;
        static __attribute__((noinline)) int helper_static(int x) { return x * 3 + zeroed; }
        __attribute__((noinline)) int helper_global(int x) { return helper_static(x) + 1; }
        static int loop_cb(__u32 index, void *ctx) { counter += index; return 0; }
        SEC("kprobe/sys_execve") int probe(void *ctx) {
            __u32 key = 0;
            __u64 *value = bpf_map_lookup_elem(&hash, &key);
            if (value) *value += limit;
            bpf_loop(4, loop_cb, 0, 0);
            return helper_global(counter) + (bpf_map_lookup_elem(&arr, &key) != 0);
        }
        SEC("tc") int classify(void *ctx) { bpf_tail_call(ctx, &jumps, 2); return helper_static(1); }
        char _license[] SEC("license") = "GPL";
        """

    static func compiled() throws -> ObjectSpec? {
        guard Fixtures.isClangAvailable else { return nil }
        return try ObjectSpec(bytes: Fixtures.compile(source, name: "fixture"), name: "fixture.o")
    }

    @Test func btfMapsAreDescribed() throws {
        guard let spec = try Self.compiled() else {
            Issue.record("skipped: clang not found at \(Fixtures.clang)", severity: .warning)
            return
        }
        let hash = try #require(spec.map(named: "hash"))
        #expect(hash.type == .hash && hash.typeNumber == 1 && hash.typeName == "hash")
        #expect(hash.keySize == 4 && hash.valueSize == 8 && hash.maxEntries == 128)
        #expect(hash.flags == 1 && hash.pinning == .byName && hash.sectionName == ".maps")
        let array = try #require(spec.map(named: "arr"))
        #expect(array.type == .array && array.keySize == 4 && array.valueSize == 16 && array.maxEntries == 4)
        #expect(array.valueTypeID.flatMap { spec.btf?.type(id: $0)?.name } == "pair")
    }

    @Test func mapInMapHasInnerDefinitionAndStaticValues() throws {
        guard let spec = try Self.compiled() else { return }
        let outer = try #require(spec.map(named: "outer"))
        #expect(outer.type == .arrayOfMaps && outer.keySize == 4 && outer.valueSize == 4 && outer.maxEntries == 2)
        let inner = try #require(outer.innerMap)
        #expect(inner.type == .array && inner.keySize == 4 && inner.valueSize == 4 && inner.maxEntries == 1)
        #expect(outer.initialValues == [1: .map("inner_a")])
    }

    @Test func progArrayHasStaticProgramValues() throws {
        guard let spec = try Self.compiled() else { return }
        let jumps = try #require(spec.map(named: "jumps"))
        #expect(jumps.type == .programArray && jumps.keySize == 4 && jumps.valueSize == 4 && jumps.maxEntries == 4)
        #expect(jumps.initialValues == [2: .program("tail0")])
        #expect(spec.program(named: "tail0")?.type == .xdp)
    }

    @Test func globalDataBecomesSingleElementArrays() throws {
        guard let spec = try Self.compiled() else { return }
        let data = try #require(spec.map(named: ".data"))
        #expect(data.type == .array && data.keySize == 4 && data.valueSize == 4 && data.maxEntries == 1)
        #expect(data.initialData == [7, 0, 0, 0] && !data.isReadOnly)
        let rodata = try #require(spec.map(named: ".rodata"))
        #expect(rodata.initialData == [42, 0, 0, 0] && rodata.isReadOnly)
        #expect(rodata.flags & MapSpec.readOnlyProgramFlag != 0)
        let bss = try #require(spec.map(named: ".bss"))
        #expect(bss.initialData == [0, 0, 0, 0] && !bss.isReadOnly)
    }

    @Test func programsHaveTypesAttachPointsAndLicense() throws {
        guard let spec = try Self.compiled() else { return }
        #expect(Set(spec.programs.map(\.name)) == ["tail0", "probe", "classify"])
        let probe = try #require(spec.program(named: "probe"))
        #expect(probe.type == .kprobe && probe.attachTo == "sys_execve" && probe.sectionName == "kprobe/sys_execve")
        let classify = try #require(spec.program(named: "classify"))
        #expect(classify.type == .schedCls)
        #expect(spec.license == "GPL" && probe.license == "GPL")
        #expect(Set(spec.subprograms.map(\.name)) == ["helper_static", "helper_global", "loop_cb"])
    }

    /// Every pseudo call and function pointer must land on the first instruction of an appended subprogram.
    @Test func callsAndCallbacksAreFixedUp() throws {
        guard let spec = try Self.compiled() else { return }
        let probe = try #require(spec.program(named: "probe"))
        #expect(Set(probe.subprograms.map(\.name)) == ["helper_global", "helper_static", "loop_cb"])
        let starts = Dictionary(uniqueKeysWithValues: probe.subprograms.map { ($0.instructionOffset, $0.name) })
        var called: [String] = []
        var pointers: [String] = []
        for (index, instruction) in probe.instructions.enumerated() {
            if instruction.opcode == 0x85 && instruction.source == 1 {
                called.append(starts[index + Int(instruction.immediate) + 1] ?? "?")
            } else if instruction.opcode == 0x18 && instruction.source == 4 {
                pointers.append(starts[index + Int(instruction.immediate) + 1] ?? "?")
            }
        }
        #expect(Set(called) == ["helper_global", "helper_static"])
        #expect(pointers == ["loop_cb"])
        #expect(probe.instructions.count == probe.functionInstructionCount + probe.subprograms.map(\.instructionCount).reduce(0, +))
        let classify = try #require(spec.program(named: "classify"))
        #expect(classify.subprograms.map(\.name) == ["helper_static"])
    }

    @Test func relocationsNameMapsAndGlobalData() throws {
        guard let spec = try Self.compiled() else { return }
        let probe = try #require(spec.program(named: "probe"))
        let targets = probe.relocations.map(\.target)
        #expect(targets.contains(.map("hash")))
        #expect(targets.contains(.map("arr")))
        #expect(targets.contains(.mapValue(name: ".rodata", offset: 0)))
        #expect(targets.contains(.mapValue(name: ".data", offset: 0)))
        #expect(targets.contains(.mapValue(name: ".bss", offset: 0)))
        for relocation in probe.relocations {
            #expect(probe.instructions[relocation.instructionIndex].opcode == 0x18)
        }
        let classify = try #require(spec.program(named: "classify"))
        #expect(classify.relocations.map(\.target).contains(.map("jumps")))
    }

    @Test func lineInfoNamesTheCLine() throws {
        guard let spec = try Self.compiled() else { return }
        let probe = try #require(spec.program(named: "probe"))
        let lookup = try #require(probe.relocations.first { $0.target == .map("hash") })
        let info = try #require(probe.lineInfo(forInstructionAt: lookup.instructionIndex))
        #expect(info.line == Fixtures.line(of: "bpf_map_lookup_elem(&hash", in: Self.source))
        #expect(info.sourceLine.contains("bpf_map_lookup_elem(&hash"))
        #expect(info.fileName.hasSuffix("fixture.c"))
        // The appended callback's line info is carried along.
        let callback = try #require(probe.subprograms.first { $0.name == "loop_cb" })
        let callbackLine = try #require(probe.lineInfo(forInstructionAt: callback.instructionOffset))
        #expect(callbackLine.line == Fixtures.line(of: "static int loop_cb", in: Self.source))
        #expect(probe.functionInfo.map(\.name).contains("loop_cb"))
    }

    @Test func descriptionSummarisesMapsAndPrograms() throws {
        guard let spec = try Self.compiled() else { return }
        let text = spec.description
        #expect(text.contains("license: GPL"))
        #expect(text.contains("jumps: prog_array (3) key 4 value 4 max_entries 4 values {[2] = program tail0}"))
        #expect(text.contains("outer: array_of_maps (12)"))
        #expect(text.contains("probe [kprobe/sys_execve] type kprobe"))
    }

    static let legacySource = Fixtures.prelude + """
        struct bpf_map_def { unsigned type, key_size, value_size, max_entries, map_flags; };
        struct bpf_map_def SEC("maps") legacy_a = { 1, 4, 8, 16, 0 };
        struct bpf_map_def SEC("maps") legacy_b = { 2, 4, 4, 2, 1 };
        SEC("socket") int sock(void *ctx) {
            __u32 key = 0;
            return bpf_map_lookup_elem(&legacy_b, &key) != 0 && bpf_map_lookup_elem(&legacy_a, &key) != 0;
        }
        char _license[] SEC("license") = "Dual BSD/GPL";
        unsigned _version SEC("version") = 0x41800;
        """

    @Test func legacyMapsSectionIsDescribed() throws {
        guard Fixtures.isClangAvailable else { return }
        let spec = try ObjectSpec(bytes: Fixtures.compile(Self.legacySource, name: "legacy"), name: "legacy.o")
        #expect(spec.maps.map(\.name) == ["legacy_a", "legacy_b"])
        #expect(spec.maps[0] == MapSpec(name: "legacy_a", sectionName: "maps", type: .hash, keySize: 4, valueSize: 8, maxEntries: 16))
        #expect(spec.maps[1] == MapSpec(name: "legacy_b", sectionName: "maps", type: .array, keySize: 4, valueSize: 4, maxEntries: 2, flags: 1))
        let sock = try #require(spec.program(named: "sock"))
        #expect(sock.type == .socketFilter)
        #expect(Set(sock.relocations.map(\.target)) == [.map("legacy_a"), .map("legacy_b")])
        #expect(spec.license == "Dual BSD/GPL" && spec.kernelVersion == 0x41800)
    }
}
