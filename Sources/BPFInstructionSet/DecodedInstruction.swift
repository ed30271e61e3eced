/// One instruction of a program whose every slot has been identified and checked:
/// known opcode, zero reserved fields, existing registers, jump targets inside the
/// program and never into the middle of an `lddw`.
public struct DecodedInstruction: Sendable {
    /// Slot index of the instruction in the program.
    public let index: Int
    public let instruction: Instruction
    public let descriptor: OpcodeDescriptor
    /// For `lddw`: the 64-bit constant (first immediate | second immediate << 32).
    public let wideImmediate: UInt64

    @inlinable public var operation: Operation { descriptor.operation }
    @inlinable public var destination: UInt8 { instruction.destination }
    @inlinable public var source: UInt8 { instruction.source }
    @inlinable public var offset: Int16 { instruction.offset }
    @inlinable public var immediate: Int32 { instruction.immediate }

    /// Number of 8-byte slots (2 for `lddw`).
    public var slotCount: Int { descriptor.isWide ? 2 : 1 }

    /// The slot a branch, `call local` or `lddw` function reference leads to.
    public var target: Int? {
        switch descriptor.form {
        case .jump, .conditionalImmediate, .conditionalRegister, .mayGoto:
            index + 1 + Int(instruction.offset)
        case .jumpLong, .callLocal:
            index + 1 + Int(instruction.immediate)
        case .loadImmediate64 where descriptor.operation == .loadFunction:
            index + 1 + Int(instruction.immediate)
        default:
            nil
        }
    }
}

/// Turns raw slots into `DecodedInstruction`s, or names the first malformed slot.
public enum ProgramDecoder {
    public static func decode(_ slots: [Instruction]) throws(InstructionError) -> [DecodedInstruction] {
        guard !slots.isEmpty else { throw .empty }
        var decoded: [DecodedInstruction] = []
        decoded.reserveCapacity(slots.count)
        var secondSlots = Set<Int>()
        var index = 0
        while index < slots.count {
            let instruction = slots[index]
            let descriptor = try OpcodeTable.decode(instruction, at: index)
            var wide: UInt64 = 0
            if descriptor.isWide {
                guard index + 1 < slots.count else { throw .incompleteWideInstruction(index: index) }
                let next = slots[index + 1]
                // Linux: the second slot has no opcode, registers or offset; a function
                // reference (BPF_PSEUDO_FUNC) has no upper immediate either.
                guard next.opcode == 0, next.registers == 0, next.offset == 0,
                      descriptor.operation != .loadFunction || next.immediate == 0 else {
                    throw .malformedWideInstructionSecondSlot(index: index)
                }
                wide = UInt64(UInt32(bitPattern: instruction.immediate)) | UInt64(UInt32(bitPattern: next.immediate)) << 32
                secondSlots.insert(index + 1)
            }
            decoded.append(DecodedInstruction(index: index, instruction: instruction, descriptor: descriptor,
                                              wideImmediate: wide))
            index += descriptor.isWide ? 2 : 1
        }
        for instruction in decoded {
            guard let target = instruction.target else { continue }
            guard target >= 0, target < slots.count else {
                throw .jumpOutOfRange(index: instruction.index, target: target, count: slots.count)
            }
            if secondSlots.contains(target) {
                throw .jumpIntoWideInstruction(index: instruction.index, target: target)
            }
        }
        return decoded
    }

    public static func decode(bytes: some Collection<UInt8>) throws(InstructionError) -> [DecodedInstruction] {
        try decode(Instruction.decodeSlots(bytes))
    }
}
