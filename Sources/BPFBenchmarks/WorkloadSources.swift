/// The C sources of the benchmark workloads. Each compute workload is one source
/// that compiles for BPF (`-target bpf -O2`, an XDP program over the packet) and
/// natively (`-O2`, a function over the same bytes), so both run the same logic.
enum WorkloadSources {
    /// Compute workloads' prelude: types, and the entry point each target needs.
    static let computePrelude = #"""
    typedef unsigned char u8;
    typedef unsigned short u16;
    typedef unsigned int u32;
    typedef unsigned long long u64;
    #define INLINE static inline __attribute__((always_inline))
    #ifdef __bpf__
    struct xdp_md { u32 data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex; };
    #define SEC(name) __attribute__((section(name), used))
    /* The XDP program: the workload over the packet; r0 is its 32-bit result. */
    #define WORKLOAD(name) \
        SEC("xdp") int name(struct xdp_md *ctx) { \
            return (int)name##_body((const u8 *)(long)ctx->data, (const u8 *)(long)ctx->data_end); \
        } \
        char _license[] SEC("license") = "GPL";
    #else
    /* The native twin: the same body over the same bytes. */
    #define WORKLOAD(name) \
        u32 bench_##name(const u8 *data, const u8 *end) { return name##_body(data, end); }
    #endif

    """#

    static let fnv1a = #"""
    /* FNV-1a (64-bit) over 1 KiB, ten passes, folded to 32 bits. */
    INLINE u32 fnv1a_body(const u8 *data, const u8 *end) {
        if (data + 1024 > end) return 0;
        u64 hash = 0xcbf29ce484222325ULL;
        for (int pass = 0; pass < 10; pass++)
            for (int i = 0; i < 1024; i++) {
                hash ^= data[i];
                hash *= 0x100000001b3ULL;
            }
        return (u32)(hash ^ (hash >> 32));
    }
    WORKLOAD(fnv1a)
    """#

    /// CRC-32's 256-entry table as C initialisers, computed here.
    static let crcTable: String = (0..<256).map { (n: UInt32) -> String in
        var c = n
        for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0xedb8_8320 : c >> 1 }
        return "0x" + String(c, radix: 16)
    }.joined(separator: ", ")

    static let crc32 = #"""
    /* CRC-32 (IEEE, reflected) over 1 KiB with the usual 256-entry table (in .rodata).
       The table-free bit loop branches on unknown data 8,192 times in one path, which
       Linux 6.18's verifier refuses ("sequence of 8193 jumps is too complex"); the
       table form has no data-dependent branch. */
    static const u32 crc_table[256] = { CRC_TABLE };
    INLINE u32 crc32_body(const u8 *data, const u8 *end) {
        if (data + 1024 > end) return 0;
        u32 crc = 0xffffffff;
        for (int i = 0; i < 1024; i++)
            crc = crc_table[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
        return ~crc;
    }
    WORKLOAD(crc32)
    """#.replacingOccurrences(of: "CRC_TABLE", with: crcTable)

    static let sieve = #"""
    /* Sieve of Eratosthenes: the number of primes below 10,000, in a global bitmap.
       Multiples are struck from the primes below 100 only, and the survivors counted
       with a branch-free population count: a test per number would be 10,000
       data-dependent branches in one path, more than Linux's verifier follows (8,192). */
    static u8 bitmap[1250];
    INLINE u32 sieve_body(const u8 *data, const u8 *end) {
        for (int i = 0; i < 1250; i++) bitmap[i] = 0;
        for (u32 i = 2; i < 100; i++) {
            if (bitmap[i >> 3] & (1 << (i & 7))) continue;
            for (u32 j = i * i; j < 10000; j += i)
                bitmap[j >> 3] |= (u8)(1 << (j & 7));
        }
        u32 count = 0;
        for (int i = 0; i < 1250; i++) {
            u32 b = (u8)~bitmap[i];
            b = b - ((b >> 1) & 0x55);
            b = (b & 0x33) + ((b >> 2) & 0x33);
            count += (b + (b >> 4)) & 0x0f;
        }
        return count - 2;   /* 0 and 1 are not primes */
    }
    WORKLOAD(sieve)
    """#

    static let bsort = #"""
    /* Bubble sort of 64 u32 read from the packet into the stack, with a branch-free
       compare-and-swap (a data-dependent branch per comparison makes Linux's verifier
       explore for minutes). The empty asm keeps clang from turning the mask back into
       a branch. */
    INLINE u32 bsort_body(const u8 *data, const u8 *end) {
        u32 a[64];
        if (data + 256 > end) return 0;
        for (int i = 0; i < 64; i++)
            a[i] = (u32)data[4 * i] | (u32)data[4 * i + 1] << 8 | (u32)data[4 * i + 2] << 16 | (u32)data[4 * i + 3] << 24;
        for (int i = 0; i < 63; i++)
            for (int j = 0; j < 63 - i; j++) {
                u32 x = a[j], y = a[j + 1];
                u64 mask = (u64)((long long)((u64)y - (u64)x) >> 63);   /* all ones when x > y */
                asm volatile("" : "+r"(mask));
                u32 t = (x ^ y) & (u32)mask;
                a[j] = x ^ t;
                a[j + 1] = y ^ t;
            }
        return a[0] ^ a[31] ^ a[63];
    }
    WORKLOAD(bsort)
    """#

    static let xdpParse = #"""
    /* Ethernet, VLAN, IPv4/IPv6, TCP/UDP parsing with bounds checks; returns an XDP action. */
    struct eth { u8 dst[6], src[6]; u16 type; };
    struct vlan { u16 tci, type; };
    struct ipv4 { u8 version_ihl, tos; u16 length, id, fragment; u8 ttl, protocol; u16 checksum; u32 src, dst; };
    struct ipv6 { u32 flow; u16 length; u8 next, hops; u8 src[16], dst[16]; };
    struct ports { u16 src, dst; };
    INLINE u16 swap16(u16 x) { return (u16)(x << 8 | x >> 8); }
    INLINE u32 xdp_parse_body(const u8 *data, const u8 *end) {
        const struct eth *eth = (const struct eth *)data;
        if ((const u8 *)(eth + 1) > end) return 1;           /* XDP_DROP */
        const u8 *cursor = (const u8 *)(eth + 1);
        u16 type = eth->type;
        for (int depth = 0; depth < 2; depth++) {
            if (type != swap16(0x8100) && type != swap16(0x88a8)) break;
            const struct vlan *vlan = (const struct vlan *)cursor;
            if ((const u8 *)(vlan + 1) > end) return 1;
            type = vlan->type;
            cursor = (const u8 *)(vlan + 1);
        }
        u8 protocol;
        if (type == swap16(0x0800)) {
            const struct ipv4 *ip = (const struct ipv4 *)cursor;
            if ((const u8 *)(ip + 1) > end) return 1;
            u32 header = (ip->version_ihl & 0x0f) * 4;
            if (header < sizeof(*ip)) return 1;
            if (ip->ttl <= 1) return 1;
            protocol = ip->protocol;
            cursor += header;
        } else if (type == swap16(0x86dd)) {
            const struct ipv6 *ip = (const struct ipv6 *)cursor;
            if ((const u8 *)(ip + 1) > end) return 1;
            if (ip->hops <= 1) return 1;
            protocol = ip->next;
            cursor = (const u8 *)(ip + 1);
        } else {
            return 2;                                          /* XDP_PASS */
        }
        if (protocol == 6 || protocol == 17) {
            const struct ports *ports = (const struct ports *)cursor;
            if ((const u8 *)(ports + 1) > end) return 1;
            if (swap16(ports->dst) == 53 || swap16(ports->dst) == 443) return 3;   /* XDP_TX */
            if (swap16(ports->src) < 1024) return 1;
        }
        return 2;
    }
    WORKLOAD(xdp_parse)
    """#

    /// Map workloads' prelude: BPF only, with BPFKit's libbpf-compatible headers.
    static let mapPrelude = #"""
    #include <linux/bpf.h>
    #include <bpf/bpf_helpers.h>
    char _license[] SEC("license") = "GPL";
    /* The first four bytes of the packet: a seed the verifier cannot know. */
    static __always_inline int packet_seed(struct xdp_md *ctx, __u32 *seed) {
        void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
        if (data + 4 > end) return -1;
        *seed = *(__u32 *)data;
        return 0;
    }

    """#

    static let mapHash = #"""
    /* 64 lookups and updates of distinct keys in a hash map; returns the keys found. */
    struct {
        __uint(type, BPF_MAP_TYPE_HASH);
        __uint(max_entries, 1024);
        __type(key, __u32);
        __type(value, __u64);
    } table SEC(".maps");

    SEC("xdp") int map_hash(struct xdp_md *ctx) {
        __u32 seed, found = 0;
        if (packet_seed(ctx, &seed)) return XDP_ABORTED;
        for (int i = 0; i < 64; i++) {
            __u32 key = (seed + i * 16) & 1023;
            __u64 *value = bpf_map_lookup_elem(&table, &key);
            __u64 next = 1;
            if (value) { next = *value + 1; found++; }
            bpf_map_update_elem(&table, &key, &next, BPF_ANY);
        }
        return found;
    }
    """#

    static let mapArrayPerCPU = #"""
    /* The usual counting pattern: a per-CPU array of counters, 64 increments per run;
       returns the counters found. */
    struct {
        __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
        __uint(max_entries, 256);
        __type(key, __u32);
        __type(value, __u64);
    } counters SEC(".maps");

    SEC("xdp") int map_array_percpu(struct xdp_md *ctx) {
        __u32 seed, found = 0;
        if (packet_seed(ctx, &seed)) return XDP_ABORTED;
        for (int i = 0; i < 64; i++) {
            __u32 key = (seed + i) & 255;
            __u64 *count = bpf_map_lookup_elem(&counters, &key);
            if (count) { *count += 1; found++; }
        }
        return found;
    }
    """#

    static let ringBuffer = #"""
    /* 64 events of 64 bytes per run through an 8 MiB ring buffer (the host drains
       it between batches); returns the events submitted. */
    struct {
        __uint(type, BPF_MAP_TYPE_RINGBUF);
        __uint(max_entries, 8 << 20);
    } events SEC(".maps");

    struct event { __u64 words[8]; };

    SEC("xdp") int ringbuf(struct xdp_md *ctx) {
        __u32 seed, sent = 0;
        if (packet_seed(ctx, &seed)) return XDP_ABORTED;
        for (int i = 0; i < 64; i++) {
            struct event *event = bpf_ringbuf_reserve(&events, sizeof(*event), 0);
            if (!event) continue;
            for (int w = 0; w < 8; w++) event->words[w] = seed + i + w;
            bpf_ringbuf_submit(event, 0);
            sent++;
        }
        return sent;
    }
    """#

    /// Issue 3's map figures from a program: 256 lookups per run in a 10,000-entry
    /// hash map and array (4-byte keys, all present), and the same loop without the
    /// lookup call, whose cost is subtracted to give the cost of one lookup.
    static let mapLookups = #"""
    struct {
        __uint(type, BPF_MAP_TYPE_HASH);
        __uint(max_entries, 10000);
        __type(key, __u32);
        __type(value, __u64);
    } hash SEC(".maps");

    struct {
        __uint(type, BPF_MAP_TYPE_ARRAY);
        __uint(max_entries, 10000);
        __type(key, __u32);
        __type(value, __u64);
    } array SEC(".maps");

    #define LOOKUPS 256
    /* Keys (seed + 37 i) mod 8192 are below 10,000: every lookup finds its key. */
    #define LOOKUP_LOOP(map)                                          \
        __u32 seed; __u64 sum = 0;                                    \
        if (packet_seed(ctx, &seed)) return XDP_ABORTED;              \
        for (int i = 0; i < LOOKUPS; i++) {                           \
            __u32 key = (seed + i * 37) & 8191;                       \
            __u64 *value = bpf_map_lookup_elem(&map, &key);           \
            if (value) sum += *value;                                 \
        }                                                             \
        return (__u32)sum;

    SEC("xdp") int hash_lookup(struct xdp_md *ctx) { LOOKUP_LOOP(hash) }
    SEC("xdp") int array_lookup(struct xdp_md *ctx) { LOOKUP_LOOP(array) }

    /* The same loop, the key through the stack as for a lookup, without the call. */
    SEC("xdp") int lookup_loop(struct xdp_md *ctx) {
        __u32 seed; __u64 sum = 0;
        if (packet_seed(ctx, &seed)) return XDP_ABORTED;
        for (int i = 0; i < LOOKUPS; i++) {
            volatile __u32 key = (seed + i * 37) & 8191;
            sum += key;
        }
        return (__u32)sum;
    }

    /* The same loop with a helper call that does almost nothing: the cost of a call. */
    SEC("xdp") int helper_loop(struct xdp_md *ctx) {
        __u32 seed; __u64 sum = 0;
        if (packet_seed(ctx, &seed)) return XDP_ABORTED;
        for (int i = 0; i < LOOKUPS; i++) {
            volatile __u32 key = (seed + i * 37) & 8191;
            sum += key + bpf_get_smp_processor_id();
        }
        return (__u32)sum;
    }
    """#
}
