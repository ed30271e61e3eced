import BPFLoader
import BPFMaps
import Testing

/// Programs whose context the host supplies as bytes.
@Suite("Tracing contexts")
struct TracingTests {
    @Test func kprobeReadsPtRegsAndWritesPerfEvents() throws {
        guard Fixture.isClangAvailable else { return }
        let spec = try Fixture.compile("""
            struct { __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY); __uint(key_size, 4); __uint(value_size, 4); } events SEC(".maps");
            struct regs { unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx, si, di, orig_ax, ip, cs, flags, sp, ss; };
            SEC("kprobe/do_nanosleep") int on_entry(struct regs *regs) {
                __u64 record[2] = { regs->di, regs->si };
                long written = bpf_perf_event_output(regs, &events, BPF_F_CURRENT_CPU, record, sizeof(record));
                return written == 0 ? regs->di + regs->si : 1;
            }
            SEC("kprobe/do_nanosleep") int poke(struct regs *regs) { regs->di = 1; return 0; }
            """, name: "kprobe")
        let collection = try LoadedObject(spec: spec, options: LoadOptions(programNames: ["on_entry"]))
        let events = try #require(collection.map(named: "events") as? PerfEventArrayMap)
        for cpu in 0..<Int(events.definition.maxEntries) { try events.open(index: cpu) }
        var registers = [UInt8](repeating: 0, count: 21 * 8)
        registers.replaceSubrange(14 * 8..<15 * 8, with: u64(30))  // di
        registers.replaceSubrange(13 * 8..<14 * 8, with: u64(12))  // si
        #expect(try collection.run(program: "on_entry", context: registers).returnValue == 42)
        let records = (0..<Int(events.definition.maxEntries)).flatMap { events.read(index: $0) }
        #expect(records == [u64(30) + u64(12)])
        // pt_regs is read-only to kprobes: the verifier refuses the store, and
        // without verification the checked run faults.
        #expect(Fixture.expectRefusal(spec, program: "poke")?.contains("context") == true)
        let unverified = try LoadedObject(spec: spec, options: LoadOptions(verifies: false, programNames: ["poke"]))
        #expect(throws: CollectionRunError.self) { try unverified.run(program: "poke", context: registers) }
    }
}
