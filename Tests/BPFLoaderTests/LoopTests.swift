import BPFLinux
import BPFLoader
import BPFMaps
import Testing

/// bpf_loop callbacks run as nested frames of the same run.
@Suite("bpf_loop")
struct LoopTests {
    static let source = """
            struct state { __u64 sum; __u32 stop_at; };
            struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); } calls SEC(".maps");
            static int add_index(__u64 index, struct state *state) {
                __u32 key = 0;
                __u64 *count = bpf_map_lookup_elem(&calls, &key);
                if (count) *count += 1;
                state->sum += index;
                return index == state->stop_at;
            }
            SEC("xdp") int loop_sum(struct xdp_md *ctx) {
                struct state state = { .sum = 0, .stop_at = 1000 };
                long full = bpf_loop(10, add_index, &state, 0);          /* 0 + 1 + ... + 9 = 45 */
                __u64 first = state.sum;
                state.sum = 0;
                state.stop_at = 3;
                long stopped = bpf_loop(10, add_index, &state, 0);       /* 0 + 1 + 2 + 3, four calls */
                long refused = bpf_loop(1, add_index, &state, 1);        /* flags must be 0 */
                return first * 1000000 + full * 10000 + state.sum * 100 + stopped + (refused == -22) * 50;
            }
            """

    @Test func callbacksRunUntilTheyStop() throws {
        guard let collection = try Fixture.load(Self.source, name: "loop") else { return }
        let result = try collection.run(program: "loop_sum", packet: Packet.ipv4(proto: 6, payload: Packet.tcp))
        #expect(result.returnValue == 45 * 1_000_000 + 10 * 10000 + 6 * 100 + 4 + 50)
        #expect(try collection.map(named: "calls")?.lookup(UInt32(0), as: UInt64.self) == 14)
    }

    @Test func matchesLinux() throws {
        guard Fixture.isClangAvailable, KernelOracle.isAvailable else { return }
        let spec = try Fixture.compile(Self.source, name: "loop")
        let kernel = try KernelCollection(spec: spec)
        let program = try KernelProgramWithFunctions(kernel, program: "loop_sum")
        let ours = try LoadedObject(spec: spec)
        let packet = Packet.ipv4(proto: 6, payload: Packet.tcp)
        for run in 0..<2 {
            #expect(try UInt32(truncatingIfNeeded: ours.run(program: "loop_sum", packet: packet).returnValue)
                    == program.testRun(data: packet).returnValue, "run \(run)")
        }
        #expect(try kernel.maps["calls"]?.lookup(key: u32(0)) == ours.map(named: "calls")?.lookup(key: u32(0)))
    }
}
