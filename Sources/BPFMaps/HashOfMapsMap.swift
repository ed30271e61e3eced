import Synchronization

/// BPF_MAP_TYPE_HASH_OF_MAPS: a hash map whose values are maps.
///
/// Keys live in an internal preallocated ``HashMap`` whose 8-byte value is the
/// index of an object slot; the slots hold the inner maps. As for
/// ``ObjectArrayMap``, stored maps must match the inner map definition, programs
/// reach them through an unretained opaque pointer (``lookup(key:cpu:)``), and
/// replaced or deleted maps are retired, not released, so such a pointer stays
/// valid for the outer map's lifetime (standing in for Linux's RCU grace period).
/// Programs may only look up; updates and deletes come from user space.
public final class HashOfMapsMap: BPFMap {
    public let definition: MapDefinition
    /// Key → slot index (UInt64) of `state.slots`.
    let index: HashMap
    struct State {
        var slots: [(any BPFMap)?]
        var freeSlots: [Int]
        var retired: [any BPFMap] = []
    }
    let state: Mutex<State>

    public init(_ definition: MapDefinition) throws(MapDefinitionError) {
        try definition.validate()
        guard definition.type == .hashOfMaps else {
            throw MapDefinitionError(field: "type", rule: "HashOfMapsMap implements hash_of_maps maps only.")
        }
        self.definition = definition
        index = try HashMap(MapDefinition(type: .hash, keySize: definition.keySize, valueSize: 8,
                                          maxEntries: definition.maxEntries, flags: definition.flags & MapFlags.zeroSeed))
        let capacity = Int(definition.maxEntries)
        state = Mutex(State(slots: Array(repeating: nil, count: capacity), freeSlots: Array((0..<capacity).reversed())))
    }

    /// The number of keys.
    public var count: Int { index.count }

    /// Checks that `map` matches the inner map definition, as Linux's bpf_map_meta_equal.
    func checkCompatible(_ map: any BPFMap) throws(MapError) {
        guard let template = definition.innerMap else { throw .invalid(reason: "hash_of_maps needs an inner map definition.") }
        let inner = map.definition
        let sameShape = inner.type == template.type && inner.keySize == template.keySize
            && inner.valueSize == template.valueSize && inner.flags == template.flags
            && (inner.maxEntries == template.maxEntries || template.flags & MapFlags.innerMap != 0)
        guard sameShape else {
            throw .invalid(reason: "the map \(inner) does not match the inner map definition \(template).")
        }
    }

    /// Stores `map` under `key` (BPF_MAP_UPDATE_ELEM with an inner map fd).
    public func set(_ map: any BPFMap, forKey key: [UInt8], flags: UInt64 = UpdateFlags.any) throws(MapError) {
        try checkKey(key)
        try checkWritable()
        try checkCompatible(map)
        if flags > UpdateFlags.exist { throw .invalid(reason: "update flags 0x\(String(flags, radix: 16)) are not BPF_ANY, BPF_NOEXIST or BPF_EXIST.") }
        let result: Result<Void, MapError> = state.withLock { state in
            let existing = key.withUnsafeBytes { index.lookup(key: $0.baseAddress!, cpu: 0) }
            if let existing {
                if flags == UpdateFlags.noExist { return .failure(.exists) }
                // The value of an index entry is the slot number (8 bytes, written below).
                let slot = Int(existing.load(as: UInt64.self))
                if let old = state.slots[slot] { state.retired.append(old) }
                state.slots[slot] = map
                return .success(())
            }
            if flags == UpdateFlags.exist { return .failure(.notFound) }
            guard let slot = state.freeSlots.popLast() else { return .failure(.full) }
            do throws(MapError) {
                try index.update(key: key, value: withUnsafeBytes(of: UInt64(slot)) { Array($0) }, flags: UpdateFlags.noExist)
            } catch {
                state.freeSlots.append(slot)
                return .failure(error)
            }
            state.slots[slot] = map
            return .success(())
        }
        try result.get()
    }

    /// The map stored under `key`, retained.
    public func map(forKey key: [UInt8]) throws(MapError) -> (any BPFMap)? {
        try checkKey(key)
        return state.withLock { state in
            guard let value = key.withUnsafeBytes({ index.lookup(key: $0.baseAddress!, cpu: 0) }) else { return nil }
            return state.slots[Int(value.load(as: UInt64.self))]
        }
    }

    // MARK: Program face

    /// bpf_map_lookup_elem: an unretained opaque pointer to the inner map, or nil.
    public func lookup(key: UnsafeRawPointer, cpu: Int) -> UnsafeMutableRawPointer? {
        state.withLock { state in
            guard let value = index.lookup(key: key, cpu: 0) else { return nil }
            // Slot numbers are < maxEntries (they come from `freeSlots`).
            guard let map = state.slots[Int(value.load(as: UInt64.self))] else { return nil }
            return Unmanaged.passUnretained(map as AnyObject).toOpaque()
        }
    }

    /// Programs cannot update a map of maps (Linux's verifier refuses it).
    public func update(key: UnsafeRawPointer, value: UnsafeRawPointer, flags: UInt64, cpu: Int) -> Int32 {
        -LinuxErrno.EOPNOTSUPP
    }

    public func delete(key: UnsafeRawPointer) -> Int32 {
        state.withLock { state in
            guard let value = index.lookup(key: key, cpu: 0) else { return -LinuxErrno.ENOENT }
            let slot = Int(value.load(as: UInt64.self))
            let code = index.delete(key: key)
            guard code == 0 else { return code }
            if let old = state.slots[slot] { state.retired.append(old) }
            state.slots[slot] = nil
            state.freeSlots.append(slot)
            return 0
        }
    }

    public func nextKey(after key: UnsafeRawPointer?, into next: UnsafeMutableRawPointer) -> Int32 {
        index.nextKey(after: key, into: next)
    }

    // MARK: User-space face: values are maps, not bytes.

    public func lookup(key: [UInt8]) throws(MapError) -> [UInt8]? {
        throw .notSupported(operation: "lookup by bytes (use map(forKey:))", mapType: definition.type)
    }

    public func update(key: [UInt8], value: [UInt8], flags: UInt64 = UpdateFlags.any) throws(MapError) {
        throw .notSupported(operation: "update by bytes (use set(_:forKey:flags:))", mapType: definition.type)
    }
}
