import BPFABI
import BPFObject

/// What a helper argument must be (Linux's `enum bpf_arg_type`, the kinds the verifier checks).
public enum HelperArgument: Sendable, Hashable {
    /// Any initialised value (scalar or, for privileged programs, pointer).
    case anything
    /// Any initialised scalar.
    case scalar
    /// A map pointer loaded with `lddw map:`.
    case mapPointer
    /// A pointer to `keySize` initialised bytes (stack or map value).
    case mapKey
    /// A pointer to `valueSize` initialised bytes.
    case mapValue
    /// A pointer to `valueSize` writable bytes.
    case uninitializedMapValue
    /// Readable memory whose size is the next argument.
    case readableMemory(nullable: Bool)
    /// Writable memory whose size is the next argument (need not be initialised).
    case writableMemory
    /// The size of the preceding memory argument (`zeroAllowed`: `ARG_CONST_SIZE_OR_ZERO`).
    case size(zeroAllowed: Bool)
    /// The program's context pointer.
    case context
    /// The size of a ring buffer reservation: a known constant.
    case allocationSize
    /// A ring buffer reservation, released by the call.
    case releasedRingBufferMemory
    /// A callback function loaded with `lddw func:`.
    case callback
    /// A stack pointer or NULL (bpf_loop's callback context).
    case stackOrNull
    /// Pointer to 8 writable bytes (ARG_PTR_TO_LONG).
    case writableLong
    /// A socket pointer; which socket kinds, NULL or a released reference the helper
    /// takes is Linux's per-helper choice (`Engine.socketArgument`, Sockets.swift).
    case socket
    /// Writable memory or NULL whose size is the next argument (NULL only with size 0).
    case writableMemoryOrNull
    /// A pointer to the `struct bpf_spin_lock` of a map value (bpf_spin_lock/unlock).
    case spinLock
    /// A NUL-terminated string in a read-only map value, read at load time (`ARG_PTR_TO_CONST_STR`).
    case constantString
    /// A kind the verifier does not check yet (timers, dynptrs, …):
    /// a program passing one is refused rather than trusted.
    case unchecked(String)
}

/// What a helper returns.
public enum HelperReturn: Sendable, Hashable {
    case integer
    case void
    case mapValueOrNull
    /// Ring buffer memory or NULL, of the size of argument 2; acquires a reference.
    case ringBufferMemoryOrNull
    /// A socket pointer or NULL; its kind and reference are the helper's (Sockets.swift).
    case socketOrNull
}

/// A helper's prototype as the verifier checks it.
public struct HelperSignature: Sendable, Hashable {
    public var id: Int32
    public var name: String
    public var arguments: [HelperArgument]
    public var returns: HelperReturn
    /// Map types the map-pointer argument must have (empty: any).
    public var mapTypes: Set<MapTypeName> = []

    public init(_ id: Int32, _ name: String, _ arguments: [HelperArgument], _ returns: HelperReturn = .integer,
                mapTypes: Set<MapTypeName> = []) {
        self.id = id; self.name = name; self.arguments = arguments; self.returns = returns; self.mapTypes = mapTypes
    }
}

/// Map type families a helper may require.
public enum MapTypeName: Sendable, Hashable { case programArray, ringBuffer, perfEventArray, stackTrace, queueOrStack, sockMap, devMap, socketStorage }

/// The helper prototypes and their availability per program type.
/// `LinuxHelpers` reads them from BPFABI's table.
public protocol HelperCatalog: Sendable {
    func prototype(of id: Int32) -> HelperSignature?
    func isAvailable(_ id: Int32, to type: ProgramType) -> Bool
}

/// What reading or writing a context field yields.
public enum ContextAccess: Sendable, Hashable {
    case scalar
    case packetStart
    case packetEnd
    case packetMeta
    /// A socket pointer of the given kind, or NULL (`__sk_buff.sk`, `bpf_sock_ops.sk`).
    case socketOrNull(RegisterKind)
}

/// Context layouts per program type. BPFABI's `ContextLayout` will implement this.
public protocol ContextCatalog: Sendable {
    /// The field an access of `size` bytes at `offset` touches, or nil if the type forbids it.
    func access(_ type: ProgramType, offset: Int, size: Int, isWrite: Bool) -> ContextAccess?
    /// Allowed return values at exit, nil when any value is allowed.
    func returnRange(_ type: ProgramType) -> ClosedRange<Int64>?
}

/// Linux's helpers as BPFABI's table describes them (IDs, argument and return
/// kinds, availability per program type), translated into what the verifier
/// checks, plus the kernel's map compatibility rule (`check_map_func_compatibility`).
public struct LinuxHelpers: HelperCatalog {
    public init() {}

    public func prototype(of id: Int32) -> HelperSignature? {
        Self.signatures[id]
    }

    public func isAvailable(_ id: Int32, to type: ProgramType) -> Bool {
        !Self.absentFromReferenceKernel.contains(id) && HelperTable.isAvailable(id, to: type)
    }

    /// Helpers the reference kernel (Linux 6.18 as built here) does not offer:
    /// bpf_probe_write_user (36) is refused under lockdown and bpf_override_return
    /// (58) needs CONFIG_BPF_KPROBE_OVERRIDE. BPFKit does not implement them either.
    static let absentFromReferenceKernel: Set<Int32> = [36, 58]

    static let signatures: [Int32: HelperSignature] = {
        var table: [Int32: HelperSignature] = [:]
        for prototype in HelperTable.all {
            table[prototype.id] = HelperSignature(
                prototype.id, "bpf_" + prototype.name, prototype.arguments.map(argument),
                returns(prototype.returnKind), mapTypes: requiredMapTypes[prototype.id] ?? [])
        }
        return table
    }()

    /// Helpers that work only on certain map types (Linux refuses other maps).
    static let requiredMapTypes: [Int32: Set<MapTypeName>] = [
        12: [.programArray],                      // tail_call
        22: [.perfEventArray], 25: [.perfEventArray], 55: [.perfEventArray],
        27: [.stackTrace],                        // get_stackid
        51: [.devMap],                            // redirect_map
        52: [.sockMap], 53: [.sockMap],           // sk_redirect_map, sock_map_update
        87: [.queueOrStack], 88: [.queueOrStack], 89: [.queueOrStack],
        130: [.ringBuffer], 131: [.ringBuffer], 134: [.ringBuffer],
        107: [.socketStorage], 108: [.socketStorage],  // sk_storage_get, sk_storage_delete
    ]

    static func argument(_ kind: HelperArgumentKind) -> HelperArgument {
        switch kind {
        case .anything: .anything
        case .constMapPointer: .mapPointer
        case .mapKey: .mapKey
        case .mapValue: .mapValue
        case .uninitializedMapValue: .uninitializedMapValue
        case .readableMemory: .readableMemory(nullable: false)
        case .readableMemoryOrNull: .readableMemory(nullable: true)
        case .writableMemory, .uninitializedMemory: .writableMemory
        case .constSize: .size(zeroAllowed: false)
        case .constSizeOrZero: .size(zeroAllowed: true)
        case .constAllocationSizeOrZero: .allocationSize
        case .context: .context
        case .longResult: .writableLong
        case .callback: .callback
        case .stackOrNull: .stackOrNull
        case .ringbufMemory: .releasedRingBufferMemory
        case .socket: .socket
        case .spinLock: .spinLock
        case .constString: .constantString
        case .writableMemoryOrNull: .writableMemoryOrNull
        case .mapValueOrNull, .intResult, .timer, .dynptr, .btfPointer:
            .unchecked("\(kind)")
        }
    }

    /// Returns the verifier does not model become scalars: a program can test them
    /// but never dereference them, which refuses more than Linux but never less.
    static func returns(_ kind: HelperReturnKind) -> HelperReturn {
        switch kind {
        case .void: .void
        case .mapValueOrNull: .mapValueOrNull
        case .ringbufMemoryOrNull: .ringBufferMemoryOrNull
        case .socketOrNull: .socketOrNull
        case .integer, .mapValue, .memoryOrNull, .btfPointer, .btfPointerOrNull: .integer
        }
    }
}
