import BPFObject
@testable import BPFVerifier

/// One program of the verdict table: assembly text, program type, and what Linux 6.18 (root)
/// decides — "ok", or the ``VerifierError/kind`` BPFKit must refuse it with.
struct VerdictCase: CustomStringConvertible, Sendable {
    var name: String
    var source: String
    var type: ProgramType = .socketFilter
    var expected: String
    var profile: VerifierProfile = .privileged
    var description: String { name }
}

/// Programs for the table. `lddw map:N` names `OracleMaps.descriptions[N]`.
enum Programs {
    /// r6 = ctx; r0 = lookup(map `map`, key 0) or NULL.
    static func lookup(_ map: Int) -> String {
        """
        mov %r6, %r1
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map:\(map)
        call 1
        """
    }

    /// A 64-byte map value in r0 (NULL-checked), an unknown 64-bit scalar in r2 (the value's
    /// first word) and an unknown 32-bit one in r3 (ctx->len); `body` shapes r2, then
    /// `r0 += r2; r0 = *(u8 *)(r0 + 0)`. Safe when r2 ends in [0, 63].
    static func index(_ body: String) -> String {
        lookup(OracleMaps.hash64) + """

        jeq %r0, 0, out
        ldxdw %r2, [%r0+0]
        ldxw %r3, [%r6+0]
        \(body)
        add %r0, %r2
        ldxb %r0, [%r0+0]
        exit
        out: mov %r0, 0
        exit
        """
    }

    /// XDP: r2 = data, r3 = data_end, r1 = ctx; `body` follows.
    static func xdp(_ body: String) -> String {
        "ldxw %r2, [%r1+0]\nldxw %r3, [%r1+4]\n" + body
    }

    /// TC (sched_cls): r2 = skb->data, r3 = skb->data_end.
    static func tc(_ body: String) -> String {
        "ldxw %r2, [%r1+76]\nldxw %r3, [%r1+80]\n" + body
    }

    /// A chain of `depth` frames (main plus depth-1 callees), each touching `stack` bytes.
    static func callChain(depth: Int, stack: Int) -> String {
        var text = ""
        for level in 0..<depth {
            if level > 0 { text += "f\(level):\n" }
            text += "stdw [%r10-\(stack)], 0\n"
            if level + 1 < depth { text += "call local f\(level + 1)\n" }
            text += "mov %r0, 0\nexit\n"
        }
        return text
    }

    /// A ringbuf reservation of 8 bytes in r0 (r6 = ctx).
    static let reserve = "mov %r6, %r1\nlddw %r1, map:2\nmov %r2, 8\nmov %r3, 0\ncall 131\n"
}
