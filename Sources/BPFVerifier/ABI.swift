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
}

/// What a helper returns.
public enum HelperReturn: Sendable, Hashable {
    case integer
    case void
    case mapValueOrNull
    /// Ring buffer memory or NULL, of the size of argument 2; acquires a reference.
    case ringBufferMemoryOrNull
}

/// A helper's prototype.
public struct HelperPrototype: Sendable, Hashable {
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
public enum MapTypeName: Sendable, Hashable { case programArray, ringBuffer, perfEventArray, stackTrace, queueOrStack, sockMap, devMap }

/// The helper prototypes and their availability per program type. BPFABI's table
/// will implement this; `BuiltinABI` is the verifier's own until then.
public protocol HelperCatalog: Sendable {
    func prototype(of id: Int32) -> HelperPrototype?
    func isAvailable(_ id: Int32, to type: ProgramType) -> Bool
}

/// What reading or writing a context field yields.
public enum ContextField: Sendable, Hashable {
    case scalar
    case packetStart
    case packetEnd
    case packetMeta
}

/// Context layouts per program type. BPFABI's `ContextLayout` will implement this.
public protocol ContextCatalog: Sendable {
    /// The field an access of `size` bytes at `offset` touches, or nil if the type forbids it.
    func access(_ type: ProgramType, offset: Int, size: Int, isWrite: Bool) -> ContextField?
    /// Allowed return values at exit, nil when any value is allowed.
    func returnRange(_ type: ProgramType) -> ClosedRange<Int64>?
}
