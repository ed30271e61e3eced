/// The shape of a map, as passed to BPF_MAP_CREATE: type, key and value
/// sizes, capacity, flags and, for map-in-map types, the inner map's shape.
public struct MapDefinition: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var type: MapType
    public var keySize: UInt32
    public var valueSize: UInt32
    public var maxEntries: UInt32
    /// BPF_MAP_CREATE flags; see ``MapFlags``.
    public var flags: UInt32
    /// Per-type extra (`map_extra`); the bloom filter's hash count in the low 4 bits.
    public var mapExtra: UInt64
    /// Optional name (at most 15 bytes in Linux).
    public var name: String
    // An array holds the recursive value so the struct stays a plain value type.
    private var innerStorage: [MapDefinition]

    /// The inner map template of an `array_of_maps` or `hash_of_maps`.
    public var innerMap: MapDefinition? {
        get { innerStorage.first }
        set { innerStorage = newValue.map { [$0] } ?? [] }
    }

    public init(
        type: MapType, keySize: UInt32, valueSize: UInt32, maxEntries: UInt32,
        flags: UInt32 = 0, mapExtra: UInt64 = 0, innerMap: MapDefinition? = nil, name: String = ""
    ) {
        self.type = type
        self.keySize = keySize
        self.valueSize = valueSize
        self.maxEntries = maxEntries
        self.flags = flags
        self.mapExtra = mapExtra
        self.name = name
        self.innerStorage = innerMap.map { [$0] } ?? []
    }

    public var description: String {
        "\(type.name)(key \(keySize), value \(valueSize), max \(maxEntries), flags 0x\(String(flags, radix: 16)))"
    }

    /// The bloom filter's number of hash functions: `map_extra & 0xF`, 5 when zero.
    public var bloomHashCount: Int {
        let count = Int(mapExtra & 0xF)
        return count == 0 ? 5 : count
    }

    /// Linux's KMALLOC_MAX_SIZE on x86-64/arm64 with 4 KiB pages (order-10 allocation).
    public static let kmallocMaxSize: UInt32 = 1 << 22
    /// Linux's MAX_BPF_STACK, the limit on hash map key sizes.
    public static let maxStackSize: UInt32 = 512
    /// Linux's PCPU_MIN_UNIT_SIZE, the limit on per-CPU value sizes.
    public static let perCPUMaxValueSize: UInt32 = 32768
    /// The page size ring buffer sizes must be a multiple of.
    public static let pageSize: UInt32 = 4096

    /// Checks the definition against the rules Linux's BPF_MAP_CREATE applies
    /// for its type; throws an error naming the field and the rule.
    public func validate() throws(MapDefinitionError) {
        func fail(_ field: String, _ rule: String, _ errno: Int32 = LinuxErrno.EINVAL) -> MapDefinitionError {
            MapDefinitionError(field: field, rule: rule, errno: errno)
        }
        func allowOnly(_ allowed: UInt32) throws(MapDefinitionError) {
            let unknown = flags & ~allowed
            if unknown != 0 {
                throw fail("flags", "\(type.name) maps do not accept flags 0x\(String(unknown, radix: 16)).")
            }
        }
        guard type.isSupported else {
            throw fail("type", "the \(type.name) map type is not implemented by BPFKit.", LinuxErrno.EOPNOTSUPP)
        }
        if flags & MapFlags.readOnly != 0 && flags & MapFlags.writeOnly != 0 {
            throw fail("flags", "BPF_F_RDONLY and BPF_F_WRONLY cannot both be set.")
        }
        if flags & MapFlags.readOnlyProgram != 0 && flags & MapFlags.writeOnlyProgram != 0 {
            throw fail("flags", "BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG cannot both be set.")
        }
        if mapExtra != 0 && type != .bloomFilter {
            throw fail("mapExtra", "map_extra must be zero for \(type.name) maps.")
        }
        if innerMap != nil && type != .arrayOfMaps && type != .hashOfMaps {
            throw fail("innerMap", "only array_of_maps and hash_of_maps maps take an inner map.")
        }
        let access = MapFlags.accessMask
        switch type {
        case .array, .perCPUArray, .programArray, .perfEventArray, .cgroupArray, .arrayOfMaps:
            var allowed = MapFlags.numaNode | access | MapFlags.innerMap
            if type == .array { allowed |= MapFlags.mmapable }
            if type == .perfEventArray { allowed |= MapFlags.preserveElements }
            try allowOnly(allowed)
            guard keySize == 4 else { throw fail("keySize", "\(type.name) keys are 4-byte indices, so the key size must be 4.") }
            guard valueSize > 0 else { throw fail("valueSize", "the value size must be greater than zero.") }
            guard maxEntries > 0 else { throw fail("maxEntries", "max_entries must be greater than zero.") }
            if type != .array && type != .perCPUArray && valueSize != 4 {
                throw fail("valueSize", "\(type.name) values are 4-byte file descriptors, so the value size must be 4.")
            }
            if type == .perCPUArray && valueSize > Self.perCPUMaxValueSize {
                throw fail("valueSize", "per-CPU values must not exceed \(Self.perCPUMaxValueSize) bytes.", LinuxErrno.E2BIG)
            }
            if valueSize >= Self.kmallocMaxSize {
                throw fail("valueSize", "the value size must be below \(Self.kmallocMaxSize) bytes.", LinuxErrno.E2BIG)
            }
        case .hash, .perCPUHash, .lruHash, .lruPerCPUHash, .hashOfMaps:
            let isLRU = type == .lruHash || type == .lruPerCPUHash
            var allowed = MapFlags.noPreallocate | MapFlags.numaNode | MapFlags.zeroSeed | access
            if isLRU { allowed |= MapFlags.noCommonLRU }
            try allowOnly(allowed)
            if isLRU && flags & MapFlags.noPreallocate != 0 {
                throw fail("flags", "LRU hash maps are always preallocated, so BPF_F_NO_PREALLOC is not supported.", LinuxErrno.ENOTSUPP)
            }
            guard keySize > 0 else { throw fail("keySize", "the key size must be greater than zero.") }
            guard valueSize > 0 else { throw fail("valueSize", "the value size must be greater than zero.") }
            guard maxEntries > 0 else { throw fail("maxEntries", "max_entries must be greater than zero.") }
            if keySize > Self.maxStackSize {
                throw fail("keySize", "hash keys must fit on the BPF stack (\(Self.maxStackSize) bytes).", LinuxErrno.E2BIG)
            }
            if type == .hashOfMaps && valueSize != 4 {
                throw fail("valueSize", "hash_of_maps values are 4-byte file descriptors, so the value size must be 4.")
            }
            if type.isPerCPU && valueSize > Self.perCPUMaxValueSize {
                throw fail("valueSize", "per-CPU values must not exceed \(Self.perCPUMaxValueSize) bytes.", LinuxErrno.E2BIG)
            }
            if valueSize >= Self.kmallocMaxSize - Self.maxStackSize - 64 {
                throw fail("valueSize", "the value size must be below \(Self.kmallocMaxSize - Self.maxStackSize - 64) bytes.", LinuxErrno.E2BIG)
            }
        case .queue, .stack:
            try allowOnly(MapFlags.numaNode | access)
            guard keySize == 0 else { throw fail("keySize", "\(type.name) maps have no keys, so the key size must be 0.") }
            guard valueSize > 0 else { throw fail("valueSize", "the value size must be greater than zero.") }
            guard maxEntries > 0 else { throw fail("maxEntries", "max_entries must be greater than zero.") }
            if valueSize > Self.kmallocMaxSize {
                throw fail("valueSize", "the value size must not exceed \(Self.kmallocMaxSize) bytes.", LinuxErrno.E2BIG)
            }
        case .ringBuffer:
            try allowOnly(MapFlags.numaNode)
            guard keySize == 0 else { throw fail("keySize", "ring buffers have no keys, so the key size must be 0.") }
            guard valueSize == 0 else { throw fail("valueSize", "ring buffers have no fixed values, so the value size must be 0.") }
            guard maxEntries > 0, maxEntries & (maxEntries - 1) == 0, maxEntries % Self.pageSize == 0 else {
                throw fail("maxEntries", "a ring buffer's max_entries is its size in bytes and must be a power of 2 and a multiple of the page size (\(Self.pageSize)).")
            }
        case .lpmTrie:
            try allowOnly(MapFlags.noPreallocate | MapFlags.numaNode | access)
            guard flags & MapFlags.noPreallocate != 0 else {
                throw fail("flags", "LPM tries allocate on demand, so BPF_F_NO_PREALLOC must be set.")
            }
            guard maxEntries > 0 else { throw fail("maxEntries", "max_entries must be greater than zero.") }
            guard keySize >= 5, keySize <= 4 + 256 else {
                throw fail("keySize", "an LPM trie key is a 4-byte prefix length followed by 1 to 256 data bytes, so the key size must be 5...260.")
            }
            guard valueSize >= 1 else { throw fail("valueSize", "the value size must be greater than zero.") }
            if valueSize > Self.kmallocMaxSize - 4 - 256 - 64 {
                throw fail("valueSize", "the value size is too large for an LPM trie node.", LinuxErrno.E2BIG)
            }
        case .bloomFilter:
            try allowOnly(MapFlags.numaNode | MapFlags.zeroSeed | access)
            guard keySize == 0 else { throw fail("keySize", "bloom filters have no keys, so the key size must be 0.") }
            guard valueSize > 0 else { throw fail("valueSize", "the value size must be greater than zero.") }
            guard maxEntries > 0 else { throw fail("maxEntries", "max_entries must be greater than zero.") }
            guard mapExtra & ~0xF == 0 else {
                throw fail("mapExtra", "only the low 4 bits of map_extra (the number of hash functions) may be set for a bloom filter.")
            }
        default:
            throw fail("type", "the \(type.name) map type is not implemented by BPFKit.", LinuxErrno.EOPNOTSUPP)
        }
        if type == .arrayOfMaps || type == .hashOfMaps {
            guard let inner = innerMap else {
                throw fail("innerMap", "\(type.name) maps need an inner map definition.", LinuxErrno.EBADF)
            }
            if inner.type == .arrayOfMaps || inner.type == .hashOfMaps {
                throw fail("innerMap", "maps of maps cannot be nested more than one level deep.")
            }
            do { try inner.validate() } catch {
                throw fail("innerMap", "the inner map is invalid: \(error.description)")
            }
        }
    }
}
