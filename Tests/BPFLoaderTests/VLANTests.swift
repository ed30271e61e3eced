import BPFLoader
import Testing

/// bpf_skb_vlan_push/pop against Linux's test_run.
@Suite("VLAN helpers")
struct VLANTests {
    static let source = """
        #define TAG(skb) ((skb)->vlan_present | ((skb)->vlan_tci << 4) | ((skb)->vlan_proto << 16))
        SEC("tc") int push_once(struct __sk_buff *skb) {
            if (bpf_skb_vlan_push(skb, bpf_htons(0x8100), 5)) return 1;
            return TAG(skb);
        }
        SEC("tc") int push_twice(struct __sk_buff *skb) {
            if (bpf_skb_vlan_push(skb, bpf_htons(0x8100), 5)) return 1;
            if (bpf_skb_vlan_push(skb, bpf_htons(0x88a8), 7)) return 2;
            return TAG(skb) ^ (skb->protocol << 8) ^ (skb->len << 20);
        }
        SEC("tc") int push_pop(struct __sk_buff *skb) {
            bpf_skb_vlan_push(skb, bpf_htons(0x8100), 5);
            bpf_skb_vlan_push(skb, bpf_htons(0x8100), 9);
            if (bpf_skb_vlan_pop(skb)) return 1;
            return TAG(skb) ^ (skb->protocol << 8) ^ (skb->len << 20);
        }
        SEC("tc") int pop_in_packet(struct __sk_buff *skb) {
            long popped = bpf_skb_vlan_pop(skb);
            return TAG(skb) ^ (skb->protocol << 8) ^ (skb->len << 20) ^ (popped == 0);
        }
        """

    static var tagged: [UInt8] {
        let inner = Packet.ipv4(proto: 17, payload: Packet.udp)
        return Array(inner.prefix(12)) + [0x81, 0x00, 0x00, 0x2a] + Array(inner.dropFirst(12))
    }

    @Test func pushAndPopMatchLinux() throws {
        guard let collection = try Fixture.load(Self.source, name: "vlan") else { return }
        let plain = Packet.ipv4(proto: 17, payload: Packet.udp)
        let once = try collection.run(program: "push_once", packet: plain)
        #expect(once.returnValue == 1 | 5 << 4 | 0x0081 << 16 && once.packetAfter == plain)
        let twice = try collection.run(program: "push_twice", packet: plain)
        #expect(twice.packetAfter == Array(plain.prefix(12)) + [0x81, 0x00, 0x00, 0x05] + Array(plain.dropFirst(12)))
        let popped = try collection.run(program: "pop_in_packet", packet: Self.tagged)
        #expect(popped.packetAfter == plain)
        guard KernelOracle.isAvailable else { return }
        for name in ["push_once", "push_twice", "push_pop", "pop_in_packet"] {
            try KernelOracle.compare(collection, program: name, packets: [plain, Self.tagged, Packet.arp])
        }
    }
}
