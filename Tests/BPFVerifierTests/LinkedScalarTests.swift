import Testing
import BPFAssembler
import BPFObject
import BPFTestSupport
@testable import BPFVerifier

/// Random short programs made of the linked-scalar patterns (copy, add/sub of a constant in 64 or
/// 32 bits, maybe a write that breaks the link, bounds on the copy or the original, spills), each
/// ending in a map value access indexed by the original: BPFKit must decide each as Linux does.
/// The big differential test rarely lets a link decide a verdict; here every program hinges on one.
@Suite struct LinkedScalarTests {
    static func program(seed: UInt64) -> String {
        var rng = SplitMix64(seed: seed)
        func pick<T>(_ items: [T]) -> T { items[Int.random(in: 0..<items.count, using: &rng)] }
        func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &rng) < p }
        let index = pick([2, 3])
        let copy = pick([4, 5])
        var body: [String] = []
        body.append("\(chance(0.8) ? "mov" : "mov32") %r\(copy), %r\(index)")
        let k: Int64 = chance(0.8) ? Int64.random(in: -3...3, using: &rng) : pick([0x7fff_ffff, -0x8000_0000, 64, -65])
        body.append("\(pick(["add", "add", "sub"]))\(chance(0.7) ? "" : "32") %r\(copy), \(k)")
        if chance(0.15) {
            body.append(pick(["mov %r8, %r\(copy)", "or %r\(copy), 0", "add %r\(copy), 1", "stxdw [%r10-16], %r\(copy)",
                              "mov %r\(copy), %r\(copy)", "add %r\(copy), %r\(copy)"]))
        }
        if chance(0.2) { body.append("stxdw [%r10-24], %r\(index)") }
        let first = chance(0.6) ? copy : index
        body.append("\(pick(["jgt", "jge", "jsgt", "jgt32", "jsge"])) %r\(first), \(pick([60, 62, 63, 64, 65])), out")
        if chance(0.8) {
            let second = chance(0.6) ? copy : index
            body.append("\(pick(["jslt", "jlt", "jsle", "jslt32"])) %r\(second), \(pick([-4, -1, 0, 1, 2, 3, 4])), out")
        }
        if body.contains("stxdw [%r10-24], %r\(index)"), chance(0.5) { body.append("ldxdw %r\(index), [%r10-24]") }
        body.append("mov %r2, %r\(index)")
        return Programs.index(body.joined(separator: "\n"))
    }

    @Test func linkedProgramsAgreeWithLinux() throws {
        guard LinuxOracle.isAvailable else {
            print("skipping the linked-scalar comparison: bpf() is not available here")
            return
        }
        var agree = 0, accepted = 0
        let verifier = Verifier(options: VerifierOptions(complexityLimit: 100_000))
        for seed in UInt64(0)..<600 {
            let source = Self.program(seed: seed)
            let instructions = try Assembler.assembleProgram(source).instructions
            let result = verifier.verify(VerifierInput(instructions: instructions, programType: .socketFilter,
                                                       maps: OracleMaps.descriptions))
            let linux = try #require(LinuxOracle.verdict(of: instructions, type: .socketFilter))
            if result.isAccepted == linux.accepted { agree += 1 } else {
                Issue.record("seed \(seed): Linux \(linux.accepted ? "accepts" : "refuses"), BPFKit: \(result.summary)\n\(source)\n\(LinuxOracle.tail(linux.log))")
            }
            if linux.accepted { accepted += 1 }
        }
        print("linked scalars: 600 programs, \(agree) verdicts agree with Linux, \(accepted) accepted by Linux")
    }
}
