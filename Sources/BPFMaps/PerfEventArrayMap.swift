import Synchronization

/// BPF_MAP_TYPE_PERF_EVENT_ARRAY: one perf buffer per index (per CPU).
/// User space opens a buffer for an index with ``open(index:capacity:)``;
/// bpf_perf_event_output appends a record to it, counting a lost sample
/// (-ENOSPC) when its byte capacity is exhausted and -ENOENT when no buffer
/// is open at that index. ``read(index:)`` drains records in order.
public final class PerfEventArrayMap: BPFMap {
    public let definition: MapDefinition
    struct Buffer {
        var capacity: Int
        var used = 0
        var records: [[UInt8]] = []
        var lost: UInt64 = 0
    }
    let buffers: Mutex<[Buffer?]>

    public init(_ definition: MapDefinition) throws(MapDefinitionError) {
        try definition.validate()
        guard definition.type == .perfEventArray else {
            throw MapDefinitionError(field: "type", rule: "PerfEventArrayMap implements perf_event_array maps only.")
        }
        self.definition = definition
        buffers = Mutex(Array(repeating: nil, count: Int(definition.maxEntries)))
    }

    /// Opens (or resets) the buffer at `index` with room for `capacity` bytes of records.
    public func open(index: Int, capacity: Int = 64 * 4096) throws(MapError) {
        guard index >= 0, index < Int(definition.maxEntries) else { throw .full }
        buffers.withLock { $0[index] = Buffer(capacity: capacity) }
    }

    /// bpf_perf_event_output into the buffer at `cpuIndex` (callers resolve
    /// BPF_F_CURRENT_CPU to the executing CPU). Each record costs its size
    /// plus an 8-byte header against the capacity.
    /// Note: records are copied into Swift arrays, so this path allocates.
    public func output(cpuIndex: Int, data: UnsafeRawPointer, size: Int) -> Int32 {
        guard cpuIndex >= 0, cpuIndex < Int(definition.maxEntries) else { return -LinuxErrno.E2BIG }
        return buffers.withLock { buffers in
            guard var buffer = buffers[cpuIndex] else { return -LinuxErrno.ENOENT }
            let cost = roundUp8(size + 8)
            if buffer.used + cost > buffer.capacity {
                buffer.lost += 1
                buffers[cpuIndex] = buffer
                return -LinuxErrno.ENOSPC
            }
            // `data` has `size` readable bytes, per the helper's contract.
            buffer.records.append(Array(UnsafeRawBufferPointer(start: data, count: size)))
            buffer.used += cost
            buffers[cpuIndex] = buffer
            return 0
        }
    }

    /// Removes and returns the records of the buffer at `index`, oldest first.
    public func read(index: Int) -> [[UInt8]] {
        guard index >= 0, index < Int(definition.maxEntries) else { return [] }
        return buffers.withLock { buffers in
            guard var buffer = buffers[index] else { return [] }
            let records = buffer.records
            buffer.records = []
            buffer.used = 0
            buffers[index] = buffer
            return records
        }
    }

    /// Samples lost at `index` because its buffer was full.
    public func lostCount(index: Int) -> UInt64 {
        guard index >= 0, index < Int(definition.maxEntries) else { return 0 }
        return buffers.withLock { $0[index]?.lost ?? 0 }
    }

    public func lookup(key: [UInt8]) throws(MapError) -> [UInt8]? {
        throw .notSupported(operation: "lookup", mapType: .perfEventArray)
    }

    public func update(key: [UInt8], value: [UInt8], flags: UInt64 = 0) throws(MapError) {
        throw .notSupported(operation: "update by bytes (use open(index:capacity:))", mapType: .perfEventArray)
    }

    public func delete(key: [UInt8]) throws(MapError) {
        try checkKey(key)
        let index = Int(key.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) })
        guard index < Int(definition.maxEntries) else { throw .full }
        let existed = buffers.withLock { buffers in
            defer { buffers[index] = nil }
            return buffers[index] != nil
        }
        if !existed { throw .notFound }
    }
}
