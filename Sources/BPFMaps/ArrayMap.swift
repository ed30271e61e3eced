/// BPF_MAP_TYPE_ARRAY and BPF_MAP_TYPE_PERCPU_ARRAY: `max_entries`
/// preallocated, zero-initialised values indexed by a 4-byte key. Elements
/// always exist: they cannot be deleted and BPF_NOEXIST always fails.
/// Lookups are lock-free pointer arithmetic.
public final class ArrayMap: BPFMap {
    public let definition: MapDefinition
    /// Bytes between consecutive values: the value size rounded up to 8 (as Linux's elem_size).
    let elementSize: Int
    let cpuCount: Int
    let storage: RawStorage

    public init(_ definition: MapDefinition) throws(MapDefinitionError) {
        try definition.validate()
        guard definition.type == .array || definition.type == .perCPUArray else {
            throw MapDefinitionError(field: "type", rule: "ArrayMap implements array and percpu_array maps only.")
        }
        self.definition = definition
        elementSize = roundUp8(Int(definition.valueSize))
        cpuCount = definition.type == .perCPUArray ? PossibleCPUs.count : 1
        storage = RawStorage(byteCount: elementSize * cpuCount * Int(definition.maxEntries))
    }

    @inline(__always)
    func slot(_ index: Int, cpu: Int) -> UnsafeMutableRawPointer {
        // Callers guarantee index < maxEntries and 0 <= cpu < cpuCount, so the
        // offset stays inside `storage`, which lives as long as the map.
        storage.base + (index * cpuCount + cpu) * elementSize
    }

    @inline(__always)
    func index(of key: UnsafeRawPointer) -> Int? {
        // The key is 4 bytes by validation.
        let index = Int(key.loadUnaligned(as: UInt32.self))
        return index < Int(definition.maxEntries) ? index : nil
    }

    /// The value storage (preallocated for the map's lifetime).
    public var valueMemory: UnsafeMutableRawBufferPointer? {
        UnsafeMutableRawBufferPointer(start: storage.base, count: storage.byteCount)
    }

    public func lookup(key: UnsafeRawPointer, cpu: Int) -> UnsafeMutableRawPointer? {
        guard let index = index(of: key) else { return nil }
        return slot(index, cpu: cpuCount == 1 ? 0 : min(max(cpu, 0), cpuCount - 1))
    }

    /// With `cpu >= 0` (a program) writes that CPU's slot; with `cpu < 0`
    /// (user space) `value` holds every CPU's value, each padded to 8 bytes.
    public func update(key: UnsafeRawPointer, value: UnsafeRawPointer, flags: UInt64, cpu: Int) -> Int32 {
        // BPF_F_LOCK needs a bpf_spin_lock in the value (BTF), which these maps never have;
        // the syscall refuses it before the map looks at the key.
        if flags & UpdateFlags.lock != 0 { return -LinuxErrno.EINVAL }
        if flags > UpdateFlags.exist { return -LinuxErrno.EINVAL }
        guard let index = index(of: key) else { return -LinuxErrno.E2BIG }
        if flags & UpdateFlags.noExist != 0 { return -LinuxErrno.EEXIST }
        let size = Int(definition.valueSize)
        if definition.type.isPerCPU && cpu < 0 {
            for target in 0..<cpuCount {
                // `value` holds cpuCount padded values (checked by the user face).
                // As Linux, user space writes the whole 8-byte-padded slot of every CPU.
                slot(index, cpu: target).copyMemory(from: value + target * elementSize, byteCount: elementSize)
            }
        } else {
            let target = cpuCount == 1 ? 0 : min(cpu, cpuCount - 1)
            slot(index, cpu: target).copyMemory(from: value, byteCount: size)
        }
        return 0
    }

    public func delete(key: UnsafeRawPointer) -> Int32 { -LinuxErrno.EINVAL }

    public func nextKey(after key: UnsafeRawPointer?, into next: UnsafeMutableRawPointer) -> Int32 {
        let maxEntries = Int(definition.maxEntries)
        var following = 0
        if let key {
            let index = Int(key.loadUnaligned(as: UInt32.self))
            if index < maxEntries {
                if index == maxEntries - 1 { return -LinuxErrno.ENOENT }
                following = index + 1
            }
        }
        next.storeBytes(of: UInt32(following), as: UInt32.self)
        return 0
    }

    public func lookup(key: [UInt8]) throws(MapError) -> [UInt8]? {
        try checkKey(key)
        try checkReadable()
        guard let index = key.withUnsafeBytes({ self.index(of: $0.baseAddress!) }) else { return nil }
        var result = [UInt8]()
        result.reserveCapacity(userValueSize)
        for cpu in 0..<cpuCount {
            // Each slot has `valueSize` initialised bytes (zeroed at creation).
            result.append(contentsOf: UnsafeRawBufferPointer(start: slot(index, cpu: cpu), count: definition.type.isPerCPU ? elementSize : Int(definition.valueSize)))
        }
        return result
    }

    /// Per-CPU values of `key`, one padded value per possible CPU.
    public func lookupPerCPU(key: [UInt8]) throws(MapError) -> [[UInt8]]? {
        guard let flat = try lookup(key: key) else { return nil }
        return splitPerCPU(flat, stride: elementSize, count: cpuCount)
    }

    /// Writes one value per possible CPU (each at most `elementSize` bytes).
    public func updatePerCPU(key: [UInt8], values: [[UInt8]], flags: UInt64 = UpdateFlags.any) throws(MapError) {
        try update(key: key, value: joinPerCPU(values, stride: elementSize, count: cpuCount, valueSize: Int(definition.valueSize)), flags: flags)
    }
}

func splitPerCPU(_ flat: [UInt8], stride: Int, count: Int) -> [[UInt8]] {
    (0..<count).map { Array(flat[($0 * stride)..<(($0 + 1) * stride)]) }
}

func joinPerCPU(_ values: [[UInt8]], stride: Int, count: Int, valueSize: Int) throws(MapError) -> [UInt8] {
    guard values.count == count else {
        throw .invalid(reason: "a per-CPU value needs one entry per possible CPU (\(count)), not \(values.count).")
    }
    var flat = [UInt8]()
    flat.reserveCapacity(stride * count)
    for value in values {
        guard value.count == valueSize || value.count == stride else {
            throw .wrongValueSize(expected: stride, given: value.count)
        }
        flat.append(contentsOf: value)
        flat.append(contentsOf: repeatElement(0, count: stride - value.count))
    }
    return flat
}
