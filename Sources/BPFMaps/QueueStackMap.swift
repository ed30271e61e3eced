/// BPF_MAP_TYPE_QUEUE (FIFO) and BPF_MAP_TYPE_STACK (LIFO): keyless maps of
/// `max_entries` values in a ring of `max_entries + 1` slots, as in Linux.
/// Pushing onto a full map fails with -E2BIG unless BPF_EXIST is given, which
/// overwrites the oldest value; popping or peeking an empty map is -ENOENT.
public final class QueueStackMap: BPFMap {
    public let definition: MapDefinition
    let isStack: Bool
    let slotCount: Int
    let size: Int
    let storage: RawStorage
    let lock = SpinLocks(count: 1)
    // head/tail are only read and written under `lock`; the struct is
    // Sendable because every access is serialised that way.
    nonisolated(unsafe) var head = 0
    nonisolated(unsafe) var tail = 0

    public init(_ definition: MapDefinition) throws(MapDefinitionError) {
        try definition.validate()
        guard definition.type == .queue || definition.type == .stack else {
            throw MapDefinitionError(field: "type", rule: "QueueStackMap implements queue and stack maps only.")
        }
        self.definition = definition
        isStack = definition.type == .stack
        slotCount = Int(definition.maxEntries) + 1
        size = Int(definition.valueSize)
        storage = RawStorage(byteCount: slotCount * size)
    }

    @inline(__always) func slot(_ index: Int) -> UnsafeMutableRawPointer {
        // index < slotCount, so the slot lies inside `storage`.
        storage.base + index * size
    }

    /// The number of values held.
    public var count: Int {
        lock.withLock(0) { (head - tail + slotCount) % slotCount }
    }

    public func push(value: UnsafeRawPointer, flags: UInt64) -> Int32 {
        if flags & UpdateFlags.noExist != 0 || flags > UpdateFlags.exist { return -LinuxErrno.EINVAL }
        lock.lock(0)
        defer { lock.unlock(0) }
        if (head + 1) % slotCount == tail {
            guard flags & UpdateFlags.exist != 0 else { return -LinuxErrno.E2BIG }
            tail = (tail + 1) % slotCount  // drop the oldest value
        }
        slot(head).copyMemory(from: value, byteCount: size)
        head = (head + 1) % slotCount
        return 0
    }

    func take(into value: UnsafeMutableRawPointer, remove: Bool) -> Int32 {
        lock.lock(0)
        defer { lock.unlock(0) }
        if head == tail { return -LinuxErrno.ENOENT }
        if isStack {
            let index = (head - 1 + slotCount) % slotCount
            value.copyMemory(from: slot(index), byteCount: size)
            if remove { head = index }
        } else {
            value.copyMemory(from: slot(tail), byteCount: size)
            if remove { tail = (tail + 1) % slotCount }
        }
        return 0
    }

    public func pop(into value: UnsafeMutableRawPointer) -> Int32 { take(into: value, remove: true) }
    public func peek(into value: UnsafeMutableRawPointer) -> Int32 { take(into: value, remove: false) }

    // MARK: User-space face (the syscall maps lookup to peek and update to push)

    public func lookup(key: [UInt8]) throws(MapError) -> [UInt8]? {
        try checkKey(key)
        try checkReadable()
        return try peek()
    }

    public func update(key: [UInt8], value: [UInt8], flags: UInt64 = UpdateFlags.any) throws(MapError) {
        try checkKey(key)
        try push(value, flags: flags)
    }

    public func delete(key: [UInt8]) throws(MapError) {
        throw .invalid(reason: "\(definition.type.name) maps have no keys to delete; use pop.")
    }

    public func nextKey(after key: [UInt8]?) throws(MapError) -> [UInt8]? {
        throw .invalid(reason: "\(definition.type.name) maps have no keys to iterate.")
    }

    /// Pushes `value`; with BPF_EXIST a full map drops its oldest value.
    public func push(_ value: [UInt8], flags: UInt64 = UpdateFlags.any) throws(MapError) {
        try checkWritable()
        guard value.count == size else { throw .wrongValueSize(expected: size, given: value.count) }
        let code = value.withUnsafeBytes { push(value: $0.baseAddress!, flags: flags) }
        if code != 0 { throw MapError(code: code, operation: "push", flags: flags, mapType: definition.type) }
    }

    /// Removes and returns the next value (oldest for a queue, newest for a stack), or nil when empty.
    public func pop() throws(MapError) -> [UInt8]? {
        try checkWritable()
        var value = [UInt8](repeating: 0, count: size)
        let code = value.withUnsafeMutableBytes { pop(into: $0.baseAddress!) }
        return code == 0 ? value : nil
    }

    /// Returns the next value without removing it, or nil when empty.
    public func peek() throws(MapError) -> [UInt8]? {
        var value = [UInt8](repeating: 0, count: size)
        let code = value.withUnsafeMutableBytes { peek(into: $0.baseAddress!) }
        return code == 0 ? value : nil
    }
}
