import BPFLinux
import BPFLoader
import BPFMaps
import BPFRuntime
import Testing

/// Packet, checksum, string and trace helpers; Linux is the reference where it can run the program.
@Suite("Helpers")
struct HelperTests {
    static let packets: [[UInt8]] = [
        Packet.ipv4(proto: 6, payload: Packet.tcp),
        Packet.ipv4(proto: 17, payload: Packet.udp),
        Packet.ipv6(nextHeader: 17, payload: Packet.udp),
        Packet.arp,
        Array(Packet.arp.prefix(15)),
    ]

    /// Programs without maps, so that Linux can run the very same object.
    static let packetPrograms = """
        SEC("xdp") int strip_ethernet(struct xdp_md *ctx) {
            if (bpf_xdp_adjust_head(ctx, 14)) return 100;           /* fails when fewer than 14 bytes would remain */
            if (bpf_xdp_adjust_tail(ctx, -4)) return 101;
            return XDP_PASS;
        }
        SEC("xdp") int grow(struct xdp_md *ctx) {
            if (bpf_xdp_adjust_head(ctx, -4)) return 100;
            void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
            if (data + 4 > end) return 101;
            __builtin_memcpy(data, "\\xde\\xad\\xbe\\xef", 4);
            if (bpf_xdp_adjust_tail(ctx, 8)) return 102;
            if (bpf_xdp_adjust_head(ctx, -300) == 0) return 103;      /* beyond the headroom */
            if (bpf_xdp_adjust_tail(ctx, 4000) == 0) return 104;      /* beyond the frame */
            return XDP_TX;
        }
        SEC("xdp") int with_meta(struct xdp_md *ctx) {
            if (bpf_xdp_adjust_meta(ctx, -8)) return 100;
            if (bpf_xdp_adjust_meta(ctx, -6) == 0) return 101;       /* not a multiple of 4 */
            void *meta = (void *)(long)ctx->data_meta, *data = (void *)(long)ctx->data;
            if (meta + 8 > data) return 102;
            *(__u64 *)meta = 0x0102030405060708ULL;
            return data - meta;
        }
        #define CSUM(name, from_size, to_size, seed) SEC("xdp") int name(struct xdp_md *ctx) { \
            void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end; \
            if (data + 24 > end) return 0; \
            __be32 from[3], to[3]; \
            __builtin_memcpy(from, data, 12); \
            __builtin_memcpy(to, data + 12, 12); \
            return bpf_csum_diff(from_size ? from : 0, from_size, to_size ? to : 0, to_size, seed); }
        CSUM(csum_both, 8, 12, 0x1234)
        CSUM(csum_grow, 0, 12, 0)
        CSUM(csum_shrink, 8, 0, 0xabcd)
        CSUM(csum_none, 0, 0, 0x87654321)
        CSUM(csum_odd, 3, 8, 0)
        SEC("tc") int rewrite_source(struct __sk_buff *skb) {
            void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
            struct iphdr *ip = data + 14;
            struct udphdr *udp = (void *)(ip + 1);
            if ((void *)(udp + 1) > end || skb->protocol != bpf_htons(ETH_P_IP) || ip->protocol != IPPROTO_UDP) return 1;
            __be32 old = ip->saddr, new = bpf_htonl(0xc0a80001);
            ip->saddr = new;
            if (bpf_l3_csum_replace(skb, 14 + 10, old, new, 4)) return 2;
            if (bpf_l4_csum_replace(skb, 14 + 20 + 6, old, new, BPF_F_PSEUDO_HDR | 4)) return 3;
            if (bpf_l4_csum_replace(skb, 14 + 20 + 6, 0, 0x1234, BPF_F_MARK_MANGLED_0)) return 4;
            return bpf_l4_csum_replace(skb, 14 + 20 + 6, 0, 0, 1 << 9) == -22 ? 0 : 5;   /* unknown flag */
        }
        SEC("tc") int relative(struct __sk_buff *skb) {
            __u8 mac[2] = {}, net[2] = {}, far[2] = { 1, 1 };
            long a = bpf_skb_load_bytes_relative(skb, 12, mac, 2, BPF_HDR_START_MAC);
            long b = bpf_skb_load_bytes_relative(skb, 0, net, 2, BPF_HDR_START_NET);
            long c = bpf_skb_load_bytes_relative(skb, 4000, far, 2, BPF_HDR_START_NET);
            return (mac[0] << 24 | mac[1] << 16 | net[0] << 8 | net[1]) ^ ((a == 0) << 4) ^ ((b == 0) << 5) ^ ((c == -14 && far[0] == 0) << 6);
        }
        SEC("tc") int fix_ttl(struct __sk_buff *skb) {
            void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
            struct iphdr *ip = data + 14;
            if ((void *)(ip + 1) > end || skb->protocol != bpf_htons(ETH_P_IP)) return 1;
            __u16 old = *(__u16 *)&ip->ttl, new;
            ip->ttl = 1;
            new = *(__u16 *)&ip->ttl;
            if (bpf_l3_csum_replace(skb, 14 + 10, old, new, 2)) return 2;
            return bpf_l3_csum_replace(skb, 13, 0, 0, 2) == -14 ? 0 : 3;   /* odd offset */
        }
        """

    @Test func xdpHeadTailAndMetaMatchLinux() throws {
        guard let collection = try Fixture.load(Self.packetPrograms, name: "packet") else { return }
        let packet = Self.packets[0]
        let stripped = try collection.run(program: "strip_ethernet", packet: packet)
        #expect(stripped.returnValue == 2 && stripped.packetAfter == Array(packet.dropFirst(14).dropLast(4)))
        let grown = try collection.run(program: "grow", packet: packet)
        #expect(grown.returnValue == 3 && grown.packetAfter == [0xde, 0xad, 0xbe, 0xef] + packet + [UInt8](repeating: 0, count: 8))
        let meta = try collection.run(program: "with_meta", packet: packet)
        #expect(meta.returnValue == 8 && meta.packetAfter == [8, 7, 6, 5, 4, 3, 2, 1] + packet)
        guard KernelOracle.isAvailable else { return }
        for name in ["strip_ethernet", "grow", "with_meta", "csum_both", "csum_grow", "csum_shrink", "csum_none", "csum_odd"] {
            try KernelOracle.compare(collection, program: name, packets: Self.packets)
        }
    }

    @Test func checksumHelpersMatchLinux() throws {
        guard let collection = try Fixture.load(Self.packetPrograms, name: "packet") else { return }
        let packet = Self.packets[1]
        let fixed = try collection.run(program: "fix_ttl", packet: packet)
        #expect(fixed.returnValue == 0)
        // The updated header checksums to zero again.
        let header = Array(fixed.packetAfter[14..<34])
        var sum: UInt32 = 0
        for index in stride(from: 0, to: 20, by: 2) { sum += UInt32(header[index]) << 8 | UInt32(header[index + 1]) }
        while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
        #expect(sum == 0xffff && header[8] == 1)
        #expect(try collection.run(program: "rewrite_source", packet: packet).returnValue == 0)
        #expect(try collection.run(program: "relative", packet: packet).returnValue == (0x0800_4500 ^ 0x70))
        guard KernelOracle.isAvailable else { return }
        for name in ["fix_ttl", "rewrite_source", "relative"] {
            try KernelOracle.compare(collection, program: name, packets: Array(Self.packets.prefix(4)))
        }
    }

    @Test func tracePrintkFormatsLinuxConversions() throws {
        guard let collection = try Fixture.load("""
            SEC("xdp") int trace(struct xdp_md *ctx) {
                char name[] = "bpfkit";
                char format[] = "len=%d hex=%x %s\\n";
                char more[] = "%5u|%-4d|%lld";
                char chars[] = "%c|%%|%08lx|%+d";
                char bad[] = "%q";
                long written = bpf_trace_printk(format, sizeof(format), ctx->data_end - ctx->data, 0xbeef, name);
                bpf_trace_printk(more, sizeof(more), 42, -7, -5000000000LL);
                bpf_trace_printk(chars, sizeof(chars), 'x', 0xbeefUL, 3);
                char four[] = "%d %d %d %d";
                long too_many = bpf_trace_printk(four, sizeof(four), 1, 2, 3);
                long refused = bpf_trace_printk(bad, sizeof(bad), 1);
                return written * 100 + (refused == -22) + (too_many == -22) * 10;
            }
            """, name: "trace") else { return }
        let result = try collection.run(program: "trace", packet: Self.packets[0])
        let first = "len=\(Self.packets[0].count) hex=beef bpfkit"
        #expect(result.trace == [first, "   42|-7  |-5000000000", "x|%|0000beef|+3"])
        #expect(result.returnValue == UInt64((first.count + 1) * 100 + 10 + 1))
    }

    @Test func snprintfAndStrncmp() throws {
        guard let collection = try Fixture.load("""
            const char expected[] = "id=7 name=bpf";
            SEC("xdp") int format(struct xdp_md *ctx) {
                char out[32];
                static const char fmt[] = "id=%d name=%s";
                char name[] = "bpf";
                __u64 args[2] = { 7, (__u64)(long)name };
                long length = bpf_snprintf(out, sizeof(out), fmt, args, sizeof(args));
                char tiny[4];
                long full = bpf_snprintf(tiny, sizeof(tiny), fmt, args, sizeof(args));
                return length * 10000 + full * 100 + (bpf_strncmp(out, sizeof(out), expected) == 0) * 10
                       + (tiny[3] == 0) + (bpf_strncmp(tiny, 3, expected) == 0);
            }
            """, name: "snprintf") else { return }
        // 13 characters + NUL; the truncated copy still reports the full length and ends in a NUL.
        #expect(try collection.run(program: "format", packet: Self.packets[0]).returnValue == 14 * 10000 + 14 * 100 + 10 + 1 + 1)
    }

    @Test func probeReadZeroesTheDestinationOnABadSource() throws {
        guard let collection = try Fixture.load("""
            SEC("raw_tracepoint/sys_enter") int probe(__u64 *args) {
                __u64 value = 0xffff, bad = 0xffff, host = 0xffff;
                long ok = bpf_probe_read_kernel(&value, 8, &args[1]);
                long failed = bpf_probe_read_kernel(&bad, 8, (void *)16);
                long outside = bpf_probe_read_kernel(&host, 8, (void *)args[0]);
                return value + (failed == -14 && bad == 0) * 1000 + (outside == -14 && host == 0) * 10000;
            }
            """, name: "probe") else { return }
        // args[0] points at host memory the program was not given; args[1] is plain data.
        let unrelated = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
        defer { unrelated.deallocate() }
        unrelated.initialize(to: 5)
        let arguments = u64(UInt64(UInt(bitPattern: unrelated))) + u64(42)
        #expect(try collection.run(program: "probe", context: arguments).returnValue == 42 + 1000 + 10000)
    }
}

@Suite("Read-only data overrides and the verifier")
struct ReadOnlyOverrideVerificationTests {
    static let source = """
        const volatile char fmt[8] = "n=%d";
        SEC("xdp") int format(struct xdp_md *ctx) {
            char out[16];
            __u64 args[1] = { 7 };
            return bpf_snprintf(out, sizeof(out), (const char *)fmt, args, sizeof(args));
        }
        """

    /// The verifier judges the format a program will see: an override of `.rodata` that asks
    /// for two values where the program passes one is refused at load, one that fits is accepted.
    @Test func formatsAreCheckedAfterTheOverride() throws {
        guard Fixture.isClangAvailable else { return }
        let spec = try Fixture.compile(Self.source, name: "rodata_format")
        let rodata = try #require(spec.maps.first { $0.isReadOnly })
        func bytes(_ text: String) -> [UInt8] { Array(text.utf8) + Array(repeating: 0, count: Int(rodata.valueSize) - text.utf8.count) }
        let accepted = try LoadedObject(spec: spec, options: LoadOptions(readOnlyData: [rodata.name: bytes("v=%u")]))
        #expect(try accepted.run(program: "format", packet: Packet.ipv4(proto: 6, payload: Packet.tcp)).returnValue == 4)
        #expect(throws: CollectionLoadError.self) {
            try LoadedObject(spec: spec, options: LoadOptions(readOnlyData: [rodata.name: bytes("%d %d")]))
        }
    }
}
