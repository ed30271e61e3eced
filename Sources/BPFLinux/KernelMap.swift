import BPFMaps
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A map living in the kernel, used as a reference oracle. Its methods copy
/// keys and values as byte arrays and throw ``BPFSystemError`` on failure.
public final class KernelMap: Sendable {
    /// The owned map descriptor; closed when the map is deinitialised.
    public let descriptor: KernelFileDescriptor
    public let type: UInt32
    public let keySize: Int
    public let valueSize: Int
    public let maxEntries: Int
    /// Bytes of one user-space value: `valueSize`, or for per-CPU maps
    /// `round_up(valueSize, 8) * possibleCPUCount`.
    public let userValueSize: Int

    /// Creates the map with BPF_MAP_CREATE.
    public init(
        type: UInt32, keySize: Int, valueSize: Int, maxEntries: Int, flags: UInt32 = 0,
        innerMap: KernelMap? = nil, mapExtra: UInt64 = 0, name: String = ""
    ) throws(BPFSystemError) {
        descriptor = try BPFSyscall.createMap(
            type: type, keySize: UInt32(keySize), valueSize: UInt32(valueSize), maxEntries: UInt32(maxEntries),
            flags: flags, innerMapFileDescriptor: innerMap?.descriptor.rawValue ?? 0, mapExtra: mapExtra, name: name)
        self.type = type
        self.keySize = keySize
        self.valueSize = valueSize
        self.maxEntries = maxEntries
        let perCPU: Set<UInt32> = [5, 6, 10, 21]  // percpu_hash, percpu_array, lru_percpu_hash, percpu_cgroup_storage
        userValueSize = perCPU.contains(type) ? (valueSize + 7) / 8 * 8 * KernelMap.possibleCPUCount : valueSize
    }

    /// The number of possible CPUs, as Linux sizes per-CPU values for user space.
    public static var possibleCPUCount: Int { PossibleCPUs.count }

    private var fd: Int32 { descriptor.rawValue }

    private func nullableKey<R>(_ key: [UInt8], _ body: (UnsafeRawPointer?) throws(BPFSystemError) -> R) throws(BPFSystemError) -> R {
        // Maps without keys (queue, stack, bloom filter) take a NULL key.
        if key.isEmpty { return try body(nil) }
        return try withBytes(key) { (pointer) throws(BPFSystemError) in try body(pointer) }
    }

    /// BPF_MAP_LOOKUP_ELEM; nil when the kernel answers ENOENT.
    public func lookup(key: [UInt8], flags: UInt64 = 0) throws(BPFSystemError) -> [UInt8]? {
        var value = [UInt8](repeating: 0, count: max(userValueSize, 1))
        do {
            try nullableKey(key) { (k) throws(BPFSystemError) in
                try withMutableBytes(&value) { (v) throws(BPFSystemError) in
                    try BPFSyscall.lookupElement(map: fd, key: k, value: v, flags: flags)
                }
            }
        } catch where error.errno == ENOENT {
            return nil
        }
        return Array(value.prefix(userValueSize))
    }

    /// BPF_MAP_UPDATE_ELEM (also a queue/stack push or bloom filter add with an empty key).
    public func update(key: [UInt8], value: [UInt8], flags: UInt64 = 0) throws(BPFSystemError) {
        try nullableKey(key) { (k) throws(BPFSystemError) in
            try withBytes(value) { (v) throws(BPFSystemError) in
                try BPFSyscall.updateElement(map: fd, key: k, value: v, flags: flags)
            }
        }
    }

    /// BPF_MAP_DELETE_ELEM.
    public func delete(key: [UInt8]) throws(BPFSystemError) {
        try nullableKey(key) { (k) throws(BPFSystemError) in try BPFSyscall.deleteElement(map: fd, key: k) }
    }

    /// BPF_MAP_GET_NEXT_KEY; nil at the end (ENOENT).
    public func nextKey(after key: [UInt8]?) throws(BPFSystemError) -> [UInt8]? {
        var next = [UInt8](repeating: 0, count: max(keySize, 1))
        do {
            try withMutableBytes(&next) { (n) throws(BPFSystemError) in
                if let key {
                    try withBytes(key) { (k) throws(BPFSystemError) in try BPFSyscall.nextKey(map: fd, key: k, nextKey: n) }
                } else {
                    try BPFSyscall.nextKey(map: fd, key: nil, nextKey: n)
                }
            }
        } catch where error.errno == ENOENT {
            return nil
        }
        return Array(next.prefix(keySize))
    }

    /// All keys, in the kernel's get_next_key order.
    public func keys() throws(BPFSystemError) -> [[UInt8]] {
        var result: [[UInt8]] = []
        var current: [UInt8]? = nil
        while let next = try nextKey(after: current) {
            result.append(next)
            current = next
            if result.count > maxEntries + 1 { break }  // arrays never loop; guard anyway
        }
        return result
    }

    /// BPF_MAP_LOOKUP_AND_DELETE_ELEM with a NULL key: a queue/stack pop; nil when empty.
    public func pop() throws(BPFSystemError) -> [UInt8]? {
        var value = [UInt8](repeating: 0, count: max(valueSize, 1))
        do {
            try withMutableBytes(&value) { (v) throws(BPFSystemError) in
                try BPFSyscall.lookupAndDeleteElement(map: fd, key: nil, value: v)
            }
        } catch where error.errno == ENOENT {
            return nil
        }
        return Array(value.prefix(valueSize))
    }

    /// A queue/stack peek or bloom filter membership test (lookup with a NULL key).
    public func peek() throws(BPFSystemError) -> [UInt8]? {
        try lookup(key: [])
    }
}

/// Calls `body` with a pointer to `bytes`' storage, valid only inside `body`.
func withBytes<R>(_ bytes: [UInt8], _ body: (UnsafeRawPointer) throws(BPFSystemError) -> R) throws(BPFSystemError) -> R {
    let result: Result<R, BPFSystemError> = bytes.withUnsafeBytes { buffer in
        // A zero-length array may have no base address; the kernel never reads
        // from a zero-sized key/value, so any aligned non-null pointer works.
        let pointer = buffer.baseAddress ?? UnsafeRawPointer(bitPattern: 8)!
        do throws(BPFSystemError) { return .success(try body(pointer)) } catch { return .failure(error) }
    }
    return try result.get()
}

/// Calls `body` with a writable pointer to `bytes`' storage, valid only inside `body`.
func withMutableBytes<R>(_ bytes: inout [UInt8], _ body: (UnsafeMutableRawPointer) throws(BPFSystemError) -> R) throws(BPFSystemError) -> R {
    let result: Result<R, BPFSystemError> = bytes.withUnsafeMutableBytes { buffer in
        guard let pointer = buffer.baseAddress else { return .failure(BPFSystemError(command: .mapLookupElement, errno: EINVAL)) }
        do throws(BPFSystemError) { return .success(try body(pointer)) } catch { return .failure(error) }
    }
    return try result.get()
}
