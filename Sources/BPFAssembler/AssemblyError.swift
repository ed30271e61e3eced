import BPFInstructionSet

/// Why a piece of assembly text could not be assembled, and where.
///
/// `line` is 1-based; `column` (1-based, counted in Unicode scalars, a tab counts
/// as one) points at the offending token when there is one.
public struct AssemblyError: Error, Equatable, Sendable, CustomStringConvertible {
    public let line: Int
    public let column: Int?
    public let reason: Reason

    public init(line: Int, column: Int?, reason: Reason) {
        self.line = line
        self.column = column
        self.reason = reason
    }

    public enum Reason: Equatable, Sendable {
        /// A character that starts no token (`@`, `$`, ...).
        case unexpectedCharacter(String)
        /// The first word of an instruction is no mnemonic of the opcode table.
        case unknownMnemonic(String)
        /// A multi-word mnemonic was cut short: a bare `lock`, or `lock fetch`.
        case incompleteMnemonic(String)
        /// A line starting with `.` other than `.raw`.
        case unknownDirective(String)
        /// `.raw` must be followed by 16 hex digits.
        case invalidRaw(found: String)
        /// The mnemonic takes `expected` operands (e.g. "2", "1 or 2").
        case operandCount(mnemonic: String, expected: String, found: Int)
        /// An operand of the wrong shape; `expected` says what was wanted.
        case expected(String, found: String)
        /// A register name that does not exist (`%r50`, `%x1`).
        case invalidRegister(String)
        /// A number literal that is not decimal or `0x` hexadecimal.
        case invalidNumber(String)
        /// An immediate that does not fit its field (`bits` is 32 or 64).
        case immediateOutOfRange(String, bits: Int)
        /// A memory or jump offset that does not fit the signed 16-bit field.
        case offsetOutOfRange(String)
        case duplicateLabel(String, firstLine: Int)
        case undefinedLabel(String)
        /// A resolved jump or call distance that does not fit its field (`bits` is 16 or 32).
        case targetOutOfRange(label: String, distance: Int, bits: Int)
    }

    public var message: String {
        switch reason {
        case .unexpectedCharacter(let text):
            "unexpected character '\(text)'"
        case .unknownMnemonic(let name):
            name != name.lowercased() && !OpcodeTable.variants(ofMnemonic: name.lowercased()).isEmpty
                ? "unknown mnemonic '\(name)' (mnemonics are lower-case)"
                : "unknown mnemonic '\(name)'"
        case .incompleteMnemonic(let name):
            "invalid number of operands for '\(name)': expected an operation and 2 operands, "
                + "like 'lock add [%r10-8], %r1'"
        case .unknownDirective(let name):
            "unknown directive '\(name)' (the only directive is .raw)"
        case .invalidRaw(let found):
            ".raw expects one 8-byte slot as 16 hex digits in memory order, like "
                + "'.raw b701000005000000', found '\(found)'"
        case .operandCount(let mnemonic, let expected, let found):
            "'\(mnemonic)' takes \(expected) operand\(expected == "1" ? "" : "s"), found \(found)"
        case .expected(let what, let found):
            found.isEmpty ? "expected \(what)" : "expected \(what), found '\(found)'"
        case .invalidRegister(let text):
            "expected a register like %r1, found '\(text)' (registers are %r0-%r10)"
        case .invalidNumber(let text):
            "'\(text)' is not a number (write decimal like 42 or -8, or hexadecimal like 0x2a)"
        case .immediateOutOfRange(let text, let bits):
            "immediate \(text) does not fit in \(bits) bits"
        case .offsetOutOfRange(let text):
            "offset \(text) does not fit in 16 bits (-32768...32767)"
        case .duplicateLabel(let name, let firstLine):
            "duplicate label '\(name)' (first defined on line \(firstLine))"
        case .undefinedLabel(let name):
            "undefined label '\(name)'"
        case .targetOutOfRange(let label, let distance, let bits):
            "'\(label)' is \(distance) slots away, which does not fit in the \(bits)-bit "
                + (bits == 16 ? "offset" : "immediate")
        }
    }

    public var description: String {
        if let column { "line \(line), column \(column): \(message)" } else { "line \(line): \(message)" }
    }
}
