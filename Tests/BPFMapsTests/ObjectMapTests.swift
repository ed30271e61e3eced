import Testing
@testable import BPFMaps

@Suite("Object and perf event arrays")
struct ObjectMapTests {
    final class FakeProgram: Sendable {}

    @Test func programArrayStoresObjectsAndKeepsPointersValid() throws {
        let map = try ObjectArrayMap(MapDefinition(type: .programArray, keySize: 4, valueSize: 4, maxEntries: 2))
        let program = FakeProgram()
        try map.set(program, at: 1)
        let isSame = map.object(at: 1).map { $0 === (program as AnyObject) } ?? false
        #expect(isSame)
        #expect(map.lookupObject(index: 1) == UnsafeRawPointer(Unmanaged.passUnretained(program).toOpaque()))
        #expect(map.lookupObject(index: 0) == nil)
        #expect(code { try map.set(program, at: 2) } == 7)
        #expect(code { try map.delete(key: u32(0)) } == 2)
        try map.delete(key: u32(1))
        #expect(map.object(at: 1) == nil)
        #expect(try map.keys() == [u32(0), u32(1)])
    }

    @Test func arrayOfMapsChecksInnerDefinition() throws {
        let inner = MapDefinition(type: .array, keySize: 4, valueSize: 8, maxEntries: 4)
        let outer = try ObjectArrayMap(MapDefinition(type: .arrayOfMaps, keySize: 4, valueSize: 4, maxEntries: 2, innerMap: inner))
        let good = try ArrayMap(inner)
        try outer.set(good, at: 0)
        let key = UInt32(0)
        let pointer = try #require(withUnsafeBytes(of: key) { outer.lookup(key: $0.baseAddress!, cpu: 0) })
        let stored = Unmanaged<AnyObject>.fromOpaque(pointer).takeUnretainedValue()
        let isSame = stored === (good as AnyObject)
        #expect(isSame)
        let bad = try ArrayMap(MapDefinition(type: .array, keySize: 4, valueSize: 8, maxEntries: 5))
        #expect(code { try outer.set(bad, at: 1) } == 22)
    }

    @Test func perfEventArrayOutputAndRead() throws {
        let map = try PerfEventArrayMap(MapDefinition(type: .perfEventArray, keySize: 4, valueSize: 4, maxEntries: 2))
        var value: UInt32 = 5
        #expect(map.output(cpuIndex: 0, data: &value, size: 4) == -2)
        try map.open(index: 0, capacity: 32)  // two 16-byte records
        #expect(map.output(cpuIndex: 0, data: &value, size: 4) == 0)
        #expect(map.output(cpuIndex: 0, data: &value, size: 4) == 0)
        #expect(map.output(cpuIndex: 0, data: &value, size: 4) == -28)
        #expect(map.lostCount(index: 0) == 1)
        #expect(map.read(index: 0) == [u32(5), u32(5)])
        #expect(map.output(cpuIndex: 3, data: &value, size: 4) == -7)
    }
}
