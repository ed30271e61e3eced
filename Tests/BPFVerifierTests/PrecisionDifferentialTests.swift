import Testing
import Foundation
import BPFAssembler
import BPFObject
import BPFTestSupport
@testable import BPFVerifier

/// Compares what BPFKit and Linux know about scalars, through verdicts. Each program computes
/// values with random ALU operations, byte swaps, sign extensions, spills, fills and narrow stack stores,
/// helper results and refining branches, then ends with a tripwire: a conditional jump over an out-of-bounds store.
/// A verifier that proves the jump always taken accepts the program. BPFKit may know less than
/// Linux (it then refuses a program Linux accepts) but never more: knowing more means
/// accepting programs that Linux refuses, and a program moves between them with its verdict.
///
/// Larger runs (60,000 programs) find 3 programs in which Linux 6.18 keeps the link (`id`)
/// between a spilled 32-bit value and its sign-extending fill (`ldxsw`) although the two
/// values differ when bit 31 is set; a branch on one then gives the other the wrong range.
/// BPFKit breaks that link, so it decides those programs differently: soundly, not as Linux.
/// They also find a comparison of a register with itself (`if w5 <= w5`) whose impossible
/// branch Linux explores after reporting "verifier bug: REG INVARIANTS VIOLATION"; BPFKit
/// drops the impossible branch.
///
/// `BPFKIT_PRECISION_PROGRAMS` sets how many programs each of these suites runs (default
/// 5,000 here, 3,000 in the others).
@Suite struct PrecisionDifferentialTests {
    @Test func scalarKnowledgeNeverExceedsLinux() throws {
        try KnowledgeComparison.run("precision", count: KnowledgeComparison.programCount ?? 5_000, firstSeed: 0x9_0000,
                                    type: .socketFilter, generate: ScalarProgramGenerator.program(seed:))
    }
}

/// Runs generated programs through BPFKit and Linux and checks that BPFKit never accepts what
/// Linux refuses and refuses at most `lessPreciseLimit` of what Linux accepts.
enum KnowledgeComparison {
    /// BPFKit may refuse this share of the programs Linux accepts.
    static let lessPreciseLimit = 0.01

    static var programCount: Int? {
        ProcessInfo.processInfo.environment["BPFKIT_PRECISION_PROGRAMS"].flatMap(Int.init)
    }

    static func run(_ name: String, count: Int, firstSeed: UInt64, type: ProgramType,
                    generate: (UInt64) -> String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        guard LinuxOracle.isAvailable else {
            print("skipping the \(name) differential test: bpf() is not available here")
            return
        }
        let verifier = Verifier(options: VerifierOptions(complexityLimit: 100_000))
        var both = 0, neither = 0
        var bpfkitOnly: [String] = [], linuxOnly: [String] = []
        for i in 0..<count {
            let seed = firstSeed &+ UInt64(i)
            let source = generate(seed)
            let instructions = try Assembler.assembleProgram(source).instructions
            let ours = verifier.verify(VerifierInput(instructions: instructions, programType: type, maps: OracleMaps.descriptions))
            let linux = try #require(LinuxOracle.verdict(of: instructions, type: type, withLog: false), sourceLocation: sourceLocation)
            switch (ours.isAccepted, linux.accepted) {
            case (true, true): both += 1
            case (false, false): neither += 1
            case (true, false):
                let log = LinuxOracle.verdict(of: instructions, type: type)?.log ?? ""
                bpfkitOnly.append("seed \(seed):\n\(source)\n  BPFKit: \(ours.summary)\n  Linux:\n\(LinuxOracle.tail(log, lines: 8))")
            case (false, true):
                linuxOnly.append("seed \(seed):\n\(source)\n  BPFKit: \(ours.summary)\n\(ours.refusal?.explanation ?? "")")
            }
        }
        print("""
            \(name) differential: \(count) programs: accepted by both \(both), refused by both \(neither), \
            accepted only by BPFKit \(bpfkitOnly.count), accepted only by Linux \(linuxOnly.count)
            """)
        for report in bpfkitOnly.prefix(4) { print("MORE PRECISE THAN LINUX " + report) }
        for report in linuxOnly.prefix(4) { print("LESS PRECISE THAN LINUX " + report) }
        #expect(bpfkitOnly.isEmpty, "\(name): BPFKit accepted \(bpfkitOnly.count) programs that Linux refused",
                sourceLocation: sourceLocation)
        #expect(Double(linuxOnly.count) <= lessPreciseLimit * Double(count),
                "\(name): BPFKit refused \(linuxOnly.count) programs that Linux accepted", sourceLocation: sourceLocation)
    }
}

/// Straight-line scalar programs for socket filters that end in a tripwire.
enum ScalarProgramGenerator {
    static let scalarRegisters = [1, 2, 3, 4, 5, 7, 8, 9]
    static let interesting: [Int64] = [0, 1, 2, 3, 7, 8, 15, 16, 31, 32, 63, 64, 127, 128, 255, 256, 0x7fff, 0x8000, 0xffff,
                                       0x7fff_ffff, -1, -2, -8, -128, -129, -32768, -0x8000_0000]

    static func program(seed: UInt64) -> String {
        var rng = SplitMix64(seed: seed)
        func pick<T>(_ options: [T]) -> T { options[Int(rng.next() % UInt64(options.count))] }
        func chance(_ percent: UInt64) -> Bool { rng.next() % 100 < percent }
        func constant() -> Int64 {
            chance(70) ? pick(interesting) : Int64(Int32(truncatingIfNeeded: rng.next()))
        }
        func register() -> String { "%r\(pick(scalarRegisters))" }
        var lines = ["mov %r6, %r1"]
        // Unknown 32-bit values from the context (len, pkt_type, mark, queue_mapping, protocol)
        // and constants.
        for r in scalarRegisters {
            lines.append(chance(60) ? "ldxw %r\(r), [%r6+\(pick([0, 4, 8, 12, 16]))]" : "mov %r\(r), \(constant())")
        }
        let operations = ["add", "sub", "mul", "div", "sdiv", "mod", "smod", "or", "and", "xor", "lsh", "rsh", "arsh", "mov"]
        let conditions = ["jeq", "jne", "jgt", "jge", "jlt", "jle", "jsgt", "jsge", "jslt", "jsle", "jset"]
        for _ in 0..<(4 + Int(rng.next() % 8)) {
            let dst = register()
            switch rng.next() % 12 {
            case 11:
                // Narrow stores of constants and registers into a slot, then a load of it: what
                // the verifier keeps of zero, constant and unknown bytes.
                for _ in 0..<(1 + Int(rng.next() % 3)) {
                    let (size, offsets) = pick([("b", [-8, -7, -5, -1]), ("h", [-8, -6, -2]), ("w", [-8, -4]), ("dw", [-8])])
                    let offset = pick(offsets)
                    lines.append(chance(50) ? "st\(size) [%r10\(offset)], \(chance(50) ? 0 : constant())"
                                            : "stx\(size) [%r10\(offset)], \(register())")
                }
                lines.append(pick(["ldxdw", "ldxw", "ldxh", "ldxb", "ldxsw", "ldxsb"]) + " \(dst), [%r10-8]")
            case 10:
                // A helper's return range (bpf_get_prandom_u32, bpf_get_smp_processor_id); the call
                // clobbers r1-r5, which are set again from its result and from constants.
                lines.append("call \(pick([7, 8]))")
                for r in 1...5 { lines.append(chance(50) ? "mov %r\(r), %r0" : "mov %r\(r), \(constant())") }
            case 0:
                lines.append(pick(["neg", "neg32"]) + " " + dst)
            case 1:
                lines.append(pick(["be16", "be32", "be64", "le16", "le32", "bswap16", "bswap32", "bswap64"]) + " " + dst)
            case 2:
                lines.append(pick(["movsx864", "movsx1664", "movsx3264", "movsx832", "movsx1632"]) + " \(dst), \(register())")
            case 3:
                // Spill and fill, possibly narrower and sign-extending.
                lines.append("stxdw [%r10-8], \(register())")
                lines.append(pick(["ldxdw", "ldxw", "ldxh", "ldxb", "ldxsw", "ldxsh", "ldxsb"]) + " \(dst), [%r10-8]")
            case 4:
                // A refining branch whose fall-through changes the register: the paths meet again.
                let width = chance(30) ? "32" : ""
                let other = chance(50) ? "\(constant())" : register()
                lines.append("\(pick(conditions))\(width) \(dst), \(other), +1")
                lines.append("mov \(dst), \(constant())")
            default:
                let op = pick(operations)
                let width = chance(35) ? "32" : ""
                var source: String
                if chance(50) {
                    var value = constant()
                    if ["lsh", "rsh", "arsh"].contains(op) { value = Int64(rng.next() % (width.isEmpty ? 64 : 32)) }
                    if ["div", "sdiv", "mod", "smod"].contains(op) && value == 0 { value = 7 }
                    source = "\(value)"
                } else {
                    source = register()
                }
                lines.append("\(op)\(width) \(dst), \(source)")
            }
        }
        let width = chance(30) ? "32" : ""
        lines.append("\(pick(conditions))\(width) \(register()), \(constant()), +1")
        lines.append("stb [%r10+8], 1")
        lines.append("mov %r0, 0")
        lines.append("exit")
        return lines.joined(separator: "\n")
    }
}

/// The same comparison for packet ranges: XDP programs move packet pointers by constants and
/// bounded scalars, compare them with `data_end` in every form Linux recognises (and some it
/// does not), and end with one access that is safe only if the range is proven.
@Suite struct PacketRangeDifferentialTests {
    @Test func packetKnowledgeNeverExceedsLinux() throws {
        try KnowledgeComparison.run("packet-range", count: KnowledgeComparison.programCount ?? 3_000, firstSeed: 0xA_0000,
                                    type: .xdp, generate: PacketProgramGenerator.program(seed:))
    }
}

/// XDP programs over packet pointers that end in one packet access.
enum PacketProgramGenerator {
    static func program(seed: UInt64) -> String {
        var rng = SplitMix64(seed: seed)
        func pick<T>(_ options: [T]) -> T { options[Int(rng.next() % UInt64(options.count))] }
        func chance(_ percent: UInt64) -> Bool { rng.next() % 100 < percent }
        // r2 = data, r3 = data_end; r4, r5, r7 are packet pointers, r8 and r9 scalars.
        var lines = ["ldxw %r2, [%r1+0]", "ldxw %r3, [%r1+4]", "mov %r4, %r2", "mov %r5, %r2", "mov %r7, %r2",
                     "ldxw %r8, [%r1+12]", "mov %r9, \(pick([0, 1, 7, 14, 20]))"]
        let pointers = ["%r2", "%r4", "%r5", "%r7"], movable = ["%r4", "%r5", "%r7"]
        let sizes = [("b", 1), ("h", 2), ("w", 4), ("dw", 8)]
        for _ in 0..<(2 + Int(rng.next() % 6)) {
            switch rng.next() % 6 {
            case 0:
                // Move a pointer by a constant (sometimes negative).
                lines.append("add \(pick(movable)), \(pick([1, 2, 4, 6, 8, 14, 20, 34, 40, -2, -8]))")
            case 1:
                // Bound a scalar and move a pointer by it.
                lines.append(pick(["and %r8, \(pick([1, 3, 7, 15, 63, 255]))", "and32 %r8, \(pick([7, 15, 255]))",
                                   "rsh %r8, \(pick([56, 60, 62]))", "mov %r8, \(pick([0, 4, 10]))"]))
                lines.append("add \(pick(movable)), %r8")
            case 2, 3:
                // A range check: a copy moved by N compared with data_end, in one of Linux's forms.
                let p = pick(pointers), n = pick([0, 1, 4, 8, 14, 20, 34, 54])
                lines.append("mov %r0, \(p)")
                lines.append("add %r0, \(n)")
                switch rng.next() % 6 {
                case 0: lines.append("jgt %r0, %r3, out")
                case 1: lines.append("jge %r0, %r3, out")
                case 2: lines.append("jlt %r3, %r0, out")
                case 3: lines.append("jle %r3, %r0, out")
                case 4: lines.append("jle %r0, %r3, +1"); lines.append("ja out")
                default: lines.append("jgt %r3, %r0, +1"); lines.append("ja out")
                }
            case 4:
                // A read in the middle: only safe ones let the program go on.
                let (suffix, _) = pick(sizes)
                lines.append("ldx\(suffix) %r9, [\(pick(pointers))+\(pick([0, 1, 2, 4, 12, 13]))]")
            default:
                // Copy a pointer.
                lines.append("mov \(pick(movable)), \(pick(pointers))")
            }
        }
        let (suffix, _) = pick(sizes)
        let offset = pick([-2, 0, 1, 4, 6, 10, 13, 20, 30, 50])
        lines.append("ldx\(suffix) %r9, [\(pick(pointers))\(offset < 0 ? "" : "+")\(offset)]")
        lines += ["out: mov %r0, 2", "exit"]
        return lines.joined(separator: "\n")
    }
}

/// The same comparison for map values: socket filters look a value up, check it for NULL in
/// one of several ways, move copies of the pointer by bounded scalars, and end with one
/// access that is safe only if the offset is proven to stay inside the value.
@Suite struct MapValueDifferentialTests {
    @Test func mapValueKnowledgeNeverExceedsLinux() throws {
        try KnowledgeComparison.run("map-value", count: KnowledgeComparison.programCount ?? 3_000, firstSeed: 0xB_0000,
                                    type: .socketFilter, generate: MapValueProgramGenerator.program(seed:))
    }
}

/// Socket filters over map value pointers that end in one value access.
enum MapValueProgramGenerator {
    static func program(seed: UInt64) -> String {
        var rng = SplitMix64(seed: seed)
        func pick<T>(_ options: [T]) -> T { options[Int(rng.next() % UInt64(options.count))] }
        func chance(_ percent: UInt64) -> Bool { rng.next() % 100 < percent }
        // Maps 0 (hash, value 16), 1 (array, 8), 5 (hash, 64), 6 (array, 64).
        let map = pick([0, 1, 5, 6])
        var lines = ["mov %r6, %r1", "ldxw %r8, [%r6+0]", "ldxw %r9, [%r6+8]",
                     "stw [%r10-4], \(pick([0, 1, 3, 7]))", "mov %r2, %r10", "add %r2, -4", "lddw %r1, map:\(map)", "call 1"]
        // The NULL check, on the pointer or on a copy of it.
        let checked = chance(30) ? "%r7" : "%r0"
        lines.append("mov %r7, %r0")
        switch rng.next() % 3 {
        case 0: lines.append("jeq \(checked), 0, out")
        case 1: lines.append("jne \(checked), 0, +1"); lines.append("ja out")
        default: lines.append("jeq \(checked), 0, out"); lines.append("jne %r0, 0, +1"); lines.append("ja out")
        }
        let pointers = ["%r0", "%r7"]
        for _ in 0..<(1 + Int(rng.next() % 5)) {
            switch rng.next() % 5 {
            case 0:
                // Bound a scalar with a mask or a shift.
                let r = pick(["%r8", "%r9"])
                lines.append(pick(["and \(r), \(pick([1, 3, 7, 15, 31, 63]))", "and32 \(r), \(pick([7, 15, 63]))",
                                   "rsh \(r), \(pick([58, 59, 60, 61]))", "mod \(r), \(pick([8, 16, 60]))"]))
            case 1:
                // Bound a scalar with a comparison, in unsigned or signed form.
                let r = pick(["%r8", "%r9"]), limit = pick([8, 15, 16, 56, 63, 64])
                lines.append(pick(["jgt \(r), \(limit), out", "jge \(r), \(limit), out", "jsgt \(r), \(limit), out",
                                   "jgt32 \(r), \(limit), out", "jlt \(r), \(limit), +1\nja out"]))
                if chance(30) { lines.append("jslt \(r), 0, out") }
            case 2:
                lines.append("add \(pick(pointers)), \(pick(["%r8", "%r9"]))")
            case 3:
                lines.append("add \(pick(pointers)), \(pick([1, 4, 8, -4, 12]))")
            default:
                lines.append("mov \(pick(pointers)), \(pick(pointers))")
            }
        }
        let size = pick(["b", "h", "w", "dw"])
        lines.append("ldx\(size) %r1, [\(pick(pointers))+\(pick([0, 1, 4, 7, 8, 12, 15, 56, 60]))]")
        lines += ["out: mov %r0, 0", "exit"]
        return lines.joined(separator: "\n")
    }
}

/// The same comparison for helper memory arguments: a stack buffer (or a map value) and a
/// size register bounded in one of several ways, passed to bpf_skb_load_bytes (the size may
/// not be 0) or bpf_ringbuf_output (it may).
@Suite struct HelperSizeDifferentialTests {
    @Test func helperSizeKnowledgeNeverExceedsLinux() throws {
        try KnowledgeComparison.run("helper-size", count: KnowledgeComparison.programCount ?? 3_000, firstSeed: 0xC_0000,
                                    type: .socketFilter, generate: HelperSizeProgramGenerator.program(seed:))
    }
}

/// Socket filters passing a buffer and a bounded size to a helper.
enum HelperSizeProgramGenerator {
    static func program(seed: UInt64) -> String {
        var rng = SplitMix64(seed: seed)
        func pick<T>(_ options: [T]) -> T { options[Int(rng.next() % UInt64(options.count))] }
        func chance(_ percent: UInt64) -> Bool { rng.next() % 100 < percent }
        var lines = ["mov %r6, %r1", "ldxw %r8, [%r6+0]"]
        // The size in r8: masked, shifted, compared (unsigned, signed, 32-bit), or constant.
        for _ in 0..<(1 + Int(rng.next() % 3)) {
            lines.append(pick(["and %r8, \(pick([7, 15, 31, 63, 127]))", "rsh %r8, \(pick([57, 58, 59, 60]))",
                               "jgt %r8, \(pick([8, 16, 32, 64, 100])), out", "jge %r8, \(pick([16, 33, 64])), out",
                               "jsgt %r8, \(pick([16, 32, 64])), out", "jslt %r8, 1, out", "jeq %r8, 0, out",
                               "jgt32 %r8, \(pick([16, 32, 64])), out", "add %r8, \(pick([1, -1, 4]))",
                               "mov %r8, \(pick([0, 1, 8, 32, 64, 65]))"]))
        }
        // The buffer: the stack (initialised or not) or a map value.
        let bufferSize = pick([8, 16, 32, 64])
        var buffer: String
        if chance(70) {
            if chance(50) {
                for offset in stride(from: -bufferSize, to: 0, by: 8) { lines.append("stdw [%r10\(offset)], 0") }
            }
            lines.append("mov %r7, %r10")
            lines.append("add %r7, \(-bufferSize)")
            buffer = "%r7"
        } else {
            lines += ["stw [%r10-4], 0", "mov %r2, %r10", "add %r2, -4", "lddw %r1, map:\(pick([5, 6]))", "call 1",
                      "jeq %r0, 0, out", "mov %r7, %r0"]
            buffer = "%r7"
        }
        if chance(50) {
            // bpf_skb_load_bytes(ctx, offset, to, len): len must be > 0.
            lines += ["mov %r1, %r6", "mov %r2, \(pick([0, 14]))", "mov %r3, \(buffer)", "mov %r4, %r8", "call 26"]
        } else {
            // bpf_ringbuf_output(ringbuf, data, size, flags): size may be 0.
            lines += ["lddw %r1, map:2", "mov %r2, \(buffer)", "mov %r3, %r8", "mov %r4, 0", "call 130"]
        }
        lines += ["out: mov %r0, 0", "exit"]
        return lines.joined(separator: "\n")
    }
}
