import BPFMaps
import BPFRuntime

/// bpf_map_lookup_elem/update_elem/delete_elem, push/pop/peek, tail_call.
/// No allocation on these paths: keys and values are used in place.
enum MapHelpers {
    static func bodies(handles: MapHandleTable) -> [(Int32, Helper.Body)] {
        [
            (LinuxHelper.mapLookupElem, { arguments, context throws(HelperError) in
                let entry = try handles.map(arguments.r1, context: context, helper: "bpf_map_lookup_elem")
                let key = try HelperSupport.readable(arguments.r2, entry.keySize, context)
                guard let value = entry.map.lookup(key: key, cpu: context.processor) else { return 0 }
                if entry.type.isMapInMap { handles.noteInnerMap(at: value, context: context) }
                return UInt64(UInt(bitPattern: value))
            }),
            (LinuxHelper.mapUpdateElem, { arguments, context throws(HelperError) in
                let entry = try handles.map(arguments.r1, context: context, helper: "bpf_map_update_elem")
                let key = try HelperSupport.readable(arguments.r2, entry.keySize, context)
                let value = try HelperSupport.readable(arguments.r3, entry.valueSize, context)
                if entry.flags & MapFlags.readOnlyProgram != 0 { return HelperSupport.errno(1) }  // EPERM
                return UInt64(bitPattern: Int64(entry.map.update(key: key, value: value, flags: arguments.r4, cpu: context.processor)))
            }),
            (LinuxHelper.mapDeleteElem, { arguments, context throws(HelperError) in
                let entry = try handles.map(arguments.r1, context: context, helper: "bpf_map_delete_elem")
                let key = try HelperSupport.readable(arguments.r2, entry.keySize, context)
                if entry.flags & MapFlags.readOnlyProgram != 0 { return HelperSupport.errno(1) }
                return UInt64(bitPattern: Int64(entry.map.delete(key: key)))
            }),
            (LinuxHelper.mapPushElem, { arguments, context throws(HelperError) in
                let entry = try handles.map(arguments.r1, context: context, helper: "bpf_map_push_elem")
                let value = try HelperSupport.readable(arguments.r2, entry.valueSize, context)
                return UInt64(bitPattern: Int64(entry.map.push(value: value, flags: arguments.r3)))
            }),
            (LinuxHelper.mapPopElem, { arguments, context throws(HelperError) in
                let entry = try handles.map(arguments.r1, context: context, helper: "bpf_map_pop_elem")
                let value = try HelperSupport.writable(arguments.r2, entry.valueSize, context)
                return UInt64(bitPattern: Int64(entry.map.pop(into: value)))
            }),
            (LinuxHelper.mapPeekElem, { arguments, context throws(HelperError) in
                let entry = try handles.map(arguments.r1, context: context, helper: "bpf_map_peek_elem")
                // Bloom filters read the value (membership test); queues and stacks write it.
                let isBloom = entry.type == .bloomFilter
                let size = entry.valueSize
                let value = isBloom ? UnsafeMutableRawPointer(mutating: try HelperSupport.readable(arguments.r2, size, context))
                    : try HelperSupport.writable(arguments.r2, size, context)
                return UInt64(bitPattern: Int64(entry.map.peek(into: value)))
            }),
            (LinuxHelper.tailCall, { arguments, context throws(HelperError) in
                let entry = try handles.map(arguments.r2, context: context, helper: "bpf_tail_call")
                guard let programs = entry.map as? ObjectArrayMap, entry.type == .programArray else {
                    throw .fault("bpf_tail_call: r2 is a \(entry.type.name) map, not a prog_array")
                }
                let index = UInt32(truncatingIfNeeded: arguments.r3)
                guard index < entry.maxEntries else { return HelperSupport.errno(HelperSupport.E2BIG) }
                // A missing slot or the chain limit: the call fails and the program goes on.
                guard let program = programs.object(at: index) as? ExecutableProgram else {
                    return HelperSupport.errno(HelperSupport.ENOENT)
                }
                return context.requestTailCall(to: program) ? 0 : HelperSupport.errno(HelperSupport.E2BIG)
            }),
            (LinuxHelper.spinLock, { arguments, context throws(HelperError) in
                let word = try SpinLockWord(arguments.r1, context, "bpf_spin_lock")
                word.lock()
                return 0
            }),
            (LinuxHelper.spinUnlock, { arguments, context throws(HelperError) in
                let word = try SpinLockWord(arguments.r1, context, "bpf_spin_unlock")
                word.unlock()
                return 0
            }),
        ]
    }
}

import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `struct bpf_spin_lock` in a map value: a real lock on its 32-bit word.
struct SpinLockWord {
    let word: UnsafeMutablePointer<Atomic<UInt32>>

    init(_ address: UInt64, _ context: HelperCallContext, _ helper: String) throws(HelperError) {
        guard address % 4 == 0 else { throw .fault("\(helper): the lock at 0x\(String(address, radix: 16)) is not 4-byte aligned") }
        // Safety: checked accessible and writable for 4 bytes (checked mode) and
        // 4-aligned; Atomic<UInt32> has UInt32's layout, and the word is only
        // touched through these atomics while the program holds or takes the lock.
        word = try context.buffer(at: address, count: 4, write: true).baseAddress!.assumingMemoryBound(to: Atomic<UInt32>.self)
    }

    func lock() {
        var spins = 0
        while !word.pointee.compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged {
            spins += 1
            if spins > 64 { sched_yield() }
        }
    }

    func unlock() { word.pointee.store(0, ordering: .releasing) }
}
