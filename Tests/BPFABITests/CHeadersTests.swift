import Foundation
import Testing

@testable import BPFABI

struct CHeadersTests {
    @Test func helperDefinitionsComeFromTheTable() throws {
        let defs = try #require(CHeaders.files.first { $0.path == "bpf/bpf_helper_defs.h" }?.contents)
        #expect(defs.contains("static void *(* const bpf_map_lookup_elem)(void *map, const void *key) = (void *) 1;"))
        #expect(defs.contains("static long (* const bpf_trace_printk)(const char *fmt, __u32 fmt_size, ...) = (void *) 6;"))
        #expect(defs.contains("static long (* const bpf_skb_load_bytes)(const void *skb, __u32 offset, void *to, __u32 len) = (void *) 26;"))
        #expect(defs.contains("static __u64 (* const bpf_ktime_get_ns)(void) = (void *) 5;"))
        #expect(defs.contains("(* const bpf_xdp_adjust_head)(struct xdp_md *xdp_md, int delta) = (void *) 44;"))
        for helper in HelperTable.all {
            #expect(defs.contains("(* const \(helper.cName))("), "\(helper.name)")
        }
        #expect(Set(CHeaders.files.map(\.path)) == ["bpf/bpf_helper_defs.h", "bpf/bpf_helpers.h", "bpf/bpf_endian.h", "bpf/bpf_tracing.h"])
    }

    static let program = #"""
        #include <linux/bpf.h>
        #include <bpf/bpf_helpers.h>
        #include <bpf/bpf_endian.h>
        #include <bpf/bpf_tracing.h>

        struct {
            __uint(type, BPF_MAP_TYPE_HASH);
            __uint(max_entries, 64);
            __type(key, __u32);
            __type(value, __u64);
            __uint(pinning, LIBBPF_PIN_BY_NAME);
        } counts SEC(".maps");

        SEC("xdp")
        int count_packets(struct xdp_md *ctx)
        {
            __u32 key = bpf_ntohl(ctx->ingress_ifindex);
            __u64 *value = bpf_map_lookup_elem(&counts, &key);
            if (!value)
                return XDP_PASS;
            *value += 1;
            bpf_printk("seen %d", (int)*value);
            switch (bpf_htons(0x0800)) {
            case bpf_htons(0x0800):
                return XDP_PASS;
            default:
                return XDP_DROP;
            }
        }

        SEC("kprobe/do_unlinkat")
        int probe(struct pt_regs *ctx)
        {
            long first = PT_REGS_PARM1(ctx);
            bpf_printk("dfd %ld rc %ld", first, (long)PT_REGS_RC(ctx));
            return 0;
        }

        SEC("kprobe/do_sys_openat2")
        int BPF_KPROBE(open_probe, int dfd, const char *name)
        {
            char buffer[16];
            bpf_probe_read_user_str(buffer, sizeof(buffer), name);
            return dfd;
        }

        SEC("kretprobe/do_sys_openat2")
        int BPF_KRETPROBE(open_return, long ret)
        {
            return ret == 0;
        }

        char LICENSE[] SEC("license") = "GPL";
        """#

    /// The generated headers compile with clang for BPF, and the lookup becomes `call 1`
    /// (llvm-objdump prints helper numbers in hex).
    @Test func headersCompileForBPF() throws {
        guard Toolchain.isClangAvailable, Toolchain.isObjdumpAvailable else {
            print("skipped: clang or llvm-objdump is missing under /opt/swift/usr/bin")
            return
        }
        let directory = try Toolchain.temporaryDirectory("bpfabi-headers")
        defer { try? FileManager.default.removeItem(at: directory) }
        let include = directory.appendingPathComponent("include")
        try CHeaders.write(to: include.path)
        #expect(FileManager.default.fileExists(atPath: include.appendingPathComponent("bpf/bpf_helpers.h").path))
        let source = directory.appendingPathComponent("program.c")
        let object = directory.appendingPathComponent("program.o")
        try Self.program.write(to: source, atomically: true, encoding: .utf8)
        var arguments = ["-target", "bpf", "-O2", "-g", "-Wall", "-Werror", "-c", "-I", include.path]
        for system in CHeaders.systemIncludeDirectories() { arguments += ["-I", system] }
        try Toolchain.run(Toolchain.clang, arguments + [source.path, "-o", object.path])

        let disassembly = try Toolchain.run(Toolchain.objdump, ["-d", "--no-show-raw-insn", object.path])
        let xdp = try #require(Self.section("xdp", in: disassembly))
        #expect(xdp.contains("call 0x1\n"))  // bpf_map_lookup_elem
        #expect(xdp.contains("call 0x6\n"))  // bpf_trace_printk
        let kprobe = try #require(Self.section("kprobe/do_unlinkat", in: disassembly))
        #expect(kprobe.contains("r1 + 0x70"))  // rdi, PT_REGS_PARM1
        let open = try #require(Self.section("kprobe/do_sys_openat2", in: disassembly))
        #expect(open.contains("call 0x72\n"))  // bpf_probe_read_user_str
    }

    /// The disassembly of one section, from its header to the next.
    static func section(_ name: String, in disassembly: String) -> String? {
        guard let start = disassembly.range(of: "Disassembly of section \(name):") else { return nil }
        let rest = disassembly[start.upperBound...]
        let end = rest.range(of: "Disassembly of section ")?.lowerBound ?? rest.endIndex
        return String(rest[..<end])
    }

    @Test func systemIncludeDirectoriesHoldAsmTypes() {
        for directory in CHeaders.systemIncludeDirectories() {
            #expect(FileManager.default.fileExists(atPath: directory + "/asm/types.h"))
        }
    }
}
