import BPFObject
import Foundation
import Testing

@testable import BPFABI

struct HelperTableTests {
    @Test func tableHoldsIDsOneThrough211InOrder() {
        #expect(HelperTable.all.count == 211)
        #expect(HelperTable.all.map(\.id) == Array(1...211))
        #expect(Set(HelperTable.all.map(\.name)).count == 211)
        #expect(HelperTable.maximumID == 211)
    }

    /// The names must agree with the mapper in the installed UAPI header for every ID it defines.
    @Test func namesMatchTheSystemHeader() throws {
        let path = "/usr/include/linux/bpf.h"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            print("skipped: \(path) is not installed")
            return
        }
        let header = try #require(Self.mapperNames(in: text))
        #expect(header.count >= 200)
        for (id, name) in header {
            #expect(HelperTable.prototype(id: id)?.name == name, "ID \(id)")
        }
    }

    /// Parses `___BPF_FUNC_MAPPER(FN, ctx...)` (`FN(name, id, ...)`) or the older
    /// `__BPF_FUNC_MAPPER(FN)` (`FN(name)`, numbered by position).
    static func mapperNames(in text: String) -> [(Int32, String)]? {
        let newStyle = try! Regex(#"FN\((\w+),\s*(\d+),"#)
        let oldStyle = try! Regex(#"FN\((\w+)\)"#)
        if let start = text.range(of: "#define ___BPF_FUNC_MAPPER(FN, ctx...)") {
            let body = text[start.upperBound...].prefix { $0 != "/" }
            return body.matches(of: newStyle).compactMap { match in
                guard let name = match[1].substring, let id = match[2].substring.flatMap({ Int32($0) }), id > 0
                else { return nil }
                return (id, String(name))
            }
        }
        if let start = text.range(of: "#define __BPF_FUNC_MAPPER(FN)") {
            let body = text[start.upperBound...].prefix { $0 != "/" }
            let names = body.matches(of: oldStyle).compactMap { $0[1].substring.map(String.init) }
            return names.enumerated().dropFirst().map { (Int32($0.offset), $0.element) }
        }
        return nil
    }

    @Test func lookupByNameAcceptsThePrefix() throws {
        let lookup = try #require(HelperTable.prototype(named: "map_lookup_elem"))
        #expect(lookup.id == 1)
        #expect(HelperTable.prototype(named: "bpf_ringbuf_reserve")?.id == 131)
        #expect(HelperTable.prototype(named: "cgrp_storage_delete")?.id == 211)
        #expect(HelperTable.prototype(named: "no_such_helper") == nil)
        #expect(HelperTable.prototype(id: 0) == nil)
        #expect(HelperTable.prototype(id: 212) == nil)
    }

    @Test func signatureIsTheDocumentedOne() throws {
        let lookup = try #require(HelperTable.prototype(id: 1))
        #expect(lookup.cSignature == "void *bpf_map_lookup_elem(struct bpf_map *map, const void *key)")
        let printk = try #require(HelperTable.prototype(named: "trace_printk"))
        #expect(printk.cSignature == "long bpf_trace_printk(const char *fmt, u32 fmt_size, ...)")
        #expect(HelperTable.prototype(named: "ktime_get_ns")?.cSignature == "u64 bpf_ktime_get_ns(void)")
    }

    /// Kernel prototypes (Linux 6.18 `struct bpf_func_proto`), spot-checked.
    @Test(arguments: [
        ("map_lookup_elem", [HelperArgumentKind.constMapPointer, .mapKey], HelperReturnKind.mapValueOrNull),
        ("map_update_elem", [.constMapPointer, .mapKey, .mapValue, .anything], .integer),
        ("map_delete_elem", [.constMapPointer, .mapKey], .integer),
        ("map_push_elem", [.constMapPointer, .mapValue, .anything], .integer),
        ("map_pop_elem", [.constMapPointer, .uninitializedMapValue], .integer),
        ("map_peek_elem", [.constMapPointer, .uninitializedMapValue], .integer),
        ("tail_call", [.context, .constMapPointer, .anything], .void),
        ("ktime_get_ns", [], .integer),
        ("get_current_comm", [.uninitializedMemory, .constSize(of: 0)], .integer),
        ("trace_printk", [.readableMemory, .constSize(of: 0)], .integer),
        ("probe_read_user", [.uninitializedMemory, .constSizeOrZero(of: 0), .anything], .integer),
        ("probe_read_kernel_str", [.uninitializedMemory, .constSizeOrZero(of: 0), .anything], .integer),
        ("ringbuf_output", [.constMapPointer, .readableMemory, .constSizeOrZero(of: 1), .anything], .integer),
        ("ringbuf_reserve", [.constMapPointer, .constAllocationSizeOrZero, .anything], .ringbufMemoryOrNull(sizeArgument: 1)),
        ("ringbuf_submit", [.ringbufMemory, .anything], .void),
        ("ringbuf_discard", [.ringbufMemory, .anything], .void),
        ("perf_event_output", [.context, .constMapPointer, .anything, .readableMemory, .constSizeOrZero(of: 3)], .integer),
        ("csum_diff", [.readableMemoryOrNull, .constSizeOrZero(of: 0), .readableMemoryOrNull, .constSizeOrZero(of: 2), .anything], .integer),
        ("skb_load_bytes", [.context, .anything, .uninitializedMemory, .constSize(of: 2)], .integer),
        ("skb_store_bytes", [.context, .anything, .readableMemory, .constSize(of: 2), .anything], .integer),
        ("xdp_adjust_head", [.context, .anything], .integer),
        ("redirect_map", [.constMapPointer, .anything, .anything], .integer),
        ("snprintf", [.writableMemoryOrNull, .constSizeOrZero(of: 0), .constString, .readableMemoryOrNull, .constSizeOrZero(of: 3)], .integer),
        ("strncmp", [.readableMemory, .constSize(of: 0), .constString], .integer),
        ("loop", [.anything, .callback, .stackOrNull, .anything], .integer),
        ("for_each_map_elem", [.constMapPointer, .callback, .stackOrNull, .anything], .integer),
        ("spin_lock", [.spinLock], .void),
        ("get_func_ip", [.context], .integer),
        ("jiffies64", [], .integer),
    ] as [(String, [HelperArgumentKind], HelperReturnKind)])
    func kernelPrototype(name: String, arguments: [HelperArgumentKind], returnKind: HelperReturnKind) throws {
        let helper = try #require(HelperTable.prototype(named: name))
        #expect(helper.arguments == arguments)
        #expect(helper.returnKind == returnKind)
    }

    /// The signature rules alone (no override) give these.
    @Test func rulesDeriveKindsFromSignatures() throws {
        #expect(HelperTable.overrides["skc_to_tcp_sock"] == nil)
        #expect(HelperTable.prototype(named: "skc_to_tcp_sock")?.arguments == [.socket])
        #expect(HelperTable.prototype(named: "skc_to_tcp_sock")?.returnKind == .btfPointerOrNull)
        #expect(HelperTable.overrides["msg_redirect_hash"] == nil)
        #expect(HelperTable.prototype(named: "msg_redirect_hash")?.arguments == [.context, .constMapPointer, .mapKey, .anything])
        #expect(HelperTable.overrides["d_path"] == nil)
        #expect(HelperTable.prototype(named: "d_path")?.arguments == [.btfPointer, .uninitializedMemory, .constSize(of: 1)])
    }

    @Test func everySizeFollowsTheMemoryItDescribes() {
        for helper in HelperTable.all {
            #expect(helper.arguments.count <= 5, "\(helper.name)")
            for (index, kind) in helper.arguments.enumerated() {
                switch kind {
                case .constSize(let memory), .constSizeOrZero(let memory):
                    #expect(memory < index && helper.arguments[memory].isSizedMemory, "\(helper.name) argument \(index)")
                default:
                    break
                }
            }
            if case .ringbufMemoryOrNull(let size) = helper.returnKind {
                #expect(helper.arguments[size] == .constAllocationSizeOrZero, "\(helper.name)")
            }
        }
    }

    @Test func gplOnlyFollowsTheKernel() {
        #expect(HelperTable.prototype(named: "probe_read_kernel")?.isGPLOnly == true)
        #expect(HelperTable.prototype(named: "trace_printk")?.isGPLOnly == true)
        #expect(HelperTable.prototype(named: "get_stackid")?.isGPLOnly == true)
        #expect(HelperTable.prototype(named: "map_lookup_elem")?.isGPLOnly == false)
        #expect(HelperTable.prototype(named: "ktime_get_ns")?.isGPLOnly == false)
        #expect(HelperTable.prototype(named: "ringbuf_output")?.isGPLOnly == false)
    }
}

struct HelperAvailabilityTests {
    func available(_ name: String, _ type: ProgramType) -> Bool {
        HelperTable.isAvailable(HelperTable.prototype(named: name)!.id, to: type)
    }

    @Test func baseHelpersReachEveryType() {
        for type in ProgramType.allCases where type != .unspecified {
            for name in ["map_lookup_elem", "ktime_get_ns", "tail_call", "ringbuf_output", "loop", "spin_lock"] {
                #expect(available(name, type), "\(name) for \(type)")
            }
        }
        #expect(!available("map_lookup_elem", .unspecified))
        #expect(!HelperTable.isAvailable(0, to: .xdp))
        #expect(!HelperTable.isAvailable(9999, to: .xdp))
    }

    @Test func socketFilterGetsOnlyReadingSkbHelpers() {
        #expect(available("skb_load_bytes", .socketFilter))
        #expect(available("skb_load_bytes_relative", .socketFilter))
        #expect(available("get_socket_cookie", .socketFilter))
        #expect(!available("skb_store_bytes", .socketFilter))
        #expect(!available("redirect", .socketFilter))
        #expect(!available("l3_csum_replace", .socketFilter))
        #expect(!available("probe_read", .socketFilter))
    }

    @Test func trafficControlGetsPacketRewriting() {
        for type in [ProgramType.schedCls, .schedAct] {
            for name in ["skb_store_bytes", "l3_csum_replace", "l4_csum_replace", "csum_diff", "skb_vlan_push",
                         "skb_vlan_pop", "redirect", "clone_redirect", "skb_change_tail", "perf_event_output"] {
                #expect(available(name, type), "\(name) for \(type)")
            }
            #expect(!available("xdp_adjust_head", type))
            #expect(!available("get_current_pid_tgid", type))
        }
    }

    @Test func xdpGetsItsOwnSet() {
        for name in ["xdp_adjust_head", "xdp_adjust_tail", "xdp_adjust_meta", "redirect", "redirect_map",
                     "csum_diff", "perf_event_output", "fib_lookup"] {
            #expect(available(name, .xdp), "\(name)")
        }
        #expect(!available("skb_store_bytes", .xdp))
        #expect(!available("skb_load_bytes", .xdp))
    }

    @Test func tracingTypesGetTracingHelpers() {
        for type in [ProgramType.kprobe, .tracepoint, .rawTracepoint, .perfEvent, .tracing] {
            for name in ["probe_read", "probe_read_user", "get_current_pid_tgid", "get_current_comm",
                         "perf_event_output", "get_stackid", "get_func_ip", "get_attach_cookie"] {
                #expect(available(name, type), "\(name) for \(type)")
            }
            #expect(!available("skb_store_bytes", type))
            #expect(!available("xdp_adjust_head", type))
        }
        let kprobeHelpers = HelperTable.helpers(availableTo: .kprobe)
        #expect(kprobeHelpers.map(\.id) == kprobeHelpers.map(\.id).sorted())
        #expect(kprobeHelpers.contains { $0.name == "probe_read_kernel" })
    }
}

struct GeneratedTableTests {
    /// The committed table is what the committed script makes of the installed header.
    @Test func generatedFileIsUpToDate() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let script = root.appendingPathComponent("Scripts/generate-helper-table.py").path
        let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let python, FileManager.default.fileExists(atPath: "/usr/include/linux/bpf.h"),
              FileManager.default.fileExists(atPath: script) else {
            print("skipped: python3, the generator script or /usr/include/linux/bpf.h is missing")
            return
        }
        let generated = try Toolchain.run(python, [script, "/usr/include/linux/bpf.h"])
        let committed = try String(
            contentsOf: root.appendingPathComponent("Sources/BPFABI/HelperTable+Generated.swift"), encoding: .utf8)
        #expect(generated == committed)
    }
}
