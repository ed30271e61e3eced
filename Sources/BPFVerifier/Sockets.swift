import BPFObject

/// Socket helpers as Linux 6.18 types them (net/core/filter.c protos). BPFABI's table
/// says only that an argument is "a socket" and a return "a socket or NULL"; Linux's
/// argument kinds (`ARG_PTR_TO_SOCK_COMMON`, `ARG_PTR_TO_BTF_ID_SOCK_COMMON`,
/// `ARG_PTR_TO_SOCKET_OR_NULL`, `OBJ_RELEASE`) and return kinds
/// (`RET_PTR_TO_SOCKET_OR_NULL`, `RET_PTR_TO_SOCK_COMMON_OR_NULL`,
/// `RET_PTR_TO_TCP_SOCK_OR_NULL`) are chosen here, per helper.
enum SocketHelpers {
    /// What a helper's socket argument must be.
    enum Argument: Equatable {
        /// Any socket kind, not NULL (sock_common, sock, tcp_sock).
        case anySocket
        /// Any socket kind holding a reference, which the call releases (bpf_sk_release).
        case released
        /// A full socket or NULL (bpf_sk_assign in sk_lookup programs).
        case fullSocketOrNull
        /// The context, which is the socket (bpf_sk_storage_get/delete in cgroup/sock programs).
        case context
    }

    static let skRelease: Int32 = 86
    static let skAssign: Int32 = 124
    static let skStorageGet: Int32 = 107, skStorageDelete: Int32 = 108

    static func argument(helper id: Int32, programType: ProgramType) -> Argument {
        switch id {
        case skRelease: return .released
        case skAssign where programType == .skLookup: return .fullSocketOrNull
        case skStorageGet where programType == .cgroupSock, skStorageDelete where programType == .cgroupSock: return .context
        // sk_fullsock, tcp_sock, get_listener_sock (ARG_PTR_TO_SOCK_COMMON); tcp_check_syncookie,
        // tcp_gen_syncookie, sk_storage_get/delete, sk_assign (tc), sk_cgroup_id,
        // sk_ancestor_cgroup_id, skc_to_* (ARG_PTR_TO_BTF_ID_SOCK_COMMON): the same kinds here.
        default: return .anySocket
        }
    }

    /// What a helper returning "a socket or NULL" returns.
    struct Result {
        var kind: RegisterKind
        /// The helper takes a new reference (`is_acquire_function`).
        var acquires = false
        /// The result shares its argument's reference (`is_ptr_cast_function`).
        var castsArgument = false
    }

    static func result(helper id: Int32) -> Result {
        switch id {
        case 84, 85: Result(kind: .socket, acquires: true)          // sk_lookup_tcp, sk_lookup_udp
        case 99: Result(kind: .socketCommon, acquires: true)        // skc_lookup_tcp
        case 95: Result(kind: .socket, castsArgument: true)         // sk_fullsock
        case 96: Result(kind: .tcpSocket, castsArgument: true)      // tcp_sock
        case 98: Result(kind: .socket)                              // get_listener_sock: not counted
        default: Result(kind: .socket)
        }
    }
}

extension Engine {
    /// Checks a socket argument in `register`; returns the reference the call releases, if any.
    func socketArgument(_ state: AbstractState, pc: Int, helper id: Int32, name: String, register r: Int) throws -> UInt32? {
        let v = try readRegister(state, r, pc)
        let expected = SocketHelpers.argument(helper: id, programType: input.programType)
        func mismatch(_ kinds: String) -> Failure {
            var got = v.description
            if v.kind == .scalar { got = "scalar" } else if v.mayBeNull { got = v.kind.description + "_or_null" }
            return fail(.socketArgument(pc: pc, helper: name, argument: r, expected: kinds, got: got))
        }
        switch expected {
        case .context:
            guard v.kind == .context else { throw mismatch("ctx") }
            if v.offset != 0 || v.value.constantValue != 0 {
                throw fail(.modifiedContextPointer(pc: pc, register: r, offset: Int(v.offset)))
            }
            return nil
        case .fullSocketOrNull:
            if v.kind == .scalar && v.value.constantValue == 0 { return nil }
            guard v.kind == .socket else { throw mismatch("sock_or_null") }
            return nil
        case .anySocket, .released:
            guard v.kind.isSocket, !v.mayBeNull else { throw mismatch("sock_common, sock, tcp_sock") }
            guard expected == .released else { return nil }
            guard v.referenceID != 0 else { throw fail(.unreferencedSocketRelease(pc: pc, register: r, kind: v.kind.description)) }
            return v.referenceID
        }
    }

    /// bpf_map_lookup_elem on a sockmap or sockhash: Linux gives the socket itself
    /// (PTR_TO_SOCKET once checked, `mark_ptr_or_null_reg`) and takes a reference
    /// (`is_acquire_function`). A run-time sockmap must therefore hand out sockets, never
    /// the map's value bytes (BPFMaps has no sockmap: such programs do not load).
    func socketFromMap(_ state: inout AbstractState, pc: Int, name: String) -> RegisterValue {
        socketResult(&state, pc: pc, helper: -1, name: name, argument: .uninitialized,
                     shape: SocketHelpers.Result(kind: .socket, acquires: true))
    }

    /// The socket-or-NULL a helper returns; an acquiring lookup records its reference in `state`.
    func socketResult(_ state: inout AbstractState, pc: Int, helper id: Int32, name: String,
                      argument: RegisterValue, shape: SocketHelpers.Result? = nil) -> RegisterValue {
        let shape = shape ?? SocketHelpers.result(helper: id)
        var value = RegisterValue(kind: shape.kind, mayBeNull: true)
        if shape.acquires {
            // As Linux: the pointer's id is its reference, so the NULL branch of a check drops it.
            let reference = newID()
            state.references.append(AcquiredReference(id: reference, pc: pc, helper: name))
            value.id = reference
            value.referenceID = reference
        } else {
            value.id = newID()
            if shape.castsArgument && argument.kind.isSocket { value.referenceID = argument.referenceID }
        }
        nullableOrigins[value.id] = (name, pc)
        return value
    }
}
