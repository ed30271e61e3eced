/// Creates the map class that implements a definition's type.
public enum MapFactory {
    /// Validates `definition` with Linux's rules and creates an empty map.
    public static func make(_ definition: MapDefinition) throws(MapDefinitionError) -> any BPFMap {
        try definition.validate()
        switch definition.type {
        case .array, .perCPUArray: return try ArrayMap(definition)
        case .hash, .perCPUHash, .lruHash, .lruPerCPUHash: return try HashMap(definition)
        case .queue, .stack: return try QueueStackMap(definition)
        case .bloomFilter: return try BloomFilterMap(definition)
        case .lpmTrie: return try LPMTrieMap(definition)
        case .ringBuffer: return try RingBufferMap(definition)
        case .programArray, .arrayOfMaps, .cgroupArray: return try ObjectArrayMap(definition)
        case .perfEventArray: return try PerfEventArrayMap(definition)
        case .hashOfMaps: return try HashOfMapsMap(definition)
        default:
            throw MapDefinitionError(field: "type", rule: "the \(definition.type.name) map type is not implemented by BPFKit.", errno: LinuxErrno.EOPNOTSUPP)
        }
    }
}
