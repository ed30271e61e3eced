import BPFInstructionSet

// Describing programs that did not come from an ELF file: assembly text or raw
// instructions given together with map descriptions (`bpfkit run prog.s --maps`).

extension ObjectSpec {
    /// An object holding one program made of `instructions` and the maps `maps`.
    ///
    /// Map references are written as assemblers write them: `lddw rX, map:N` (src 1,
    /// BPF_PSEUDO_MAP_FD, or src 5, BPF_PSEUDO_MAP_IDX) loads `maps[N]`, and
    /// `lddw rX, map_value:N+off` (src 2 or 6) the address `off` bytes into its value.
    /// Each becomes a relocation, as an ELF object's would, so loaders and verifiers
    /// treat the program as they treat a compiled one.
    ///
    /// Returns nil with the slot index when a reference names a map beyond `maps`.
    public static func single(name: String, type: ProgramType, instructions: [Instruction], maps: [MapSpec],
                              license: String = "GPL") -> Result<ObjectSpec, ReferenceError> {
        var relocations: [Relocation] = []
        var slot = 0
        while slot < instructions.count {
            let instruction = instructions[slot]
            if instruction.opcode == 0x18 {
                let source = instruction.source
                if [1, 2, 5, 6].contains(source) {
                    let index = Int(instruction.immediate)
                    guard index >= 0, index < maps.count else {
                        return .failure(ReferenceError(instruction: slot, mapIndex: index, mapCount: maps.count))
                    }
                    let target: Relocation.Target
                    if source == 1 || source == 5 {
                        target = .map(maps[index].name)
                    } else {
                        let offset = slot + 1 < instructions.count ? UInt32(bitPattern: instructions[slot + 1].immediate) : 0
                        target = .mapValue(name: maps[index].name, offset: offset)
                    }
                    relocations.append(Relocation(instructionIndex: slot, target: target, symbol: maps[index].name))
                }
                slot += 2
            } else {
                slot += 1
            }
        }
        let section = SectionDefinition(sectionName: type.name)
        let program = ProgramSpec(
            name: name, sectionName: type.name, type: type, expectedAttachType: section.expectedAttachType,
            attachTo: nil, sectionDefinition: section, instructions: instructions,
            functionInstructionCount: instructions.count, sectionOffset: 0, relocations: relocations,
            subprograms: [], lineInfo: [], functionInfo: [], license: license)
        return .success(ObjectSpec(name: name, programs: [program], subprograms: [], maps: maps, license: license,
                                   kernelVersion: nil, btf: nil))
    }

    /// An `lddw` that names a map the description does not have.
    public struct ReferenceError: Error, Sendable, Equatable, CustomStringConvertible {
        public var instruction: Int
        public var mapIndex: Int
        public var mapCount: Int
        public var description: String {
            let described = switch mapCount {
            case 0: "no maps are described"
            case 1: "only map 0 is described"
            default: "only maps 0-\(mapCount - 1) are described"
            }
            return "instruction \(instruction): lddw refers to map \(mapIndex), but \(described)"
        }
    }
}
