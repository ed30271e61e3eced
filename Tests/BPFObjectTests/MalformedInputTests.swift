import Foundation
import BPFObject
import Testing

/// Hand-made and mutated inputs: each must produce an error naming the place, never a crash or hang.
@Suite struct MalformedInputTests {
    /// A minimal valid object: compiled fixture if clang is present, else a corpus object.
    static func baseObject() throws -> [UInt8]? {
        if Fixtures.isClangAvailable {
            return try Fixtures.compile(FixtureTests.source, name: "fuzzbase")
        }
        guard Samples.isAvailable else { return nil }
        return try ObjectSpecBytes.read(Samples.root + "/build/prog_array.o")
    }

    static func error(_ bytes: [UInt8]) -> ObjectLoadError? {
        do {
            _ = try ObjectSpec(bytes: bytes, name: "mutant.o")
            return nil
        } catch {
            return error
        }
    }

    @Test func emptyAndNonELFInputsAreRefused() {
        #expect(Self.error([]) == .notELF(file: "mutant.o"))
        #expect(Self.error(Array("hello, world".utf8)) == .notELF(file: "mutant.o"))
        let header: [UInt8] = [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]
        guard case .truncated(file: "mutant.o", structure: "ELF header", offset: 0, length: 64, available: 7)? = Self.error(header) else {
            Issue.record("a 7-byte header should be reported as truncated")
            return
        }
    }

    @Test func wrongClassByteOrderMachineAndTypeAreRefused() throws {
        guard let base = try Self.baseObject() else {
            Issue.record("skipped: neither clang nor the sample corpus is available", severity: .warning)
            return
        }
        #expect(Self.error(base) == nil)
        var bigEndian = base
        bigEndian[5] = 2
        #expect(Self.error(bigEndian)?.description.contains("EI_DATA is 2") == true)
        var elf32 = base
        elf32[4] = 1
        #expect(Self.error(elf32)?.description.contains("EI_CLASS is 1") == true)
        var x86 = base
        x86[18] = 62
        x86[19] = 0
        #expect(Self.error(x86)?.description.contains("e_machine is 62") == true)
        var executable = base
        executable[16] = 2
        #expect(Self.error(executable)?.description.contains("e_type is 2") == true)
        var badEntrySize = base
        badEntrySize[58] = 40
        #expect(Self.error(badEntrySize)?.description.contains("e_shentsize") == true)
    }

    @Test func sectionHeaderTableBeyondTheFileIsRefused() throws {
        guard let base = try Self.baseObject() else { return }
        var moved = base
        // e_shoff = file size: the table lies entirely beyond the end.
        let size = UInt64(base.count)
        for index in 0..<8 { moved[40 + index] = UInt8(truncatingIfNeeded: size >> (8 * UInt64(index))) }
        guard case .truncated(_, "section header table", _, _, _)? = Self.error(moved) else {
            Issue.record("expected a truncated section header table, got \(String(describing: Self.error(moved)))")
            return
        }
    }

    /// Truncations at many lengths and deterministic byte flips: an error or a spec, never a crash.
    static let fuzzedCorpusObjects = ["build/prog_array.o", "build/map_in_map_legacy.o", "linux/sockex3_kern.o", "ovs/datapath.o"]

    @Test func truncatedAndBitFlippedObjectsNeverCrash() throws {
        guard let base = try Self.baseObject() else { return }
        try fuzz(base)
        if Samples.isAvailable {
            for path in Self.fuzzedCorpusObjects {
                try fuzz(ObjectSpecBytes.read(Samples.root + "/" + path))
            }
        }
    }

    func fuzz(_ base: [UInt8]) throws {
        var refused = 0
        for length in stride(from: 0, to: base.count, by: max(1, base.count / 400)) {
            if Self.error(Array(base[0..<length])) != nil { refused += 1 }
        }
        #expect(refused > 0)
        var state: UInt64 = 0x9e37_79b9_7f4a_7c15
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33)
        }
        var described = 0
        var failures = 0
        for _ in 0..<800 {
            var mutant = base
            for _ in 0..<(1 + next() % 4) {
                mutant[next() % mutant.count] = UInt8(truncatingIfNeeded: next())
            }
            if let error = Self.error(mutant) {
                #expect(!error.description.isEmpty)
                failures += 1
            } else {
                described += 1
            }
        }
        #expect(described + failures == 800)
        #expect(failures > 0)
    }

    @Test func relaSectionsInCorpusAreRead() throws {
        guard Samples.isAvailable else { return }
        // ovs/datapath.o comes from an old LLVM: EM_NONE and SHT_RELA relocations with type 0.
        let spec = try ObjectSpec(contentsOf: Samples.root + "/ovs/datapath.o")
        let tail = try #require(spec.program(named: "tail-32"))
        #expect(tail.relocations.map(\.target).contains(.map("tailcalls")))
    }
}

/// Reads a file's bytes for tests without going through the parser.
enum ObjectSpecBytes {
    static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Fixtures.CompileError(description: "cannot read \(path)")
        }
        return [UInt8](data)
    }
}
