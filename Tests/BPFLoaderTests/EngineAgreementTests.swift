import BPFLoader
import BPFMaps
import BPFObject
import BPFRuntime
import Testing

/// Every C fixture of these tests, run on the interpreter and on the JIT (trusted,
/// verified) and on both in checked mode: the same return values, packets, traces,
/// redirects and map contents, packet after packet.
@Suite("Engines agree on the C fixtures")
struct EngineAgreementTests {
    static let fixtures: [(name: String, source: String, options: LoadOptions)] = [
        ("rewrite", ContextRewriteTests.source, LoadOptions(programNames: ["xdp_lengths", "tc_lengths", "xdp_meta", "cgroup_first"])),
        ("parser", ContextTests.parser, LoadOptions()),
        ("packet", HelperTests.packetPrograms, LoadOptions()),
        ("sequence", PacketSequenceTests.source, LoadOptions()),
        ("vlan", VLANTests.source, LoadOptions()),
        ("loop", LoopTests.source, LoadOptions()),
        ("tailcalls", ProgramTests.tailCalls, LoadOptions()),
        ("globals", ProgramTests.globalData, LoadOptions(programNames: ["globals"])),
        // for_each_map_elem programs are loaded unverified (see ForEachTests): checked engines only.
        ("foreach", ForEachTests.source, ForEachTests.options),
    ]

    static let packets: [[UInt8]] = ContextRewriteTests.packets + PacketSequenceTests.packets

    @Test(arguments: fixtures.map(\.name))
    func enginesAgree(fixture name: String) throws {
        guard let fixture = Self.fixtures.first(where: { $0.name == name }) else { return }
        guard Fixture.isClangAvailable else { return }
        let spec = try Fixture.compile(fixture.source, name: fixture.name)
        for mode in [ExecutionMode.trusted, .checked] {
            var reference = fixture.options, candidate = fixture.options
            reference.engine = .interpreter
            candidate.engine = .jit
            reference.mode = mode
            candidate.mode = mode
            let interpreted = try LoadedObject(spec: spec, options: reference)
            let compiled = try LoadedObject(spec: spec, options: candidate)
            for program in compiled.programs {
                #expect(program.engine == .jit, "\(name)/\(program.name) runs on the JIT")
            }
            for program in interpreted.programs where Self.isPacketProgram(program.type) {
                for (index, packet) in Self.packets.enumerated() {
                    let place = "\(name)/\(program.name) (\(mode)), packet \(index)"
                    let expected = Result { try interpreted.run(program: program.name, packet: packet) }
                    let actual = Result { try compiled.run(program: program.name, packet: packet) }
                    switch (expected, actual) {
                    case (.success(let e), .success(let a)):
                        #expect(a.returnValue == e.returnValue, "\(place): r0")
                        #expect(a.packetAfter == e.packetAfter, "\(place): packet after")
                        #expect(Self.withoutPointers(a.contextAfter, program.type) == Self.withoutPointers(e.contextAfter, program.type),
                                "\(place): context after")
                        #expect(a.trace == e.trace, "\(place): trace")
                        #expect(a.redirect == e.redirect, "\(place): redirect")
                    case (.failure(let e), .failure(let a)):
                        #expect("\(a)" == "\(e)", "\(place): error")
                    default:
                        Issue.record("\(place): interpreter \(expected), JIT \(actual)")
                    }
                }
            }
            for ((mapName, expected), (_, actual)) in zip(interpreted.maps, compiled.maps) {
                // Hash maps are seeded per map, so only the set of entries is comparable.
                #expect(try Self.contents(of: actual).sorted(by: Self.lexicographic) == Self.contents(of: expected).sorted(by: Self.lexicographic),
                        "\(name) (\(mode)): map \(mapName)")
            }
        }
    }

    static func lexicographic(_ a: [UInt8], _ b: [UInt8]) -> Bool { a.lexicographicallyPrecedes(b) }

    /// The context with its packet-pointer fields zeroed: they hold each object's own frame addresses.
    static func withoutPointers(_ context: [UInt8], _ type: ProgramType) -> [UInt8] {
        let fields: [Range<Int>] = type == .xdp ? [0..<12] : [76..<84, 140..<144]  // xdp_md; __sk_buff data, data_end, data_meta
        var masked = context
        for field in fields where field.upperBound <= masked.count { masked.replaceSubrange(field, with: repeatElement(0, count: field.count)) }
        return masked
    }

    static func isPacketProgram(_ type: ProgramType) -> Bool {
        [.xdp, .schedCls, .schedAct, .socketFilter, .cgroupSkb].contains(type)
    }

    /// A keyed map's entries in iteration order, a queue's or stack's pops, or nothing
    /// for maps user space cannot walk (ring buffers, prog arrays).
    static func contents(of map: any BPFMap) throws -> [[UInt8]] {
        var entries: [[UInt8]] = []
        switch map.definition.type {
        case .queue, .stack:
            var value = [UInt8](repeating: 0, count: map.userValueSize)
            while value.withUnsafeMutableBytes({ map.pop(into: $0.baseAddress!) }) == 0 { entries.append(value) }
        case .programArray, .arrayOfMaps, .hashOfMaps, .ringBuffer, .perfEventArray:
            break
        default:
            var key: [UInt8]? = nil
            while let next = try map.nextKey(after: key) {
                entries.append(next + (try map.lookup(key: next) ?? []))
                key = next
            }
        }
        return entries
    }
}
