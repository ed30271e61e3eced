import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// BPF_MAP_TYPE_HASH, PERCPU_HASH, LRU_HASH and LRU_PERCPU_HASH.
///
/// Elements are preallocated (Linux's default): `max_entries` fixed-size
/// slots live in one allocation for the map's lifetime, so a value pointer
/// handed to a program stays valid memory even after its element is deleted.
/// Buckets are singly linked chains of slot indices, each guarded by its own
/// spin lock; free slots sit on a free stack. LRU maps, when no slot is free,
/// evict the least recently used element among a bounded scan (lookups and
/// updates stamp an element with a global clock), like Linux's approximate LRU.
public final class HashMap: BPFMap {
    public let definition: MapDefinition
    let isLRU: Bool
    let cpuCount: Int
    let keyBytes: Int
    let valueStride: Int
    let elementStride: Int
    let bucketMask: Int
    let seed: UInt64
    let capacity: Int

    /// Element slots. Layout of one slot (offsets in bytes):
    /// 0 next (Int32, -1 ends a chain), 4 in-use (UInt32), 8 hash (UInt64),
    /// 16 LRU stamp (UInt64, atomic), 24 key (padded to 8), then one value
    /// per CPU, each padded to 8.
    let elements: RawStorage
    /// Bucket heads (Int32 slot index, -1 when empty).
    let heads: RawStorage
    let bucketLocks: SpinLocks
    /// Stack of free slot indices (Int32) and its lock (lock 0); lock 1 serialises eviction.
    let freeStack: RawStorage
    let mapLocks: SpinLocks
    let freeTop = Atomic<Int>(0)
    let clock = Atomic<UInt64>(1)
    let evictionHand = Atomic<Int>(0)

    static let keyOffset = 24
    /// How many in-use slots an LRU eviction inspects (Linux scans a bounded number too).
    static let evictionScan = 64

    public init(_ definition: MapDefinition) throws(MapDefinitionError) {
        try definition.validate()
        let kinds: [MapType] = [.hash, .perCPUHash, .lruHash, .lruPerCPUHash]
        guard kinds.contains(definition.type) else {
            throw MapDefinitionError(field: "type", rule: "HashMap implements hash, percpu_hash, lru_hash and lru_percpu_hash maps only.")
        }
        self.definition = definition
        isLRU = definition.type == .lruHash || definition.type == .lruPerCPUHash
        cpuCount = definition.type.isPerCPU ? PossibleCPUs.count : 1
        keyBytes = Int(definition.keySize)
        valueStride = roundUp8(Int(definition.valueSize))
        elementStride = Self.keyOffset + roundUp8(keyBytes) + valueStride * cpuCount
        capacity = Int(definition.maxEntries)
        var buckets = 1
        while buckets < capacity { buckets <<= 1 }
        bucketMask = buckets - 1
        seed = definition.flags & MapFlags.zeroSeed != 0 ? 0 : UInt64.random(in: 1...UInt64.max)
        elements = RawStorage(byteCount: elementStride * capacity)
        heads = RawStorage(byteCount: 4 * buckets)
        bucketLocks = SpinLocks(count: buckets)
        freeStack = RawStorage(byteCount: 4 * capacity)
        mapLocks = SpinLocks(count: 2)
        // Both allocations are sized above: `buckets` heads and `capacity` free entries.
        heads.base.initializeMemory(as: Int32.self, repeating: -1, count: buckets)
        let free = freeStack.base.assumingMemoryBound(to: Int32.self)
        for index in 0..<capacity { free[index] = Int32(capacity - 1 - index) }
        freeTop.store(capacity, ordering: .relaxed)
    }

    /// The number of elements in the map.
    public var count: Int { capacity - freeTop.load(ordering: .relaxed) }

    // MARK: Slot access (all indices are < capacity; all offsets inside the slot)

    @inline(__always) func element(_ index: Int32) -> UnsafeMutableRawPointer { elements.base + Int(index) * elementStride }
    @inline(__always) func next(_ index: Int32) -> Int32 { element(index).load(as: Int32.self) }
    @inline(__always) func setNext(_ index: Int32, _ value: Int32) { element(index).storeBytes(of: value, as: Int32.self) }
    @inline(__always) func keyPointer(_ index: Int32) -> UnsafeMutableRawPointer { element(index) + Self.keyOffset }
    @inline(__always) func valuePointer(_ index: Int32, cpu: Int) -> UnsafeMutableRawPointer {
        element(index) + Self.keyOffset + roundUp8(keyBytes) + cpu * valueStride
    }
    @inline(__always) func head(_ bucket: Int) -> Int32 { heads.base.load(fromByteOffset: bucket * 4, as: Int32.self) }
    @inline(__always) func setHead(_ bucket: Int, _ value: Int32) { heads.base.storeBytes(of: value, toByteOffset: bucket * 4, as: Int32.self) }
    @inline(__always) func touch(_ index: Int32) {
        guard isLRU else { return }
        // The stamp word is 8-aligned inside an initialised slot.
        RawAtomic.storeRelaxed64(element(index) + 16, clock.add(1, ordering: .relaxed).newValue)
    }

    @inline(__always) func hash(_ key: UnsafeRawPointer) -> UInt64 { KeyHash.hash(key, count: keyBytes, seed: seed) }

    /// Finds `key` in `bucket`'s chain; the caller holds the bucket lock.
    @inline(__always)
    func find(_ key: UnsafeRawPointer, hash: UInt64, bucket: Int) -> Int32 {
        var index = head(bucket)
        while index >= 0 {
            let slot = element(index)
            // `key` has keyBytes readable bytes; so does the slot's key field.
            if slot.load(fromByteOffset: 8, as: UInt64.self) == hash && memcmp(slot + Self.keyOffset, key, keyBytes) == 0 {
                return index
            }
            index = next(index)
        }
        return -1
    }

    /// Unlinks `index` from `bucket`'s chain; the caller holds the bucket lock.
    func unlink(_ index: Int32, bucket: Int) {
        if head(bucket) == index { setHead(bucket, next(index)); return }
        var current = head(bucket)
        while current >= 0 {
            let following = next(current)
            if following == index { setNext(current, next(index)); return }
            current = following
        }
    }

    func popFree() -> Int32 {
        mapLocks.lock(0)
        defer { mapLocks.unlock(0) }
        let top = freeTop.load(ordering: .relaxed)
        guard top > 0 else { return -1 }
        freeTop.store(top - 1, ordering: .relaxed)
        // top - 1 < capacity: the stack never holds more than `capacity` entries.
        return freeStack.base.load(fromByteOffset: (top - 1) * 4, as: Int32.self)
    }

    func pushFree(_ index: Int32) {
        mapLocks.lock(0)
        defer { mapLocks.unlock(0) }
        let top = freeTop.load(ordering: .relaxed)
        freeStack.base.storeBytes(of: index, toByteOffset: top * 4, as: Int32.self)
        freeTop.store(top + 1, ordering: .relaxed)
    }

    /// LRU: takes a free slot, or evicts the least recently stamped element
    /// among up to `evictionScan` in-use slots after the clock hand.
    func popOrEvict() -> Int32 {
        while true {
            let free = popFree()
            if free >= 0 { return free }
            mapLocks.lock(1)
            var victim: Int32 = -1
            var victimStamp = UInt64.max
            var position = evictionHand.load(ordering: .relaxed)
            var inspected = 0
            var visited = 0
            while inspected < Self.evictionScan && visited < capacity {
                let index = Int32(position % capacity)
                position += 1
                visited += 1
                let slot = element(index)
                guard RawAtomic.load32(slot + 4) == 1 else { continue }
                inspected += 1
                let stamp = RawAtomic.loadRelaxed64(slot + 16)
                if stamp < victimStamp { victimStamp = stamp; victim = index }
            }
            evictionHand.store(position % capacity, ordering: .relaxed)
            if victim >= 0 {
                let bucket = Int(truncatingIfNeeded: element(victim).load(fromByteOffset: 8, as: UInt64.self)) & bucketMask
                bucketLocks.lock(bucket)
                let slot = element(victim)
                // Re-check under the bucket lock: the slot may have been deleted or reused.
                if RawAtomic.load32(slot + 4) == 1,
                   Int(truncatingIfNeeded: slot.load(fromByteOffset: 8, as: UInt64.self)) & bucketMask == bucket {
                    unlink(victim, bucket: bucket)
                    RawAtomic.store32(slot + 4, 0)
                    bucketLocks.unlock(bucket)
                    mapLocks.unlock(1)
                    return victim
                }
                bucketLocks.unlock(bucket)
            }
            mapLocks.unlock(1)
        }
    }

    // MARK: Program face

    /// The value storage (preallocated for the map's lifetime).
    public var valueMemory: UnsafeMutableRawBufferPointer? {
        UnsafeMutableRawBufferPointer(start: elements.base, count: elements.byteCount)
    }

    public func lookup(key: UnsafeRawPointer, cpu: Int) -> UnsafeMutableRawPointer? {
        let h = hash(key)
        let bucket = Int(truncatingIfNeeded: h) & bucketMask
        bucketLocks.lock(bucket)
        let index = find(key, hash: h, bucket: bucket)
        bucketLocks.unlock(bucket)
        guard index >= 0 else { return nil }
        touch(index)
        return valuePointer(index, cpu: cpuCount == 1 ? 0 : min(max(cpu, 0), cpuCount - 1))
    }

    /// Writes a value into slot `index`: with `cpu >= 0` only that CPU's
    /// value (zeroing the others when `fresh`), with `cpu < 0` all CPUs' values
    /// from a user-space buffer of padded values.
    @inline(__always)
    func store(_ value: UnsafeRawPointer, into index: Int32, cpu: Int, fresh: Bool) {
        let size = Int(definition.valueSize)
        if !definition.type.isPerCPU {
            valuePointer(index, cpu: 0).copyMemory(from: value, byteCount: size)
        } else if cpu < 0 {
            for target in 0..<cpuCount {
                // As Linux, user space writes the whole 8-byte-padded slot of every CPU.
                valuePointer(index, cpu: target).copyMemory(from: value + target * valueStride, byteCount: valueStride)
            }
        } else {
            let current = min(cpu, cpuCount - 1)
            for target in 0..<cpuCount where target != current && fresh {
                valuePointer(index, cpu: target).initializeMemory(as: UInt8.self, repeating: 0, count: valueStride)
            }
            valuePointer(index, cpu: current).copyMemory(from: value, byteCount: size)
        }
    }

    public func update(key: UnsafeRawPointer, value: UnsafeRawPointer, flags: UInt64, cpu: Int) -> Int32 {
        if isLRU {
            if flags > UpdateFlags.exist { return -LinuxErrno.EINVAL }
        } else {
            if flags & ~UpdateFlags.lock > UpdateFlags.exist { return -LinuxErrno.EINVAL }
            if flags & UpdateFlags.lock != 0 { return -LinuxErrno.EINVAL }  // no bpf_spin_lock without BTF
        }
        if definition.flags & MapFlags.readOnlyProgram != 0 && cpu >= 0 { return -LinuxErrno.EPERM }
        let h = hash(key)
        let bucket = Int(truncatingIfNeeded: h) & bucketMask
        // LRU maps take (possibly evicting) a slot before locking the bucket, as Linux
        // does, so a failed BPF_NOEXIST update can still have evicted an element.
        var spare: Int32 = -1
        if isLRU && !(cpuCount > 1 && flags == UpdateFlags.exist) { spare = popOrEvict() }
        bucketLocks.lock(bucket)
        let existing = find(key, hash: h, bucket: bucket)
        if existing >= 0 {
            if flags & UpdateFlags.noExist != 0 {
                bucketLocks.unlock(bucket)
                if spare >= 0 { pushFree(spare) }
                return -LinuxErrno.EEXIST
            }
            store(value, into: existing, cpu: cpu, fresh: false)
            bucketLocks.unlock(bucket)
            touch(existing)
            if spare >= 0 { pushFree(spare) }
            return 0
        }
        if flags & UpdateFlags.exist != 0 {
            bucketLocks.unlock(bucket)
            if spare >= 0 { pushFree(spare) }
            return -LinuxErrno.ENOENT
        }
        let slotIndex = spare >= 0 ? spare : (isLRU ? -1 : popFree())
        guard slotIndex >= 0 else {
            bucketLocks.unlock(bucket)
            return -LinuxErrno.E2BIG
        }
        let slot = element(slotIndex)
        slot.storeBytes(of: h, toByteOffset: 8, as: UInt64.self)
        keyPointer(slotIndex).copyMemory(from: key, byteCount: keyBytes)
        store(value, into: slotIndex, cpu: cpu, fresh: true)
        setNext(slotIndex, head(bucket))
        RawAtomic.store32(slot + 4, 1)
        setHead(bucket, slotIndex)
        bucketLocks.unlock(bucket)
        touch(slotIndex)
        return 0
    }

    public func delete(key: UnsafeRawPointer) -> Int32 {
        let h = hash(key)
        let bucket = Int(truncatingIfNeeded: h) & bucketMask
        bucketLocks.lock(bucket)
        let index = find(key, hash: h, bucket: bucket)
        guard index >= 0 else {
            bucketLocks.unlock(bucket)
            return -LinuxErrno.ENOENT
        }
        unlink(index, bucket: bucket)
        RawAtomic.store32(element(index) + 4, 0)
        bucketLocks.unlock(bucket)
        pushFree(index)
        return 0
    }

    /// Linux's order: the next element in the key's chain, then the first
    /// element of the following non-empty buckets; a missing key restarts
    /// from the first bucket.
    public func nextKey(after key: UnsafeRawPointer?, into next: UnsafeMutableRawPointer) -> Int32 {
        var startBucket = 0
        if let key {
            let h = hash(key)
            let bucket = Int(truncatingIfNeeded: h) & bucketMask
            bucketLocks.lock(bucket)
            let index = find(key, hash: h, bucket: bucket)
            if index >= 0 {
                let following = self.next(index)
                if following >= 0 {
                    next.copyMemory(from: keyPointer(following), byteCount: keyBytes)
                    bucketLocks.unlock(bucket)
                    return 0
                }
                startBucket = bucket + 1
            }
            bucketLocks.unlock(bucket)
        }
        var bucket = startBucket
        while bucket <= bucketMask {
            bucketLocks.lock(bucket)
            let first = head(bucket)
            if first >= 0 {
                next.copyMemory(from: keyPointer(first), byteCount: keyBytes)
                bucketLocks.unlock(bucket)
                return 0
            }
            bucketLocks.unlock(bucket)
            bucket += 1
        }
        return -LinuxErrno.ENOENT
    }

    // MARK: User-space face

    /// Copies the value (all CPUs' padded values for per-CPU maps) under the
    /// bucket lock; unlike a program lookup it does not refresh LRU recency.
    public func lookup(key: [UInt8]) throws(MapError) -> [UInt8]? {
        try checkKey(key)
        try checkReadable()
        return key.withUnsafeBytes { keyBuffer -> [UInt8]? in
            let keyPointer = keyBuffer.baseAddress!
            let h = hash(keyPointer)
            let bucket = Int(truncatingIfNeeded: h) & bucketMask
            bucketLocks.lock(bucket)
            defer { bucketLocks.unlock(bucket) }
            let index = find(keyPointer, hash: h, bucket: bucket)
            guard index >= 0 else { return nil }
            if !definition.type.isPerCPU {
                return Array(UnsafeRawBufferPointer(start: valuePointer(index, cpu: 0), count: Int(definition.valueSize)))
            }
            var result = [UInt8]()
            result.reserveCapacity(valueStride * cpuCount)
            for cpu in 0..<cpuCount {
                result.append(contentsOf: UnsafeRawBufferPointer(start: valuePointer(index, cpu: cpu), count: valueStride))
            }
            return result
        }
    }

    /// Per-CPU values of `key`, one padded value per possible CPU.
    public func lookupPerCPU(key: [UInt8]) throws(MapError) -> [[UInt8]]? {
        guard let flat = try lookup(key: key) else { return nil }
        return splitPerCPU(flat, stride: cpuCount == 1 ? flat.count : valueStride, count: cpuCount)
    }

    /// Writes one value per possible CPU.
    public func updatePerCPU(key: [UInt8], values: [[UInt8]], flags: UInt64 = UpdateFlags.any) throws(MapError) {
        try update(key: key, value: joinPerCPU(values, stride: valueStride, count: cpuCount, valueSize: Int(definition.valueSize)), flags: flags)
    }
}
