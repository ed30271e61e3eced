import Testing
@testable import BPFMaps

@Suite("Map types and definitions")
struct DefinitionTests {
    @Test func mapTypeNumbersAndNames() {
        #expect(MapType.hash.rawValue == 1)
        #expect(MapType.lpmTrie.rawValue == 11)
        #expect(MapType.queue.rawValue == 22)
        #expect(MapType.stack.rawValue == 23)
        #expect(MapType.ringBuffer.rawValue == 27)
        #expect(MapType.bloomFilter.rawValue == 30)
        #expect(MapType.lruPerCPUHash.name == "lru_percpu_hash")
        #expect(MapType(name: "ringbuf") == .ringBuffer)
        #expect(MapType(name: "BPF_MAP_TYPE_ARRAY_OF_MAPS") == .arrayOfMaps)
        #expect(MapType(name: "nonsense") == nil)
        for type in MapType.allCases { #expect(MapType(name: type.name) == type) }
    }

    func field(_ definition: MapDefinition) -> String? {
        do { try definition.validate(); return nil } catch { return error.field }
    }

    @Test func linuxCreationRules() {
        #expect(field(MapDefinition(type: .array, keySize: 4, valueSize: 8, maxEntries: 4)) == nil)
        #expect(field(MapDefinition(type: .array, keySize: 8, valueSize: 8, maxEntries: 4)) == "keySize")
        #expect(field(MapDefinition(type: .array, keySize: 4, valueSize: 0, maxEntries: 4)) == "valueSize")
        #expect(field(MapDefinition(type: .hash, keySize: 4, valueSize: 8, maxEntries: 0)) == "maxEntries")
        #expect(field(MapDefinition(type: .hash, keySize: 4, valueSize: 8, maxEntries: 1, flags: 1 << 20)) == "flags")
        #expect(field(MapDefinition(type: .lruHash, keySize: 4, valueSize: 8, maxEntries: 1, flags: MapFlags.noPreallocate)) == "flags")
        #expect(field(MapDefinition(type: .ringBuffer, keySize: 0, valueSize: 0, maxEntries: 4096)) == nil)
        #expect(field(MapDefinition(type: .ringBuffer, keySize: 0, valueSize: 0, maxEntries: 6000)) == "maxEntries")
        #expect(field(MapDefinition(type: .ringBuffer, keySize: 0, valueSize: 0, maxEntries: 1024)) == "maxEntries")
        #expect(field(MapDefinition(type: .ringBuffer, keySize: 4, valueSize: 0, maxEntries: 4096)) == "keySize")
        #expect(field(MapDefinition(type: .queue, keySize: 4, valueSize: 4, maxEntries: 4)) == "keySize")
        #expect(field(MapDefinition(type: .lpmTrie, keySize: 8, valueSize: 4, maxEntries: 4)) == "flags")
        #expect(field(MapDefinition(type: .lpmTrie, keySize: 4, valueSize: 4, maxEntries: 4, flags: MapFlags.noPreallocate)) == "keySize")
        #expect(field(MapDefinition(type: .bloomFilter, keySize: 0, valueSize: 4, maxEntries: 4, mapExtra: 0x10)) == "mapExtra")
        #expect(field(MapDefinition(type: .hash, keySize: 4, valueSize: 4, maxEntries: 4, mapExtra: 1)) == "mapExtra")
        #expect(field(MapDefinition(type: .arrayOfMaps, keySize: 4, valueSize: 4, maxEntries: 4)) == "innerMap")
        #expect(field(MapDefinition(type: .hash, keySize: 4, valueSize: 4, maxEntries: 4,
                                    flags: MapFlags.readOnly | MapFlags.writeOnly)) == "flags")
    }

    @Test func errorsAreSentences() throws {
        let error = #expect(throws: MapDefinitionError.self) {
            try MapDefinition(type: .array, keySize: 2, valueSize: 4, maxEntries: 1).validate()
        }
        #expect(error?.description == "Invalid map definition (keySize): array keys are 4-byte indices, so the key size must be 4.")
        #expect(error?.errno == LinuxErrno.EINVAL)
        #expect(MapError.wrongKeySize(expected: 4, given: 2).description.contains("2 bytes"))
        #expect(MapError.full.errno == 7)
        #expect(MapError.notFound.errno == 2)
        #expect(MapError.exists.errno == 17)
    }

    @Test func possibleCPUListParsing() {
        #expect(PossibleCPUs.parseHighestIndex("0-3\n") == 3)
        #expect(PossibleCPUs.parseHighestIndex("0") == 0)
        #expect(PossibleCPUs.parseHighestIndex("0-3,8-11") == 11)
        #expect(PossibleCPUs.count >= 1)
    }

    @Test func factoryMakesEachKind() throws {
        #expect(try MapFactory.make(MapDefinition(type: .array, keySize: 4, valueSize: 4, maxEntries: 1)) is ArrayMap)
        #expect(try MapFactory.make(MapDefinition(type: .lruHash, keySize: 4, valueSize: 4, maxEntries: 1)) is HashMap)
        #expect(try MapFactory.make(MapDefinition(type: .stack, keySize: 0, valueSize: 4, maxEntries: 1)) is QueueStackMap)
        #expect(try MapFactory.make(MapDefinition(type: .ringBuffer, keySize: 0, valueSize: 0, maxEntries: 4096)) is RingBufferMap)
        #expect(throws: MapDefinitionError.self) { try MapFactory.make(MapDefinition(type: .sockmap, keySize: 4, valueSize: 4, maxEntries: 1)) }
    }
}
