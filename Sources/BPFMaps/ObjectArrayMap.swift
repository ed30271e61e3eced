import Synchronization

/// BPF_MAP_TYPE_PROG_ARRAY, ARRAY_OF_MAPS and CGROUP_ARRAY: arrays whose
/// slots hold runtime objects (programs, inner maps) instead of bytes.
///
/// The runtime stores objects with ``set(_:at:)``; programs reach them through
/// ``lookupObject(index:)``, an unretained opaque pointer (tail calls,
/// bpf_map_lookup_elem on a map of maps). Replaced objects are kept alive
/// until the map is destroyed, so such a pointer stays valid for the map's
/// lifetime, standing in for Linux's RCU grace period.
public final class ObjectArrayMap: BPFMap {
    public let definition: MapDefinition
    struct State {
        var slots: [(any AnyObject & Sendable)?]
        var retired: [any AnyObject & Sendable] = []
    }
    let state: Mutex<State>

    public init(_ definition: MapDefinition) throws(MapDefinitionError) {
        try definition.validate()
        guard [.programArray, .arrayOfMaps, .cgroupArray].contains(definition.type) else {
            throw MapDefinitionError(field: "type", rule: "ObjectArrayMap implements prog_array, array_of_maps and cgroup_array maps only.")
        }
        self.definition = definition
        state = Mutex(State(slots: Array(repeating: nil, count: Int(definition.maxEntries))))
    }

    /// Stores `object` at `index` (nil clears it). For array_of_maps the
    /// object must be a map compatible with the inner map definition.
    public func set(_ object: (any AnyObject & Sendable)?, at index: UInt32) throws(MapError) {
        guard index < definition.maxEntries else { throw .full }
        if definition.type == .arrayOfMaps, let object {
            guard let map = object as? any BPFMap, let template = definition.innerMap else {
                throw .invalid(reason: "array_of_maps slots hold maps.")
            }
            let inner = map.definition
            let sameShape = inner.type == template.type && inner.keySize == template.keySize
                && inner.valueSize == template.valueSize && inner.flags == template.flags
                && (inner.maxEntries == template.maxEntries || template.flags & MapFlags.innerMap != 0)
            guard sameShape else {
                throw .invalid(reason: "the map \(inner) does not match the inner map definition \(template).")
            }
        }
        state.withLock { state in
            if let old = state.slots[Int(index)] { state.retired.append(old) }
            state.slots[Int(index)] = object
        }
    }

    /// The object at `index`, retained.
    public func object(at index: UInt32) -> (any AnyObject & Sendable)? {
        guard index < definition.maxEntries else { return nil }
        return state.withLock { $0.slots[Int(index)] }
    }

    /// Program face: an unretained pointer to the object at `index`, valid for
    /// the map's lifetime (replaced objects are retired, not released).
    public func lookupObject(index: UInt32) -> UnsafeRawPointer? {
        guard index < definition.maxEntries else { return nil }
        return state.withLock { state in
            state.slots[Int(index)].map { UnsafeRawPointer(Unmanaged.passUnretained($0 as AnyObject).toOpaque()) }
        }
    }

    public func lookup(key: UnsafeRawPointer, cpu: Int) -> UnsafeMutableRawPointer? {
        lookupObject(index: key.loadUnaligned(as: UInt32.self)).map { UnsafeMutableRawPointer(mutating: $0) }
    }

    public func delete(key: UnsafeRawPointer) -> Int32 {
        let index = key.loadUnaligned(as: UInt32.self)
        guard index < definition.maxEntries else { return -LinuxErrno.E2BIG }
        return state.withLock { state in
            guard let old = state.slots[Int(index)] else { return -LinuxErrno.ENOENT }
            state.retired.append(old)
            state.slots[Int(index)] = nil
            return 0
        }
    }

    public func nextKey(after key: UnsafeRawPointer?, into next: UnsafeMutableRawPointer) -> Int32 {
        var following: UInt32 = 0
        if let key {
            let index = key.loadUnaligned(as: UInt32.self)
            if index < definition.maxEntries {
                if index == definition.maxEntries - 1 { return -LinuxErrno.ENOENT }
                following = index + 1
            }
        }
        next.storeBytes(of: following, as: UInt32.self)
        return 0
    }

    public func lookup(key: [UInt8]) throws(MapError) -> [UInt8]? {
        throw .notSupported(operation: "lookup by bytes (use object(at:))", mapType: definition.type)
    }

    public func update(key: [UInt8], value: [UInt8], flags: UInt64 = 0) throws(MapError) {
        throw .notSupported(operation: "update by bytes (use set(_:at:))", mapType: definition.type)
    }
}
