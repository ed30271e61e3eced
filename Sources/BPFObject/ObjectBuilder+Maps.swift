import BPFMaps
extension ObjectBuilder {
    /// Legacy `maps` section: `struct bpf_map_def` records of five or more u32
    /// (type, key_size, value_size, max_entries, map_flags[, inner_map_idx, numa_node]).
    /// Sections named `maps` or `maps/<name>` hold them; `inner_map_idx` counts legacy maps across all of them.
    mutating func collectLegacyMaps() throws(ObjectLoadError) {
        let firstIndex = maps.count
        var innerIndices: [(Int, UInt32)] = []
        for section in elf.sections where (section.name == "maps" || section.name.hasPrefix("maps/")) && section.size > 0 {
            try collectLegacyMaps(in: section, innerIndices: &innerIndices)
        }
        let legacyCount = maps.count - firstIndex
        for (mapIndex, inner) in innerIndices {
            guard Int(inner) < legacyCount else {
                throw .invalidMap(file: file, map: maps[mapIndex].name, reason: "inner_map_idx \(inner) is out of range (\(legacyCount) maps)")
            }
            maps[mapIndex].innerMap = maps[firstIndex + Int(inner)]
        }
    }

    private mutating func collectLegacyMaps(in section: ELFFile.Section, innerIndices: inout [(Int, UInt32)]) throws(ObjectLoadError) {
        let symbols = elf.symbols
            .filter { $0.sectionIndex == section.index && !$0.isSection && $0.type != ELFConstants.sttFile && !$0.name.isEmpty }
            .sorted { $0.value < $1.value }
        guard !symbols.isEmpty else {
            throw .malformedSection(file: file, section: section.name, reason: "it has \(section.size) bytes but no map symbols")
        }
        guard section.size % symbols.count == 0 else {
            throw .malformedSection(file: file, section: section.name,
                                    reason: "size \(section.size) is not a multiple of the \(symbols.count) map symbols")
        }
        let recordSize = section.size / symbols.count
        guard recordSize >= 20, recordSize % 4 == 0 else {
            throw .malformedSection(file: file, section: section.name, reason: "map definitions of \(recordSize) bytes are too small or misaligned")
        }
        let reader = ByteReader(Array(elf.contents(of: section)), file: file, context: "map definitions in '\(section.name)'")
        for symbol in symbols {
            guard symbol.value % UInt64(recordSize) == 0, symbol.value < UInt64(section.size) else {
                throw .malformedSymbol(file: file, symbol: symbol.name, section: section.name,
                                       reason: "offset \(symbol.value) is not a multiple of the definition size \(recordSize)")
            }
            let base = Int(symbol.value)
            let typeNumber = try reader.u32(at: base)
            guard let type = MapType(rawValue: typeNumber) else {
                throw .invalidMap(file: file, map: symbol.name, reason: "unknown map type \(typeNumber)")
            }
            var map = MapSpec(
                name: symbol.name, sectionName: section.name, type: type,
                keySize: try reader.u32(at: base + 4), valueSize: try reader.u32(at: base + 8),
                maxEntries: try reader.u32(at: base + 12), flags: try reader.u32(at: base + 16))
            if recordSize >= 28 { map.numaNode = try reader.u32(at: base + 24) }
            if recordSize >= 24, map.type.isMapInMap {
                innerIndices.append((maps.count, try reader.u32(at: base + 20)))
            }
            mapLocations.append(MapLocation(sectionIndex: section.index, offset: symbol.value, size: UInt64(recordSize), mapIndex: maps.count))
            maps.append(map)
        }
    }

    /// BTF-defined maps: variables of the `.maps` data section, described by their BTF struct.
    mutating func collectBTFMaps() throws(ObjectLoadError) {
        guard let section = elf.section(named: ".maps"), section.size > 0 || elf.symbols.contains(where: { $0.sectionIndex == section.index && !$0.isSection }) else { return }
        guard let btf else {
            throw .malformedSection(file: file, section: ".maps", reason: "BTF-defined maps need a .BTF section, and there is none")
        }
        guard let dataSection = btf.firstType(named: ".maps", kind: .dataSection) else {
            throw .malformedBTF(file: file, section: ".BTF", offset: 0, reason: "there is no DATASEC '.maps' describing the .maps section")
        }
        for variable in dataSection.sectionVariables {
            guard let declaration = btf.type(id: variable.type), declaration.kind == .variable else {
                throw .malformedBTF(file: file, section: ".BTF", offset: 0, reason: "DATASEC '.maps' entry \(variable.type) is not a VAR")
            }
            let name = declaration.name
            let symbol = elf.symbols.first { $0.sectionIndex == section.index && $0.name == name }
            let offset = symbol?.value ?? UInt64(variable.offset)
            let (map, valuesOffset) = try btfMapDefinition(typeID: declaration.sizeOrType, name: name, depth: 0)
            // A flexible `values` array lies beyond the struct's size; the symbol covers it.
            let size = max(UInt64(btf.size(of: declaration.sizeOrType) ?? Int(variable.size)), symbol?.size ?? 0)
            mapLocations.append(MapLocation(sectionIndex: section.index, offset: offset, size: size, mapIndex: maps.count, valuesOffset: valuesOffset))
            maps.append(map)
        }
    }

    /// Reads one `struct { __uint(type, ...); __type(key, ...); ... }` map definition.
    func btfMapDefinition(typeID: UInt32, name: String, depth: Int) throws(ObjectLoadError) -> (MapSpec, UInt64?) {
        guard let btf, let definition = btf.resolved(typeID), definition.kind == .structure else {
            throw .invalidMap(file: file, map: name, reason: "its BTF type is not a struct")
        }
        var map = MapSpec(name: name, sectionName: ".maps", type: .unspecified, keySize: 0, valueSize: 0, maxEntries: 0)
        var valuesOffset: UInt64?
        func integer(_ member: BTFMember) throws(ObjectLoadError) -> UInt64 {
            // __uint(name, val) is `int (*name)[val]`; 64-bit values may be an enum constant.
            guard let type = btf.resolved(member.type) else {
                throw .invalidMap(file: file, map: name, reason: "field '\(member.name)' has an invalid type")
            }
            if type.kind == .pointer, let array = btf.resolved(type.sizeOrType), array.kind == .array {
                return UInt64(array.arrayCount)
            }
            if type.kind == .enumeration || type.kind == .enumeration64, let first = type.enumValues.first {
                return UInt64(bitPattern: first.value)
            }
            throw .invalidMap(file: file, map: name, reason: "field '\(member.name)' is not a __uint(name, value) pointer-to-array")
        }
        func u32(_ member: BTFMember) throws(ObjectLoadError) -> UInt32 {
            let value = try integer(member)
            guard let narrow = UInt32(exactly: value) else {
                throw .invalidMap(file: file, map: name, reason: "field '\(member.name)' value \(value) does not fit in 32 bits")
            }
            return narrow
        }
        func pointee(_ member: BTFMember) throws(ObjectLoadError) -> (UInt32, UInt32) {
            guard let type = btf.resolved(member.type), type.kind == .pointer else {
                throw .invalidMap(file: file, map: name, reason: "field '\(member.name)' is not a __type(name, T) pointer")
            }
            guard let size = btf.size(of: type.sizeOrType), let narrow = UInt32(exactly: size) else {
                throw .invalidMap(file: file, map: name, reason: "field '\(member.name)' points to a type without a size")
            }
            return (type.sizeOrType, narrow)
        }
        var explicitKeySize: UInt32?
        var explicitValueSize: UInt32?
        var inner: MapSpec?
        for member in definition.members {
            switch member.name {
            case "type":
                let typeNumber = try u32(member)
                guard let type = MapType(rawValue: typeNumber) else {
                    throw .invalidMap(file: file, map: name, reason: "unknown map type \(typeNumber)")
                }
                map.type = type
            case "key_size": explicitKeySize = try u32(member)
            case "value_size": explicitValueSize = try u32(member)
            case "max_entries": map.maxEntries = try u32(member)
            case "map_flags": map.flags = try u32(member)
            case "numa_node": map.numaNode = try u32(member)
            case "map_extra": map.mapExtra = try integer(member)
            case "pinning":
                let value = try u32(member)
                guard let pinning = MapPinning(rawValue: value) else {
                    throw .invalidMap(file: file, map: name, reason: "pinning value \(value) is unknown")
                }
                map.pinning = pinning
            case "key":
                let (id, size) = try pointee(member)
                map.keyTypeID = id
                map.keySize = size
            case "value":
                let (id, size) = try pointee(member)
                map.valueTypeID = id
                map.valueSize = size
            case "values":
                // __array(values, T): `T *values[]`, an array of pointers.
                guard let array = btf.resolved(member.type), array.kind == .array,
                      let pointer = btf.resolved(array.arrayElement), pointer.kind == .pointer,
                      let element = btf.resolved(pointer.sizeOrType) else {
                    throw .invalidMap(file: file, map: name, reason: "field 'values' is not an __array(values, T)")
                }
                valuesOffset = UInt64(definition.kindFlag ? member.offset & 0xff_ffff : member.offset) / 8
                if element.kind == .structure {
                    guard depth == 0 else {
                        throw .invalidMap(file: file, map: name, reason: "inner map definitions nest more than one level")
                    }
                    inner = try btfMapDefinition(typeID: element.id, name: name + ".inner", depth: depth + 1).0
                } else if element.kind != .functionPrototype {
                    throw .invalidMap(file: file, map: name, reason: "'values' must point to a map definition or a function prototype")
                }
            default:
                break
            }
        }
        if let explicitKeySize {
            guard map.keyTypeID == nil || map.keySize == explicitKeySize else {
                throw .invalidMap(file: file, map: name, reason: "key_size \(explicitKeySize) conflicts with the key type's size \(map.keySize)")
            }
            map.keySize = explicitKeySize
        }
        if let explicitValueSize {
            guard map.valueTypeID == nil || map.valueSize == explicitValueSize else {
                throw .invalidMap(file: file, map: name, reason: "value_size \(explicitValueSize) conflicts with the value type's size \(map.valueSize)")
            }
            map.valueSize = explicitValueSize
        }
        if let inner {
            guard map.type.isMapInMap else {
                throw .invalidMap(file: file, map: name, reason: "an inner map definition needs array_of_maps or hash_of_maps, not \(map.type.name)")
            }
            map.innerMap = inner
        }
        // Map-in-map and prog-array values are 32-bit fds.
        if map.type.isMapInMap || map.type == .programArray {
            if map.keySize == 0 && map.type != .hashOfMaps { map.keySize = 4 }
            if map.valueSize == 0 { map.valueSize = 4 }
        }
        return (map, valuesOffset)
    }

    /// `.rodata*`, `.data*`, `.bss*`: single-element arrays holding the section's bytes.
    mutating func collectDataMaps() {
        for section in elf.sections where section.isAllocated && !section.isExecutable && section.size > 0
            && (section.type == ELFConstants.shtProgBits || section.type == ELFConstants.shtNoBits) {
            let name = section.name
            func isFamily(_ base: String) -> Bool { name == base || name.hasPrefix(base + ".") }
            guard isFamily(".rodata") || isFamily(".data") || isFamily(".bss") else { continue }
            let readOnly = isFamily(".rodata")
            let bytes = section.type == ELFConstants.shtNoBits ? [UInt8](repeating: 0, count: section.size) : Array(elf.contents(of: section))
            var map = MapSpec(
                name: name, sectionName: name, type: .array, keySize: 4, valueSize: UInt32(clamping: section.size), maxEntries: 1,
                flags: MapSpec.mmapableFlag | (readOnly ? MapSpec.readOnlyProgramFlag : 0), initialData: bytes, isReadOnly: readOnly)
            map.valueTypeID = btf?.firstType(named: name, kind: .dataSection)?.id
            dataSections.insert(section.index)
            maps.append(map)
        }
    }

    /// Static `.values = { ... }` of prog arrays and map-in-maps, from the `.rel.maps` relocations.
    mutating func resolveStaticValues(programNames: Set<String>) throws(ObjectLoadError) {
        guard let section = elf.section(named: ".maps"), let (relocationSection, entries) = try elf.relocations(for: section) else { return }
        for entry in entries {
            let symbol = elf.symbols[entry.symbolIndex]
            guard entry.type == BPFRelocationType.abs64 || entry.type == BPFRelocationType.imm64 else {
                throw .unsupportedRelocation(file: file, section: relocationSection.name, offset: entry.offset, type: entry.type, symbol: symbol.name)
            }
            guard let location = mapLocations.first(where: {
                $0.sectionIndex == section.index && $0.offset <= entry.offset && entry.offset < $0.offset + $0.size
            }), let valuesOffset = location.valuesOffset, entry.offset >= location.offset + valuesOffset,
                  (entry.offset - location.offset - valuesOffset) % 8 == 0 else {
                throw .invalidRelocation(file: file, section: relocationSection.name, offset: entry.offset, symbol: symbol.name,
                                         reason: "it does not fall on a slot of a map's 'values' array")
            }
            let slot = UInt32(truncatingIfNeeded: (entry.offset - location.offset - valuesOffset) / 8)
            let mapName = maps[location.mapIndex].name
            let value: MapSlotValue
            if symbol.sectionIndex == section.index, let target = mapLocations.first(where: { $0.sectionIndex == section.index && $0.offset == symbol.value }) {
                value = .map(maps[target.mapIndex].name)
            } else if !symbol.isUndefined, sectionInstructions[symbol.sectionIndex] != nil {
                guard programNames.contains(symbol.name) else {
                    throw .invalidMap(file: file, map: mapName, reason: "slot \(slot) names '\(symbol.name)', which is not a program")
                }
                value = .program(symbol.name)
            } else {
                throw .invalidMap(file: file, map: mapName, reason: "slot \(slot) names '\(symbol.name)', which is neither a program nor a map")
            }
            maps[location.mapIndex].initialValues[slot] = value
        }
    }
}
