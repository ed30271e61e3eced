/// One 8-byte eBPF instruction slot, as it is encoded in memory (little-endian):
/// `opcode:8 dst:4 src:4 offset:16 immediate:32`.
///
/// A 16-byte `lddw` occupies two slots; its second slot carries the upper 32
/// bits of the constant in `immediate` and must otherwise be zero.
public struct Instruction: Hashable, Sendable, BitwiseCopyable {
    public var opcode: UInt8
    /// Destination register in the low nibble, source register in the high nibble.
    public var registers: UInt8
    public var offset: Int16
    public var immediate: Int32

    /// Register numbers are 4-bit fields: only the low four bits of `destination`
    /// and `source` are kept.
    public init(opcode: UInt8, destination: UInt8 = 0, source: UInt8 = 0, offset: Int16 = 0, immediate: Int32 = 0) {
        self.opcode = opcode
        self.registers = (destination & 0x0f) | (source & 0x0f) << 4
        self.offset = offset
        self.immediate = immediate
    }

    /// The slot as the 64-bit little-endian word it is in memory.
    public init(rawValue: UInt64) {
        opcode = UInt8(truncatingIfNeeded: rawValue)
        registers = UInt8(truncatingIfNeeded: rawValue >> 8)
        offset = Int16(truncatingIfNeeded: rawValue >> 16)
        immediate = Int32(truncatingIfNeeded: rawValue >> 32)
    }

    public var rawValue: UInt64 {
        UInt64(opcode) | UInt64(registers) << 8 | UInt64(UInt16(bitPattern: offset)) << 16
            | UInt64(UInt32(bitPattern: immediate)) << 32
    }

    public var destination: UInt8 {
        get { registers & 0x0f }
        set { registers = (registers & 0xf0) | (newValue & 0x0f) }
    }

    public var source: UInt8 {
        get { registers >> 4 }
        set { registers = (registers & 0x0f) | (newValue & 0x0f) << 4 }
    }

    /// The instruction class (the low three bits of the opcode).
    public var instructionClass: InstructionClass { InstructionClass(rawValue: opcode & 0x07)! }

    /// The eight bytes of the slot in memory order.
    public var bytes: [UInt8] {
        withUnsafeBytes(of: rawValue.littleEndian) { Array($0) }
    }

    /// Reads slots from little-endian bytes; the count must be a multiple of 8.
    public static func decodeSlots(_ bytes: some Collection<UInt8>) throws(InstructionError) -> [Instruction] {
        guard bytes.count % 8 == 0 else {
            throw .truncated(byteCount: bytes.count)
        }
        var result: [Instruction] = []
        result.reserveCapacity(bytes.count / 8)
        var word: UInt64 = 0
        var shift: UInt64 = 0
        for byte in bytes {
            word |= UInt64(byte) << shift
            shift += 8
            if shift == 64 {
                result.append(Instruction(rawValue: word))
                word = 0
                shift = 0
            }
        }
        return result
    }

    /// The little-endian bytes of a sequence of slots.
    public static func encodeSlots(_ instructions: some Sequence<Instruction>) -> [UInt8] {
        instructions.flatMap(\.bytes)
    }
}

/// The eight instruction classes.
public enum InstructionClass: UInt8, Sendable, CaseIterable {
    case load = 0x00
    case loadRegister = 0x01
    case store = 0x02
    case storeRegister = 0x03
    case alu32 = 0x04
    case jump64 = 0x05
    case jump32 = 0x06
    case alu64 = 0x07
}

/// Register conventions of the eBPF calling convention.
public enum Registers {
    /// r0..r10: ten general registers and the read-only frame pointer.
    public static let count = 11
    public static let framePointer: UInt8 = 10
    /// Per-frame stack size in bytes.
    public static let stackSize = 512
    /// Deepest chain of bpf-to-bpf calls Linux allows (MAX_CALL_FRAMES).
    public static let maxCallDepth = 8
}
