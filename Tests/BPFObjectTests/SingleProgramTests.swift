import BPFInstructionSet
import BPFMaps
import BPFObject
import Testing

/// `ObjectSpec.single`: a program that did not come from ELF, its `lddw map:N` made relocations.
@Suite struct SingleProgramTests {
    static let maps = [
        MapSpec(name: "counts", sectionName: ".maps", type: .hash, keySize: 4, valueSize: 8, maxEntries: 8),
        MapSpec(name: "config", sectionName: ".maps", type: .array, keySize: 4, valueSize: 16, maxEntries: 1),
    ]

    /// lddw with `source` and map index `index` (second slot's immediate `offset`).
    static func lddw(register: UInt8, source: UInt8, index: Int32, offset: Int32 = 0) -> [Instruction] {
        [Instruction(opcode: 0x18, destination: register, source: source, immediate: index),
         Instruction(opcode: 0, immediate: offset)]
    }

    @Test func mapReferencesBecomeRelocations() throws {
        let exit = Instruction(opcode: 0x95)
        let move = Instruction(opcode: 0xb7)
        let instructions = [move] + Self.lddw(register: 1, source: 1, index: 1) + Self.lddw(register: 2, source: 2, index: 1, offset: 8)
            + Self.lddw(register: 3, source: 5, index: 0) + Self.lddw(register: 4, source: 0, index: 7) + [exit]
        let spec = try ObjectSpec.single(name: "prog", type: .xdp, instructions: instructions, maps: Self.maps).get()
        #expect(spec.maps == Self.maps)
        let program = try #require(spec.programs.first)
        #expect(spec.programs.count == 1)
        #expect(program.name == "prog")
        #expect(program.type == .xdp)
        #expect(program.instructions == instructions)
        #expect(program.relocations.map(\.instructionIndex) == [1, 3, 5], "a plain lddw constant is no relocation")
        #expect(program.relocations.map(\.target) == [.map("config"), .mapValue(name: "config", offset: 8), .map("counts")])
        #expect(program.license == "GPL")
    }

    @Test func aReferenceBeyondTheMapsIsAnErrorNamingTheSlot() {
        let instructions = Self.lddw(register: 1, source: 1, index: 2) + [Instruction(opcode: 0x95)]
        let result = ObjectSpec.single(name: "p", type: .socketFilter, instructions: instructions, maps: Self.maps)
        #expect(throws: ObjectSpec.ReferenceError.self) { try result.get() }
        if case .failure(let error) = result {
            #expect(error.instruction == 0 && error.mapIndex == 2 && error.mapCount == 2)
            #expect(error.description == "instruction 0: lddw refers to map 2, but only maps 0-1 are described")
        }
        if case .failure(let error) = ObjectSpec.single(name: "p", type: .xdp, instructions: instructions, maps: []) {
            #expect(error.description == "instruction 0: lddw refers to map 2, but no maps are described")
        }
    }
}
