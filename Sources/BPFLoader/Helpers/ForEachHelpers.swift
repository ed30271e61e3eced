import BPFMaps
import BPFRuntime

/// Memory a helper lends a program for the length of a helper call: the key
/// bpf_for_each_map_elem passes its callback (Linux passes a kernel-stack
/// `u32` for arrays and the element's key for hashes; both are read-only to the
/// callback). One per packet frame or raw-context run, so it outlives every
/// run that can see it; used as a stack by nested calls. Not thread-safe: a
/// run's helpers run on the run's thread.
final class HelperScratch {
    /// Room for one largest (512-byte) key per possible callback nesting level.
    static let capacity = 8192
    private var storage: UnsafeMutableRawBufferPointer?
    private var top = 0

    init() {}

    deinit { storage?.deallocate() }

    /// Reserves `count` bytes (8-aligned) until the matching ``release(_:)``;
    /// nil when the scratch is full. In checked mode the program may read the
    /// whole scratch (never write it) from now on in this run.
    func reserve(_ count: Int, context: HelperCallContext) -> UnsafeMutableRawPointer? {
        let size = (count + 7) & ~7
        guard top + size <= Self.capacity else { return nil }
        let buffer: UnsafeMutableRawBufferPointer
        if let storage { buffer = storage } else {
            buffer = .allocate(byteCount: Self.capacity, alignment: 16)
            buffer.initializeMemory(as: UInt8.self, repeating: 0)
            storage = buffer
        }
        let base = UInt64(UInt(bitPattern: buffer.baseAddress!))
        if context.mode == .checked && !context.isAccessible(address: base, size: UInt64(Self.capacity), write: false) {
            // The storage lives as long as this object, which outlives the run.
            context.grantAccess(to: MemoryRegion(start: base, length: UInt64(Self.capacity), isWritable: false,
                                                 name: "helper scratch (callback keys)"))
        }
        defer { top += size }
        return buffer.baseAddress! + top
    }

    func release(_ count: Int) { top -= (count + 7) & ~7 }

    /// The scratch of the current run: its packet frame's, or the one a raw-context run passes.
    static func of(_ context: HelperCallContext) -> HelperScratch? {
        if let frame = context.userInfo as? PacketFrame { return frame.scratch }
        return context.userInfo as? HelperScratch
    }
}

/// bpf_for_each_map_elem (Linux's `bpf_for_each_array_elem` and
/// `bpf_for_each_hash_elem`): calls `callback(map, key, value, ctx)` for every
/// element in the map's iteration order (array indices; hash buckets as
/// get_next_key walks them); a nonzero return (the verifier allows only 1)
/// stops; returns the number of elements visited, counting the one that
/// stopped. `flags` must be 0 (-EINVAL). Values are this CPU's for per-CPU maps.
///
/// Hash maps: the keys present when the call starts are visited in order,
/// skipping those the callback deletes first; elements the callback adds are
/// not visited (Linux may visit those landing in later buckets). Visiting a
/// key looks it up, which refreshes an LRU element's recency (Linux does not).
enum ForEachHelpers {
    static func bodies(handles: MapHandleTable) -> [(Int32, Helper.Body)] {
        [
            (LinuxHelper.forEachMapElem, { arguments, context throws(HelperError) in
                let helper = "bpf_for_each_map_elem"
                let entry = try handles.map(arguments.r1, context: context, helper: helper)
                guard arguments.r4 == 0 else { return HelperSupport.errno(HelperSupport.EINVAL) }
                guard let slot = Int(exactly: arguments.r2) else {
                    throw .fault("\(helper): r2 = 0x\(String(arguments.r2, radix: 16)) is not a callback")
                }
                guard let scratch = HelperScratch.of(context) else {
                    throw .fault("\(helper): this run has no memory for callback keys")
                }
                let map = entry.map
                let keySize = entry.type == .array || entry.type == .perCPUArray ? 4 : entry.keySize
                guard let key = scratch.reserve(keySize, context: context) else {
                    throw .fault("\(helper): callbacks nest too deeply for their keys")
                }
                defer { scratch.release(keySize) }
                let keyAddress = UInt64(UInt(bitPattern: key))
                var visited: UInt64 = 0
                func visit(_ value: UnsafeMutableRawPointer) throws(HelperError) -> Bool {
                    visited += 1
                    let verdict = try context.callFunction(
                        atSlot: slot, arguments: HelperArguments(arguments.r1, keyAddress, UInt64(UInt(bitPattern: value)), arguments.r3, 0))
                    return verdict == 0
                }
                switch entry.type {
                case .array, .perCPUArray:
                    var index: UInt32 = 0
                    while index < entry.maxEntries {
                        key.storeBytes(of: index, as: UInt32.self)
                        guard let value = map.lookup(key: key, cpu: context.processor) else { break }
                        if try !visit(value) { break }
                        index += 1
                    }
                case .hash, .perCPUHash, .lruHash, .lruPerCPUHash:
                    // The keys present now, in get_next_key (bucket) order.
                    var keys: [UInt8] = []
                    var found = map.nextKey(after: nil, into: key) == 0
                    while found && keys.count / max(keySize, 1) < Int(entry.maxEntries) {
                        keys.append(contentsOf: UnsafeRawBufferPointer(start: key, count: keySize))
                        // Safety: `keys` ends with the previous key (keySize bytes); `key` has room for one.
                        found = keys.withUnsafeBytes { map.nextKey(after: $0.baseAddress! + $0.count - keySize, into: key) == 0 }
                    }
                    var offset = 0
                    while offset < keys.count {
                        keys.withUnsafeBytes { key.copyMemory(from: $0.baseAddress! + offset, byteCount: keySize) }
                        offset += keySize
                        guard let value = map.lookup(key: key, cpu: context.processor) else { continue }  // deleted meanwhile
                        if try !visit(value) { break }
                    }
                default:
                    throw .fault("\(helper): \(entry.type.name) maps cannot be iterated (Linux refuses them at load)")
                }
                return visited
            }),
        ]
    }
}
