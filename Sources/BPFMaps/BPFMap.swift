/// A map with Linux semantics, used from two sides.
///
/// The *program face* (pointer-based, non-throwing, allocation-free) is what
/// helper functions call while a program runs: it returns values in place and
/// reports failures as negative Linux errnos. The *user-space face* (byte
/// arrays, typed errors) is what tools and tests use, like the `bpf()` syscall.
public protocol BPFMap: AnyObject, Sendable {
    /// The definition the map was created from.
    var definition: MapDefinition { get }

    // MARK: Program face

    /// bpf_map_lookup_elem: a pointer to the value of `key` in place (this
    /// CPU's slot for per-CPU maps), or nil. Valid for the map's lifetime.
    func lookup(key: UnsafeRawPointer, cpu: Int) -> UnsafeMutableRawPointer?
    /// bpf_map_update_elem: 0 or a negative errno.
    func update(key: UnsafeRawPointer, value: UnsafeRawPointer, flags: UInt64, cpu: Int) -> Int32
    /// bpf_map_delete_elem: 0 or a negative errno.
    func delete(key: UnsafeRawPointer) -> Int32
    /// BPF_MAP_GET_NEXT_KEY: writes the key after `key` (the first key if
    /// `key` is nil or absent) into `next`; -ENOENT at the end.
    func nextKey(after key: UnsafeRawPointer?, into next: UnsafeMutableRawPointer) -> Int32
    /// bpf_map_push_elem (queue, stack, bloom filter add).
    func push(value: UnsafeRawPointer, flags: UInt64) -> Int32
    /// bpf_map_pop_elem (queue, stack).
    func pop(into value: UnsafeMutableRawPointer) -> Int32
    /// bpf_map_peek_elem (queue, stack; bloom filter membership test).
    func peek(into value: UnsafeMutableRawPointer) -> Int32
    /// The preallocated memory that pointers returned by ``lookup(key:cpu:)``
    /// point into (values and, for hash maps, their slots' bookkeeping), valid
    /// for the map's lifetime; nil for maps whose lookups return no value memory.
    /// A checked runtime registers it once as a region instead of per lookup.
    var valueMemory: UnsafeMutableRawBufferPointer? { get }

    // MARK: User-space face

    /// BPF_MAP_LOOKUP_ELEM: a copy of the value (for per-CPU maps all CPUs'
    /// values, each padded to 8 bytes, concatenated), or nil when absent.
    func lookup(key: [UInt8]) throws(MapError) -> [UInt8]?
    /// BPF_MAP_UPDATE_ELEM with ``UpdateFlags``.
    func update(key: [UInt8], value: [UInt8], flags: UInt64) throws(MapError)
    /// BPF_MAP_DELETE_ELEM.
    func delete(key: [UInt8]) throws(MapError)
    /// BPF_MAP_GET_NEXT_KEY: nil at the end.
    func nextKey(after key: [UInt8]?) throws(MapError) -> [UInt8]?
}

extension BPFMap {
    var keySize: Int { Int(definition.keySize) }
    var valueSize: Int { Int(definition.valueSize) }

    /// The size of one user-space value: the value size, or for per-CPU maps
    /// `round_up(value_size, 8) * possible CPUs`.
    public var userValueSize: Int {
        definition.type.isPerCPU ? roundUp8(valueSize) * PossibleCPUs.count : valueSize
    }

    public func lookup(key: UnsafeRawPointer, cpu: Int) -> UnsafeMutableRawPointer? { nil }
    public func update(key: UnsafeRawPointer, value: UnsafeRawPointer, flags: UInt64, cpu: Int) -> Int32 { -LinuxErrno.EINVAL }
    public func delete(key: UnsafeRawPointer) -> Int32 { -LinuxErrno.EINVAL }
    public func nextKey(after key: UnsafeRawPointer?, into next: UnsafeMutableRawPointer) -> Int32 { -LinuxErrno.EINVAL }
    public func push(value: UnsafeRawPointer, flags: UInt64) -> Int32 { -LinuxErrno.EINVAL }
    public func pop(into value: UnsafeMutableRawPointer) -> Int32 { -LinuxErrno.EINVAL }
    public func peek(into value: UnsafeMutableRawPointer) -> Int32 { -LinuxErrno.EINVAL }
    public var valueMemory: UnsafeMutableRawBufferPointer? { nil }

    func checkKey(_ key: [UInt8]) throws(MapError) {
        guard key.count == keySize else { throw .wrongKeySize(expected: keySize, given: key.count) }
    }

    func checkReadable() throws(MapError) {
        if definition.flags & MapFlags.writeOnly != 0 {
            throw .permission(reason: "the map was created with BPF_F_WRONLY, so user space cannot read it.")
        }
    }

    func checkWritable() throws(MapError) {
        if definition.flags & MapFlags.readOnly != 0 {
            throw .permission(reason: "the map was created with BPF_F_RDONLY, so user space cannot modify it.")
        }
    }

    /// Default user-space lookup over the program face: copies the value at CPU 0.
    public func lookup(key: [UInt8]) throws(MapError) -> [UInt8]? {
        try checkKey(key)
        try checkReadable()
        let size = valueSize
        return key.withUnsafeBytes { keyBuffer -> [UInt8]? in
            // A map never reads a key of size 0; any non-null pointer works then.
            guard let value = lookup(key: keyBuffer.baseAddress ?? UnsafeRawPointer(bitPattern: 8)!, cpu: 0) else { return nil }
            // `value` points at `size` initialised bytes owned by the map.
            return Array(UnsafeRawBufferPointer(start: value, count: size))
        }
    }

    /// Default user-space update over the program face.
    public func update(key: [UInt8], value: [UInt8], flags: UInt64 = UpdateFlags.any) throws(MapError) {
        try checkKey(key)
        try checkWritable()
        guard value.count == userValueSize else { throw .wrongValueSize(expected: userValueSize, given: value.count) }
        let code = key.withUnsafeBytes { keyBuffer in
            value.withUnsafeBytes { valueBuffer in
                // Both buffers are alive for the call and have the sizes checked above.
                update(key: keyBuffer.baseAddress ?? UnsafeRawPointer(bitPattern: 8)!,
                       value: valueBuffer.baseAddress ?? UnsafeRawPointer(bitPattern: 8)!, flags: flags, cpu: -1)
            }
        }
        if code != 0 { throw MapError(code: code, operation: "update", flags: flags, mapType: definition.type) }
    }

    /// Default user-space delete over the program face.
    public func delete(key: [UInt8]) throws(MapError) {
        try checkKey(key)
        try checkWritable()
        let code = key.withUnsafeBytes { delete(key: $0.baseAddress ?? UnsafeRawPointer(bitPattern: 8)!) }
        if code != 0 { throw MapError(code: code, operation: "delete", flags: 0, mapType: definition.type) }
    }

    /// Default user-space get-next-key over the program face.
    public func nextKey(after key: [UInt8]?) throws(MapError) -> [UInt8]? {
        if let key { try checkKey(key) }
        var next = [UInt8](repeating: 0, count: max(keySize, 1))
        let code = next.withUnsafeMutableBytes { nextBuffer in
            // `nextBuffer` has room for one key; `key` (if any) has keySize bytes.
            if let key {
                return key.withUnsafeBytes { nextKey(after: $0.baseAddress ?? UnsafeRawPointer(bitPattern: 8)!, into: nextBuffer.baseAddress!) }
            }
            return nextKey(after: nil, into: nextBuffer.baseAddress!)
        }
        if code == -LinuxErrno.ENOENT { return nil }
        if code != 0 { throw MapError(code: code, operation: "get_next_key", flags: 0, mapType: definition.type) }
        return Array(next.prefix(keySize))
    }

    /// All keys in get_next_key order.
    public func keys() throws(MapError) -> [[UInt8]] {
        var result: [[UInt8]] = []
        var current: [UInt8]? = nil
        while let next = try nextKey(after: current) {
            result.append(next)
            current = next
            if result.count > Int(definition.maxEntries) { break }  // defensive bound against concurrent churn
        }
        return result
    }

    /// All (key, value) pairs in get_next_key order; entries deleted while
    /// iterating are skipped.
    public func entries() throws(MapError) -> [(key: [UInt8], value: [UInt8])] {
        var result: [(key: [UInt8], value: [UInt8])] = []
        for key in try keys() {
            if let value = try lookup(key: key) { result.append((key, value)) }
        }
        return result
    }

    /// Typed lookup: `key` and the value are plain bit patterns of `K` and `V`.
    public func lookup<K: BitwiseCopyable, V: BitwiseCopyable>(_ key: K, as type: V.Type) throws(MapError) -> V? {
        guard let bytes = try lookup(key: withUnsafeBytes(of: key) { Array($0) }) else { return nil }
        guard bytes.count >= MemoryLayout<V>.size else {
            throw .wrongValueSize(expected: bytes.count, given: MemoryLayout<V>.size)
        }
        return bytes.withUnsafeBytes { $0.loadUnaligned(as: V.self) }
    }

    /// Typed update with the bit patterns of `key` and `value`.
    public func update<K: BitwiseCopyable, V: BitwiseCopyable>(_ key: K, _ value: V, flags: UInt64 = UpdateFlags.any) throws(MapError) {
        try update(key: withUnsafeBytes(of: key) { Array($0) }, value: withUnsafeBytes(of: value) { Array($0) }, flags: flags)
    }
}

extension MapError {
    /// Maps a negative errno from the program face to a user-space error with a reason.
    init(code: Int32, operation: String, flags: UInt64, mapType: MapType) {
        switch -code {
        case LinuxErrno.EINVAL:
            if operation == "update" && flags & ~UpdateFlags.lock > UpdateFlags.exist {
                self = .invalid(reason: "update flags 0x\(String(flags, radix: 16)) are not BPF_ANY, BPF_NOEXIST or BPF_EXIST.")
            } else if operation == "update" && flags & UpdateFlags.lock != 0 {
                self = .invalid(reason: "BPF_F_LOCK needs a bpf_spin_lock in the value, which \(mapType.name) maps here do not have.")
            } else if operation == "delete" && [.array, .perCPUArray].contains(mapType) {
                self = .invalid(reason: "array elements always exist and cannot be deleted.")
            } else {
                self = .invalid(reason: "the \(mapType.name) map rejects \(operation) with these arguments.")
            }
        case LinuxErrno.EOPNOTSUPP:
            self = .notSupported(operation: operation, mapType: mapType)
        default:
            self.init(code: code, operation: operation)
        }
    }
}
