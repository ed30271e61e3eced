/// One token of an assembly line.
struct Token: Sendable {
    enum Kind: Sendable { case word, number, punctuation }
    let kind: Kind
    let text: String
    /// Index of the first and one past the last Unicode scalar in the line.
    let start: Int
    let end: Int

    /// 1-based column of the first character.
    var column: Int { start + 1 }

    func `is`(_ punctuation: String) -> Bool { kind == .punctuation && text == punctuation }

    /// `%rN` or `rN`: written like a register, whether or not the register exists.
    var looksLikeRegister: Bool {
        guard kind == .word else { return false }
        if text.hasPrefix("%") { return true }
        let scalars = Array(text.unicodeScalars)
        return scalars.count >= 2 && scalars[0] == "r" && scalars.dropFirst().allSatisfy(isDigit)
    }
}

func isDigit(_ c: Unicode.Scalar) -> Bool { c >= "0" && c <= "9" }
func isLetter(_ c: Unicode.Scalar) -> Bool { (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") }
func isHexDigit(_ c: Unicode.Scalar) -> Bool { isDigit(c) || (c >= "a" && c <= "f") || (c >= "A" && c <= "F") }

/// Splits one line (comment already removed) into words (`lddw`, `%r1`, `.raw`,
/// `map_value`, labels), number literals (`42`, `0x2a`) and the punctuation
/// `, [ ] + - :`.
func tokenize(_ scalars: ArraySlice<Unicode.Scalar>, line: Int) throws(AssemblyError) -> [Token] {
    var tokens: [Token] = []
    var i = scalars.startIndex
    func isWordStart(_ c: Unicode.Scalar) -> Bool { isLetter(c) || c == "_" || c == "." || c == "%" }
    func isWordPart(_ c: Unicode.Scalar) -> Bool { isLetter(c) || isDigit(c) || c == "_" || c == "." }
    while i < scalars.endIndex {
        let c = scalars[i]
        if c == " " || c == "\t" || c == "\r" || c == "\u{0B}" || c == "\u{0C}" {
            i += 1
            continue
        }
        let start = i
        let kind: Token.Kind
        if isWordStart(c) {
            i += 1
            while i < scalars.endIndex, isWordPart(scalars[i]) { i += 1 }
            kind = .word
        } else if isDigit(c) {
            i += 1
            while i < scalars.endIndex, isWordPart(scalars[i]), scalars[i] != "." { i += 1 }
            kind = .number
        } else if ",[]+-:".unicodeScalars.contains(c) {
            i += 1
            kind = .punctuation
        } else {
            throw AssemblyError(line: line, column: start + 1, reason: .unexpectedCharacter(String(c)))
        }
        var text = ""
        text.unicodeScalars.append(contentsOf: scalars[start..<i])
        tokens.append(Token(kind: kind, text: text, start: start, end: i))
    }
    return tokens
}

/// A number literal with its sign, as written.
struct NumberLiteral {
    var negative: Bool
    var magnitude: UInt64
    var isHex: Bool
    /// The literal as written, sign included, for messages.
    var text: String

    /// The value when it is in -2^63...2^64-1 viewed as a signed integer, else nil.
    var signedValue: Int64? {
        if negative {
            return magnitude <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- magnitude) : nil
        }
        return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
    }

    /// A 32-bit field: decimal -2^31...2^31-1, hexadecimal 0...0xffffffff or -0x80000000...-0x0.
    var immediate32: Int32? {
        if isHex && !negative {
            return magnitude <= 0xffff_ffff ? Int32(bitPattern: UInt32(magnitude)) : nil
        }
        guard let value = signedValue, value >= Int64(Int32.min), value <= Int64(Int32.max) else { return nil }
        return Int32(value)
    }

    /// A 16-bit offset: -32768...32767 whatever the base.
    var offset16: Int16? {
        guard let value = signedValue, value >= Int64(Int16.min), value <= Int64(Int16.max) else { return nil }
        return Int16(value)
    }

    /// A 64-bit constant: any signed or unsigned 64-bit value.
    var immediate64: UInt64? {
        if !negative { return magnitude }
        guard let value = signedValue else { return nil }
        return UInt64(bitPattern: value)
    }

    /// Parses the digits of a number token (`42`, `0x2a`); nil if malformed,
    /// `.overflow` if it does not fit in 64 bits.
    static func parse(_ digits: String, negative: Bool, sign: String) -> ParseResult {
        var scalars = Substring(digits).unicodeScalars[...]
        var radix: UInt64 = 10
        if digits.hasPrefix("0x") || digits.hasPrefix("0X") {
            radix = 16
            scalars = scalars.dropFirst(2)
        }
        guard !scalars.isEmpty else { return .malformed }
        var value: UInt64 = 0
        for c in scalars {
            let digit: UInt64
            if isDigit(c) {
                digit = UInt64(c.value - 48)
            } else if radix == 16, isHexDigit(c) {
                digit = UInt64((c.value | 0x20) - 97 + 10)
            } else {
                return .malformed
            }
            let (times, o1) = value.multipliedReportingOverflow(by: radix)
            let (sum, o2) = times.addingReportingOverflow(digit)
            if o1 || o2 { return .overflow }
            value = sum
        }
        return .value(NumberLiteral(negative: negative, magnitude: value, isHex: radix == 16, text: sign + digits))
    }

    enum ParseResult {
        case value(NumberLiteral)
        case malformed
        case overflow
    }
}
