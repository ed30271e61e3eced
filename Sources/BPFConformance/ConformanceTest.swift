/// BPFConformance: reads the BPF conformance suite's `.data` files and runs them
/// through an engine, comparing all 64 bits of r0 with the expected result.
import BPFInstructionSet

/// One `.data` file of the conformance suite, parsed but not yet assembled.
///
/// Sections start with a line `-- name`: `asm` (assembly text), `raw` (the
/// encoded program, either one 64-bit little-endian word per `0x…` token or
/// eight hex bytes per line), `mem` (hex bytes given to the program in r1/r2),
/// `result` (expected r0), `error` (the program must be refused or fault).
/// `c` and `no register offset` are informational and ignored. `#` starts a comment.
public struct ConformanceTest: Sendable, Equatable {
    public var name: String
    /// Assembly text and the file line its first line came from.
    public var assembly: String?
    public var assemblyFirstLine: Int = 0
    public var raw: [Instruction]?
    public var memory: [UInt8] = []
    public var expectedResult: UInt64?
    /// Present when the program is expected to be refused or to fault; may be empty.
    public var expectedError: String?

    public init(name: String) {
        self.name = name
    }

    /// Parses the text of a `.data` file; `name` is used in errors.
    public init(parsing text: String, name: String) throws(ConformanceFileError) {
        self.init(name: name)
        var section: String?
        var body: [(line: Int, text: String)] = []
        var seen = Set<String>()

        func finish() throws(ConformanceFileError) {
            guard let section else { return }
            try apply(section: section, body: body)
        }

        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for (offset, rawLine) in lines.enumerated() {
            let lineNumber = offset + 1
            let line = rawLine.hasSuffix("\r") ? String(rawLine.dropLast()) : String(rawLine)
            if line.hasPrefix("--") {
                try finish()
                let directive = line.dropFirst(2).trimmingCharacters(in: " \t")
                guard Self.knownSections.contains(directive) else {
                    throw .unknownSection(file: name, line: lineNumber, directive: directive)
                }
                guard seen.insert(directive).inserted else {
                    throw .duplicateSection(file: name, line: lineNumber, section: directive)
                }
                section = directive
                body = []
                if directive == "asm" { assemblyFirstLine = lineNumber + 1 }
            } else if section != nil {
                body.append((lineNumber, line))
            }
        }
        try finish()
    }

    static let knownSections: Set<String> = ["asm", "raw", "mem", "result", "error", "c", "no register offset"]

    private mutating func apply(section: String, body: [(line: Int, text: String)]) throws(ConformanceFileError) {
        switch section {
        case "asm":
            assembly = body.map(\.text).joined(separator: "\n")
        case "raw":
            var words: [Instruction] = []
            var pendingBytes: [UInt8] = []
            for (line, text) in body {
                for token in Self.tokens(text) {
                    if token.hasPrefix("0x") || token.hasPrefix("0X") {
                        guard let word = UInt64(token.dropFirst(2), radix: 16) else {
                            throw .badNumber(file: name, line: line, token: token, section: section)
                        }
                        words.append(Instruction(rawValue: word))
                    } else {
                        guard token.count == 2, let byte = UInt8(token, radix: 16) else {
                            throw .badNumber(file: name, line: line, token: token, section: section)
                        }
                        pendingBytes.append(byte)
                    }
                }
            }
            if !pendingBytes.isEmpty {
                guard words.isEmpty else { throw .mixedRawForms(file: name) }
                do {
                    words = try Instruction.decodeSlots(pendingBytes)
                } catch {
                    throw .rawNotWholeInstructions(file: name, byteCount: pendingBytes.count)
                }
            }
            raw = words
        case "mem":
            for (line, text) in body {
                for token in Self.tokens(text) {
                    guard token.count == 2, let byte = UInt8(token, radix: 16) else {
                        throw .badNumber(file: name, line: line, token: token, section: section)
                    }
                    memory.append(byte)
                }
            }
        case "result":
            let tokens = body.flatMap { line in Self.tokens(line.text).map { (line.line, $0) } }
            guard tokens.count == 1, let (line, token) = tokens.first else {
                throw .badResult(file: name, detail: "expected one value, found \(tokens.count)")
            }
            let digits = token.hasPrefix("0x") ? token.dropFirst(2) : Substring(token)
            let radix = token.hasPrefix("0x") ? 16 : 10
            guard let value = UInt64(digits, radix: radix) else {
                throw .badNumber(file: name, line: line, token: token, section: section)
            }
            expectedResult = value
        case "error":
            expectedError = body.map(\.text).filter { !$0.hasPrefix("#") }.joined(separator: "\n")
                .trimmingCharacters(in: " \t\n")
        default:
            break
        }
    }

    /// Whitespace-separated tokens of a line, without its `#` comment.
    static func tokens(_ line: String) -> [String] {
        let content = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return content.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," }).map(String.init)
    }
}

/// A `.data` file that cannot be read. Every case names the file and, where there is one, the line.
public enum ConformanceFileError: Error, Equatable, Sendable, CustomStringConvertible {
    case unreadable(file: String, reason: String)
    case unknownSection(file: String, line: Int, directive: String)
    case duplicateSection(file: String, line: Int, section: String)
    case badNumber(file: String, line: Int, token: String, section: String)
    case badResult(file: String, detail: String)
    case mixedRawForms(file: String)
    case rawNotWholeInstructions(file: String, byteCount: Int)

    public var description: String {
        switch self {
        case .unreadable(let file, let reason): "\(file): cannot be read: \(reason)"
        case .unknownSection(let file, let line, let directive):
            "\(file):\(line): unknown directive '-- \(directive)' (expected asm, raw, mem, result, error, c or no register offset)"
        case .duplicateSection(let file, let line, let section):
            "\(file):\(line): section '-- \(section)' appears twice"
        case .badNumber(let file, let line, let token, let section):
            "\(file):\(line): '\(token)' is not a valid value in section '-- \(section)'"
        case .badResult(let file, let detail): "\(file): section '-- result': \(detail)"
        case .mixedRawForms(let file):
            "\(file): section '-- raw' mixes 0x-prefixed 64-bit words with single bytes"
        case .rawNotWholeInstructions(let file, let byteCount):
            "\(file): section '-- raw' has \(byteCount) bytes, which is not a whole number of 8-byte instructions"
        }
    }
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        let characters = Set(set)
        var slice = Substring(self)
        while let first = slice.first, characters.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, characters.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}
