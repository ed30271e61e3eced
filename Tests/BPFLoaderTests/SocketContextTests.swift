import BPFLoader
import BPFObject
import BPFVerifier
import Testing

/// User space has no kernel sockets: a verified program that reads `skb->sk` or
/// `ctx->sk` runs and sees NULL, also when the host supplies the context's bytes.
@Suite("Socket pointers in contexts")
struct SocketContextTests {
    static let source = """
        SEC("tc") int tc_socket(struct __sk_buff *skb) {
            struct bpf_sock *sk = skb->sk;
            if (!sk) return 7;
            return sk->family;
        }
        SEC("socket") int socket_socket(struct __sk_buff *skb) {
            struct bpf_sock *sk = skb->sk;
            return sk ? sk->state : 9;
        }
        SEC("cgroup_skb/ingress") int cgroup_socket(struct __sk_buff *skb) {
            struct bpf_sock *sk = skb->sk;
            if (!sk) return 1;
            sk = bpf_sk_fullsock(sk);
            return sk && sk->type == 1 ? 0 : 1;
        }
        SEC("tc") int tc_lookup(struct __sk_buff *skb) {
            struct bpf_sock_tuple tuple = {};
            struct bpf_sock *sk = bpf_sk_lookup_tcp(skb, &tuple, sizeof(tuple.ipv4), BPF_F_CURRENT_NETNS, 0);
            if (!sk) return 3;
            __u32 state = sk->state;
            bpf_sk_release(sk);
            return state;
        }
        SEC("sockops") int sockops_socket(struct bpf_sock_ops *ops) {
            struct bpf_sock *sk = ops->sk;
            if (!sk) return 0;
            return sk->protocol == 6;
        }
        """

    @Test func verifiedProgramsReadNullSockets() throws {
        guard let collection = try Fixture.load(Self.source, name: "sockets",
                                                options: LoadOptions(programNames: ["tc_socket", "socket_socket", "cgroup_socket"]))
        else { return }
        for program in collection.programs { #expect(program.verification?.isAccepted == true, "\(program.name)") }
        let packet = Packet.ipv4(proto: 6, payload: Packet.tcp)
        #expect(try collection.run(program: "tc_socket", packet: packet).returnValue == 7)
        #expect(try collection.run(program: "socket_socket", packet: packet).returnValue == 9)
        #expect(try collection.run(program: "cgroup_socket", packet: packet).returnValue == 1)
    }

    @Test func lookupsFindNoSocket() throws {
        guard let collection = try Fixture.load(Self.source, name: "sockets", options: LoadOptions(programNames: ["tc_lookup"]))
        else { return }
        #expect(collection.program(named: "tc_lookup")?.verification?.isAccepted == true)
        let packets = [Packet.ipv4(proto: 6, payload: Packet.tcp), Packet.arp]
        for packet in packets { #expect(try collection.run(program: "tc_lookup", packet: packet).returnValue == 3) }
        // Linux finds no socket for the zero tuple either.
        guard KernelOracle.isAvailable else { return }
        try KernelOracle.compare(collection, program: "tc_lookup", packets: packets)
    }

    @Test func hostContextBytesNeverBecomeSockets() throws {
        guard let collection = try Fixture.load(Self.source, name: "sockets", options: LoadOptions(programNames: ["sockops_socket"]))
        else { return }
        #expect(collection.program(named: "sockops_socket")?.verification?.isAccepted == true)
        // A pointer-looking value at bpf_sock_ops.sk (184) is cleared before the run.
        var context = [UInt8](repeating: 0, count: 224)
        context.replaceSubrange(184..<192, with: u64(0xdead_beef_0000_1000))
        #expect(try collection.run(program: "sockops_socket", context: context).returnValue == 0)
    }
}
