import Testing
import BPFAssembler
import BPFObject
import BPFTestSupport
@testable import BPFVerifier

/// Random short programs made of the linked-scalar patterns (up to three copies, each with a
/// constant added or subtracted in 64 or 32 bits, of the original or of another copy; bounds on
/// the copies or the original in both widths), each ending in a map value access indexed by the
/// original or a copy: BPFKit must never accept what Linux refuses, and refuse what it accepts
/// only rarely.
/// The big differential test rarely lets a link decide a verdict; here every program hinges on one.
@Suite struct LinkedScalarTests {
    static func program(seed: UInt64) -> String {
        var rng = SplitMix64(seed: seed)
        func pick<T>(_ items: [T]) -> T { items[Int.random(in: 0..<items.count, using: &rng)] }
        func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &rng) < p }
        let index = pick([2, 3])
        var body: [String] = []
        if chance(0.3) { body.append("and %r\(index), \(pick([0xffff, 0x1ff, 0x7fffffff, -1]))") }
        if chance(0.2) { body.append("\(pick(["jgt", "jlt", "jsgt"])) %r\(index), \(pick([0x7ffffff0, 5, 100, -5])), out") }
        var copies: [Int] = []
        for copy in [4, 5, 1].prefix(Int.random(in: 1...3, using: &rng)) {
            let move = chance(0.85) ? (chance(0.7) ? "mov" : "mov32") : pick(["movsx864", "movsx1664", "movsx3264", "movsx832", "movsx1632"])
            body.append("\(move) %r\(copy), %r\(chance(0.8) || copies.isEmpty ? index : copies.last!)")
            let k: Int64 = chance(0.7) ? Int64.random(in: -3...3, using: &rng) : pick([0x7fff_ffff, -0x8000_0000, 64, -65, -1, 0xffff])
            body.append("\(pick(["add", "add", "sub"]))\(chance(0.5) ? "" : "32") %r\(copy), \(k)")
            copies.append(copy)
        }
        for _ in 0..<Int.random(in: 1...3, using: &rng) {
            let r = chance(0.7) ? pick(copies) : index
            body.append("\(pick(["jgt", "jge", "jsgt", "jgt32", "jsge", "jsgt32", "jeq", "jne"])) %r\(r), \(pick([60, 62, 63, 64, 65, -1, 0x7fffffff])), out")
            if chance(0.7) {
                let r2 = chance(0.6) ? pick(copies) : index
                body.append("\(pick(["jslt", "jlt", "jsle", "jslt32", "jlt32"])) %r\(r2), \(pick([-4, -1, 0, 1, 2, 3, 4])), out")
            }
        }
        body.append("mov %r2, %r\(chance(0.7) ? index : pick(copies))")
        return Programs.index(body.joined(separator: "\n"))
    }

    @Test func linkedProgramsAgreeWithLinux() throws {
        try KnowledgeComparison.run("linked-scalar", count: 1000, firstSeed: 0, type: .socketFilter,
                                    generate: Self.program(seed:))
    }

    /// Two paths that link r4 differently (a copy of r2, r3, r5 = r2 or r7 = r3; a constant or none;
    /// 64 or 32 bits; sometimes broken, spilled or copied on) meet, with a checkpoint, before r4 (or
    /// another copy) is bounded and an original, a copy or a filled slot indexes the value: pruning
    /// at the join must tell the links apart, and precision must reach the join through them.
    static func joinedProgram(seed: UInt64) -> String {
        var rng = SplitMix64(seed: seed)
        func pick<T>(_ items: [T]) -> T { items[Int.random(in: 0..<items.count, using: &rng)] }
        func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &rng) < p }
        func path() -> [String] {
            var ops: [String] = []
            let src = pick([2, 3, 5, 7])
            ops.append("\(chance(0.7) ? "mov" : "mov32") %r4, %r\(src)")
            if chance(0.85) { ops.append("\(pick(["add", "sub"]))\(chance(0.7) ? "" : "32") %r4, \(pick([0, 1, 1, 2, -1, 64]))") }
            if chance(0.3) { ops.append(pick(["add %r4, 1", "or %r4, 0", "mov %r7, %r4", "stxdw [%r10-16], %r4", "stxdw [%r10-16], %r2", "stxdw [%r10-24], %r4", "mov %r5, %r4", "mov %r2, %r3", "stxw [%r10-16], %r4"])) }
            // Enough work (two jumps, eight instructions) for a checkpoint where the paths meet.
            ops.append("ja +0")
            ops += Array(repeating: "mov %r8, \(Int.random(in: 0...3, using: &rng))", count: 7)
            return ops
        }
        var body: [String] = ["mov %r5, %r2", "mov %r7, %r3", "stdw [%r10-24], 0"]
        if chance(0.6) { body.append("stxdw [%r10-16], %r\(pick([2, 5, 3]))") } else { body.append("stdw [%r10-16], 0") }
        body.append("jeq %r3, \(pick([0, 1, 7])), two")
        body += path()
        body.append("ja join")
        let b = path()
        body += ["two: " + b[0]] + b.dropFirst()
        body.append("join: \(pick(["jgt", "jge", "jgt32", "jsgt"])) %r\(pick([4, 4, 4, 5, 2])), \(pick([63, 64, 65])), out")
        body.append("\(pick(["jlt", "jslt", "jlt32"])) %r\(pick([4, 4, 2, 5])), \(pick([0, 1, 2])), out")
        if chance(0.4) { body.append("ldxdw %r2, [%r10-\(pick([16, 24]))]") }
        body.append("mov %r2, %r\(pick([2, 2, 3, 5, 4, 7]))")
        return Programs.index(body.joined(separator: "\n"))
    }

    @Test func joinedPathsAgreeWithLinux() throws {
        try KnowledgeComparison.run("linked scalars at joins", count: 800, firstSeed: 0, type: .socketFilter,
                                    generate: Self.joinedProgram(seed:))
    }
}
