/// The C sources of the benchmark workloads. Each compute workload is one source
/// that compiles for BPF (`-target bpf -O2`, an XDP program over the packet) and
/// natively (`-O2`, a function over the same bytes), so both run the same logic.
enum WorkloadSources {
    /// Shared prelude: types, and the entry point each target needs.
    static let prelude = #"""
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

    static let crc32 = #"""
    /* CRC-32 (IEEE, reflected) over 1 KiB, bit by bit, without a table.
       (The branch-free form `(crc >> 1) ^ (poly & -(crc & 1))` makes Linux 6.18's
       verifier give up at its 1M-instruction limit even for 8 bytes.) */
    INLINE u32 crc32_body(const u8 *data, const u8 *end) {
        if (data + 1024 > end) return 0;
        u32 crc = 0xffffffff;
        for (int i = 0; i < 1024; i++) {
            crc ^= data[i];
            for (int bit = 0; bit < 8; bit++)
                crc = (crc & 1) ? (crc >> 1) ^ 0xedb88320 : crc >> 1;
        }
        return ~crc;
    }
    WORKLOAD(crc32)
    """#

    static let sieve = #"""
    /* Sieve of Eratosthenes: the number of primes below 10,000, in a global bitmap. */
    static u8 bitmap[1250];
    INLINE u32 sieve_body(const u8 *data, const u8 *end) {
        for (int i = 0; i < 1250; i++) bitmap[i] = 0;
        u32 count = 0;
        for (u32 i = 2; i < 10000; i++) {
            if (bitmap[i >> 3] & (1 << (i & 7))) continue;
            count++;
            for (u32 j = i * i; j < 10000; j += i)
                bitmap[j >> 3] |= (u8)(1 << (j & 7));
        }
        return count;
    }
    WORKLOAD(sieve)
    """#

    static let bsort = #"""
    /* Bubble sort of 64 u32 read from the packet into the stack. */
    INLINE u32 bsort_body(const u8 *data, const u8 *end) {
        u32 a[64];
        if (data + 256 > end) return 0;
        for (int i = 0; i < 64; i++)
            a[i] = (u32)data[4 * i] | (u32)data[4 * i + 1] << 8 | (u32)data[4 * i + 2] << 16 | (u32)data[4 * i + 3] << 24;
        for (int i = 0; i < 63; i++)
            for (int j = 0; j < 63 - i; j++)
                if (a[j] > a[j + 1]) { u32 t = a[j]; a[j] = a[j + 1]; a[j + 1] = t; }
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
}
