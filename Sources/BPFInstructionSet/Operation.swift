/// Every distinct eBPF operation, one case per (opcode, variant) pair of the
/// opcode table. The cases are dense so that engines can dispatch on them with
/// a jump table; `OpcodeTable` says how each is encoded and written.
public enum Operation: UInt8, Sendable, CaseIterable, BitwiseCopyable {
    // ALU64 and ALU32, immediate and register sources.
    case add64Imm, add64Reg, add32Imm, add32Reg
    case sub64Imm, sub64Reg, sub32Imm, sub32Reg
    case mul64Imm, mul64Reg, mul32Imm, mul32Reg
    case div64Imm, div64Reg, div32Imm, div32Reg
    case sdiv64Imm, sdiv64Reg, sdiv32Imm, sdiv32Reg
    case or64Imm, or64Reg, or32Imm, or32Reg
    case and64Imm, and64Reg, and32Imm, and32Reg
    case lsh64Imm, lsh64Reg, lsh32Imm, lsh32Reg
    case rsh64Imm, rsh64Reg, rsh32Imm, rsh32Reg
    case mod64Imm, mod64Reg, mod32Imm, mod32Reg
    case smod64Imm, smod64Reg, smod32Imm, smod32Reg
    case xor64Imm, xor64Reg, xor32Imm, xor32Reg
    case mov64Imm, mov64Reg, mov32Imm, mov32Reg
    case arsh64Imm, arsh64Reg, arsh32Imm, arsh32Reg
    case neg64, neg32
    case movsx8To64, movsx16To64, movsx32To64, movsx8To32, movsx16To32
    case le16, le32, le64, be16, be32, be64, bswap16, bswap32, bswap64

    // Jumps.
    case ja, jaLong
    case jeq64Imm, jeq64Reg, jeq32Imm, jeq32Reg
    case jgt64Imm, jgt64Reg, jgt32Imm, jgt32Reg
    case jge64Imm, jge64Reg, jge32Imm, jge32Reg
    case jset64Imm, jset64Reg, jset32Imm, jset32Reg
    case jne64Imm, jne64Reg, jne32Imm, jne32Reg
    case jsgt64Imm, jsgt64Reg, jsgt32Imm, jsgt32Reg
    case jsge64Imm, jsge64Reg, jsge32Imm, jsge32Reg
    case jlt64Imm, jlt64Reg, jlt32Imm, jlt32Reg
    case jle64Imm, jle64Reg, jle32Imm, jle32Reg
    case jslt64Imm, jslt64Reg, jslt32Imm, jslt32Reg
    case jsle64Imm, jsle64Reg, jsle32Imm, jsle32Reg
    case callHelper, callLocal, callKernelFunction, callRegister, exit, mayGoto

    // 16-byte immediate loads, by pseudo source.
    case loadImm64, loadMapFD, loadMapValue, loadBTFID, loadFunction, loadMapIndex, loadMapIndexValue

    // Memory.
    case ldxb, ldxh, ldxw, ldxdw, ldxsb, ldxsh, ldxsw
    case stb, sth, stw, stdw
    case stxb, stxh, stxw, stxdw

    // Atomics.
    case atomicAdd32, atomicOr32, atomicAnd32, atomicXor32
    case atomicFetchAdd32, atomicFetchOr32, atomicFetchAnd32, atomicFetchXor32, atomicXchg32, atomicCmpxchg32
    case atomicAdd64, atomicOr64, atomicAnd64, atomicXor64
    case atomicFetchAdd64, atomicFetchOr64, atomicFetchAnd64, atomicFetchXor64, atomicXchg64, atomicCmpxchg64
    case loadAcquire8, loadAcquire16, loadAcquire32, loadAcquire64
    case storeRelease8, storeRelease16, storeRelease32, storeRelease64

    // Legacy packet loads (classic BPF translations).
    case ldabsb, ldabsh, ldabsw, ldindb, ldindh, ldindw

    /// The table entry that describes this operation.
    @inlinable
    public var descriptor: OpcodeDescriptor { OpcodeTable.descriptor(of: self) }
}
