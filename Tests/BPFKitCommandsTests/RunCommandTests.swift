import BPFKit
import Foundation
import Testing

/// `bpfkit run` over C programs, objects, assembly with maps and pcap files.
@Suite struct RunCommandTests {
    @Test func aParserCountsProtocolsOverSeveralPackets() throws {
        guard let object = try Programs.object("parser") else { return }
        let udp = Frames.ipv4(proto: 17), tcp = Frames.ipv4(proto: 6)
        let output = try Tool.run(["run", object, "--data-hex", Frames.hex(udp), "--data-hex", Frames.hex(tcp),
                                   "--data-hex", Frames.hex(udp), "--data-hex", Frames.hex(Frames.arp), "--json"])
        #expect(output.status == 0, "\(output.standardError)")
        let json = try jsonObject(output)
        #expect(json["accepted"] as? Bool == true)
        #expect(json["error"] is NSNull)
        #expect(json["r0"] as? String == "0x0000000000000002")
        #expect(json["instructionsExecuted"] is NSNull, "the default engine here is the trusted JIT, which counts nothing")
        #expect(json["data_out_hex"] == nil, "only given for a single packet")
        let results = try #require(json["results"] as? [[String: Any]])
        #expect(results.map { $0["action"] as? String } == ["XDP_PASS", "XDP_PASS", "XDP_PASS", "XDP_PASS"])
        #expect(results.map { $0["retval"] as? Int } == [2, 2, 2, 2])
        #expect(results[1]["data_out_hex"] as? String == Frames.hex(tcp))
        #expect(results.map { $0["trace"] as? [String] } == [["protocol 17"], ["protocol 6"], ["protocol 17"], ["protocol 0"]])
        let maps = try #require(json["maps"] as? [String: Any])
        let entries = try #require(maps["protocols"] as? [[String: String]])
        var counts: [String: String] = [:]
        for entry in entries { counts[entry["key"] ?? ""] = entry["value"] }
        #expect(counts == ["11000000": "0200000000000000", "06000000": "0100000000000000", "00000000": "0100000000000000"])

        // The interpreter gives the same results and maps, and counts instructions.
        let interpreted = try Tool.run(["run", object, "--data-hex", Frames.hex(udp), "--data-hex", Frames.hex(tcp),
                                        "--data-hex", Frames.hex(udp), "--data-hex", Frames.hex(Frames.arp), "--json",
                                        "--engine", "interpreter"])
        let reference = try jsonObject(interpreted)
        #expect((reference["instructionsExecuted"] as? Int ?? 0) > 0)
        let referenceMaps = try #require(reference["maps"] as? [String: Any])
        let referenceEntries = try #require(referenceMaps["protocols"] as? [[String: String]])
        #expect(Set(referenceEntries) == Set(entries), "the same entries (hash order is seeded per map)")
        #expect(NSArray(array: try #require(reference["results"] as? [[String: Any]])).isEqual(to: results))

        // The plain output names the action, the trace and the map.
        let plain = try Tool.run(["run", object, "--data-hex", Frames.hex(udp), "--repeat", "3"])
        #expect(plain.status == 0)
        #expect(plain.text.contains("packet 0: XDP_PASS (r0 = 0x0000000000000002)"))
        #expect(plain.text.contains("  trace: protocol 17"))
        #expect(plain.text.contains("map protocols (hash):\n  11000000 => 0300000000000000"), "--repeat 3 ran three times")
    }

    @Test func anLPMFilterTakesItsPrefixesFromMapsInit() throws {
        guard let object = try Programs.object("filter") else { return }
        let scratch = try Scratch()
        // 10.1.2.0/24: key = prefix length 24 (LE) + address in network order.
        let initial = try scratch.file("init.json", #"{"blocked": [{"key": "180000000a010200", "value": "00000000"}]}"#)
        let blocked = Frames.ipv4(proto: 6, source: [10, 1, 2, 77]), allowed = Frames.ipv4(proto: 6, source: [10, 1, 3, 1])
        let output = try Tool.run(["run", object, "--maps-init", initial, "--data-hex", Frames.hex(blocked),
                                   "--data-hex", Frames.hex(allowed), "--data-hex", Frames.hex(blocked), "--json"])
        #expect(output.status == 0, "\(output.standardError)")
        let json = try jsonObject(output)
        let results = try #require(json["results"] as? [[String: Any]])
        #expect(results.map { $0["action"] as? String } == ["XDP_DROP", "XDP_PASS", "XDP_DROP"])
        let maps = try #require(json["maps"] as? [String: Any])
        #expect(maps["blocked"] as? [[String: String]] == [["key": "180000000a010200", "value": "02000000"]])

        let wrong = try scratch.file("wrong.json", #"{"nosuchmap": [{"key": "00", "value": "00"}]}"#)
        let refused = try Tool.run(["run", object, "--maps-init", wrong, "--data-hex", Frames.hex(blocked), "--json"])
        #expect(refused.status != 0)
        #expect((try jsonObject(refused)["error"] as? String)?.contains("no map named nosuchmap") == true)
    }

    @Test func ringBufferRecordsAppearInCommitOrder() throws {
        guard let object = try Programs.object("producer") else { return }
        let long = Frames.ipv4(proto: 17, payload: [1, 2, 3]), short: [UInt8] = [0xab] + [UInt8](repeating: 0, count: 13)
        let output = try Tool.run(["run", object, "--data-hex", Frames.hex(long), "--data-hex", Frames.hex(short),
                                   "--data-hex", Frames.hex([0x77] + long.dropFirst()), "--json"])
        #expect(output.status == 0, "\(output.standardError)")
        let maps = try #require(try jsonObject(output)["maps"] as? [String: Any])
        // 37 bytes = 0x25; the 14-byte packet's record was discarded.
        #expect(maps["records"] as? [[String: String]] == [["value": "2500000000000000"], ["value": "2500000077000000"]])
    }

    @Test func globalDataIsOverriddenAndReported() throws {
        guard let object = try Programs.object("globals") else { return }
        let scratch = try Scratch()
        let packet = Frames.hex(Frames.ipv4(proto: 1))
        let plain = try jsonObject(try Tool.run(["run", object, "--data-hex", packet, "--data-hex", packet, "--json"]))
        #expect((plain["results"] as? [[String: Any]])?.map { $0["action"] as? String } == ["XDP_PASS", "XDP_PASS"])
        let maps = try #require(plain["maps"] as? [String: Any])
        #expect(maps[".data"] as? [[String: String]] == [["key": "00000000", "value": "66000000"]], "100 + 2 packets")
        #expect(maps[".bss"] as? [[String: String]] == [["key": "00000000", "value": "22000000"]], "34-byte packets")
        #expect(maps[".rodata"] as? [[String: String]] == [["key": "00000000", "value": "02000000"]])

        let drop = try scratch.file("drop.json", #"{".rodata": [{"key": "00000000", "value": "01000000"}]}"#)
        let output = try Tool.run(["run", object, "--maps-init", drop, "--data-hex", packet, "--json"])
        #expect(output.status == 0, "\(output.standardError)")
        let json = try jsonObject(output)
        #expect(json["r0"] as? String == "0x0000000000000001")
        #expect(json["data_out_hex"] as? String == packet)
        #expect((json["maps"] as? [String: Any])?[".rodata"] as? [[String: String]] == [["key": "00000000", "value": "01000000"]])
    }

    @Test func perCPUValuesAreListedPerCPU() throws {
        guard let object = try Programs.object("percpu") else { return }
        let packet = Frames.ipv4(proto: 17, payload: [0, 0, 0, 0, 0, 0])
        let output = try Tool.run(["run", object, "--data-hex", Frames.hex(packet), "--data-hex", Frames.hex(packet), "--json"])
        #expect(output.status == 0, "\(output.standardError)")
        let json = try jsonObject(output)
        #expect((json["results"] as? [[String: Any]])?.first?["action"] as? String == "TC_ACT_OK")
        let entries = try #require((json["maps"] as? [String: Any])?["stats"] as? [[String: Any]])
        #expect(entries.map { $0["key"] as? String } == ["00000000", "01000000"])
        let values = try #require(entries[1]["values"] as? [String])
        #expect(values.count == PossibleCPUs.count)
        // Two packets of 40 bytes on the CPU the run uses; every other CPU untouched.
        #expect(values.filter { $0 == "0200000000000000" + "5000000000000000" }.count == 1)
        #expect(values.filter { $0 == String(repeating: "0", count: 32) }.count == PossibleCPUs.count - 1)
    }

    @Test func aTailCallRunsTheProgramInTheSlot() throws {
        guard let object = try Programs.object("tailcall") else { return }
        let output = try Tool.run(["run", object, "--program", "entry", "--data-hex", Frames.hex(Frames.arp), "--json"])
        #expect(output.status == 0, "\(output.standardError)")
        let json = try jsonObject(output)
        let result = try #require((json["results"] as? [[String: Any]])?.first)
        #expect(result["action"] as? String == "XDP_DROP")
        #expect(result["trace"] as? [String] == ["tail called"])
        #expect((json["maps"] as? [String: Any])?["jumps"] as? [[String: String]] == [["key": "00000000", "program": "drop_all"]])
        let direct = try jsonObject(try Tool.run(["run", object, "--program", "drop_all", "--data-hex", Frames.hex(Frames.arp), "--json"]))
        #expect(direct["r0"] as? String == "0x0000000000000001")
        let missing = try Tool.run(["run", object, "--program", "nothing", "--data-hex", Frames.hex(Frames.arp)])
        #expect(missing.status != 0)
        #expect(missing.standardError.contains("no program named nothing (programs: drop_all, entry)"))
    }

    @Test func queuesListInPopOrderAndMapsOfMapsNameTheirInnerMaps() throws {
        guard let object = try Programs.object("nested") else { return }
        let scratch = try Scratch()
        let initial = try scratch.file("queue.json", #"{"pending": [{"value": "09000000"}]}"#)
        let output = try Tool.run(["run", object, "--maps-init", initial, "--data-hex", Frames.hex(Frames.arp),
                                   "--data-hex", Frames.hex(Frames.ipv4(proto: 6)), "--json"])
        #expect(output.status == 0, "\(output.standardError)")
        let maps = try #require(try jsonObject(output)["maps"] as? [String: Any])
        #expect(maps["pending"] as? [[String: String]] == [["value": "09000000"], ["value": "2a000000"], ["value": "22000000"]])
        #expect(maps["outer"] as? [[String: String]] == [["key": "02000000", "map": "inner_a"]])
        #expect(maps["inner_a"] as? [[String: String]] == [["key": "00000000", "value": "0e000000"]])
    }

    @Test func aRefusedProgramGivesTheVerifiersReason() throws {
        guard let source = try Programs.source("unchecked") else { return }
        let output = try Tool.run(["run", source, "--data-hex", Frames.hex(Frames.arp), "--json"])
        #expect(output.status != 0)
        let json = try jsonObject(output)
        #expect(json.count == 2)
        #expect(json["accepted"] as? Bool == false)
        let message = try #require(json["error"] as? String)
        #expect(message.hasPrefix("unchecked: refused: instruction"))
        #expect(message.contains("unchecked.c:"), "the C line is named: \(message)")
        let plain = try Tool.run(["run", source, "--data-hex", Frames.hex(Frames.arp)])
        #expect(plain.status != 0)
        #expect(plain.standardError.contains("program unchecked refused by the verifier"))
        #expect(plain.standardError.contains("hint:"))
        // Without verification it runs checked: the read lies inside this packet.
        let unverified = try jsonObject(try Tool.run(["run", source, "--no-verify", "--data-hex", Frames.hex(Frames.arp), "--json"]))
        #expect(unverified["accepted"] as? Bool == true)
        #expect(unverified["r0"] as? String == "0x0000000000000002")
    }

    @Test func assemblyRunsWithMapsAndAType() throws {
        let scratch = try Scratch()
        // Adds the packet's length to the value of key 5 of map 0, counts runs in map 1 (an array).
        let source = try scratch.file("sum.s", """
            mov %r6, %r1
            stw [%r10-4], 5
            mov %r2, %r10
            add %r2, -4
            lddw %r1, map:0
            call 1
            jeq %r0, 0, out
            ldxw %r1, [%r6+4]
            ldxw %r2, [%r6+0]
            sub %r1, %r2
            ldxdw %r2, [%r0+0]
            add %r2, %r1
            stxdw [%r0+0], %r2
            stw [%r10-8], 0
            mov %r2, %r10
            add %r2, -8
            lddw %r1, map:1
            call 1
            jeq %r0, 0, out
            mov %r1, 1
            lock add32 [%r0+0], %r1
            out:
            mov %r0, 3
            exit
            """)
        let maps = try scratch.file("maps.json", """
            [{"type": "hash", "key_size": 4, "value_size": 8, "max_entries": 8, "flags": 0,
              "init": [{"key": "05000000", "value": "6400000000000000"}]},
             {"type": "array", "name": "runs", "key_size": 4, "value_size": 4, "max_entries": 1}]
            """)
        let packet = Frames.hex([UInt8](repeating: 0, count: 12) + [0x08, 0x00] + [UInt8](repeating: 0, count: 6))
        let output = try Tool.run(["run", source, "--type", "xdp", "--maps", maps, "--data-hex", packet, "--data-hex", packet, "--json"])
        #expect(output.status == 0, "\(output.standardError)")
        let json = try jsonObject(output)
        #expect((json["results"] as? [[String: Any]])?.map { $0["action"] as? String } == ["XDP_TX", "XDP_TX"])
        let dumped = try #require(json["maps"] as? [String: Any])
        #expect(dumped["map:0"] as? [[String: String]] == [["key": "05000000", "value": "8c00000000000000"]], "100 + 2 × 20")
        #expect(dumped["runs"] as? [[String: String]] == [["key": "00000000", "value": "02000000"]])

        // A reference to a map the file does not describe.
        let one = try scratch.file("one.json", #"[{"type": "array", "key_size": 4, "value_size": 8, "max_entries": 1}]"#)
        let refused = try Tool.run(["run", source, "--type", "xdp", "--maps", one, "--data-hex", packet, "--json"])
        #expect(refused.status != 0)
        #expect((try jsonObject(refused)["error"] as? String)?.contains("sum.s:17: instruction 17: lddw refers to map 1, but only map 0 is described") == true)
        let noType = try Tool.run(["run", source, "--maps", maps, "--data-hex", packet])
        #expect(noType.status != 0)
        #expect(noType.standardError.contains("--type"))
    }

    @Test func aRefusedAssemblyProgramNamesItsLine() throws {
        let scratch = try Scratch()
        let source = try scratch.file("far.s", "mov %r0, 2\nldxdw %r1, [%r1+200]\nexit\n")
        let output = try Tool.run(["run", source, "--type", "xdp", "--data-hex", Frames.hex(Frames.arp), "--json"])
        #expect(output.status != 0)
        let json = try jsonObject(output)
        #expect(json["accepted"] as? Bool == false)
        #expect((json["error"] as? String)?.hasPrefix("far: refused: instruction 1 (r1 = *(u64 *)(r1 + 200)) at \(source):2: invalid bpf_context access off=200 size=8") == true)
        let plain = try Tool.run(["run", source, "--type", "xdp", "--data-hex", Frames.hex(Frames.arp)])
        #expect(plain.standardError.contains("at \(source):2"))
        // Unverified, the same read faults at run time in checked mode.
        let checked = try jsonObject(try Tool.run(["run", source, "--type", "xdp", "--no-verify", "--data-hex", Frames.hex(Frames.arp), "--json"]))
        #expect(checked["accepted"] as? Bool == true)
        #expect((checked["error"] as? String)?.contains("fault at pc 1") == true)
    }

    @Test func packetsComeFromAPcapFile() throws {
        guard let object = try Programs.object("parser") else { return }
        let scratch = try Scratch()
        let packets = [Frames.ipv4(proto: 1), Frames.ipv4(proto: 17), Frames.ipv4(proto: 1)]
        var file: [UInt8] = [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0]
        for packet in packets {
            let length = [UInt8(packet.count), 0, 0, 0]
            file += [0, 0, 0, 0, 0, 0, 0, 0] + length + length + packet
        }
        let pcap = try scratch.data("three.pcap", file)
        let output = try Tool.run(["run", object, "--pcap", pcap, "--json"])
        #expect(output.status == 0, "\(output.standardError)")
        let json = try jsonObject(output)
        #expect((json["results"] as? [[String: Any]])?.count == 3)
        var counts: [String: String] = [:]
        for entry in (json["maps"] as? [String: Any])?["protocols"] as? [[String: String]] ?? [] { counts[entry["key"]!] = entry["value"] }
        #expect(counts == ["01000000": "0200000000000000", "11000000": "0100000000000000"])

        let cut = try scratch.data("cut.pcap", Array(file.dropLast(3)))
        let refused = try Tool.run(["run", object, "--pcap", cut, "--json"])
        #expect(refused.status != 0)
        #expect((try jsonObject(refused)["error"] as? String)?.contains("record 2 at byte 124 is cut short") == true)
    }

    @Test func nonPacketProgramsTakeAContext() throws {
        let scratch = try Scratch()
        // kprobe: r0 = regs->di (offset 112 in x86-64 pt_regs).
        let source = try scratch.file("probe.s", "ldxdw %r0, [%r1+112]\nexit\n")
        var context = [UInt8](repeating: 0, count: 168)
        context[112] = 0x2a
        let output = try Tool.run(["run", source, "--type", "kprobe", "--ctx-hex", Frames.hex(context), "--json"])
        #expect(output.status == 0, "\(output.standardError)")
        let json = try jsonObject(output)
        #expect(json["r0"] as? String == "0x000000000000002a")
        #expect((json["results"] as? [[String: Any]])?.first?["action"] is NSNull)
        let packets = try Tool.run(["run", source, "--type", "kprobe", "--data-hex", "00"])
        #expect(packets.status != 0)
        #expect(packets.standardError.contains("takes a context (--ctx-hex)"))
    }

    @Test func missingCompilerOrBadCIsExplained() throws {
        let scratch = try Scratch()
        let broken = try scratch.file("broken.c", "int main(void) { return undefined_name; }\n")
        let output = try Tool.run(["run", broken, "--data-hex", "00", "--json"])
        #expect(output.status != 0)
        let message = try #require(try jsonObject(output)["error"] as? String)
        if Programs.isClangAvailable {
            #expect(message.contains("clang could not compile"))
            #expect(message.contains("undefined_name"))
        } else {
            #expect(message.contains("clang was not found"))
        }
    }
}
