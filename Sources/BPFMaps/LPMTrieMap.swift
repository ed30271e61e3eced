#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// BPF_MAP_TYPE_LPM_TRIE: longest-prefix-match map. A key is a 4-byte
/// host-order prefix length followed by `key_size - 4` data bytes (network
/// order for IP addresses). Lookups return the entry with the longest prefix
/// (not longer than the lookup key's prefix length) matching the key's data;
/// update and delete address an exact prefix. get_next_key follows Linux's
/// post-order walk: more specific prefixes before the prefixes containing
/// them, and at a branch the 0-bit side before the 1-bit side.
///
/// Entries live in preallocated slots (so value pointers stay valid memory);
/// an index list kept in get_next_key order is searched linearly under a
/// spin lock, which suits the small tries programs use.
public final class LPMTrieMap: BPFMap {
    public let definition: MapDefinition
    let dataSize: Int
    let maxPrefixLength: Int
    let valueOffset: Int
    let slotStride: Int
    let capacity: Int
    /// Slot layout: prefix length (UInt32), 4 bytes padding, data, value (8-aligned).
    let slots: RawStorage
    /// `order[0..<used]` are in-use slot indices in get_next_key order;
    let order: RawStorage
    let freeSlots: RawStorage
    let lock = SpinLocks(count: 1)
    // Only read or written while holding `lock`.
    nonisolated(unsafe) var used = 0
    nonisolated(unsafe) var freeCount = 0

    public init(_ definition: MapDefinition) throws(MapDefinitionError) {
        try definition.validate()
        guard definition.type == .lpmTrie else {
            throw MapDefinitionError(field: "type", rule: "LPMTrieMap implements lpm_trie maps only.")
        }
        self.definition = definition
        dataSize = Int(definition.keySize) - 4
        maxPrefixLength = dataSize * 8
        valueOffset = 8 + roundUp8(dataSize)
        slotStride = valueOffset + roundUp8(Int(definition.valueSize))
        capacity = Int(definition.maxEntries)
        slots = RawStorage(byteCount: slotStride * capacity)
        order = RawStorage(byteCount: 4 * capacity)
        freeSlots = RawStorage(byteCount: 4 * capacity)
        for index in 0..<capacity {
            // `freeSlots` holds `capacity` Int32 entries.
            freeSlots.base.storeBytes(of: Int32(capacity - 1 - index), toByteOffset: index * 4, as: Int32.self)
        }
        freeCount = capacity
    }

    /// The number of prefixes stored.
    public var count: Int { lock.withLock(0) { used } }

    @inline(__always) func slot(_ index: Int32) -> UnsafeMutableRawPointer { slots.base + Int(index) * slotStride }
    @inline(__always) func prefixLength(_ index: Int32) -> Int { Int(slot(index).load(as: UInt32.self)) }
    @inline(__always) func data(_ index: Int32) -> UnsafeMutableRawPointer { slot(index) + 8 }
    @inline(__always) func orderAt(_ position: Int) -> Int32 { order.base.load(fromByteOffset: position * 4, as: Int32.self) }

    /// Number of leading bits `a` and `b` share, up to `limit` bits.
    @inline(__always)
    static func commonBits(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, limit: Int) -> Int {
        var bit = 0
        var byte = 0
        // Both pointers have at least ceil(limit / 8) readable bytes.
        while bit < limit {
            let x = a.load(fromByteOffset: byte, as: UInt8.self) ^ b.load(fromByteOffset: byte, as: UInt8.self)
            if x != 0 { return min(limit, bit + x.leadingZeroBitCount) }
            bit += 8
            byte += 1
        }
        return limit
    }

    @inline(__always)
    static func bitAt(_ data: UnsafeRawPointer, _ bit: Int) -> Int {
        Int(data.load(fromByteOffset: bit / 8, as: UInt8.self) >> (7 - UInt8(bit % 8))) & 1
    }

    /// Linux's post-order: whether prefix (aData/aLength) is walked before (bData/bLength).
    static func precedes(_ aData: UnsafeRawPointer, _ aLength: Int, _ bData: UnsafeRawPointer, _ bLength: Int) -> Bool {
        let shorter = min(aLength, bLength)
        let common = commonBits(aData, bData, limit: shorter)
        if common == shorter { return aLength > bLength }  // the more specific prefix comes first
        return bitAt(aData, common) == 0
    }

    /// Position in `order` of the exact prefix, or -1. Caller holds the lock.
    func findExact(_ keyData: UnsafeRawPointer, _ length: Int) -> Int {
        for position in 0..<used {
            let index = orderAt(position)
            if prefixLength(index) == length && Self.commonBits(data(index), keyData, limit: length) == length {
                return position
            }
        }
        return -1
    }

    // MARK: Program face

    /// The value storage (preallocated for the map's lifetime).
    public var valueMemory: UnsafeMutableRawBufferPointer? {
        UnsafeMutableRawBufferPointer(start: slots.base, count: slots.byteCount)
    }

    public func lookup(key: UnsafeRawPointer, cpu: Int) -> UnsafeMutableRawPointer? {
        let length = Int(key.loadUnaligned(as: UInt32.self))
        if length > maxPrefixLength { return nil }  // as Linux's trie_lookup_elem
        let keyData = key + 4
        lock.lock(0)
        defer { lock.unlock(0) }
        var best: Int32 = -1
        var bestLength = -1
        for position in 0..<used {
            let index = orderAt(position)
            let candidate = prefixLength(index)
            if candidate <= length && candidate > bestLength && Self.commonBits(data(index), keyData, limit: candidate) == candidate {
                best = index
                bestLength = candidate
            }
        }
        return best >= 0 ? slot(best) + valueOffset : nil
    }

    public func update(key: UnsafeRawPointer, value: UnsafeRawPointer, flags: UInt64, cpu: Int) -> Int32 {
        if flags > UpdateFlags.exist { return -LinuxErrno.EINVAL }
        let length = Int(key.loadUnaligned(as: UInt32.self))
        if length > maxPrefixLength { return -LinuxErrno.EINVAL }
        let keyData = key + 4
        let valueSize = Int(definition.valueSize)
        lock.lock(0)
        defer { lock.unlock(0) }
        let position = findExact(keyData, length)
        if position >= 0 {
            if flags == UpdateFlags.noExist { return -LinuxErrno.EEXIST }
            let index = orderAt(position)
            // Linux replaces the node, so the stored data (bits past the prefix too) is the new key's.
            data(index).copyMemory(from: keyData, byteCount: dataSize)
            (slot(index) + valueOffset).copyMemory(from: value, byteCount: valueSize)
            return 0
        }
        if flags == UpdateFlags.exist { return -LinuxErrno.ENOENT }
        if freeCount == 0 { return -LinuxErrno.ENOSPC }
        freeCount -= 1
        let index = freeSlots.base.load(fromByteOffset: freeCount * 4, as: Int32.self)
        slot(index).storeBytes(of: UInt32(length), as: UInt32.self)
        data(index).copyMemory(from: keyData, byteCount: dataSize)
        (slot(index) + valueOffset).copyMemory(from: value, byteCount: valueSize)
        var insertAt = used
        for candidate in 0..<used where Self.precedes(keyData, length, data(orderAt(candidate)), prefixLength(orderAt(candidate))) {
            insertAt = candidate
            break
        }
        // Shift order[insertAt..<used] up by one; `used < capacity` since a slot was free.
        let base = order.base + insertAt * 4
        (base + 4).copyMemory(from: base, byteCount: (used - insertAt) * 4)
        base.storeBytes(of: index, as: Int32.self)
        used += 1
        return 0
    }

    public func delete(key: UnsafeRawPointer) -> Int32 {
        let length = Int(key.loadUnaligned(as: UInt32.self))
        if length > maxPrefixLength { return -LinuxErrno.EINVAL }
        lock.lock(0)
        defer { lock.unlock(0) }
        let position = findExact(key + 4, length)
        if position < 0 { return -LinuxErrno.ENOENT }
        let index = orderAt(position)
        let base = order.base + position * 4
        base.copyMemory(from: base + 4, byteCount: (used - position - 1) * 4)
        used -= 1
        freeSlots.base.storeBytes(of: index, toByteOffset: freeCount * 4, as: Int32.self)
        freeCount += 1
        return 0
    }

    public func nextKey(after key: UnsafeRawPointer?, into next: UnsafeMutableRawPointer) -> Int32 {
        lock.lock(0)
        defer { lock.unlock(0) }
        if used == 0 { return -LinuxErrno.ENOENT }
        var position = 0
        if let key {
            let length = Int(key.loadUnaligned(as: UInt32.self))
            if length <= maxPrefixLength {
                let found = findExact(key + 4, length)
                if found >= 0 {
                    position = found + 1
                    if position == used { return -LinuxErrno.ENOENT }
                }
            }
        }
        let index = orderAt(position)
        next.storeBytes(of: UInt32(prefixLength(index)), as: UInt32.self)
        (next + 4).copyMemory(from: data(index), byteCount: dataSize)
        return 0
    }

    /// Copies the value under the lock (a program lookup returns it in place).
    public func lookup(key: [UInt8]) throws(MapError) -> [UInt8]? {
        try checkKey(key)
        try checkReadable()
        return key.withUnsafeBytes { buffer -> [UInt8]? in
            guard let value = lookup(key: buffer.baseAddress!, cpu: 0) else { return nil }
            lock.lock(0)
            defer { lock.unlock(0) }
            return Array(UnsafeRawBufferPointer(start: value, count: Int(definition.valueSize)))
        }
    }
}

extension LPMTrieMap {
    /// Builds an LPM key: host-order prefix length followed by `data`.
    public static func key(prefixLength: UInt32, data: [UInt8]) -> [UInt8] {
        withUnsafeBytes(of: prefixLength) { Array($0) } + data
    }
}
