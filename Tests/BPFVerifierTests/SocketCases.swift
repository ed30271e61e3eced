import BPFObject
@testable import BPFVerifier

private func c(_ name: String, _ source: String, _ expected: String, _ type: ProgramType = .schedCls,
               _ profile: VerifierProfile = .privileged) -> VerdictCase {
    VerdictCase(name: name, source: source, type: type, expected: expected, profile: profile)
}

/// Snippets of the socket cases.
private enum S {
    /// r6 = ctx; r0 = bpf_sk_lookup_tcp (84), bpf_sk_lookup_udp (85) or bpf_skc_lookup_tcp (99)
    /// of a zeroed IPv4 tuple in the current network namespace: a socket or NULL holding a reference.
    static func lookup(_ helper: Int = 84) -> String {
        "mov %r6, %r1\nstdw [%r10-16], 0\nstdw [%r10-8], 0\nmov %r2, %r10\nadd %r2, -16\nmov %r3, 12\nmov %r4, -1\nmov %r5, 0\ncall \(helper)\n"
    }
    /// r2 = skb->sk (sock_common or NULL); r0 = 0 on the NULL path, which exits.
    static let skbSocket = "mov %r0, 0\nldxdw %r2, [%r1+168]\njne %r2, 0, +1\nexit\n"
    /// As `skbSocket`, then `body` with r2 a valid sock_common.
    static func withSocket(_ body: String) -> String { skbSocket + body + "\nmov %r0, 0\nexit" }
    /// A read of `size` bytes at `offset` of skb->sk after its NULL check.
    static func read(_ mnemonic: String, _ offset: Int) -> String {
        withSocket("\(mnemonic) %r3, [%r2\(offset < 0 ? "" : "+")\(offset)]")
    }
}

/// Socket pointers (PTR_TO_SOCK_COMMON, PTR_TO_SOCKET, PTR_TO_TCP_SOCK and their _OR_NULL
/// kinds): the context fields that hold them, their fields, the helpers that take and
/// return them, and the references lookups acquire.
let socketCases: [VerdictCase] = [
    // __sk_buff.sk: sock_common or NULL, read whole, read-only.
    c("skb sk read", "ldxdw %r0, [%r1+168]\nexit", "ok", .socketFilter),
    c("skb sk read by tc", "ldxdw %r0, [%r1+168]\nmov %r0, 0\nexit", "ok"),
    c("skb sk read by cgroup skb", "ldxdw %r0, [%r1+168]\nmov %r0, 1\nexit", "ok", .cgroupSkb),
    c("skb sk read by lwt in", "ldxdw %r0, [%r1+168]\nmov %r0, 0\nexit", "ok", .lwtIn),
    c("skb sk read by sk skb", "ldxdw %r0, [%r1+168]\nmov %r0, 0\nexit", "ok", .skSkb),
    c("skb sk read by tc action", "ldxdw %r0, [%r1+168]\nmov %r0, 0\nexit", "ok", .schedAct),
    c("skb sk read by lwt out", "ldxdw %r0, [%r1+168]\nmov %r0, 0\nexit", "ok", .lwtOut),
    c("skb sk read by lwt xmit", "ldxdw %r0, [%r1+168]\nmov %r0, 0\nexit", "ok", .lwtXmit),
    c("skb sk read by the flow dissector", "ldxdw %r0, [%r1+168]\nmov %r0, 0\nexit", "ctx_access", .flowDissector),
    c("skb sk family by lwt in", S.read("ldxw", 4), "ok", .lwtIn),
    c("skb sk 4-byte read", "ldxw %r0, [%r1+168]\nmov %r0, 0\nexit", "ctx_access"),
    c("skb sk high half read", "ldxw %r0, [%r1+172]\nmov %r0, 0\nexit", "ctx_access"),
    c("skb sk write", "stdw [%r1+168], 0\nmov %r0, 0\nexit", "ctx_access"),
    c("skb sk returned by cgroup skb", "ldxdw %r0, [%r1+168]\nexit", "return_type", .cgroupSkb),
    c("skb sk unprivileged family", S.read("ldxw", 4), "ok", .socketFilter, .unprivileged),
    // The NULL check.
    c("skb sk read without null check", "ldxdw %r2, [%r1+168]\nldxw %r0, [%r2+4]\nmov %r0, 0\nexit", "null"),
    c("skb sk null check covers copies", "mov %r0, 0\nldxdw %r2, [%r1+168]\nmov %r3, %r2\njeq %r2, 0, +1\nldxw %r0, [%r3+4]\nmov %r0, 0\nexit", "ok"),
    c("skb sk null branch is null", "mov %r0, 0\nldxdw %r2, [%r1+168]\njne %r2, 0, +1\nldxw %r0, [%r2+4]\nmov %r0, 0\nexit", "bad_mem"),
    c("skb sk checked on one path only", "mov %r0, 0\nldxdw %r2, [%r1+168]\nldxw %r3, [%r1+0]\njeq %r3, 0, +2\njne %r2, 0, +1\nexit\nldxw %r0, [%r2+4]\nmov %r0, 0\nexit", "null"),
    c("skb sk checked on both paths", "mov %r0, 0\nldxdw %r2, [%r1+168]\nldxw %r3, [%r1+0]\njeq %r3, 0, +2\njne %r2, 0, +2\nexit\njeq %r2, 0, -2\nldxw %r0, [%r2+4]\nmov %r0, 0\nexit", "ok"),
    c("skb sk spilled and filled", S.withSocket("stxdw [%r10-8], %r2\nldxdw %r4, [%r10-8]\nldxw %r3, [%r4+4]"), "ok"),
    c("skb sk spilled before the null check", "mov %r0, 0\nldxdw %r2, [%r1+168]\nstxdw [%r10-8], %r2\njeq %r2, 0, +2\nldxdw %r4, [%r10-8]\nldxw %r3, [%r4+4]\nmov %r0, 0\nexit", "ok"),
    // struct bpf_sock fields through a sock_common.
    c("sock_common bound_dev_if", S.read("ldxw", 0), "ok"),
    c("sock_common family", S.read("ldxw", 4), "ok"),
    c("sock_common family byte", S.read("ldxb", 4), "ok"),
    c("sock_common family high half", S.read("ldxh", 6), "sock_access"),
    c("sock_common type", S.read("ldxw", 8), "sock_access"),
    c("sock_common protocol", S.read("ldxw", 12), "sock_access"),
    c("sock_common mark", S.read("ldxw", 16), "sock_access"),
    c("sock_common priority", S.read("ldxw", 20), "sock_access"),
    c("sock_common src_ip4", S.read("ldxw", 24), "ok"),
    c("sock_common src_ip4 second half", S.read("ldxh", 26), "ok"),
    c("sock_common src_ip4 last byte", S.read("ldxb", 27), "ok"),
    c("sock_common src_ip6 word", S.read("ldxw", 36), "ok"),
    c("sock_common src_ip6 misaligned word", S.read("ldxw", 30), "sock_access"),
    c("sock_common src_port", S.read("ldxw", 44), "ok"),
    c("sock_common src_port half", S.read("ldxh", 44), "ok"),
    c("sock_common dst_port word", S.read("ldxw", 48), "ok"),
    c("sock_common dst_port half", S.read("ldxh", 48), "ok"),
    c("sock_common dst_port second byte", S.read("ldxb", 49), "ok"),
    c("sock_common dst_port padding", S.read("ldxh", 50), "sock_access"),
    c("sock_common dst_ip4", S.read("ldxw", 52), "ok"),
    c("sock_common dst_ip6 last word", S.read("ldxw", 68), "ok"),
    c("sock_common state", S.read("ldxw", 72), "ok"),
    c("sock_common state byte", S.read("ldxb", 72), "ok"),
    c("sock_common state high half", S.read("ldxh", 74), "sock_access"),
    c("sock_common rx_queue_mapping", S.read("ldxw", 76), "ok"),
    c("sock_common past the end", S.read("ldxw", 80), "sock_access"),
    c("sock_common before the start", S.read("ldxw", -4), "sock_access"),
    c("sock_common 8-byte read", S.read("ldxdw", 0), "sock_access"),
    c("sock_common misaligned", S.read("ldxw", 2), "sock_access"),
    c("sock_common store", S.withSocket("stw [%r2+4], 2"), "sock_access"),
    c("sock_common register store", S.withSocket("stxw [%r2+4], %r0"), "sock_access"),
    c("sock_common atomic add", S.withSocket("mov %r3, 1\nlock add32 [%r2+4], %r3"), "sock_access"),
    c("sock_common pointer arithmetic", S.withSocket("add %r2, 4\nldxw %r3, [%r2+0]"), "ptr_arith"),
    c("sock_common or null pointer arithmetic", "ldxdw %r2, [%r1+168]\nadd %r2, 4\nmov %r0, 0\nexit", "ptr_arith"),
    c("sock_common subtraction", S.withSocket("sub %r2, 4"), "ptr_arith"),
    c("sock_common pointer to scalar by mov32 is fine", S.withSocket("mov32 %r2, %r2"), "ok"),
    // bpf_sock_ops.sk: a full socket or NULL.
    c("sock_ops sk type", "mov %r0, 0\nldxdw %r2, [%r1+184]\njeq %r2, 0, +1\nldxw %r0, [%r2+8]\nmov %r0, 1\nexit", "ok", .sockOps),
    c("sock_ops sk mark", "mov %r0, 0\nldxdw %r2, [%r1+184]\njeq %r2, 0, +1\nldxw %r0, [%r2+16]\nmov %r0, 1\nexit", "ok", .sockOps),
    c("sock_ops sk without null check", "ldxdw %r2, [%r1+184]\nldxw %r0, [%r2+8]\nmov %r0, 1\nexit", "null", .sockOps),
    c("sock_ops sk 4-byte read", "ldxw %r2, [%r1+184]\nmov %r0, 1\nexit", "ctx_access", .sockOps),
    c("sock_ops sk write", "stdw [%r1+184], 0\nmov %r0, 1\nexit", "ctx_access", .sockOps),
    c("sock_ops sk 8-byte field", "mov %r0, 0\nldxdw %r2, [%r1+184]\njeq %r2, 0, +1\nldxdw %r0, [%r2+8]\nmov %r0, 1\nexit", "sock_access", .sockOps),
    // Full socket and tcp_sock from the context's socket.
    c("skb sk fullsock type", S.withSocket("mov %r1, %r2\ncall 95\njeq %r0, 0, +1\nldxw %r3, [%r0+8]"), "ok"),
    c("skb sk fullsock without null check of the result", S.withSocket("mov %r1, %r2\ncall 95\nldxw %r3, [%r0+8]"), "null"),
    c("skb sk fullsock of a possibly null socket", "ldxdw %r1, [%r1+168]\ncall 95\nmov %r0, 0\nexit", "sock_arg"),
    c("skb sk fullsock of NULL", "mov %r1, 0\ncall 95\nmov %r0, 0\nexit", "sock_arg"),
    c("skb sk fullsock of the context", "call 95\nmov %r0, 0\nexit", "sock_arg"),
    c("skb sk fullsock 8-byte read", S.withSocket("mov %r1, %r2\ncall 95\njeq %r0, 0, +1\nldxdw %r3, [%r0+0]"), "sock_access"),
    c("skb sk fullsock read past bpf_sock", S.withSocket("mov %r1, %r2\ncall 95\njeq %r0, 0, +1\nldxw %r3, [%r0+80]"), "sock_access"),
    c("skb sk fullsock protocol byte", S.withSocket("mov %r1, %r2\ncall 95\njeq %r0, 0, +1\nldxb %r3, [%r0+12]"), "ok"),
    c("skb sk fullsock mark half", S.withSocket("mov %r1, %r2\ncall 95\njeq %r0, 0, +1\nldxh %r3, [%r0+16]"), "sock_access"),
    c("skb sk fullsock release", S.withSocket("mov %r1, %r2\ncall 95\njeq %r0, 0, +2\nmov %r1, %r0\ncall 86"), "bad_release"),
    c("skb sk release", S.withSocket("mov %r1, %r2\ncall 86"), "bad_release"),
    c("skb sk tcp_sock snd_cwnd", S.withSocket("mov %r1, %r2\ncall 96\njeq %r0, 0, +1\nldxw %r3, [%r0+0]"), "ok"),
    c("skb sk tcp_sock without null check", S.withSocket("mov %r1, %r2\ncall 96\nldxw %r3, [%r0+0]"), "null"),
    c("skb sk fullsock then tcp_sock", S.withSocket("mov %r1, %r2\ncall 95\njeq %r0, 0, +4\nmov %r1, %r0\ncall 96\njeq %r0, 0, +1\nldxw %r3, [%r0+108]"), "ok"),
    c("skb sk listener type", S.withSocket("mov %r1, %r2\ncall 98\njeq %r0, 0, +1\nldxw %r3, [%r0+8]"), "ok"),
    c("skb sk listener release", S.withSocket("mov %r1, %r2\ncall 98\njeq %r0, 0, +2\nmov %r1, %r0\ncall 86"), "bad_release"),
    c("skb sk cgroup id", S.withSocket("mov %r1, %r2\ncall 128"), "ok", .cgroupSkb),
    c("skb sk cgroup id of a possibly null socket", "ldxdw %r1, [%r1+168]\ncall 128\nmov %r0, 0\nexit", "sock_arg", .cgroupSkb),
    c("skb sk cgroup id not offered to tc", S.withSocket("mov %r1, %r2\ncall 128"), "helper_unavailable"),
    c("skb sk skc_to_tcp_sock", S.withSocket("mov %r1, %r2\ncall 137"), "ok"),
    c("skb sk assign", "mov %r6, %r1\nmov %r0, 0\nldxdw %r2, [%r1+168]\njne %r2, 0, +1\nexit\nmov %r1, %r6\nmov %r3, 0\ncall 124\nmov %r0, 0\nexit", "ok"),
    c("skb sk storage on a hash map", S.withSocket("mov %r3, 0\nmov %r4, 0\nlddw %r1, map:0\ncall 108"), "helper_arg"),
    c("skb sk and fullsock at one load", S.withSocket("mov %r6, %r2\nmov %r1, %r2\ncall 95\njeq %r0, 0, +1\nmov %r6, %r0\nldxw %r3, [%r6+4]"), "mixed_ptr"),
    // struct bpf_tcp_sock fields.
    c("tcp_sock bytes_received", S.withSocket("mov %r1, %r2\ncall 96\njeq %r0, 0, +1\nldxdw %r3, [%r0+80]"), "ok"),
    c("tcp_sock bytes_acked", S.withSocket("mov %r1, %r2\ncall 96\njeq %r0, 0, +1\nldxdw %r3, [%r0+88]"), "ok"),
    c("tcp_sock bytes_received low half", S.withSocket("mov %r1, %r2\ncall 96\njeq %r0, 0, +1\nldxw %r3, [%r0+80]"), "sock_access"),
    c("tcp_sock bytes_received high half", S.withSocket("mov %r1, %r2\ncall 96\njeq %r0, 0, +1\nldxw %r3, [%r0+84]"), "sock_access"),
    c("tcp_sock half word", S.withSocket("mov %r1, %r2\ncall 96\njeq %r0, 0, +1\nldxh %r3, [%r0+0]"), "sock_access"),
    c("tcp_sock 8-byte snd_cwnd", S.withSocket("mov %r1, %r2\ncall 96\njeq %r0, 0, +1\nldxdw %r3, [%r0+0]"), "sock_access"),
    c("tcp_sock icsk_retransmits", S.withSocket("mov %r1, %r2\ncall 96\njeq %r0, 0, +1\nldxw %r3, [%r0+108]"), "ok"),
    c("tcp_sock past the end", S.withSocket("mov %r1, %r2\ncall 96\njeq %r0, 0, +1\nldxw %r3, [%r0+112]"), "sock_access"),
    c("tcp_sock write", S.withSocket("mov %r1, %r2\ncall 96\njeq %r0, 0, +1\nstw [%r0+0], 1"), "sock_access"),
    c("tcp_sock pointer arithmetic", S.withSocket("mov %r1, %r2\ncall 96\njeq %r0, 0, +1\nadd %r0, 8"), "ptr_arith"),
    c("tcp_sock of tcp_sock", S.withSocket("mov %r1, %r2\ncall 96\njeq %r0, 0, +2\nmov %r1, %r0\ncall 96"), "ok"),
    c("tcp_sock passed to fullsock", S.withSocket("mov %r1, %r2\ncall 96\njeq %r0, 0, +2\nmov %r1, %r0\ncall 95"), "ok"),
    // A checked socket is never NULL: a second test of it decides the branch (reg_not_null).
    c("skb sk checked twice", S.withSocket("jne %r2, 0, +1\nldxw %r3, [%r9+0]"), "ok"),
    c("skb sk checked twice unprivileged", S.withSocket("jne %r2, 0, +1\nldxw %r3, [%r9+0]"), "ok", .socketFilter, .unprivileged),
    c("skb sk compared with another number", S.withSocket("jne %r2, 1, +1\nldxw %r3, [%r9+0]"), "uninit_reg"),
    c("skb sk fullsock result checked twice", S.withSocket("mov %r1, %r2\ncall 95\njeq %r0, 0, +2\njeq %r0, 0, +1\nldxw %r3, [%r0+8]"), "ok"),
    c("skb sk compared with itself", S.withSocket("jeq %r2, %r2, +0"), "ok"),
    c("skb sk compared unprivileged", S.withSocket("mov %r3, %r2\njeq %r2, %r3, +0"), "ptr_cmp", .socketFilter, .unprivileged),
    // Other helpers taking sockets.
    c("skb sk ancestor cgroup id", S.withSocket("mov %r1, %r2\nmov %r2, 1\ncall 129"), "ok", .cgroupSkb),
    c("skb sk skc_to_tcp6_sock", S.withSocket("mov %r1, %r2\ncall 136"), "ok"),
    c("skb sk skc_to_udp6_sock", S.withSocket("mov %r1, %r2\ncall 140"), "ok"),
    c("skb sk skc_to_tcp_sock of a possibly null socket", "ldxdw %r1, [%r1+168]\ncall 137\nmov %r0, 0\nexit", "sock_arg"),
    c("skb sk skc_to_tcp_sock of a scalar", "mov %r1, 8\ncall 137\nmov %r0, 0\nexit", "sock_arg"),
    c("skb sk tcp_gen_syncookie", S.withSocket("stdw [%r10-24], 0\nstdw [%r10-32], 0\nmov %r1, %r2\nmov %r2, %r10\nadd %r2, -24\nmov %r3, 8\nmov %r4, %r10\nadd %r4, -32\nmov %r5, 8\ncall 110"), "ok"),
    c("skb sk assign of a possibly null socket", "mov %r6, %r1\nldxdw %r2, [%r1+168]\nmov %r1, %r6\nmov %r3, 0\ncall 124\nmov %r0, 0\nexit", "sock_arg"),
    c("skb sk passed as memory", S.withSocket("mov %r1, %r2\nmov %r2, 4\nmov %r3, 0\nmov %r4, 0\nmov %r5, 0\ncall 28"), "helper_arg"),
    c("skb sk passed as an unsafe pointer", S.withSocket("mov %r1, %r10\nadd %r1, -8\nmov %r3, %r2\nmov %r2, 4\ncall 113"), "ok"),
    c("skb sk stored into a map value", Programs.lookup(0) + "\njeq %r0, 0, +3\nldxdw %r2, [%r6+168]\nstxdw [%r0+0], %r2\nmov %r0, 0\nexit", "ok"),
    // Lookups acquire a reference that bpf_sk_release must drop on every path.
    c("sk lookup tcp and release", S.lookup() + "jeq %r0, 0, +2\nmov %r1, %r0\ncall 86\nmov %r0, 0\nexit", "ok"),
    c("sk lookup udp and release", S.lookup(85) + "jeq %r0, 0, +2\nmov %r1, %r0\ncall 86\nmov %r0, 0\nexit", "ok"),
    c("skc lookup tcp and release", S.lookup(99) + "jeq %r0, 0, +2\nmov %r1, %r0\ncall 86\nmov %r0, 0\nexit", "ok"),
    c("sk lookup without release", S.lookup() + "mov %r0, 0\nexit", "unreleased_ref"),
    c("sk lookup released on one path only", S.lookup() + "jeq %r0, 0, +5\nmov %r1, %r0\nldxw %r2, [%r6+0]\njeq %r2, 0, +1\ncall 86\nmov %r0, 0\nexit", "unreleased_ref"),
    c("sk lookup null branch needs no release", S.lookup() + "jne %r0, 0, +2\nmov %r0, 0\nexit\nmov %r1, %r0\ncall 86\nmov %r0, 0\nexit", "ok"),
    c("sk lookup release without null check", S.lookup() + "mov %r1, %r0\ncall 86\nmov %r0, 0\nexit", "sock_arg"),
    c("sk lookup released twice", S.lookup() + "jeq %r0, 0, +5\nmov %r7, %r0\nmov %r1, %r7\ncall 86\nmov %r1, %r7\ncall 86\nmov %r0, 0\nexit", "sock_arg"),
    c("sk lookup read after release", S.lookup() + "jeq %r0, 0, +4\nmov %r7, %r0\nmov %r1, %r7\ncall 86\nldxw %r2, [%r7+4]\nmov %r0, 0\nexit", "bad_mem"),
    c("sk lookup type then release", S.lookup() + "jeq %r0, 0, +3\nldxw %r2, [%r0+8]\nmov %r1, %r0\ncall 86\nmov %r0, 0\nexit", "ok"),
    c("sk lookup read without null check", S.lookup() + "ldxw %r2, [%r0+4]\nmov %r0, 0\nexit", "null"),
    c("sk lookup write", S.lookup() + "jeq %r0, 0, +3\nstw [%r0+16], 1\nmov %r1, %r0\ncall 86\nmov %r0, 0\nexit", "sock_access"),
    c("skc lookup type", S.lookup(99) + "jeq %r0, 0, +3\nldxw %r2, [%r0+8]\nmov %r1, %r0\ncall 86\nmov %r0, 0\nexit", "sock_access"),
    c("skc lookup family", S.lookup(99) + "jeq %r0, 0, +3\nldxw %r2, [%r0+4]\nmov %r1, %r0\ncall 86\nmov %r0, 0\nexit", "ok"),
    c("skc lookup fullsock type then release", S.lookup(99) + "jeq %r0, 0, +8\nmov %r7, %r0\nmov %r1, %r0\ncall 95\njeq %r0, 0, +1\nldxw %r2, [%r0+8]\nmov %r1, %r7\ncall 86\nmov %r0, 0\nexit", "ok"),
    c("skc lookup fullsock released through the full socket", S.lookup(99) + "jeq %r0, 0, +8\nmov %r7, %r0\nmov %r1, %r0\ncall 95\njne %r0, 0, +2\nmov %r1, %r7\nja +1\nmov %r1, %r0\ncall 86\nmov %r0, 0\nexit", "ok"),
    c("skc lookup fullsock null branch keeps the reference", S.lookup(99) + "jeq %r0, 0, +6\nmov %r7, %r0\nmov %r1, %r0\ncall 95\njeq %r0, 0, +2\nmov %r1, %r7\ncall 86\nmov %r0, 0\nexit", "unreleased_ref"),
    c("skc lookup fullsock read after release", S.lookup(99) + "jeq %r0, 0, +7\nmov %r1, %r0\nmov %r7, %r0\ncall 95\njeq %r0, 0, +4\nmov %r8, %r0\nmov %r1, %r7\ncall 86\nldxw %r2, [%r8+8]\nmov %r0, 0\nexit", "bad_mem"),
    c("sk lookup tcp_sock then release", S.lookup() + "jeq %r0, 0, +7\nmov %r7, %r0\nmov %r1, %r0\ncall 96\njeq %r0, 0, +1\nldxw %r2, [%r0+0]\nmov %r1, %r7\ncall 86\nmov %r0, 0\nexit", "ok"),
    c("sk lookup tcp_sock released", S.lookup() + "jeq %r0, 0, +6\nmov %r7, %r0\nmov %r1, %r0\ncall 96\njeq %r0, 0, +3\nmov %r1, %r0\ncall 86\nja +2\nmov %r1, %r7\ncall 86\nmov %r0, 0\nexit", "ok"),
    c("sk lookup listener release keeps the lookup's reference", S.lookup() + "jeq %r0, 0, +9\nmov %r7, %r0\nmov %r1, %r0\ncall 98\njeq %r0, 0, +4\nmov %r1, %r0\ncall 86\nmov %r0, 0\nexit\nmov %r1, %r7\ncall 86\nmov %r0, 0\nexit", "bad_release"),
    c("sk lookup spilled reference released", S.lookup() + "stxdw [%r10-24], %r0\njeq %r0, 0, +3\nldxdw %r1, [%r10-24]\ncall 86\nmov %r0, 0\nexit", "ok"),
    c("sk lookup tail call with a reference", S.lookup() + "mov %r7, %r0\nmov %r1, %r6\nlddw %r2, map:3\nmov %r3, 0\ncall 12\njeq %r7, 0, +2\nmov %r1, %r7\ncall 86\nmov %r0, 0\nexit", "unreleased_ref"),
    c("sk lookup ld_abs with a reference", S.lookup() + "mov %r7, %r0\nldabsb 0\njeq %r7, 0, +2\nmov %r1, %r7\ncall 86\nmov %r0, 0\nexit", "unreleased_ref"),
    c("sk lookup assign and release", S.lookup() + "jeq %r0, 0, +7\nmov %r7, %r0\nmov %r1, %r6\nmov %r2, %r7\nmov %r3, 0\ncall 124\nmov %r1, %r7\ncall 86\nmov %r0, 0\nexit", "ok"),
    c("sk lookup tcp_check_syncookie", S.lookup() + "jeq %r0, 0, +13\nmov %r7, %r0\nstdw [%r10-24], 0\nstdw [%r10-32], 0\nmov %r1, %r7\nmov %r2, %r10\nadd %r2, -24\nmov %r3, 8\nmov %r4, %r10\nadd %r4, -32\nmov %r5, 8\ncall 100\nmov %r1, %r7\ncall 86\nmov %r0, 0\nexit", "ok"),
    c("sk lookup references in a join", S.lookup() + "jeq %r0, 0, +5\nmov %r7, %r0\nldxw %r3, [%r6+0]\njeq %r3, 0, +0\nmov %r1, %r7\ncall 86\nmov %r0, 0\nexit", "ok"),
    c("sk lookup two sockets released crosswise", S.lookup() + "mov %r7, %r0\n" + S.lookup().replacingOccurrences(of: "mov %r6, %r1\n", with: "mov %r1, %r6\n") + "mov %r8, %r0\njeq %r7, 0, +2\nmov %r1, %r7\ncall 86\njeq %r8, 0, +2\nmov %r1, %r8\ncall 86\nmov %r0, 0\nexit", "ok"),
    c("sk lookup two sockets one released", S.lookup() + "mov %r7, %r0\n" + S.lookup().replacingOccurrences(of: "mov %r6, %r1\n", with: "mov %r1, %r6\n") + "mov %r8, %r0\njeq %r7, 0, +2\nmov %r1, %r7\ncall 86\nmov %r0, 0\nexit", "unreleased_ref"),
    c("xdp sk lookup and release", S.lookup() + "jeq %r0, 0, +2\nmov %r1, %r0\ncall 86\nmov %r0, 2\nexit", "ok", .xdp),
    c("xdp skc lookup without release", S.lookup(99) + "mov %r0, 2\nexit", "unreleased_ref", .xdp),
    c("cgroup skb sk lookup and release", S.lookup() + "jeq %r0, 0, +2\nmov %r1, %r0\ncall 86\nmov %r0, 1\nexit", "ok", .cgroupSkb),
    c("sk lookup released in a subprogram", S.lookup() + "jeq %r0, 0, +2\nmov %r1, %r0\ncall local f\nmov %r0, 0\nexit\nf: call 86\nmov %r0, 0\nexit", "ok"),
    c("sk lookup in a subprogram released by the caller", "call local f\njeq %r0, 0, +2\nmov %r1, %r0\ncall 86\nmov %r0, 0\nexit\nf: " + S.lookup() + "exit", "ok"),
    c("sk lookup in a subprogram never released", "call local f\nmov %r0, 0\nexit\nf: " + S.lookup() + "exit", "unreleased_ref"),
    c("sk lookup in a loop released each time", "mov %r6, %r1\nmov %r7, 0\nl: mov %r1, %r6\n" + S.lookup().replacingOccurrences(of: "mov %r6, %r1\n", with: "") + "jeq %r0, 0, +2\nmov %r1, %r0\ncall 86\nadd %r7, 1\njlt %r7, 4, l\nmov %r0, 0\nexit", "ok"),
    c("sk lookup in a loop leaking", "mov %r6, %r1\nmov %r7, 0\nl: mov %r1, %r6\n" + S.lookup().replacingOccurrences(of: "mov %r6, %r1\n", with: "") + "add %r7, 1\njlt %r7, 4, l\nmov %r0, 0\nexit", "unreleased_ref"),
    // A sockmap lookup gives a referenced full socket.
    c("sockmap lookup and release", Programs.lookup(7) + "\njeq %r0, 0, +3\nldxw %r2, [%r0+8]\nmov %r1, %r0\ncall 86\nmov %r0, 0\nexit", "ok"),
    c("sockmap lookup without release", Programs.lookup(7) + "\nmov %r0, 0\nexit", "unreleased_ref"),
    c("sockmap lookup 8-byte read", Programs.lookup(7) + "\njeq %r0, 0, +3\nldxdw %r2, [%r0+0]\nmov %r1, %r0\ncall 86\nmov %r0, 0\nexit", "sock_access"),
    c("sockmap lookup write", Programs.lookup(7) + "\njeq %r0, 0, +3\nstw [%r0+0], 1\nmov %r1, %r0\ncall 86\nmov %r0, 0\nexit", "sock_access"),
    c("sockmap lookup without null check", Programs.lookup(7) + "\nldxw %r2, [%r0+4]\nmov %r0, 0\nexit", "null"),
    c("sk lookup not offered to socket filters", S.lookup() + "mov %r0, 0\nexit", "helper_unavailable", .socketFilter),
]
