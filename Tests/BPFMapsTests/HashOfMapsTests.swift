import Testing
@testable import BPFMaps

@Suite("Hash of maps")
struct HashOfMapsTests {
    let inner = MapDefinition(type: .array, keySize: 4, valueSize: 8, maxEntries: 4)

    func makeOuter(maxEntries: UInt32 = 2, innerFlags: UInt32 = 0) throws -> HashOfMapsMap {
        var template = inner
        template.flags = innerFlags
        return try HashOfMapsMap(MapDefinition(type: .hashOfMaps, keySize: 8, valueSize: 4, maxEntries: maxEntries, innerMap: template))
    }

    @Test func factoryMakesHashOfMapsAndValidatesTheInnerDefinition() throws {
        let made = try MapFactory.make(MapDefinition(type: .hashOfMaps, keySize: 4, valueSize: 4, maxEntries: 8, innerMap: inner))
        #expect(made is HashOfMapsMap)
        #expect(throws: MapDefinitionError.self) {
            try MapFactory.make(MapDefinition(type: .hashOfMaps, keySize: 4, valueSize: 4, maxEntries: 8))
        }
        #expect(throws: MapDefinitionError.self) {
            try MapFactory.make(MapDefinition(type: .hashOfMaps, keySize: 4, valueSize: 8, maxEntries: 8, innerMap: inner))
        }
    }

    @Test func storesLooksUpReplacesAndDeletesInnerMaps() throws {
        let outer = try makeOuter()
        let first = try ArrayMap(inner)
        let second = try ArrayMap(inner)
        try outer.set(first, forKey: u64(10))
        let found = try #require(try outer.map(forKey: u64(10)))
        let foundIsFirst = (found as AnyObject) === (first as AnyObject)
        #expect(foundIsFirst)
        let key: UInt64 = 10
        let pointer = try #require(withUnsafeBytes(of: key) { outer.lookup(key: $0.baseAddress!, cpu: 0) })
        let pointsAtFirst = Unmanaged<AnyObject>.fromOpaque(pointer).takeUnretainedValue() === (first as AnyObject)
        #expect(pointsAtFirst)
        #expect(code { try outer.set(second, forKey: u64(10), flags: UpdateFlags.noExist) } == LinuxErrno.EEXIST)
        #expect(code { try outer.set(second, forKey: u64(11), flags: UpdateFlags.exist) } == LinuxErrno.ENOENT)
        try outer.set(second, forKey: u64(10))
        let replaced = try #require(try outer.map(forKey: u64(10)))
        let replacedIsSecond = (replaced as AnyObject) === (second as AnyObject)
        #expect(replacedIsSecond)
        // The replaced map stays alive, so the pointer a program holds is still valid.
        let stillFirst = Unmanaged<AnyObject>.fromOpaque(pointer).takeUnretainedValue() === (first as AnyObject)
        #expect(stillFirst)
        try outer.set(first, forKey: u64(11))
        #expect(code { try outer.set(first, forKey: u64(12)) } == LinuxErrno.E2BIG)
        #expect(Set(try outer.keys()) == [u64(10), u64(11)])
        try outer.delete(key: u64(10))
        let deleted = try outer.map(forKey: u64(10))
        #expect(deleted == nil)
        #expect(code { try outer.delete(key: u64(10)) } == LinuxErrno.ENOENT)
        try outer.set(second, forKey: u64(12))  // the freed slot is reused
        #expect(outer.count == 2)
    }

    @Test func refusesMapsThatDoNotMatchTheInnerDefinition() throws {
        let outer = try makeOuter()
        let bigger = try ArrayMap(MapDefinition(type: .array, keySize: 4, valueSize: 8, maxEntries: 5))
        let hash = try HashMap(MapDefinition(type: .hash, keySize: 4, valueSize: 8, maxEntries: 4))
        #expect(code { try outer.set(bigger, forKey: u64(1)) } == LinuxErrno.EINVAL)
        #expect(code { try outer.set(hash, forKey: u64(1)) } == LinuxErrno.EINVAL)
        // BPF_F_INNER_MAP lets inner maps differ in max_entries only.
        let relaxed = try makeOuter(innerFlags: MapFlags.innerMap)
        let biggerRelaxed = try ArrayMap(MapDefinition(type: .array, keySize: 4, valueSize: 8, maxEntries: 9, flags: MapFlags.innerMap))
        try relaxed.set(biggerRelaxed, forKey: u64(1))
        #expect(relaxed.count == 1)
    }

    @Test func programsCannotUpdateAndBytesAreRefused() throws {
        let outer = try makeOuter()
        var key: UInt64 = 1
        var value: UInt32 = 3
        #expect(outer.update(key: &key, value: &value, flags: 0, cpu: 0) == -LinuxErrno.EOPNOTSUPP)
        #expect(code { _ = try outer.lookup(key: u64(1)) } == LinuxErrno.EOPNOTSUPP)
        #expect(code { try outer.update(key: u64(1), value: u32(3)) } == LinuxErrno.EOPNOTSUPP)
    }
}
