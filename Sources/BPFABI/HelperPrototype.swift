/// How the verifier checks one helper argument (the kernel's `enum bpf_arg_type`, with
/// its flags folded into distinct cases).
public enum HelperArgumentKind: Sendable, Hashable {
    /// Any initialised scalar or pointer (`ARG_ANYTHING`).
    case anything
    /// A map loaded with `lddw` (`ARG_CONST_MAP_PTR`).
    case constMapPointer
    /// Pointer to a key of the preceding map's key size (`ARG_PTR_TO_MAP_KEY`).
    case mapKey
    /// Pointer to an initialised value of the preceding map's value size (`ARG_PTR_TO_MAP_VALUE`).
    case mapValue
    /// Like `mapValue`, or null (`ARG_PTR_TO_MAP_VALUE_OR_NULL`).
    case mapValueOrNull
    /// Pointer to value-sized memory the helper fills (`ARG_PTR_TO_MAP_VALUE | MEM_UNINIT`).
    case uninitializedMapValue
    /// Initialised memory the helper only reads (`ARG_PTR_TO_MEM | MEM_RDONLY`).
    case readableMemory
    /// Like `readableMemory`, or null (`| PTR_MAYBE_NULL`).
    case readableMemoryOrNull
    /// Initialised memory the helper may read and write (`ARG_PTR_TO_MEM`).
    case writableMemory
    /// Like `writableMemory`, or null (`ARG_PTR_TO_MEM_OR_NULL`).
    case writableMemoryOrNull
    /// Memory the helper only writes; it may be uninitialised (`ARG_PTR_TO_UNINIT_MEM`).
    case uninitializedMemory
    /// Constant-bounded size, greater than zero, of the memory argument at index `of` (`ARG_CONST_SIZE`).
    case constSize(of: Int)
    /// Like `constSize`, zero allowed (`ARG_CONST_SIZE_OR_ZERO`).
    case constSizeOrZero(of: Int)
    /// Constant size of memory the helper allocates, e.g. `ringbuf_reserve` (`ARG_CONST_ALLOC_SIZE_OR_ZERO`).
    case constAllocationSizeOrZero
    /// The program's context pointer (`ARG_PTR_TO_CTX`).
    case context
    /// Stack pointer to 8 bytes the helper writes (`ARG_PTR_TO_LONG`).
    case longResult
    /// Stack pointer to 4 bytes the helper writes (`ARG_PTR_TO_INT`).
    case intResult
    /// A `struct bpf_spin_lock` inside a map value (`ARG_PTR_TO_SPIN_LOCK`).
    case spinLock
    /// A `struct bpf_timer` inside a map value (`ARG_PTR_TO_TIMER`).
    case timer
    /// A `struct bpf_dynptr` on the stack (`ARG_PTR_TO_DYNPTR`).
    case dynptr
    /// A subprogram address loaded with `ld_imm64 src=BPF_PSEUDO_FUNC` (`ARG_PTR_TO_FUNC`).
    case callback
    /// Stack pointer or null passed through to a callback (`ARG_PTR_TO_STACK_OR_NULL`).
    case stackOrNull
    /// Memory returned by `ringbuf_reserve`, released by this call (`ARG_PTR_TO_RINGBUF_MEM | OBJ_RELEASE`).
    case ringbufMemory
    /// Pointer to a NUL-terminated string in a read-only map (`ARG_PTR_TO_CONST_STR`).
    case constString
    /// A socket pointer (`ARG_PTR_TO_SOCKET`, `ARG_PTR_TO_SOCK_COMMON`, `ARG_PTR_TO_BTF_ID_SOCK_COMMON`).
    case socket
    /// A BTF-typed kernel pointer (`ARG_PTR_TO_BTF_ID` and its variants), treated generically.
    case btfPointer

    /// True for the cases that pass a pointer to memory whose size another argument gives.
    public var isSizedMemory: Bool {
        switch self {
        case .readableMemory, .readableMemoryOrNull, .writableMemory, .writableMemoryOrNull, .uninitializedMemory: true
        default: false
        }
    }
}

/// What a helper returns, as the verifier types `r0` (the kernel's `enum bpf_return_type`).
public enum HelperReturnKind: Sendable, Hashable {
    /// A scalar (`RET_INTEGER`).
    case integer
    /// Nothing; `r0` is unreadable afterwards (`RET_VOID`).
    case void
    /// A value of the map argument, never null (`RET_PTR_TO_MAP_VALUE`).
    case mapValue
    /// A value of the map argument, or null (`RET_PTR_TO_MAP_VALUE_OR_NULL`).
    case mapValueOrNull
    /// Ring-buffer memory of the size given by the argument at index `sizeArgument`, or null.
    case ringbufMemoryOrNull(sizeArgument: Int)
    /// Memory of unknown size, or null (`RET_PTR_TO_MEM_OR_NULL`, dynptr data, per-CPU pointers).
    case memoryOrNull
    /// A socket (`RET_PTR_TO_SOCKET_OR_NULL`, `_TCP_SOCK_`, `_SOCK_COMMON_`), or null.
    case socketOrNull
    /// A BTF-typed kernel pointer, never null (`RET_PTR_TO_BTF_ID`).
    case btfPointer
    /// A BTF-typed kernel pointer, or null (`RET_PTR_TO_BTF_ID_OR_NULL`).
    case btfPointerOrNull
}

/// One parameter of a helper's C signature.
public struct HelperParameter: Sendable, Hashable {
    /// The C type as the kernel documents it (`const void *`, `u32`, `struct bpf_map *`).
    public var type: String
    public var name: String

    public init(type: String, name: String) {
        self.type = type
        self.name = name
    }
}

/// A Linux helper function: its ID (the `call` immediate), C signature and the verifier's view of it.
public struct HelperPrototype: Sendable, Hashable {
    /// `BPF_FUNC_*` number.
    public var id: Int32
    /// The name without the `bpf_` prefix (`map_lookup_elem`).
    public var name: String
    /// The documented C return type (`void *`, `long`, `u64`).
    public var returnType: String
    /// The documented C parameters (for header generation).
    public var parameters: [HelperParameter]
    /// True for `trace_printk`-style `...` signatures.
    public var isVariadic: Bool
    /// How the verifier checks `r1`...; one entry per argument register the helper reads.
    public var arguments: [HelperArgumentKind]
    public var returnKind: HelperReturnKind
    /// True if only GPL-compatible programs may call the helper (`gpl_only`).
    public var isGPLOnly: Bool

    public init(
        id: Int32, name: String, returnType: String, parameters: [HelperParameter], isVariadic: Bool = false,
        arguments: [HelperArgumentKind], returnKind: HelperReturnKind, isGPLOnly: Bool = false
    ) {
        self.id = id
        self.name = name
        self.returnType = returnType
        self.parameters = parameters
        self.isVariadic = isVariadic
        self.arguments = arguments
        self.returnKind = returnKind
        self.isGPLOnly = isGPLOnly
    }

    /// The C name, `bpf_` + `name`.
    public var cName: String { "bpf_" + name }

    /// The kernel-documented C declaration: `void *bpf_map_lookup_elem(struct bpf_map *map, const void *key)`.
    public var cSignature: String {
        var parts = parameters.map { Self.join($0.type, $0.name) }
        if isVariadic { parts.append("...") }
        let list = parts.isEmpty ? "void" : parts.joined(separator: ", ")
        return Self.join(returnType, cName) + "(" + list + ")"
    }

    static func join(_ type: String, _ name: String) -> String {
        type.hasSuffix("*") ? type + name : type + " " + name
    }
}
