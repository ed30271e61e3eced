import BPFKit
import Foundation
import Testing
import BPFTestSupport

/// Locates the shared sample corpus (`../shared/samples` from the package root).
enum Samples {
    static let root = SharedMaterial.samples

    /// Every file under the corpus that is (or claims to be) an object: `*.o` and the `invalid/` files.
    static func objects() -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: root) else { return [] }
        var paths: [String] = []
        while let relative = walker.nextObject() as? String {
            if relative.hasSuffix(".o") || (relative.hasPrefix("invalid/") && !relative.hasSuffix(".md")) {
                paths.append(root + "/" + relative)
            }
        }
        return paths.sorted()
    }
}

@Suite struct VerifyCommandTests {
    @Test func verifyJSONNamesTheRefusalsPlace() throws {
        guard let source = try Programs.source("unchecked") else { return }
        let output = try Tool.run(["verify", source, "--json"])
        #expect(output.status != 0)
        let json = try jsonObject(output)
        #expect(json["accepted"] as? Bool == false)
        let programs = try #require(json["programs"] as? [[String: Any]])
        #expect(programs.count == 1)
        let program = programs[0]
        #expect(program["name"] as? String == "unchecked")
        #expect(program["accepted"] as? Bool == false)
        #expect(program["instructionsProcessed"] is Int)
        #expect(program["statesExplored"] is Int)
        let error = try #require(program["error"] as? [String: Any])
        #expect(Array(error.keys).sorted() == ["hint", "instruction", "line", "message", "pc"])
        #expect(error["pc"] as? Int ?? -1 >= 0)
        #expect((error["instruction"] as? String)?.contains("r") == true)
        #expect(error["line"] as? Int == Programs.preludeLines + 3, "the C line of the unchecked read")
        #expect((error["message"] as? String)?.isEmpty == false)
        // The key order is the documented one.
        #expect(output.text.hasPrefix(#"{"accepted": false, "programs": [{"name": "unchecked", "accepted": false, "instructionsProcessed": "#))
    }

    /// Every file of `invalid/` (named with or without `.o`) is refused, with a message
    /// naming the file or the program, and never crashes or hangs.
    @Test func everyInvalidObjectIsRefused() throws {
        let invalid = Samples.objects().filter { $0.contains("/invalid/") }
        guard !invalid.isEmpty else {
            Issue.record("skipped: no invalid objects in the sample corpus", severity: .warning)
            return
        }
        for path in invalid {
            let output = try Tool.run(["verify", path])
            #expect(output.status != 0, "\(path) was accepted:\n\(output.text)")
            let text = output.text + output.standardError
            #expect(text.contains((path as NSString).lastPathComponent) || text.contains("refused"), "\(path): \(text)")
        }
    }

    @Test func acceptedProgramsHaveANullError() throws {
        guard let object = try Programs.object("tailcall") else { return }
        let output = try Tool.run(["verify", object, "--json"])
        #expect(output.status == 0, "\(output.standardError)")
        let json = try jsonObject(output)
        #expect(json["accepted"] as? Bool == true)
        let programs = try #require(json["programs"] as? [[String: Any]])
        #expect(Set(programs.compactMap { $0["name"] as? String }) == ["entry", "drop_all"])
        #expect(programs.allSatisfy { $0["error"] is NSNull && $0["accepted"] as? Bool == true })
        let one = try jsonObject(try Tool.run(["verify", object, "--program", "entry", "--json"]))
        #expect((one["programs"] as? [[String: Any]])?.map { $0["name"] as? String } == ["entry"])
        let plain = try Tool.run(["verify", object])
        #expect(plain.text.contains("entry: accepted: processed"))
    }

    @Test func theProfileDecidesWhetherLoopsAreAllowed() throws {
        let scratch = try Scratch()
        let source = try scratch.file("loop.s", "mov %r0, 0\nmov %r1, 0\nloop:\nadd %r0, 2\nadd %r1, 1\njlt %r1, 4, loop\nexit\n")
        let privileged = try Tool.run(["verify", source, "--type", "socket_filter", "--json"])
        #expect(privileged.status == 0)
        #expect(try jsonObject(privileged)["accepted"] as? Bool == true)
        let unprivileged = try Tool.run(["verify", source, "--type", "socket_filter", "--profile", "unprivileged", "--json"])
        #expect(unprivileged.status != 0)
        let error = try #require((try jsonObject(unprivileged)["programs"] as? [[String: Any]])?.first?["error"] as? [String: Any])
        #expect(error["line"] as? Int == 6, "the assembly line of the jump")
        #expect((error["message"] as? String)?.contains("back-edge") == true)
        let plain = try Tool.run(["verify", source, "--type", "socket_filter", "--profile", "unprivileged", "--log-level", "1"])
        #expect(plain.status != 0)
        #expect(plain.text.contains("loop: refused:"))
        #expect(plain.text.contains("hint:"))
        #expect(plain.text.contains("log:"))
        #expect(try Tool.run(["verify", source, "--type", "socket_filter", "--profile", "root"]).status != 0)
        // An accepted program's log at level 2: every instruction with its state, then the summary.
        let everyState = try Tool.run(["verify", source, "--type", "socket_filter", "--log-level", "2"])
        #expect(everyState.status == 0)
        #expect(everyState.text.contains("if r1 < 0x4 goto -3"))
        #expect(everyState.text.contains("verification succeeded"))
    }
}

@Suite struct InspectAndBuildTests {
    @Test func inspectListsProgramsMapsAndGlobalData() throws {
        guard let object = try Programs.object("tailcall"), let globals = try Programs.object("globals") else { return }
        let json = try jsonObject(try Tool.run(["inspect", object, "--json"]))
        #expect(json["license"] as? String == "GPL")
        #expect(json["btf"] as? Bool == true)
        #expect(json["lineInfo"] as? Bool == true)
        let programs = try #require(json["programs"] as? [[String: Any]])
        let entry = try #require(programs.first { $0["name"] as? String == "entry" })
        #expect(entry["section"] as? String == "xdp")
        #expect(entry["type"] as? String == "xdp")
        #expect(entry["helpers"] as? [String] == ["bpf_tail_call"])
        #expect(entry["relocations"] as? Int == 1)
        let maps = try #require(json["maps"] as? [[String: Any]])
        #expect(maps.first?["name"] as? String == "jumps")
        #expect(maps.first?["type"] as? String == "prog_array")
        #expect(maps.first?["maxEntries"] as? Int == 4)

        let data = try jsonObject(try Tool.run(["inspect", globals, "--json"]))
        let sections = try #require(data["globalData"] as? [[String: Any]])
        #expect(Set(sections.compactMap { $0["name"] as? String }) == [".rodata", ".data", ".bss"])
        #expect(sections.first { $0["name"] as? String == ".rodata" }?["readOnly"] as? Bool == true)
        let text = try Tool.run(["inspect", globals]).text
        #expect(text.contains("configured [xdp] xdp"))
        #expect(text.contains(".data: 4 bytes"))
    }

    @Test func everySampleInspectsWithoutCrashing() throws {
        let paths = Samples.objects()
        guard !paths.isEmpty else {
            Issue.record("skipped: the sample corpus is not at \(Samples.root)", severity: .warning)
            return
        }
        var described = 0
        for path in paths {
            let output = try Tool.run(["inspect", path, "--json"])
            #expect(output.status == 0 || output.status == 2, "\(path): exit status \(output.status) \(output.standardError)")
            let json = try jsonObject(output)
            if output.status == 0 {
                described += 1
                #expect(json["programs"] is [Any], "\(path)")
            } else {
                let error = try #require(json["error"] as? String, "\(path)")
                #expect(error.contains(path), "the error names the file: \(error)")
            }
        }
        #expect(described > paths.count / 2)
    }

    @Test func buildWritesAnObjectOrShowsClangsMessage() throws {
        guard Programs.isClangAvailable else {
            Issue.record("skipped: clang was not found", severity: .warning)
            return
        }
        let scratch = try Scratch()
        let good = try scratch.file("ok.bpf.c", Programs.prelude + "SEC(\"xdp\") int ok(struct xdp_md *ctx) { return XDP_PASS; }\n")
        let built = try Tool.run(["build", good])
        #expect(built.status == 0, "\(built.standardError)")
        #expect(built.text == scratch.url.appendingPathComponent("ok.bpf.o").path + "\n")
        let named = scratch.url.appendingPathComponent("other.o").path
        #expect(try Tool.run(["build", good, "-o", named]).text == named + "\n")
        #expect(FileManager.default.fileExists(atPath: named))

        let include = scratch.url.appendingPathComponent("include")
        try FileManager.default.createDirectory(at: include, withIntermediateDirectories: true)
        try "#define VERDICT XDP_DROP\n".write(to: include.appendingPathComponent("verdict.h"), atomically: true, encoding: .utf8)
        let withHeader = try scratch.file("header.c", Programs.prelude + "#include <verdict.h>\nSEC(\"xdp\") int v(struct xdp_md *c) { return VERDICT; }\n")
        #expect(try Tool.run(["build", withHeader, "-I", include.path]).status == 0)

        let bad = try scratch.file("bad.c", Programs.prelude + "SEC(\"xdp\") int bad(struct xdp_md *ctx) { return missing_value; }\n")
        let failed = try Tool.run(["build", bad])
        #expect(failed.status != 0)
        #expect(failed.standardError.contains("clang could not compile"))
        #expect(failed.standardError.contains("bad.c:\(Programs.preludeLines + 1):"))
        #expect(failed.standardError.contains("missing_value"))
        #expect(!FileManager.default.fileExists(atPath: scratch.url.appendingPathComponent("bad.o").path))
    }
}
