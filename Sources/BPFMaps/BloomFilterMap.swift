import Synchronization

/// BPF_MAP_TYPE_BLOOM_FILTER: a keyless set approximation. Push adds a value;
/// peek answers 0 when the value may be present and -ENOENT when it is
/// certainly absent. Uses `map_extra & 0xF` hash functions (5 when zero) over
/// a power-of-two bitset sized like Linux's (`max_entries * k / ln 2`).
public final class BloomFilterMap: BPFMap {
    public let definition: MapDefinition
    let hashCount: Int
    let bitMask: UInt64
    let seed: UInt64
    let words: RawStorage

    public init(_ definition: MapDefinition) throws(MapDefinitionError) {
        try definition.validate()
        guard definition.type == .bloomFilter else {
            throw MapDefinitionError(field: "type", rule: "BloomFilterMap implements bloom_filter maps only.")
        }
        self.definition = definition
        hashCount = definition.bloomHashCount
        // bits = max_entries * k / ln(2), rounded up to a power of two (at least 64, at most 2^31).
        let wanted = min(Double(definition.maxEntries) * Double(hashCount) / 0.693_147_180_559_945, Double(1 << 31))
        var bits: UInt64 = 64
        while Double(bits) < wanted { bits <<= 1 }
        bitMask = bits - 1
        seed = definition.flags & MapFlags.zeroSeed != 0 ? 0 : UInt64.random(in: 1...UInt64.max)
        words = RawStorage(byteCount: Int(bits / 8))
    }

    @inline(__always)
    func bit(_ value: UnsafeRawPointer, _ index: Int) -> UInt64 {
        KeyHash.hash(value, count: Int(definition.valueSize), seed: seed &+ UInt64(index) &* 0x9e37_79b9_7f4a_7c15) & bitMask
    }

    @inline(__always)
    func word(_ bit: UInt64) -> UnsafeMutablePointer<Atomic<UInt64>> {
        // bit <= bitMask, so bit / 64 indexes inside the bitset; Atomic<UInt64>
        // has UInt64's layout and every access to the words is atomic.
        (words.base + Int(bit / 64) * 8).assumingMemoryBound(to: Atomic<UInt64>.self)
    }

    public func push(value: UnsafeRawPointer, flags: UInt64) -> Int32 {
        if flags != UpdateFlags.any { return -LinuxErrno.EINVAL }
        for index in 0..<hashCount {
            let b = bit(value, index)
            word(b).pointee.bitwiseOr(1 << (b % 64), ordering: .relaxed)
        }
        return 0
    }

    /// bpf_map_peek_elem: the value to test is read from `value` (the helper's
    /// buffer is an input for bloom filters).
    public func peek(into value: UnsafeMutableRawPointer) -> Int32 { test(UnsafeRawPointer(value)) }

    @inline(__always)
    func test(_ value: UnsafeRawPointer) -> Int32 {
        for index in 0..<hashCount {
            let b = bit(value, index)
            if word(b).pointee.load(ordering: .relaxed) & (1 << (b % 64)) == 0 { return -LinuxErrno.ENOENT }
        }
        return 0
    }

    public func pop(into value: UnsafeMutableRawPointer) -> Int32 { -LinuxErrno.EOPNOTSUPP }
    public func delete(key: UnsafeRawPointer) -> Int32 { -LinuxErrno.EOPNOTSUPP }
    public func nextKey(after key: UnsafeRawPointer?, into next: UnsafeMutableRawPointer) -> Int32 { -LinuxErrno.EOPNOTSUPP }

    /// Adds `value` to the filter (BPF_MAP_UPDATE_ELEM with a NULL key).
    public func insert(_ value: [UInt8]) throws(MapError) {
        try checkWritable()
        guard value.count == valueSize else { throw .wrongValueSize(expected: valueSize, given: value.count) }
        _ = value.withUnsafeBytes { push(value: $0.baseAddress!, flags: 0) }
    }

    /// Whether `value` may be in the filter (false means certainly absent).
    public func mayContain(_ value: [UInt8]) throws(MapError) -> Bool {
        guard value.count == valueSize else { throw .wrongValueSize(expected: valueSize, given: value.count) }
        return value.withUnsafeBytes { test($0.baseAddress!) == 0 }
    }

    public func lookup(key: [UInt8]) throws(MapError) -> [UInt8]? {
        throw .invalid(reason: "bloom filters are queried by value; use mayContain(_:).")
    }

    public func update(key: [UInt8], value: [UInt8], flags: UInt64 = UpdateFlags.any) throws(MapError) {
        try checkKey(key)
        if flags != UpdateFlags.any { throw .invalid(reason: "bloom filters accept only BPF_ANY.") }
        try insert(value)
    }

    public func delete(key: [UInt8]) throws(MapError) {
        throw .notSupported(operation: "delete", mapType: .bloomFilter)
    }

    public func nextKey(after key: [UInt8]?) throws(MapError) -> [UInt8]? {
        throw .notSupported(operation: "get_next_key", mapType: .bloomFilter)
    }
}
