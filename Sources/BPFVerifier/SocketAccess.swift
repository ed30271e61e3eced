/// Loads through socket pointers (Linux's `check_sock_access`): which bytes of
/// `struct bpf_sock` and `struct bpf_tcp_sock` (UAPI, x86-64) a program may read,
/// and with which sizes. Linux rewrites each such load into a read of the kernel's
/// own socket, so every access is read-only, at a constant offset, and field-exact.
enum SocketFields {
    /// `sizeof(struct bpf_sock)`.
    static let socketSize = 80
    /// `offsetofend(struct bpf_tcp_sock, icsk_retransmits)`.
    static let tcpSocketSize = 112

    /// Whether a `size`-byte read at `offset` is allowed through a pointer of `kind`.
    static func allows(_ kind: RegisterKind, offset: Int, size: Int) -> Bool {
        switch kind {
        case .tcpSocket: tcpSocketAllows(offset: offset, size: size)
        case .socketCommon:
            // `bpf_sock_common_is_valid_access`: type, protocol, mark and priority
            // (bytes 8..<24) live in `struct sock`, not in `struct sock_common`.
            !(8..<24).contains(offset) && socketAllows(offset: offset, size: size)
        case .socket: socketAllows(offset: offset, size: size)
        default: false
        }
    }

    /// A 1-, 2- or 4-byte read of a 4-byte field (`bpf_ctx_narrow_access_ok`).
    static func narrow(_ size: Int, within fieldSize: Int) -> Bool {
        size <= fieldSize && size & (size - 1) == 0
    }

    /// `bpf_sock_is_valid_access`.
    static func socketAllows(offset: Int, size: Int) -> Bool {
        guard offset >= 0, offset < socketSize, size > 0, offset % size == 0 else { return false }
        switch offset {
        // family, type, protocol, src_port, state, rx_queue_mapping: narrow reads at the field's start.
        case 4, 8, 12, 44, 72, 76: return narrow(size, within: 4)
        // src_ip4, src_ip6[4], dst_ip4, dst_ip6[4]: narrow reads anywhere within the field.
        case 24..<44, 52..<72: return narrow(size, within: 4)
        // dst_port (__be16) and its padding: a 4-byte read, or reads within the 2-byte port.
        case 48..<50: return size == 4 || narrow(size, within: 2)
        case 50..<52: return false
        // bound_dev_if, mark, priority: whole.
        default: return size == 4
        }
    }

    /// `bpf_tcp_sock_is_valid_access`: 4-byte reads, 8-byte ones of bytes_received and
    /// bytes_acked. (Linux's check lets a 4-byte read of a u64 counter's high half, at 84
    /// or 92, through, but then fails to rewrite it and refuses the program: refused here.)
    static func tcpSocketAllows(offset: Int, size: Int) -> Bool {
        guard offset >= 0, offset < tcpSocketSize, size > 0, offset % size == 0 else { return false }
        switch offset {
        case 80, 88: return size == 8
        case 84, 92: return false
        default: return size == 4
        }
    }
}

extension Engine {
    /// The value a context load of a socket-pointer field gives: a socket of `kind` or NULL,
    /// with a fresh id so that a NULL check on one copy applies to all.
    func socketFromContext(_ kind: RegisterKind, pc: Int) -> RegisterValue {
        let id = newID()
        nullableOrigins[id] = ("the context's socket field", pc)
        return RegisterValue(kind: kind, mayBeNull: true, id: id)
    }

    /// `check_sock_access`: a read of a socket field (the caller has refused NULL).
    func socketAccess(pc: Int, baseReg: Int, base: RegisterValue, offset: Int, size: Int, isWrite: Bool,
                      isAtomic: Bool) throws -> RegisterValue {
        let kind = base.kind.description
        let fieldOffset = Int(base.offset) + offset
        func refuse(_ reason: String) -> Failure {
            fail(.socketAccess(pc: pc, register: baseReg, kind: kind, offset: fieldOffset, size: size, reason: reason))
        }
        if isAtomic { throw refuse("BPF_ATOMIC stores into a \(kind) are not allowed") }
        if isWrite { throw refuse("cannot write into \(kind): socket fields are read-only") }
        // Arithmetic on socket pointers is refused, so the offset is the instruction's.
        guard base.value.isConstant, base.value.constantValue == 0 else {
            throw refuse("the pointer has a variable offset")
        }
        guard SocketFields.allows(base.kind, offset: fieldOffset, size: size) else {
            let structure = base.kind == .tcpSocket ? "struct bpf_tcp_sock" : "struct bpf_sock"
            let within = base.kind == .socketCommon ? " as a sock_common" : ""
            throw refuse("no field of \(structure) can be read with this offset and size\(within)")
        }
        return .scalar(Scalar.unknown.truncated(toBytes: size))
    }
}
