/// The two text forms of eBPF this project reads and writes.
public enum AssemblySyntax: String, Sendable, CaseIterable {
    /// The syntax of the BPF conformance suite: `ldxw %r0, [%r1+8]`. The assembler reads it back.
    case conformance
    /// The C-like syntax of llvm-objdump and the Linux verifier log: `r0 = *(u32 *)(r1 + 8)`.
    case c
}

/// Prints decoded instructions in either syntax, from the opcode table's mnemonics and symbols.
public enum Disassembler {
    public static func text(of instruction: DecodedInstruction, syntax: AssemblySyntax) -> String {
        switch syntax {
        case .conformance: conformanceText(instruction)
        case .c: cText(instruction)
        }
    }

    /// One instruction per line. The conformance listing assembles back to the same
    /// bytes; the C listing prefixes each line with its slot index, as llvm-objdump does.
    public static func listing(_ program: [DecodedInstruction], syntax: AssemblySyntax) -> String {
        var lines: [String] = []
        for instruction in program {
            let text = text(of: instruction, syntax: syntax)
            switch syntax {
            case .conformance: lines.append(text)
            case .c: lines.append(leftPad(String(instruction.index), 5) + ": " + text)
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: Conformance syntax

    private static func conformanceText(_ decoded: DecodedInstruction) -> String {
        let d = decoded.descriptor
        let i = decoded.instruction
        let dst = "%r\(i.destination)", src = "%r\(i.source)"
        let name = d.mnemonic
        switch d.form {
        case .aluRegister: return "\(name) \(dst), \(src)"
        case .aluImmediate: return "\(name) \(dst), \(i.immediate)"
        case .unary: return "\(name) \(dst)"
        case .jump, .mayGoto: return "\(name) \(signed(i.offset))"
        case .jumpLong: return "\(name) \(signed(i.immediate))"
        case .conditionalImmediate: return "\(name) \(dst), \(i.immediate), \(signed(i.offset))"
        case .conditionalRegister: return "\(name) \(dst), \(src), \(signed(i.offset))"
        case .callHelper: return "call \(i.immediate)"
        case .callLocal: return "call local \(signed(i.immediate))"
        case .callKernelFunction:
            return i.offset == 0 ? "call kfunc \(i.immediate)" : "call kfunc \(i.immediate), \(i.offset)"
        case .callRegister: return "call \(dst)"
        case .exit: return "exit"
        case .loadImmediate64: return "lddw \(dst), " + pseudoOperand(decoded)
        case .loadMemory, .loadAcquire: return "\(name) \(dst), \(memory("%r\(i.source)", i.offset))"
        case .storeImmediate: return "\(name) \(memory(dst, i.offset)), \(i.immediate)"
        case .storeRegister, .atomic, .storeRelease: return "\(name) \(memory(dst, i.offset)), \(src)"
        case .packetAbsolute: return "\(name) \(i.immediate)"
        case .packetIndirect: return "\(name) \(src), \(i.immediate)"
        }
    }

    private static func pseudoOperand(_ decoded: DecodedInstruction) -> String {
        let low = decoded.immediate
        let high = Int32(truncatingIfNeeded: decoded.wideImmediate >> 32)
        switch decoded.operation {
        case .loadMapFD: return "map:\(low)" + (high != 0 ? signed(high) : "")
        case .loadMapValue: return "map_value:\(low)\(signed(high))"
        case .loadBTFID: return "btf_id:\(low)" + (high != 0 ? signed(high) : "")
        case .loadFunction: return "func:\(signed(low))"
        case .loadMapIndex: return "map_idx:\(low)" + (high != 0 ? signed(high) : "")
        case .loadMapIndexValue: return "map_idx_value:\(low)\(signed(high))"
        default: return "0x" + hex(decoded.wideImmediate)
        }
    }

    private static func memory(_ base: String, _ offset: Int16) -> String {
        offset < 0 ? "[\(base)\(offset)]" : "[\(base)+\(offset)]"
    }

    private static func signed<T: BinaryInteger>(_ value: T) -> String {
        value < 0 ? "\(value)" : "+\(value)"
    }

    // MARK: C-like syntax

    private static func cText(_ decoded: DecodedInstruction) -> String {
        let d = decoded.descriptor
        let i = decoded.instruction
        let w = d.is32Bit ? "w" : "r"
        let dst = "\(w)\(i.destination)", src = "\(w)\(i.source)"
        switch d.form {
        case .aluRegister:
            switch d.operation {
            case .movsx8To64, .movsx16To64, .movsx32To64, .movsx8To32, .movsx16To32:
                return "\(dst) = (\(d.symbol))\(src)"
            default:
                return "\(dst) \(d.symbol) \(src)"
            }
        case .aluImmediate: return "\(dst) \(d.symbol) \(i.immediate)"
        case .unary:
            if d.symbol == "-" { return "\(dst) = -\(dst)" }
            return "r\(i.destination) = \(d.symbol) r\(i.destination)"
        case .jump: return "goto \(signed(i.offset))"
        case .jumpLong: return "gotol \(signed(i.immediate))"
        case .mayGoto: return "may_goto \(signed(i.offset))"
        case .conditionalImmediate:
            return "if \(dst) \(d.symbol) 0x\(hex(UInt64(UInt32(bitPattern: i.immediate)))) goto \(signed(i.offset))"
        case .conditionalRegister: return "if \(dst) \(d.symbol) \(src) goto \(signed(i.offset))"
        case .callHelper: return "call \(i.immediate)"
        case .callLocal: return "call pc\(signed(i.immediate))"
        case .callKernelFunction: return "call kfunc#\(i.immediate)"
        case .callRegister: return "callx r\(i.destination)"
        case .exit: return "exit"
        case .loadImmediate64:
            let r = "r\(i.destination)"
            let low = decoded.immediate
            let high = Int32(truncatingIfNeeded: decoded.wideImmediate >> 32)
            switch decoded.operation {
            case .loadMapFD: return "\(r) = map[\(low)]"
            case .loadMapValue: return "\(r) = map[\(low)][0]\(signed(high))"
            case .loadBTFID: return "\(r) = btf_id[\(low)]"
            case .loadFunction: return "\(r) = func[pc\(signed(low))]"
            case .loadMapIndex: return "\(r) = map_idx[\(low)]"
            case .loadMapIndexValue: return "\(r) = map_idx[\(low)][0]\(signed(high))"
            default: return "\(r) = 0x\(hex(decoded.wideImmediate)) ll"
            }
        case .loadMemory:
            return "r\(i.destination) = *(\(d.symbol) *)\(address("r\(i.source)", i.offset))"
        case .storeImmediate:
            return "*(\(d.symbol) *)\(address("r\(i.destination)", i.offset)) = \(i.immediate)"
        case .storeRegister:
            return "*(\(d.symbol) *)\(address("r\(i.destination)", i.offset)) = r\(i.source)"
        case .atomic:
            let type = d.is32Bit ? "u32" : "u64"
            let base = address("r\(i.destination)", i.offset)
            let bare = String(base.dropFirst().dropLast())
            switch d.operation {
            case .atomicXchg32, .atomicXchg64:
                return "\(src) = \(d.is32Bit ? "xchg32_32" : "xchg_64")(\(bare), \(src))"
            case .atomicCmpxchg32, .atomicCmpxchg64:
                return "\(w)0 = \(d.is32Bit ? "cmpxchg32_32" : "cmpxchg_64")(\(bare), \(w)0, \(src))"
            default:
                if d.symbol.hasPrefix("atomic_") {
                    return "\(src) = \(d.symbol)((\(type) *)\(base), \(src))"
                }
                return "lock *(\(type) *)\(base) \(d.symbol) \(src)"
            }
        case .loadAcquire:
            let reg = d.accessSize == 8 ? "r" : "w"
            return "\(reg)\(i.destination) = load_acquire((\(uType(d.accessSize)) *)\(address("r\(i.source)", i.offset)))"
        case .storeRelease:
            let reg = d.accessSize == 8 ? "r" : "w"
            return "store_release((\(uType(d.accessSize)) *)\(address("r\(i.destination)", i.offset)), \(reg)\(i.source))"
        case .packetAbsolute: return "r0 = *(\(d.symbol) *)skb[\(i.immediate)]"
        case .packetIndirect: return "r0 = *(\(d.symbol) *)skb[r\(i.source) + \(i.immediate)]"
        }
    }

    private static func uType(_ size: Int) -> String { "u\(size * 8)" }

    private static func address(_ base: String, _ offset: Int16) -> String {
        offset < 0 ? "(\(base) - \(-Int(offset)))" : "(\(base) + \(offset))"
    }

    private static func leftPad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }
}
