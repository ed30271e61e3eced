import BPFMaps
import BPFRuntime
import Synchronization

/// The maps a collection's programs can name, by the opaque handle an `lddw`
/// map reference (or a map-in-map lookup) puts in a register.
///
/// A handle is the address of the map object itself (unretained; the
/// collection, or the outer map that retires replaced inner maps, keeps it
/// alive). Helpers turn a handle back into the map through this table, so a
/// bogus value in r1 is a clear fault in checked mode instead of a crash.
final class MapHandleTable: Sendable {
    /// A map and the parts of its definition helpers read on every call, copied
    /// out once so that a call does not copy the definition (and retain its name).
    final class Entry: Sendable {
        let map: any BPFMap
        let name: String
        let type: MapType
        let keySize: Int
        let valueSize: Int
        let maxEntries: UInt32
        let flags: UInt32
        /// The map's value memory as a region (read-only for BPF_F_RDONLY_PROG maps).
        let region: MemoryRegion?

        init(map: any BPFMap, name: String, region: MemoryRegion?) {
            let definition = map.definition
            self.map = map
            self.name = name
            self.type = definition.type
            self.keySize = Int(definition.keySize)
            self.valueSize = Int(definition.valueSize)
            self.maxEntries = definition.maxEntries
            self.flags = definition.flags
            self.region = region
        }
    }

    /// The collection's own maps: fixed after loading, read without a lock. A
    /// handle is found by a linear scan of `fixedHandles` (objects have a handful
    /// of maps: a few compares beat hashing the key, which the hot helper path pays).
    let fixedHandles: [UInt64]
    let fixedEntries: [Entry]
    /// Inner maps first met through a map-in-map lookup (user space may store
    /// maps the collection did not create).
    let discovered = Mutex<[UInt64: Entry]>([:])

    init(maps: [(name: String, map: any BPFMap)]) {
        var handles: [UInt64] = [], entries: [Entry] = []
        for (name, map) in maps where !handles.contains(Self.handle(of: map)) {
            handles.append(Self.handle(of: map))
            entries.append(Self.entry(name: name, map: map))
        }
        fixedHandles = handles
        fixedEntries = entries
    }

    /// The entry of one of the collection's own maps.
    @inline(__always)
    func fixedEntry(_ handle: UInt64) -> Entry? {
        // `fixedHandles` and `fixedEntries` have the same count.
        fixedHandles.withUnsafeBufferPointer { handles in
            for index in handles.indices where handles[index] == handle { return fixedEntries[index] }
            return nil
        }
    }

    static func handle(of map: any BPFMap) -> UInt64 {
        UInt64(UInt(bitPattern: Unmanaged.passUnretained(map as AnyObject).toOpaque()))
    }

    static func entry(name: String, map: any BPFMap) -> Entry {
        let readOnly = map.definition.flags & MapFlags.readOnlyProgram != 0
        let region = map.valueMemory.map { MemoryRegion($0, isWritable: !readOnly, name: "map \(name) values") }
        return Entry(map: map, name: name, region: region)
    }

    /// Every known value region, for a checked run's region list.
    var regions: [MemoryRegion] {
        fixedEntries.compactMap(\.region) + discovered.withLock { $0.values.compactMap(\.region) }
    }

    /// The map behind `handle`. Checked mode: unknown handles fault. Trusted mode:
    /// the verifier has proven r1 is a map, so an unknown handle is taken as a map object.
    @inline(__always)
    func map(_ handle: UInt64, context: HelperCallContext, helper: String) throws(HelperError) -> Entry {
        if let entry = fixedEntry(handle) { return entry }
        if let entry = discovered.withLock({ $0[handle] }) { return entry }
        if context.mode == .trusted, let pointer = UnsafeRawPointer(bitPattern: UInt(handle)) {
            // Trusted mode only: the verifier guarantees `pointer` is a live map object.
            let map = Unmanaged<AnyObject>.fromOpaque(pointer).takeUnretainedValue() as! any BPFMap
            return Entry(map: map, name: map.definition.name, region: nil)
        }
        throw .fault("\(helper): r1 = 0x\(String(handle, radix: 16)) is not a map of this collection")
    }

    /// Records an inner map returned by a map-in-map lookup (once per map) and,
    /// in checked mode, lets the current run touch its values.
    func noteInnerMap(at pointer: UnsafeMutableRawPointer, context: HelperCallContext) {
        let handle = UInt64(UInt(bitPattern: pointer))
        if fixedEntry(handle) != nil { return }
        // The pointer came from an outer map, which keeps the object alive.
        guard let map = Unmanaged<AnyObject>.fromOpaque(pointer).takeUnretainedValue() as? any BPFMap else { return }
        let added: Entry? = discovered.withLock { table in
            if table[handle] != nil { return nil }
            let entry = Self.entry(name: map.definition.name.isEmpty ? "inner map" : map.definition.name, map: map)
            table[handle] = entry
            return entry
        }
        if let region = added?.region { context.grantAccess(to: region) }
    }
}
