import BPFLinux
import BPFLoader
import BPFObject
import BPFVerifier
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// bpf_loop programs whose callback keeps a sum that the caller then uses precisely (as an
/// index or a bound). Linux explores the callback once per iteration, at most nr_loops times on a
/// path (`callback_depth`, with nr_loops made precise), prunes at the call only by range
/// inclusion, and widens imprecise scalars that changed when the callback returns. BPFKit must
/// decide each program as Linux does (checked against the kernel when `bpf()` works), for a
/// similar number of processed instructions. (A sum with an unknown 32-bit count and a counter
/// runs both Linux and BPFKit into the 1M-instruction limit; it is left out for its cost.)
@Suite("bpf_loop callbacks with a precise sum")
struct CallbackConvergenceTests {
    static let common = """
        struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u8[64]); } table SEC(".maps");

        """

    /// (program name, C source, Linux's verdict on this machine).
    static let programs: [(name: String, source: String, accepted: Bool)] = [
        ("sum_index", """
            struct sum_ctx { __u64 sum; };
            static int add_low_bits(__u64 index, struct sum_ctx *c) {
                c->sum += index & 3;
                return 0;
            }
            SEC("xdp") int sum_index(struct xdp_md *ctx) {
                struct sum_ctx c = { .sum = 0 };
                __u32 key = 0;
                __u8 *value = bpf_map_lookup_elem(&table, &key);
                if (!value) return 0;
                bpf_loop(16, add_low_bits, &c, 0);
                if (c.sum >= 64) return 1;
                return value[c.sum];
            }
            """, true),
        ("sum_bound", """
            struct bound_ctx { __u64 sum; __u64 calls; };
            static int add_odd(__u64 index, struct bound_ctx *c) {
                c->sum += index & 1;
                c->calls++;
                return 0;
            }
            SEC("xdp") int sum_bound(struct xdp_md *ctx) {
                struct bound_ctx c = { .sum = 0, .calls = 0 };
                __u32 key = 0;
                __u8 *value = bpf_map_lookup_elem(&table, &key);
                if (!value) return 0;
                bpf_loop(100, add_odd, &c, 0);
                if (c.sum < 64) return value[c.sum];
                return c.calls;
            }
            """, true),
        ("sum_stops_early", """
            struct stop_ctx { __u64 sum; };
            static int add_two(__u64 index, struct stop_ctx *c) {
                if (c->sum >= 60) return 1;
                c->sum += 2;
                return 0;
            }
            SEC("xdp") int sum_stops_early(struct xdp_md *ctx) {
                struct stop_ctx c = { .sum = 0 };
                __u32 key = 0;
                __u8 *value = bpf_map_lookup_elem(&table, &key);
                if (!value) return 0;
                bpf_loop(1000, add_two, &c, 0);
                return value[c.sum];
            }
            """, true),
        ("sum_overflows_the_value", """
            struct over_ctx { __u64 sum; };
            static int add_three(__u64 index, struct over_ctx *c) {
                c->sum += index & 3;
                return 0;
            }
            SEC("xdp") int sum_overflows_the_value(struct xdp_md *ctx) {
                struct over_ctx c = { .sum = 0 };
                __u32 key = 0;
                __u8 *value = bpf_map_lookup_elem(&table, &key);
                if (!value) return 0;
                bpf_loop(40, add_three, &c, 0);
                return value[c.sum];
            }
            """, false),
        ("sum_with_unknown_count", """
            struct unknown_ctx { __u64 sum; };
            static int add_bit(__u64 index, struct unknown_ctx *c) {
                c->sum += index & 1;
                return 0;
            }
            SEC("xdp") int sum_with_unknown_count(struct xdp_md *ctx) {
                struct unknown_ctx c = { .sum = 0 };
                __u32 key = 0;
                __u8 *value = bpf_map_lookup_elem(&table, &key);
                if (!value) return 0;
                bpf_loop(ctx->ingress_ifindex & 0xff, add_bit, &c, 0);
                if (c.sum < 64) return value[c.sum];
                return 0;
            }
            """, true),
        ("clamped_sum_with_unknown_count", """
            struct clamp_ctx { __u64 sum; };
            static int add_clamped(__u64 index, struct clamp_ctx *c) {
                if (c->sum < 63) c->sum++;
                return 0;
            }
            SEC("xdp") int clamped_sum_with_unknown_count(struct xdp_md *ctx) {
                struct clamp_ctx c = { .sum = 0 };
                __u32 key = 0;
                __u8 *value = bpf_map_lookup_elem(&table, &key);
                if (!value) return 0;
                bpf_loop(ctx->ingress_ifindex, add_clamped, &c, 0);
                return value[c.sum];
            }
            """, true),
        ("imprecise_counter_with_unknown_count", """
            struct imprecise_ctx { __u64 calls; __u64 last; };
            static int count_calls(__u64 index, struct imprecise_ctx *c) {
                c->calls++;
                c->last = index;
                return 0;
            }
            SEC("xdp") int imprecise_counter_with_unknown_count(struct xdp_md *ctx) {
                struct imprecise_ctx c = { .calls = 0, .last = 0 };
                __u32 key = 0;
                __u8 *value = bpf_map_lookup_elem(&table, &key);
                if (!value) return 0;
                bpf_loop(ctx->ingress_ifindex, count_calls, &c, 0);
                *(__u64 *)value = c.calls + c.last;
                return 2;
            }
            """, true),
        ("sum_as_loop_bound", """
            struct len_ctx { __u32 len; __u8 *bytes; };
            static int measure(__u64 index, struct len_ctx *c) {
                if (c->bytes[index & 63] == 0) return 1;
                c->len++;
                return 0;
            }
            SEC("xdp") int sum_as_loop_bound(struct xdp_md *ctx) {
                __u32 key = 0;
                __u8 *value = bpf_map_lookup_elem(&table, &key);
                if (!value) return 0;
                struct len_ctx c = { .len = 0, .bytes = value };
                bpf_loop(32, measure, &c, 0);
                __u32 total = 0;
                for (__u32 i = 0; i < c.len; i++) total += value[i];
                return total & 3;
            }
            """, true),
    ]

    /// Linux's verdict and log (level 1, or `BPFKIT_LINUX_LOG_LEVEL`) for `program` of `spec`,
    /// loaded with BTF func info.
    static func linuxVerdict(_ spec: ObjectSpec, program name: String) throws -> (accepted: Bool, log: String) {
        let level = ProcessInfo.processInfo.environment["BPFKIT_LINUX_LOG_LEVEL"].flatMap { UInt32($0) } ?? 1
        return try KernelProgramWithFunctions.verdict(try KernelCollection(spec: spec), program: name, logLevel: level)
    }

    @Test(arguments: programs.map(\.name))
    func verdictAsLinux(_ name: String) throws {
        guard Fixture.isClangAvailable else { return }
        let entry = try #require(Self.programs.first { $0.name == name })
        let spec = try Fixture.compile(Self.common + entry.source, name: name)
        let input = VerifierInput(program: try #require(spec.program(named: name)), object: spec)
        let result = Verifier(options: VerifierOptions()).verify(input)
        #expect(result.isAccepted == entry.accepted, "\(name): \(result.summary)")
        print("\(name): BPFKit \(result.summary)")
        guard BPFSyscall.isAvailable else {
            print("skipping the Linux check of \(name): bpf() is not available")
            return
        }
        let linux = try Self.linuxVerdict(spec, program: name)
        #expect(linux.accepted == entry.accepted, "\(name): Linux \(linux.accepted ? "accepts" : "refuses")\n\(linux.log.split(separator: "\n").suffix(4).joined(separator: "\n"))")
        let summary = linux.log.split(separator: "\n").last { $0.hasPrefix("processed ") } ?? ""
        print("\(name): Linux \(summary)")
        // The cost is Linux's too: the instructions processed (a count, not a time) stay close.
        if let linuxCount = summary.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) {
            #expect(result.instructionsProcessed <= 2 * linuxCount + 100,
                    "\(name): BPFKit processed \(result.instructionsProcessed) instructions, Linux \(linuxCount)")
        }
        if ProcessInfo.processInfo.environment["BPFKIT_PRINT_LINUX_LOG"] != nil { print(linux.log) }
    }
}
