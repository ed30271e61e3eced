import BPFKit
import Foundation
import Testing

/// C programs for the command tests, each compiled once per test process with
/// `bpfkit build` (so the build command is exercised too).
enum Programs {
    static let prelude = """
        #include <linux/bpf.h>
        #include <linux/if_ether.h>
        #include <linux/ip.h>
        #include <linux/in.h>
        #include <linux/pkt_cls.h>
        #include <bpf/bpf_helpers.h>
        #include <bpf/bpf_endian.h>
        char _license[] SEC("license") = "GPL";

        """

    /// Lines the prelude takes: a fixture's line n is line `preludeLines + n` of its file.
    static var preludeLines: Int { prelude.split(separator: "\n", omittingEmptySubsequences: false).count - 1 }

    /// Counts packets by IP protocol (0 for non-IP) into a hash map.
    static let parser = """
        struct {
            __uint(type, BPF_MAP_TYPE_HASH);
            __type(key, __u32);
            __type(value, __u64);
            __uint(max_entries, 16);
        } protocols SEC(".maps");

        SEC("xdp") int count_protocols(struct xdp_md *ctx) {
            void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
            struct ethhdr *eth = data;
            if ((void *)(eth + 1) > end) return XDP_ABORTED;
            __u32 key = 0;
            if (eth->h_proto == bpf_htons(ETH_P_IP)) {
                struct iphdr *ip = (void *)(eth + 1);
                if ((void *)(ip + 1) > end) return XDP_DROP;
                key = ip->protocol;
            }
            __u64 one = 1, *count = bpf_map_lookup_elem(&protocols, &key);
            if (count) __sync_fetch_and_add(count, 1);
            else bpf_map_update_elem(&protocols, &key, &one, BPF_ANY);
            bpf_printk("protocol %d", key);
            return XDP_PASS;
        }
        """

    /// Drops IPv4 packets whose source matches a prefix in an LPM trie.
    static let filter = """
        struct prefix { __u32 length; __u32 address; };
        struct {
            __uint(type, BPF_MAP_TYPE_LPM_TRIE);
            __type(key, struct prefix);
            __type(value, __u32);
            __uint(max_entries, 64);
            __uint(map_flags, BPF_F_NO_PREALLOC);
        } blocked SEC(".maps");

        SEC("xdp") int filter(struct xdp_md *ctx) {
            void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
            struct ethhdr *eth = data;
            if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
            struct iphdr *ip = (void *)(eth + 1);
            if ((void *)(ip + 1) > end) return XDP_DROP;
            struct prefix key = { 32, ip->saddr };
            __u32 *hits = bpf_map_lookup_elem(&blocked, &key);
            if (!hits) return XDP_PASS;
            __sync_fetch_and_add(hits, 1);
            return XDP_DROP;
        }
        """

    /// Sends every packet's length and first byte to a ring buffer; discards a record for short packets.
    static let producer = """
        struct record { __u32 length; __u8 first; __u8 pad[3]; };
        struct {
            __uint(type, BPF_MAP_TYPE_RINGBUF);
            __uint(max_entries, 4096);
        } records SEC(".maps");

        SEC("xdp") int produce(struct xdp_md *ctx) {
            void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
            if (data + 1 > end) return XDP_ABORTED;
            struct record *r = bpf_ringbuf_reserve(&records, sizeof(*r), 0);
            if (!r) return XDP_ABORTED;
            r->length = end - data;
            r->first = *(__u8 *)data;
            r->pad[0] = r->pad[1] = r->pad[2] = 0;
            if (r->length < 20) bpf_ringbuf_discard(r, 0);
            else bpf_ringbuf_submit(r, 0);
            return XDP_PASS;
        }
        """

    /// Global data: a read-only configuration, a counter in .data and the last length in .bss.
    static let globals = """
        const volatile __u32 verdict = XDP_PASS;
        __u32 packets = 100;
        __u32 last_length;

        SEC("xdp") int configured(struct xdp_md *ctx) {
            packets++;
            last_length = ctx->data_end - ctx->data;
            return verdict;
        }
        """

    /// A per-CPU array counting packets and bytes.
    static let perCPU = """
        struct totals { __u64 packets; __u64 bytes; };
        struct {
            __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
            __type(key, __u32);
            __type(value, struct totals);
            __uint(max_entries, 2);
        } stats SEC(".maps");

        SEC("tc") int account(struct __sk_buff *skb) {
            __u32 key = 1;
            struct totals *t = bpf_map_lookup_elem(&stats, &key);
            if (!t) return TC_ACT_SHOT;
            t->packets++;
            t->bytes += skb->len;
            return TC_ACT_OK;
        }
        """

    /// An entry program that tail-calls slot 0 of a statically filled prog array.
    static let tailCall = """
        int drop_all(struct xdp_md *ctx);
        struct {
            __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
            __uint(max_entries, 4);
            __uint(key_size, sizeof(__u32));
            __array(values, int (void *));
        } jumps SEC(".maps") = { .values = { [0] = (void *)&drop_all } };

        SEC("xdp") int entry(struct xdp_md *ctx) {
            bpf_tail_call(ctx, &jumps, 0);
            return XDP_PASS;
        }

        SEC("xdp") int drop_all(struct xdp_md *ctx) {
            bpf_printk("tail called");
            return XDP_DROP;
        }
        """

    /// Reads the packet without checking its end: Linux refuses it.
    static let unchecked = """
        SEC("xdp") int unchecked(struct xdp_md *ctx) {
            void *data = (void *)(long)ctx->data;
            return *(__u32 *)(data + 12) == 8 ? XDP_DROP : XDP_PASS;
        }
        """

    /// A hash of maps whose slot 2 holds an array, and a queue the program pushes to.
    static let nested = """
        struct inner {
            __uint(type, BPF_MAP_TYPE_ARRAY);
            __type(key, __u32);
            __type(value, __u32);
            __uint(max_entries, 1);
        } inner_a SEC(".maps");
        struct {
            __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
            __type(key, __u32);
            __uint(max_entries, 4);
            __array(values, struct inner);
        } outer SEC(".maps") = { .values = { [2] = &inner_a } };
        struct {
            __uint(type, BPF_MAP_TYPE_QUEUE);
            __type(value, __u32);
            __uint(max_entries, 4);
        } pending SEC(".maps");

        SEC("xdp") int nested(struct xdp_md *ctx) {
            __u32 slot = 2, zero = 0, length = ctx->data_end - ctx->data;
            void *inner = bpf_map_lookup_elem(&outer, &slot);
            if (inner) {
                __u32 *value = bpf_map_lookup_elem(inner, &zero);
                if (value) *value += 7;
            }
            bpf_map_push_elem(&pending, &length, 0);
            return XDP_PASS;
        }
        """

    static let all: [(name: String, source: String)] = [
        ("nested", nested),
        ("parser", parser), ("filter", filter), ("producer", producer), ("globals", globals),
        ("percpu", perCPU), ("tailcall", tailCall), ("unchecked", unchecked),
    ]

    static var isClangAvailable: Bool { (try? Clang.locate()) != nil }

    /// The folder holding every fixture's `.c` and `.o`, compiled once.
    static let directory: Result<String, Error> = {
        Result {
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("bpfkit-cli-fixtures-\(getpid())")
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            // Removed when the test process exits.
            atexit {
                let url = FileManager.default.temporaryDirectory.appendingPathComponent("bpfkit-cli-fixtures-\(getpid())")
                try? FileManager.default.removeItem(at: url)
            }
            for program in all {
                let source = url.appendingPathComponent(program.name + ".c").path
                try (prelude + program.source).write(toFile: source, atomically: true, encoding: .utf8)
                let output = try Tool.run(["build", source])
                guard output.status == 0 else {
                    throw Scratch.Failure(description: "bpfkit build \(program.name).c failed: \(output.standardError)")
                }
            }
            return url.path
        }
    }()

    /// The compiled object of fixture `name`, or nil (recorded) when clang is missing.
    static func object(_ name: String) throws -> String? {
        guard isClangAvailable else {
            Issue.record("skipped: clang was not found", severity: .warning)
            return nil
        }
        return try directory.get() + "/" + name + ".o"
    }

    static func source(_ name: String) throws -> String? {
        try object(name).map { String($0.dropLast(2)) + ".c" }
    }
}

/// Packets for the tests.
enum Frames {
    /// Ethernet + a 20-byte IPv4 header with `proto`, source `source`, then `payload`.
    static func ipv4(proto: UInt8, source: [UInt8] = [10, 0, 0, 1], payload: [UInt8] = []) -> [UInt8] {
        let total = 20 + payload.count
        return [0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x08, 0x00,
                0x45, 0, UInt8(total >> 8), UInt8(total & 0xff), 0, 0, 0, 0, 64, proto, 0, 0]
            + source + [10, 0, 0, 2] + payload
    }

    static let arp: [UInt8] = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 1, 0x08, 0x06] + [UInt8](repeating: 0, count: 28)

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
}

/// Parsing the one JSON line a command prints.
func jsonObject(_ output: Tool.Output, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: output.standardOutput) as? [String: Any],
                 "not a JSON object: \(output.text) \(output.standardError)", sourceLocation: sourceLocation)
}
