/// Why a sequence of instruction slots is not a well-formed program.
/// Every case names the index of the offending slot.
public enum InstructionError: Error, Equatable, Sendable, CustomStringConvertible {
    case empty
    case truncated(byteCount: Int)
    case unknownOpcode(index: Int, opcode: UInt8)
    case unknownVariant(index: Int, opcode: UInt8, field: String, value: Int64)
    case reservedFieldNotZero(index: Int, mnemonic: String, field: String, value: Int64)
    case invalidRegister(index: Int, field: String, register: UInt8)
    case incompleteWideInstruction(index: Int)
    case malformedWideInstructionSecondSlot(index: Int)
    case jumpOutOfRange(index: Int, target: Int, count: Int)
    case jumpIntoWideInstruction(index: Int, target: Int)

    public var index: Int? {
        switch self {
        case .empty, .truncated: nil
        case .unknownOpcode(let index, _), .unknownVariant(let index, _, _, _),
            .reservedFieldNotZero(let index, _, _, _), .invalidRegister(let index, _, _),
            .incompleteWideInstruction(let index), .malformedWideInstructionSecondSlot(let index),
            .jumpOutOfRange(let index, _, _), .jumpIntoWideInstruction(let index, _):
            index
        }
    }

    public var description: String {
        switch self {
        case .empty:
            "the program has no instructions"
        case .truncated(let byteCount):
            "the program is \(byteCount) bytes long, which is not a whole number of 8-byte instructions"
        case .unknownOpcode(let index, let opcode):
            "instruction \(index): unknown opcode 0x\(hex(UInt64(opcode), width: 2))"
        case .unknownVariant(let index, let opcode, let field, let value):
            "instruction \(index): opcode 0x\(hex(UInt64(opcode), width: 2)) has no variant with \(field) \(value)"
        case .reservedFieldNotZero(let index, let mnemonic, let field, let value):
            "instruction \(index) (\(mnemonic)): the \(field) field must be zero but is \(value)"
        case .invalidRegister(let index, let field, let register):
            "instruction \(index): \(field) register r\(register) does not exist (r0-r10)"
        case .incompleteWideInstruction(let index):
            "instruction \(index): lddw needs a second 8-byte slot, but the program ends"
        case .malformedWideInstructionSecondSlot(let index):
            "instruction \(index): the second slot of lddw must have opcode, registers and offset zero (and, for a function reference, immediate zero)"
        case .jumpOutOfRange(let index, let target, let count):
            "instruction \(index): jump target \(target) is outside the program (0..<\(count))"
        case .jumpIntoWideInstruction(let index, let target):
            "instruction \(index): jump target \(target) is the second slot of an lddw"
        }
    }
}

/// Lower-case hexadecimal, zero-padded to `width` digits.
@inlinable
public func hex(_ value: UInt64, width: Int = 0) -> String {
    let digits = String(value, radix: 16)
    return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
}
