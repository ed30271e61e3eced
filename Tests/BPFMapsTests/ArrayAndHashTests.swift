import Testing
import Foundation
@testable import BPFMaps

@Suite("Array maps")
struct ArrayMapTests {
    let definition = MapDefinition(type: .array, keySize: 4, valueSize: 8, maxEntries: 4)

    @Test func elementsAlwaysExistAndFlagsFollowLinux() throws {
        let map = try ArrayMap(definition)
        #expect(try map.lookup(key: u32(3)) == u64(0))
        #expect(try map.lookup(key: u32(4)) == nil)
        try map.update(key: u32(1), value: u64(42))
        try map.update(key: u32(1), value: u64(43), flags: UpdateFlags.exist)
        #expect(try map.lookup(UInt32(1), as: UInt64.self) == 43)
        #expect(code { try map.update(key: u32(1), value: u64(1), flags: UpdateFlags.noExist) } == 17)
        #expect(code { try map.update(key: u32(4), value: u64(1)) } == 7)
        #expect(code { try map.update(key: u32(0), value: u64(1), flags: 8) } == 22)
        #expect(code { try map.update(key: u32(0), value: u64(1), flags: UpdateFlags.lock) } == 22)
        #expect(code { try map.delete(key: u32(0)) } == 22)
        #expect(code { try map.update(key: [1, 2], value: u64(1)) } == 22)
        #expect(code { try map.update(key: u32(0), value: [1]) } == 22)
    }

    @Test func nextKeyIteratesIndicesInOrder() throws {
        let map = try ArrayMap(definition)
        #expect(try map.keys() == [u32(0), u32(1), u32(2), u32(3)])
        #expect(try map.nextKey(after: u32(2)) == u32(3))
        #expect(try map.nextKey(after: u32(3)) == nil)
        #expect(try map.nextKey(after: u32(99)) == u32(0))
    }

    @Test func programLookupReturnsValueInPlace() throws {
        let map = try ArrayMap(definition)
        let key = UInt32(2)
        let pointer = try #require(withUnsafeBytes(of: key) { map.lookup(key: $0.baseAddress!, cpu: 0) })
        pointer.storeBytes(of: UInt64(7), as: UInt64.self)
        #expect(try map.lookup(UInt32(2), as: UInt64.self) == 7)
    }

    @Test func perCPUArrayHasOneSlotPerCPU() throws {
        let map = try ArrayMap(MapDefinition(type: .perCPUArray, keySize: 4, valueSize: 4, maxEntries: 2))
        let cpus = PossibleCPUs.count
        #expect(map.userValueSize == 8 * cpus)
        let values = (0..<cpus).map { u32(UInt32($0 + 10)) }
        try map.updatePerCPU(key: u32(1), values: values)
        let read = try #require(try map.lookupPerCPU(key: u32(1)))
        #expect(read == values.map { $0 + [0, 0, 0, 0] })
        // The program face sees the executing CPU's slot only.
        let key = UInt32(1)
        let last = try #require(withUnsafeBytes(of: key) { map.lookup(key: $0.baseAddress!, cpu: cpus - 1) })
        #expect(last.load(as: UInt32.self) == UInt32(cpus - 1 + 10))
        let value = UInt32(99)
        let result = withUnsafeBytes(of: key) { k in withUnsafeBytes(of: value) { v in
            map.update(key: k.baseAddress!, value: v.baseAddress!, flags: 0, cpu: 0)
        } }
        #expect(result == 0)
        #expect(try map.lookupPerCPU(key: u32(1))?.first == u32(99) + [0, 0, 0, 0])
        if cpus > 1 { #expect(try map.lookupPerCPU(key: u32(1))?[1] == u32(11) + [0, 0, 0, 0]) }
    }
}

@Suite("Hash maps")
struct HashMapTests {
    @Test func flagsAndCapacity() throws {
        let map = try HashMap(MapDefinition(type: .hash, keySize: 4, valueSize: 4, maxEntries: 2))
        #expect(try map.lookup(key: u32(1)) == nil)
        #expect(code { try map.update(key: u32(1), value: u32(10), flags: UpdateFlags.exist) } == 2)
        try map.update(key: u32(1), value: u32(10), flags: UpdateFlags.noExist)
        #expect(code { try map.update(key: u32(1), value: u32(11), flags: UpdateFlags.noExist) } == 17)
        try map.update(key: u32(1), value: u32(12), flags: UpdateFlags.exist)
        try map.update(key: u32(2), value: u32(20))
        #expect(code { try map.update(key: u32(3), value: u32(30)) } == 7)
        // Replacing an existing key in a full map is fine.
        try map.update(key: u32(2), value: u32(21))
        #expect(code { try map.update(key: u32(2), value: u32(1), flags: 3) } == 22)
        #expect(map.count == 2)
        #expect(try map.lookup(UInt32(1), as: UInt32.self) == 12)
        #expect(code { try map.delete(key: u32(3)) } == 2)
        try map.delete(key: u32(1))
        #expect(try map.lookup(key: u32(1)) == nil)
        try map.update(key: u32(3), value: u32(30))
        #expect(Set(try map.keys()) == [u32(2), u32(3)])
        #expect(Set(try map.entries().map { $0.value }) == [u32(21), u32(30)])
    }

    @Test func nextKeyWalksEveryKeyOnceAndRestartsOnMissingKey() throws {
        let map = try HashMap(MapDefinition(type: .hash, keySize: 8, valueSize: 8, maxEntries: 64))
        for key in 0..<50 { try map.update(key: u64(UInt64(key) * 977), value: u64(UInt64(key))) }
        let keys = try map.keys()
        #expect(keys.count == 50)
        #expect(Set(keys) == Set((0..<50).map { u64(UInt64($0) * 977) }))
        #expect(try map.nextKey(after: u64(123_456_789)) == keys.first)
        #expect(try map.nextKey(after: keys.last) == nil)
    }

    @Test func deletedValuePointerStaysValidMemory() throws {
        let map = try HashMap(MapDefinition(type: .hash, keySize: 4, valueSize: 8, maxEntries: 4))
        try map.update(key: u32(5), value: u64(55))
        let key = UInt32(5)
        let pointer = try #require(withUnsafeBytes(of: key) { map.lookup(key: $0.baseAddress!, cpu: 0) })
        #expect(pointer.load(as: UInt64.self) == 55)
        try map.delete(key: u32(5))
        pointer.storeBytes(of: UInt64(1), as: UInt64.self)  // preallocated: still map memory
        #expect(try map.lookup(key: u32(5)) == nil)
    }

    @Test func perCPUHashProgramUpdateZeroesOtherCPUs() throws {
        let map = try HashMap(MapDefinition(type: .perCPUHash, keySize: 4, valueSize: 4, maxEntries: 4))
        let cpus = PossibleCPUs.count
        let key = UInt32(1), value = UInt32(5)
        let result = withUnsafeBytes(of: key) { k in withUnsafeBytes(of: value) { v in
            map.update(key: k.baseAddress!, value: v.baseAddress!, flags: 0, cpu: cpus - 1)
        } }
        #expect(result == 0)
        let values = try #require(try map.lookupPerCPU(key: u32(1)))
        #expect(values.count == cpus)
        #expect(values.last == u32(5) + [0, 0, 0, 0])
        #expect(values.dropLast().allSatisfy { $0 == [UInt8](repeating: 0, count: 8) })
        try map.updatePerCPU(key: u32(1), values: (0..<cpus).map { u32(UInt32($0)) })
        #expect(try map.lookupPerCPU(key: u32(1))?.map { $0[0] } == (0..<cpus).map { UInt8($0) })
    }

    @Test func lruEvictsLeastRecentlyUsedInsteadOfFailing() throws {
        let map = try HashMap(MapDefinition(type: .lruHash, keySize: 4, valueSize: 4, maxEntries: 4))
        for key in UInt32(0)..<4 { try map.update(key: u32(key), value: u32(key)) }
        // Touch key 0 through the program face, making key 1 the least recently used.
        let zero = UInt32(0)
        #expect(withUnsafeBytes(of: zero) { map.lookup(key: $0.baseAddress!, cpu: 0) } != nil)
        try map.update(key: u32(9), value: u32(9))
        #expect(map.count == 4)
        #expect(try map.lookup(key: u32(1)) == nil)
        #expect(try map.lookup(key: u32(0)) == u32(0))
        #expect(try map.lookup(key: u32(9)) == u32(9))
        // Keep inserting: the map never exceeds max_entries and the newest key survives.
        for key in UInt32(100)..<200 {
            try map.update(key: u32(key), value: u32(key))
            #expect(map.count <= 4)
            #expect(try map.lookup(key: u32(key)) == u32(key))
        }
        #expect(code { try map.update(key: u32(1), value: u32(1), flags: UpdateFlags.lock) } == 22)
    }

    @Test func lruPerCPUHashEvicts() throws {
        let map = try HashMap(MapDefinition(type: .lruPerCPUHash, keySize: 4, valueSize: 4, maxEntries: 2))
        let flat = [UInt8](repeating: 1, count: map.userValueSize)
        for key in UInt32(0)..<10 { try map.update(key: u32(key), value: flat) }
        #expect(map.count == 2)
        #expect(try map.lookup(key: u32(9)) == flat)
    }

    @Test func concurrentUpdatesAndLookupsStayConsistent() async throws {
        let map = try HashMap(MapDefinition(type: .hash, keySize: 8, valueSize: 8, maxEntries: 4096))
        let workers = 4, perWorker = 500
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<workers {
                group.addTask {
                    for round in 0..<3 {
                        for index in 0..<perWorker {
                            let key = UInt64(worker * 100_000 + index)
                            let value = key &* 3 &+ UInt64(round)
                            try? map.update(key: u64(key), value: u64(value))
                            // Each worker owns its keys, so it must read back what it wrote.
                            if try! map.lookup(key: u64(key)) != u64(value) { Issue.record("lost update for \(key)") }
                            if index % 3 == 0 { try? map.delete(key: u64(key)) }
                        }
                    }
                }
            }
        }
        let keys = try map.keys()
        #expect(keys.count == map.count)
        #expect(Set(keys).count == keys.count)
        let expected = workers * (perWorker - (perWorker + 2) / 3)
        #expect(keys.count == expected)
        for key in keys {
            let k = key.withUnsafeBytes { $0.load(as: UInt64.self) }
            #expect(try map.lookup(key: key) == u64(k &* 3 &+ 2))
        }
    }
}
