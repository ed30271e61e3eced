/// How an instruction's operands are written and which fields it uses.
public enum OperandForm: Sendable, Equatable {
    case aluRegister          // op %dst, %src
    case aluImmediate         // op %dst, imm
    case unary                // op %dst            (neg, byte swaps)
    case jump                 // ja +off
    case jumpLong             // ja32 +imm          (gotol)
    case conditionalImmediate // jeq %dst, imm, +off
    case conditionalRegister  // jeq %dst, %src, +off
    case callHelper           // call imm
    case callLocal            // call local +imm
    case callKernelFunction   // call kfunc imm
    case callRegister         // call %dst          (callx)
    case exit                 // exit
    case mayGoto              // may_goto +off
    case loadImmediate64      // lddw %dst, imm64 (and pseudo sources)
    case loadMemory           // ldxw %dst, [%src+off]
    case storeImmediate       // stw [%dst+off], imm
    case storeRegister        // stxw [%dst+off], %src
    case atomic               // lock add [%dst+off], %src
    case loadAcquire          // ldacqw %dst, [%src+off]
    case storeRelease         // strelw [%dst+off], %src
    case packetAbsolute       // ldabsw imm
    case packetIndirect       // ldindw %src, imm

    /// Which fields the form reads; every other field must be zero unless it
    /// selects the variant (`Selector`).
    public var usesDestination: Bool {
        switch self {
        case .aluRegister, .aluImmediate, .unary, .conditionalImmediate, .conditionalRegister, .callRegister,
            .loadImmediate64, .loadMemory, .storeImmediate, .storeRegister, .atomic, .loadAcquire, .storeRelease:
            true
        default: false
        }
    }
    public var usesSource: Bool {
        switch self {
        case .aluRegister, .conditionalRegister, .loadMemory, .storeRegister, .atomic, .loadAcquire,
            .storeRelease, .packetIndirect:
            true
        default: false
        }
    }
    public var usesOffset: Bool {
        switch self {
        case .jump, .conditionalImmediate, .conditionalRegister, .mayGoto, .loadMemory, .storeImmediate,
            .storeRegister, .atomic, .loadAcquire, .storeRelease, .callKernelFunction:
            true
        default: false
        }
    }
    public var usesImmediate: Bool {
        switch self {
        case .aluImmediate, .jumpLong, .conditionalImmediate, .callHelper, .callLocal, .callKernelFunction,
            .loadImmediate64, .storeImmediate, .packetAbsolute, .packetIndirect:
            true
        default: false
        }
    }
    /// The operation transfers control to `pc + 1 + offset` (or `+ immediate`).
    public var isBranch: Bool {
        switch self {
        case .jump, .jumpLong, .conditionalImmediate, .conditionalRegister, .mayGoto: true
        default: false
        }
    }
}

/// The field that tells apart operations sharing one opcode byte.
public enum Selector: Sendable, Equatable {
    case none
    case offset(Int16)
    case immediate(Int32)
    case source(UInt8)
}

/// One row of the opcode table.
public struct OpcodeDescriptor: Sendable {
    public let operation: Operation
    public let opcode: UInt8
    public let selector: Selector
    /// The mnemonic of the conformance-suite syntax (`add32`, `lock fetch add`, `ldxsb`).
    public let mnemonic: String
    public let form: OperandForm
    /// The operator or type of the C-like syntax (`+=`, `s>=`, `u32`, `le16`).
    public let symbol: String
    /// Other mnemonics the assembler accepts for this operation.
    public let aliases: [String]

    init(_ operation: Operation, _ opcode: UInt8, _ selector: Selector, _ mnemonic: String, _ form: OperandForm,
         _ symbol: String, aliases: [String] = []) {
        self.operation = operation
        self.opcode = opcode
        self.selector = selector
        self.mnemonic = mnemonic
        self.form = form
        self.symbol = symbol
        self.aliases = aliases
    }

    public var instructionClass: InstructionClass { InstructionClass(rawValue: opcode & 0x07)! }

    /// True for operations whose register operands are 32-bit sub-registers.
    public var is32Bit: Bool {
        switch instructionClass {
        case .alu32, .jump32: form != .jumpLong
        case .storeRegister: form == .atomic && opcode & 0x18 == 0x00
        default: false
        }
    }

    /// Size in bytes of the memory a load, store or atomic touches (0 for others).
    public var accessSize: Int {
        switch form {
        case .loadMemory, .storeImmediate, .storeRegister, .atomic, .loadAcquire, .storeRelease,
            .packetAbsolute, .packetIndirect:
            [4, 2, 1, 8][Int(opcode >> 3 & 0x3)]
        default: 0
        }
    }

    /// True for the 16-byte `lddw` family.
    public var isWide: Bool { form == .loadImmediate64 }

    /// The instruction with this operation's opcode and selector, other fields zero.
    public var template: Instruction {
        var instruction = Instruction(opcode: opcode)
        switch selector {
        case .none: break
        case .offset(let value): instruction.offset = value
        case .immediate(let value): instruction.immediate = value
        case .source(let value): instruction.source = value
        }
        return instruction
    }
}

/// The single description of the instruction set. The decoder, disassembler,
/// assembler, interpreter and JIT all read it.
public enum OpcodeTable {
    /// Every operation, indexed by `Operation.rawValue`.
    public static let descriptors: [OpcodeDescriptor] = {
        let rows = buildRows()
        precondition(rows.count == Operation.allCases.count, "opcode table must cover every operation once")
        var ordered = rows
        ordered.sort { $0.operation.rawValue < $1.operation.rawValue }
        for (index, row) in ordered.enumerated() {
            precondition(Int(row.operation.rawValue) == index, "opcode table lists \(row.operation) twice")
        }
        return ordered
    }()

    /// Descriptor indices for each opcode byte.
    static let candidatesByOpcode: [[Int]] = {
        var table = [[Int]](repeating: [], count: 256)
        for (index, descriptor) in descriptors.enumerated() {
            table[Int(descriptor.opcode)].append(index)
        }
        return table
    }()

    /// All descriptors written with `mnemonic` (immediate and register forms, call variants).
    public static func variants(ofMnemonic mnemonic: String) -> [OpcodeDescriptor] {
        mnemonicIndex[mnemonic] ?? []
    }

    static let mnemonicIndex: [String: [OpcodeDescriptor]] = {
        var table: [String: [OpcodeDescriptor]] = [:]
        for descriptor in descriptors {
            for name in [descriptor.mnemonic] + descriptor.aliases {
                table[name, default: []].append(descriptor)
            }
        }
        return table
    }()

    @inlinable
    public static func descriptor(of operation: Operation) -> OpcodeDescriptor {
        descriptors[Int(operation.rawValue)]
    }

    /// Identifies the operation of one slot and checks that its unused fields are zero
    /// and its registers exist. `index` is used in errors only.
    public static func decode(_ instruction: Instruction, at index: Int) throws(InstructionError) -> OpcodeDescriptor {
        let candidates = candidatesByOpcode[Int(instruction.opcode)]
        guard let first = candidates.first else {
            throw .unknownOpcode(index: index, opcode: instruction.opcode)
        }
        var match: OpcodeDescriptor?
        for candidate in candidates where matches(descriptors[candidate].selector, instruction) {
            match = descriptors[candidate]
            break
        }
        guard let descriptor = match else {
            switch descriptors[first].selector {
            case .offset: throw .unknownVariant(index: index, opcode: instruction.opcode, field: "offset",
                                                value: Int64(instruction.offset))
            case .immediate: throw .unknownVariant(index: index, opcode: instruction.opcode, field: "immediate",
                                                   value: Int64(instruction.immediate))
            case .source: throw .unknownVariant(index: index, opcode: instruction.opcode, field: "source register",
                                                value: Int64(instruction.source))
            case .none: throw .unknownOpcode(index: index, opcode: instruction.opcode)
            }
        }
        try checkFields(instruction, descriptor, at: index)
        return descriptor
    }

    private static func matches(_ selector: Selector, _ instruction: Instruction) -> Bool {
        switch selector {
        case .none: true
        case .offset(let value): instruction.offset == value
        case .immediate(let value): instruction.immediate == value
        case .source(let value): instruction.source == value
        }
    }

    private static func checkFields(_ instruction: Instruction, _ descriptor: OpcodeDescriptor,
                                    at index: Int) throws(InstructionError) {
        let form = descriptor.form
        var selectsOffset = false, selectsImmediate = false, selectsSource = false
        switch descriptor.selector {
        case .none: break
        case .offset: selectsOffset = true
        case .immediate: selectsImmediate = true
        case .source: selectsSource = true
        }
        if !form.usesDestination && instruction.destination != 0 {
            throw .reservedFieldNotZero(index: index, mnemonic: descriptor.mnemonic, field: "destination register",
                                        value: Int64(instruction.destination))
        }
        if !form.usesSource && !selectsSource && instruction.source != 0 {
            throw .reservedFieldNotZero(index: index, mnemonic: descriptor.mnemonic, field: "source register",
                                        value: Int64(instruction.source))
        }
        if !form.usesOffset && !selectsOffset && instruction.offset != 0 {
            throw .reservedFieldNotZero(index: index, mnemonic: descriptor.mnemonic, field: "offset",
                                        value: Int64(instruction.offset))
        }
        if !form.usesImmediate && !selectsImmediate && instruction.immediate != 0 {
            throw .reservedFieldNotZero(index: index, mnemonic: descriptor.mnemonic, field: "immediate",
                                        value: Int64(instruction.immediate))
        }
        if instruction.destination > Registers.framePointer {
            throw .invalidRegister(index: index, field: "destination", register: instruction.destination)
        }
        if form.usesSource && instruction.source > Registers.framePointer {
            throw .invalidRegister(index: index, field: "source", register: instruction.source)
        }
    }
}

// MARK: - The rows

extension OpcodeTable {
    /// Four rows for an ALU operation: 64-bit immediate/register, 32-bit immediate/register.
    private static func alu(_ ops: (Operation, Operation, Operation, Operation), _ code: UInt8, _ selector: Selector,
                            _ mnemonic: String, _ symbol: String) -> [OpcodeDescriptor] {
        [
            OpcodeDescriptor(ops.0, 0x07 | code, selector, mnemonic, .aluImmediate, symbol, aliases: [mnemonic + "64"]),
            OpcodeDescriptor(ops.1, 0x0f | code, selector, mnemonic, .aluRegister, symbol, aliases: [mnemonic + "64"]),
            OpcodeDescriptor(ops.2, 0x04 | code, selector, mnemonic + "32", .aluImmediate, symbol),
            OpcodeDescriptor(ops.3, 0x0c | code, selector, mnemonic + "32", .aluRegister, symbol),
        ]
    }

    /// Four rows for a conditional jump: 64-bit immediate/register, 32-bit immediate/register.
    private static func branch(_ ops: (Operation, Operation, Operation, Operation), _ code: UInt8,
                               _ mnemonic: String, _ symbol: String) -> [OpcodeDescriptor] {
        [
            OpcodeDescriptor(ops.0, 0x05 | code, .none, mnemonic, .conditionalImmediate, symbol),
            OpcodeDescriptor(ops.1, 0x0d | code, .none, mnemonic, .conditionalRegister, symbol),
            OpcodeDescriptor(ops.2, 0x06 | code, .none, mnemonic + "32", .conditionalImmediate, symbol),
            OpcodeDescriptor(ops.3, 0x0e | code, .none, mnemonic + "32", .conditionalRegister, symbol),
        ]
    }

    private static func buildRows() -> [OpcodeDescriptor] {
        var rows: [OpcodeDescriptor] = []
        rows += alu((.add64Imm, .add64Reg, .add32Imm, .add32Reg), 0x00, .none, "add", "+=")
        rows += alu((.sub64Imm, .sub64Reg, .sub32Imm, .sub32Reg), 0x10, .none, "sub", "-=")
        rows += alu((.mul64Imm, .mul64Reg, .mul32Imm, .mul32Reg), 0x20, .none, "mul", "*=")
        rows += alu((.div64Imm, .div64Reg, .div32Imm, .div32Reg), 0x30, .offset(0), "div", "/=")
        rows += alu((.sdiv64Imm, .sdiv64Reg, .sdiv32Imm, .sdiv32Reg), 0x30, .offset(1), "sdiv", "s/=")
        rows += alu((.or64Imm, .or64Reg, .or32Imm, .or32Reg), 0x40, .none, "or", "|=")
        rows += alu((.and64Imm, .and64Reg, .and32Imm, .and32Reg), 0x50, .none, "and", "&=")
        rows += alu((.lsh64Imm, .lsh64Reg, .lsh32Imm, .lsh32Reg), 0x60, .none, "lsh", "<<=")
        rows += alu((.rsh64Imm, .rsh64Reg, .rsh32Imm, .rsh32Reg), 0x70, .none, "rsh", ">>=")
        rows += alu((.mod64Imm, .mod64Reg, .mod32Imm, .mod32Reg), 0x90, .offset(0), "mod", "%=")
        rows += alu((.smod64Imm, .smod64Reg, .smod32Imm, .smod32Reg), 0x90, .offset(1), "smod", "s%=")
        rows += alu((.xor64Imm, .xor64Reg, .xor32Imm, .xor32Reg), 0xa0, .none, "xor", "^=")
        rows += alu((.mov64Imm, .mov64Reg, .mov32Imm, .mov32Reg), 0xb0, .offset(0), "mov", "=")
        rows += alu((.arsh64Imm, .arsh64Reg, .arsh32Imm, .arsh32Reg), 0xc0, .none, "arsh", "s>>=")
        rows += [
            OpcodeDescriptor(.neg64, 0x87, .none, "neg", .unary, "-", aliases: ["neg64"]),
            OpcodeDescriptor(.neg32, 0x84, .none, "neg32", .unary, "-"),
            OpcodeDescriptor(.movsx8To64, 0xbf, .offset(8), "movsx864", .aluRegister, "s8"),
            OpcodeDescriptor(.movsx16To64, 0xbf, .offset(16), "movsx1664", .aluRegister, "s16"),
            OpcodeDescriptor(.movsx32To64, 0xbf, .offset(32), "movsx3264", .aluRegister, "s32"),
            OpcodeDescriptor(.movsx8To32, 0xbc, .offset(8), "movsx832", .aluRegister, "s8"),
            OpcodeDescriptor(.movsx16To32, 0xbc, .offset(16), "movsx1632", .aluRegister, "s16"),
            OpcodeDescriptor(.le16, 0xd4, .immediate(16), "le16", .unary, "le16"),
            OpcodeDescriptor(.le32, 0xd4, .immediate(32), "le32", .unary, "le32"),
            OpcodeDescriptor(.le64, 0xd4, .immediate(64), "le64", .unary, "le64"),
            OpcodeDescriptor(.be16, 0xdc, .immediate(16), "be16", .unary, "be16"),
            OpcodeDescriptor(.be32, 0xdc, .immediate(32), "be32", .unary, "be32"),
            OpcodeDescriptor(.be64, 0xdc, .immediate(64), "be64", .unary, "be64"),
            OpcodeDescriptor(.bswap16, 0xd7, .immediate(16), "bswap16", .unary, "bswap16", aliases: ["swap16"]),
            OpcodeDescriptor(.bswap32, 0xd7, .immediate(32), "bswap32", .unary, "bswap32", aliases: ["swap32"]),
            OpcodeDescriptor(.bswap64, 0xd7, .immediate(64), "bswap64", .unary, "bswap64", aliases: ["swap64"]),
        ]

        rows += [
            OpcodeDescriptor(.ja, 0x05, .none, "ja", .jump, "goto"),
            OpcodeDescriptor(.jaLong, 0x06, .none, "ja32", .jumpLong, "gotol", aliases: ["gotol"]),
        ]
        rows += branch((.jeq64Imm, .jeq64Reg, .jeq32Imm, .jeq32Reg), 0x10, "jeq", "==")
        rows += branch((.jgt64Imm, .jgt64Reg, .jgt32Imm, .jgt32Reg), 0x20, "jgt", ">")
        rows += branch((.jge64Imm, .jge64Reg, .jge32Imm, .jge32Reg), 0x30, "jge", ">=")
        rows += branch((.jset64Imm, .jset64Reg, .jset32Imm, .jset32Reg), 0x40, "jset", "&")
        rows += branch((.jne64Imm, .jne64Reg, .jne32Imm, .jne32Reg), 0x50, "jne", "!=")
        rows += branch((.jsgt64Imm, .jsgt64Reg, .jsgt32Imm, .jsgt32Reg), 0x60, "jsgt", "s>")
        rows += branch((.jsge64Imm, .jsge64Reg, .jsge32Imm, .jsge32Reg), 0x70, "jsge", "s>=")
        rows += branch((.jlt64Imm, .jlt64Reg, .jlt32Imm, .jlt32Reg), 0xa0, "jlt", "<")
        rows += branch((.jle64Imm, .jle64Reg, .jle32Imm, .jle32Reg), 0xb0, "jle", "<=")
        rows += branch((.jslt64Imm, .jslt64Reg, .jslt32Imm, .jslt32Reg), 0xc0, "jslt", "s<")
        rows += branch((.jsle64Imm, .jsle64Reg, .jsle32Imm, .jsle32Reg), 0xd0, "jsle", "s<=")
        rows += [
            OpcodeDescriptor(.callHelper, 0x85, .source(0), "call", .callHelper, "call"),
            OpcodeDescriptor(.callLocal, 0x85, .source(1), "call", .callLocal, "call"),
            OpcodeDescriptor(.callKernelFunction, 0x85, .source(2), "call", .callKernelFunction, "call"),
            OpcodeDescriptor(.callRegister, 0x8d, .none, "call", .callRegister, "callx", aliases: ["callx"]),
            OpcodeDescriptor(.exit, 0x95, .none, "exit", .exit, "exit"),
            OpcodeDescriptor(.mayGoto, 0xe5, .none, "may_goto", .mayGoto, "may_goto"),
        ]

        rows += [
            OpcodeDescriptor(.loadImm64, 0x18, .source(0), "lddw", .loadImmediate64, ""),
            OpcodeDescriptor(.loadMapFD, 0x18, .source(1), "lddw", .loadImmediate64, "map"),
            OpcodeDescriptor(.loadMapValue, 0x18, .source(2), "lddw", .loadImmediate64, "map_value"),
            OpcodeDescriptor(.loadBTFID, 0x18, .source(3), "lddw", .loadImmediate64, "btf_id"),
            OpcodeDescriptor(.loadFunction, 0x18, .source(4), "lddw", .loadImmediate64, "func"),
            OpcodeDescriptor(.loadMapIndex, 0x18, .source(5), "lddw", .loadImmediate64, "map_idx"),
            OpcodeDescriptor(.loadMapIndexValue, 0x18, .source(6), "lddw", .loadImmediate64, "map_idx_value"),
        ]

        rows += [
            OpcodeDescriptor(.ldxb, 0x71, .none, "ldxb", .loadMemory, "u8"),
            OpcodeDescriptor(.ldxh, 0x69, .none, "ldxh", .loadMemory, "u16"),
            OpcodeDescriptor(.ldxw, 0x61, .none, "ldxw", .loadMemory, "u32"),
            OpcodeDescriptor(.ldxdw, 0x79, .none, "ldxdw", .loadMemory, "u64"),
            OpcodeDescriptor(.ldxsb, 0x91, .none, "ldxsb", .loadMemory, "s8"),
            OpcodeDescriptor(.ldxsh, 0x89, .none, "ldxsh", .loadMemory, "s16"),
            OpcodeDescriptor(.ldxsw, 0x81, .none, "ldxsw", .loadMemory, "s32"),
            OpcodeDescriptor(.stb, 0x72, .none, "stb", .storeImmediate, "u8"),
            OpcodeDescriptor(.sth, 0x6a, .none, "sth", .storeImmediate, "u16"),
            OpcodeDescriptor(.stw, 0x62, .none, "stw", .storeImmediate, "u32"),
            OpcodeDescriptor(.stdw, 0x7a, .none, "stdw", .storeImmediate, "u64"),
            OpcodeDescriptor(.stxb, 0x73, .none, "stxb", .storeRegister, "u8"),
            OpcodeDescriptor(.stxh, 0x6b, .none, "stxh", .storeRegister, "u16"),
            OpcodeDescriptor(.stxw, 0x63, .none, "stxw", .storeRegister, "u32"),
            OpcodeDescriptor(.stxdw, 0x7b, .none, "stxdw", .storeRegister, "u64"),
        ]

        // Atomics: BPF_STX | BPF_ATOMIC | size, the operation in the immediate.
        let atomicOps: [(Operation, Operation, Int32, String, String)] = [
            (.atomicAdd32, .atomicAdd64, 0x00, "add", "+="),
            (.atomicOr32, .atomicOr64, 0x40, "or", "|="),
            (.atomicAnd32, .atomicAnd64, 0x50, "and", "&="),
            (.atomicXor32, .atomicXor64, 0xa0, "xor", "^="),
            (.atomicFetchAdd32, .atomicFetchAdd64, 0x01, "fetch add", "atomic_fetch_add"),
            (.atomicFetchOr32, .atomicFetchOr64, 0x41, "fetch or", "atomic_fetch_or"),
            (.atomicFetchAnd32, .atomicFetchAnd64, 0x51, "fetch and", "atomic_fetch_and"),
            (.atomicFetchXor32, .atomicFetchXor64, 0xa1, "fetch xor", "atomic_fetch_xor"),
            (.atomicXchg32, .atomicXchg64, 0xe1, "xchg", "xchg"),
            (.atomicCmpxchg32, .atomicCmpxchg64, 0xf1, "cmpxchg", "cmpxchg"),
        ]
        for (op32, op64, code, name, symbol) in atomicOps {
            rows.append(OpcodeDescriptor(op32, 0xc3, .immediate(code), "lock " + name + "32", .atomic, symbol))
            rows.append(OpcodeDescriptor(op64, 0xdb, .immediate(code), "lock " + name, .atomic, symbol,
                                         aliases: ["lock " + name + "64"]))
        }
        let orderedOps: [(Operation, Operation, UInt8, String)] = [
            (.loadAcquire8, .storeRelease8, 0xd3, "b"), (.loadAcquire16, .storeRelease16, 0xcb, "h"),
            (.loadAcquire32, .storeRelease32, 0xc3, "w"), (.loadAcquire64, .storeRelease64, 0xdb, "dw"),
        ]
        for (load, store, opcode, suffix) in orderedOps {
            rows.append(OpcodeDescriptor(load, opcode, .immediate(0x100), "ldacq" + suffix, .loadAcquire, "load_acquire"))
            rows.append(OpcodeDescriptor(store, opcode, .immediate(0x110), "strel" + suffix, .storeRelease, "store_release"))
        }

        rows += [
            OpcodeDescriptor(.ldabsb, 0x30, .none, "ldabsb", .packetAbsolute, "u8"),
            OpcodeDescriptor(.ldabsh, 0x28, .none, "ldabsh", .packetAbsolute, "u16"),
            OpcodeDescriptor(.ldabsw, 0x20, .none, "ldabsw", .packetAbsolute, "u32"),
            OpcodeDescriptor(.ldindb, 0x50, .none, "ldindb", .packetIndirect, "u8"),
            OpcodeDescriptor(.ldindh, 0x48, .none, "ldindh", .packetIndirect, "u16"),
            OpcodeDescriptor(.ldindw, 0x40, .none, "ldindw", .packetIndirect, "u32"),
        ]
        return rows
    }
}
