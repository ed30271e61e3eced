import BPFObject
@testable import BPFVerifier

private typealias P = Programs
private func c(_ name: String, _ source: String, _ expected: String, _ type: ProgramType = .socketFilter) -> VerdictCase {
    VerdictCase(name: name, source: source, type: type, expected: expected, profile: .privileged)
}

/// `setup`, then a fork on r3: the fall-through runs `first`, the jump `second`, each padded to
/// enough work for Linux (and BPFKit) to store a checkpoint where they meet; then r4 in [1, 64].
private func joined(_ setup: String, _ first: String, _ second: String, then tail: String = "") -> String {
    let padding = "ja +0\n" + String(repeating: "mov %r8, 0\n", count: 7)
    return P.index("""
        \(setup)
        jeq %r3, 7, two
        \(first)
        \(padding)ja join
        two: \(second)
        \(padding)join: jgt %r4, 64, out
        jlt %r4, 1, out
        \(tail)
        """)
}

/// Scalars linked with a constant offset (Linux's BPF_ADD_CONST, 6.11+, with the 6.18 stable
/// backports: `sub`, negative constants and 32-bit arithmetic link too): after `r4 = r2; r4 += 1`
/// a branch on either register bounds the other. In `P.index` r2 must end in [0, 63]; r3 is an
/// unknown 32-bit value. Each case is checked against the running kernel by
/// `linuxAgreesWithTheTable`.
let linkedScalarCases: [VerdictCase] = [
    // Add or subtract, then compare either register.
    c("linked add: bound the copy from both sides", P.index("mov %r4, %r2\nadd %r4, 1\njgt %r4, 64, out\njlt %r4, 1, out"), "ok"),
    c("linked add: bound the original, use the copy", P.index("mov %r4, %r2\nadd %r4, 1\njgt %r2, 62, out\nmov %r2, %r4"), "ok"),
    c("linked add: the copy is one past the bound", P.index("mov %r4, %r2\nadd %r4, 1\njgt %r2, 63, out\nmov %r2, %r4"), "bounds"),
    c("linked add: a 32-bit comparison of the copy", P.index("mov %r4, %r2\nadd %r4, 1\njgt %r4, 64, out\njlt %r4, 1, out\njgt32 %r4, 64, out"), "ok"),
    c("linked add: a constant in a register", P.index("mov %r5, 1\nmov %r4, %r2\nadd %r4, %r5\njgt %r4, 64, out\njlt %r4, 1, out"), "ok"),
    c("linked add: a negative constant", P.index("mov %r4, %r2\nadd %r4, -1\njgt %r4, 62, out"), "ok"),
    c("linked sub: of a constant", P.index("mov %r4, %r2\nsub %r4, -1\njgt %r4, 64, out\njlt %r4, 1, out"), "ok"),
    c("linked add: the largest offset", P.index("mov %r4, %r2\nadd %r4, 2147483647\nlddw %r5, 2147483710\njgt %r4, %r5, out\nlddw %r5, 2147483647\njlt %r4, %r5, out"), "ok"),
    c("linked add: the smallest offset", P.index("mov %r4, %r2\nadd %r4, -2147483648\nlddw %r5, 0xffffffff8000003f\njsgt %r4, %r5, out\nlddw %r5, 0xffffffff80000000\njslt %r4, %r5, out"), "ok"),
    c("linked add: a 32-bit value, 64-bit add", P.index("mov %r4, %r3\nadd %r4, 1\njgt %r4, 64, out\nmov %r2, %r3"), "ok"),
    c("linked add: after a 32-bit move", P.index("mov32 %r4, %r3\nadd %r4, 1\njgt %r4, 64, out\nmov %r2, %r3"), "ok"),
    c("linked add: 32-bit add", P.index("mov %r4, %r3\nadd32 %r4, 1\njgt %r4, 64, out\njlt %r4, 1, out\nmov %r2, %r3"), "ok"),
    c("linked add: 32-bit add that wraps", P.index("mov %r4, %r3\nadd32 %r4, -1\njgt %r4, 62, out\nmov %r2, %r3"), "ok"),
    c("linked add: two copies with offsets", P.index("mov %r4, %r2\nadd %r4, 1\nmov %r5, %r2\nadd %r5, 2\njgt %r4, 64, out\njlt %r5, 2, out\nmov %r2, %r5\nsub %r2, 2"), "ok"),
    c("linked add: a 32-bit copy follows a 64-bit bound", P.index("mov %r4, %r3\nadd32 %r4, 1\njgt %r3, 62, out\nmov %r2, %r4"), "ok"),
    c("no sync: 32-bit and 64-bit offsets", P.index("mov %r4, %r3\nadd32 %r4, 1\nmov %r5, %r3\nadd %r5, 2\njgt %r4, 64, out\njlt %r4, 2, out\nmov %r2, %r5\nsub %r2, 2"), "unbounded"),
    // What does not link.
    c("no link: 32-bit add to a 64-bit value", P.index("mov %r4, %r2\nadd32 %r4, 1\njgt %r4, 64, out\njlt %r4, 1, out"), "ptr_arith"),
    c("no link: add of a non-constant", P.index("mov %r5, %r3\nand %r5, 1\nmov %r4, %r2\nadd %r4, %r5\njgt %r4, 64, out\njlt %r4, 1, out"), "ptr_arith"),
    c("no link: offset of 2^31", P.index("mov %r4, %r2\nlddw %r5, 0x80000000\nadd %r4, %r5\nlddw %r5, 0x8000003f\njgt %r4, %r5, out\nlddw %r5, 0x80000000\njlt %r4, %r5, out"), "ptr_arith"),
    c("no link: sub of -2^31", P.index("mov %r4, %r2\nsub %r4, -2147483648\nlddw %r5, 0x8000003f\njgt %r4, %r5, out\nlddw %r5, 0x80000000\njlt %r4, %r5, out"), "ptr_arith"),
    c("no link: a second constant", P.index("mov %r4, %r2\nadd %r4, 1\nadd %r4, 1\njgt %r4, 65, out\njlt %r4, 2, out"), "ptr_arith"),
    c("no link: another operation after the add", P.index("mov %r4, %r2\nadd %r4, 1\nor %r4, 0\njgt %r4, 64, out\njlt %r4, 1, out"), "ptr_arith"),
    c("no link: the offset copy copied again", P.index("mov %r4, %r2\nadd %r4, 1\nmov %r5, %r4\njgt %r4, 64, out\njlt %r4, 1, out"), "ptr_arith"),
    c("no link: the offset copy sign-extended", P.index("mov %r4, %r2\nadd %r4, 1\njgt %r4, 100, out\nmovsx864 %r5, %r4\njgt %r4, 64, out\njlt %r4, 1, out"), "negative"),
    c("linked: a sign extension that cannot extend", P.index("jgt %r2, 100, out\nmovsx864 %r5, %r2\njgt %r5, 63, out"), "ok"),
    c("no link: a sign extension that may extend", P.index("jgt %r2, 200, out\nmovsx864 %r5, %r2\njgt %r5, 63, out"), "bounds"),
    c("no link: the offset copy spilled", P.index("mov %r4, %r2\nadd %r4, 1\nstxdw [%r10-16], %r4\njgt %r4, 64, out\njlt %r4, 1, out"), "ptr_arith"),
    // Spill and fill.
    c("linked add: the spilled original follows the copy", P.index("mov %r4, %r2\nadd %r4, 1\nstxdw [%r10-16], %r2\njgt %r4, 64, out\njlt %r4, 1, out\nldxdw %r2, [%r10-16]"), "ok"),
    c("linked add: a filled copy links", P.index("stxdw [%r10-16], %r2\nldxdw %r4, [%r10-16]\nadd %r4, 1\njgt %r4, 64, out\njlt %r4, 1, out\nldxdw %r2, [%r10-16]"), "ok"),
    // Pruning must tell offsets and links apart: each path does enough work (two jumps, eight
    // instructions) for a checkpoint at the join, which the second path is compared with.
    c("pruning: same offset on both paths", joined("mov %r4, %r2", "add %r4, 1", "add %r4, 1"), "ok"),
    c("pruning: a different offset on the second path", joined("mov %r4, %r2", "add %r4, 1", "add %r4, 2"), "negative"),
    c("pruning: no link on the second path", joined("mov %r4, %r2", "add %r4, 1", "add %r4, 0\nadd %r4, 1"), "ptr_arith"),
    c("pruning: the copy linked to another register", joined("mov %r5, %r2", "mov %r4, %r2\nadd %r4, 1", "mov %r4, %r3\nadd %r4, 1"), "ptr_arith"),
    c("pruning: a 32-bit offset on the second path", joined("mov %r4, %r3\nmov %r2, %r3", "add %r4, 1", "add32 %r4, 1"), "ok"),
    // Precision from a filled copy reaches the register bounded at the join (the spill is linked).
    c("pruning: the index filled from a linked spill", joined("mov %r5, %r2\nstxdw [%r10-16], %r2", "mov %r4, %r2\nadd %r4, 1",
                                                             "mov %r4, %r5\nadd %r4, 0", then: "ldxdw %r2, [%r10-16]"), "bounds"),
    // The jump's history names the linked registers: precision reaches the original.
    c("precision: a decided jump on the copy", P.index("mov %r4, %r2\nadd %r4, 1\njgt %r4, 64, out\njlt %r4, 1, out\nmov %r5, %r4\njgt %r5, 64, out\njeq %r3, 0, skip\nmov %r6, 1\nskip: mov %r6, 2"), "ok"),
]
