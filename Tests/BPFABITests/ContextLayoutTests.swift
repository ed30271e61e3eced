import BPFObject
import Foundation
import Testing

@testable import BPFABI

struct ContextLayoutTests {
    /// Compiles a native program printing `offsetof`/`sizeof` of every member, and compares.
    @Test func offsetsMatchClang() throws {
        guard Toolchain.isClangAvailable else {
            print("skipped: \(Toolchain.clang) is missing")
            return
        }
        guard let multiarch = CHeaders.systemIncludeDirectories().first else {
            print("skipped: no multiarch include directory with <asm/types.h>")
            return
        }
        var lines = ["#include <stdio.h>", "#include <stddef.h>", "#include <linux/bpf.h>", "int main(void) {"]
        let structs: [(String, [ContextField], Int)] = [
            ("xdp_md", ContextLayout.xdpMD.fields, ContextLayout.xdpMD.size),
            ("__sk_buff", ContextLayout.skBuffFields, 192),
        ]
        for (name, fields, _) in structs {
            for field in fields {
                lines.append(#"printf("\#(name).\#(field.name) %zu %zu\n", offsetof(struct \#(name), \#(field.name)), sizeof(((struct \#(name) *)0)->\#(field.name)));"#)
            }
            lines.append(#"printf("\#(name) size %zu\n", sizeof(struct \#(name)));"#)
        }
        lines.append("return 0; }")
        let directory = try Toolchain.temporaryDirectory("bpfabi-offsets")
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent("offsets.c")
        let binary = directory.appendingPathComponent("offsets")
        try lines.joined(separator: "\n").write(to: source, atomically: true, encoding: .utf8)
        try Toolchain.run(Toolchain.clang, ["-O0", "-I", multiarch, source.path, "-o", binary.path])
        let output = try Toolchain.run(binary.path, [])
        var measured: [String: (Int, Int)] = [:]
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 3 else { continue }
            if parts[1] == "size" {
                measured[String(parts[0]) + ".sizeof"] = (Int(parts[2]) ?? -1, 0)
            } else if let offset = Int(parts[1]), let size = Int(parts[2]) {
                measured[String(parts[0])] = (offset, size)
            }
        }
        for (name, fields, size) in structs {
            #expect(measured[name + ".sizeof"]?.0 == size, "sizeof \(name)")
            for field in fields {
                let value = try #require(measured["\(name).\(field.name)"], "\(name).\(field.name)")
                #expect(value.0 == field.offset, "offset of \(name).\(field.name)")
                #expect(value.1 == field.size, "size of \(name).\(field.name)")
            }
        }
    }

    @Test func xdpContextIsReadOnlyPacketPointers() throws {
        let layout = try #require(ContextLayout.for(.xdp))
        #expect(layout.structName == "xdp_md")
        #expect(layout.size == 24)
        #expect(layout.fields.allSatisfy { $0.access == .readOnly && $0.writableBy.isEmpty })
        #expect(layout.field(named: "data")?.kind == .packetStart)
        #expect(layout.field(named: "data_end")?.kind == .packetEnd)
        #expect(layout.field(named: "data_meta")?.kind == .packetMeta)
        #expect(layout.field(containing: 13)?.name == "ingress_ifindex")
        #expect(layout.field(containing: 24) == nil)
    }

    @Test func socketFilterHasNoDirectPacketAccessAndWritesOnlyCB() throws {
        let layout = try #require(ContextLayout.for(.socketFilter))
        #expect(layout.size == 192)
        #expect(layout.field(named: "data") == nil)
        #expect(layout.field(named: "data_end") == nil)
        #expect(layout.field(named: "len")?.access == .readOnly)
        #expect(layout.field(named: "mark")?.access == .readOnly)
        #expect(layout.fields.filter { $0.access == .readWrite }.map(\.name) == ["cb"])
        #expect(layout.field(containing: 60)?.name == "cb")
    }

    @Test func schedClsWritesWhatLinuxAllows() throws {
        let layout = try #require(ContextLayout.for(.schedCls))
        let writable = Set(layout.fields.filter { $0.access == .readWrite }.map(\.name))
        #expect(writable.isSuperset(of: ["mark", "priority", "tc_index", "cb", "tc_classid", "queue_mapping", "tstamp"]))
        #expect(!writable.contains("len"))
        #expect(!writable.contains("data"))
        #expect(layout.field(named: "data")?.kind == .packetStart)
        #expect(layout.field(named: "data_end")?.kind == .packetEnd)
        #expect(layout.field(named: "data_meta")?.kind == .packetMeta)
        #expect(layout.field(named: "sk")?.kind == .socketPointer)
        #expect(layout.field(named: "remote_ip4") == nil)

        let mark = try #require(ContextLayout.skBuffFields.first { $0.name == "mark" })
        #expect(mark.writableBy.contains(.schedCls))
        #expect(!mark.writableBy.contains(.socketFilter))
        let cb = try #require(ContextLayout.skBuffFields.first { $0.name == "cb" })
        #expect(cb.writableBy.contains(.socketFilter))
        #expect(cb.elementSize == 4)
    }

    @Test func otherSkbTypes() throws {
        let skSkb = try #require(ContextLayout.for(.skSkb))
        #expect(skSkb.field(named: "remote_ip4") != nil)
        #expect(skSkb.field(named: "mark") == nil)
        let cgroup = try #require(ContextLayout.for(.cgroupSkb))
        #expect(cgroup.field(named: "mark")?.access == .readWrite)
        #expect(cgroup.field(named: "tc_classid") == nil)
        let lwt = try #require(ContextLayout.for(.lwtIn))
        #expect(lwt.field(named: "data")?.kind == .packetStart)
        #expect(lwt.field(named: "tc_index")?.access == .readOnly)
    }

    @Test func tracingContexts() throws {
        let regs = try #require(ContextLayout.for(.kprobe))
        #expect(regs.fields.count == 21)
        #expect(regs.size == 168)
        #expect(regs.field(named: "rdi")?.offset == 112)
        #expect(regs.field(named: "rax")?.offset == 80)
        #expect(regs.field(named: "ss")?.offset == 160)
        #expect(regs.fields.allSatisfy { $0.access == .readOnly && $0.size == 8 })
        let perf = try #require(ContextLayout.for(.perfEvent))
        #expect(perf.field(named: "sample_period")?.offset == 168)
        #expect(perf.field(named: "addr")?.offset == 176)
        #expect(perf.size == 184)
        let raw = try #require(ContextLayout.for(.rawTracepoint))
        #expect(raw.field(named: "args")?.elementSize == 8)
        #expect(ContextLayout.for(.tracepoint)?.size == ContextLayout.tracepointMaximumSize)
        #expect(ContextLayout.tracepoint(size: 64).field(containing: 63)?.access == .readOnly)
        #expect(ContextLayout.for(.structOps) == nil)
    }

    @Test func returnRanges() {
        #expect(ReturnRange.for(.xdp) == nil)
        #expect(ReturnRange.for(.schedCls) == nil)
        #expect(ReturnRange.for(.cgroupSkb, attachType: .cgroupInetIngress) == ReturnRange(0, 1))
        #expect(ReturnRange.for(.cgroupSkb, attachType: .cgroupInetEgress) == ReturnRange(0, 3))
        #expect(ReturnRange.for(.sockOps) == ReturnRange(0, 1))
        #expect(ReturnRange.for(.cgroupSockAddr, attachType: .cgroupUdp4Recvmsg) == ReturnRange(1, 1))
        #expect(ReturnRange.for(.tracing, attachType: .traceFentry) == ReturnRange(0, 0))
        #expect(ReturnRange.for(.tracing, attachType: .modifyReturn) == nil)
        #expect(ReturnRange.for(.lsm)?.contains(-1) == true)
        #expect(ReturnRange.for(.lsm)?.contains(1) == false)
        #expect(ReturnRange(0, 1).contains(2) == false)
    }

    @Test func actionNames() {
        #expect(ReturnValueNames.name(of: 2, for: .xdp) == "XDP_PASS")
        #expect(ReturnValueNames.name(of: 0, for: .xdp) == "XDP_ABORTED")
        #expect(ReturnValueNames.name(of: 4, for: .xdp) == "XDP_REDIRECT")
        #expect(ReturnValueNames.name(of: 5, for: .xdp) == nil)
        #expect(ReturnValueNames.name(of: 0, for: .schedCls) == "TC_ACT_OK")
        #expect(ReturnValueNames.name(of: 2, for: .schedAct) == "TC_ACT_SHOT")
        #expect(ReturnValueNames.name(of: -1, for: .schedCls) == "TC_ACT_UNSPEC")
        #expect(ReturnValueNames.name(of: 1, for: .kprobe) == nil)
    }
}
