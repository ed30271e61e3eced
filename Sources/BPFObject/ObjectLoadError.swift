/// Why an object could not be described. Every case names the file and the
/// place (section, symbol, offset) at fault; `description` is a full sentence.
public enum ObjectLoadError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file could not be read from disk.
    case unreadableFile(path: String, reason: String)
    /// A structure extends beyond the bytes that hold it.
    case truncated(file: String, structure: String, offset: Int, length: Int, available: Int)
    /// The file does not start with the ELF magic.
    case notELF(file: String)
    /// A header field has a value this reader does not support (class, byte order, machine, type).
    case unsupportedFormat(file: String, field: String, value: UInt64, expected: String)
    /// A header or section-table field is inconsistent.
    case malformedHeader(file: String, field: String, value: UInt64, reason: String)
    /// A section's header or contents are inconsistent.
    case malformedSection(file: String, section: String, reason: String)
    /// An index (section, symbol, string, type) is outside its table.
    case indexOutOfRange(file: String, kind: String, index: Int, count: Int, place: String)
    /// A symbol's value, size or section is inconsistent.
    case malformedSymbol(file: String, symbol: String, section: String, reason: String)
    /// A relocation section of a kind this reader does not support (e.g. SHT_RELA).
    case unsupportedRelocationSection(file: String, section: String, kind: String)
    /// A relocation type this reader does not support.
    case unsupportedRelocation(file: String, section: String, offset: UInt64, type: UInt32, symbol: String)
    /// A relocation that cannot be applied as written.
    case invalidRelocation(file: String, section: String, offset: UInt64, symbol: String, reason: String)
    /// A call to a function that is not defined in the object.
    case externFunction(file: String, section: String, offset: UInt64, symbol: String)
    /// A reference to a variable that is not defined in the object (kconfig/ksym externs).
    case externVariable(file: String, section: String, offset: UInt64, symbol: String)
    /// A bpf-to-bpf call or function pointer whose target is not a function.
    case invalidCall(file: String, section: String, offset: UInt64, reason: String)
    /// The `.BTF` or `.BTF.ext` section is malformed.
    case malformedBTF(file: String, section: String, offset: Int, reason: String)
    /// A map definition cannot be interpreted.
    case invalidMap(file: String, map: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadableFile(path, reason):
            return "Cannot read '\(path)': \(reason)."
        case let .truncated(file, structure, offset, length, available):
            return "\(file): \(structure) needs \(length) bytes at offset \(offset), but only \(available) bytes are available."
        case let .notELF(file):
            return "\(file) is not an ELF file (bad magic)."
        case let .unsupportedFormat(file, field, value, expected):
            return "\(file): \(field) is \(value), but only \(expected) is supported."
        case let .malformedHeader(file, field, value, reason):
            return "\(file): ELF header field \(field) = \(value) is invalid: \(reason)."
        case let .malformedSection(file, section, reason):
            return "\(file): section '\(section)' is malformed: \(reason)."
        case let .indexOutOfRange(file, kind, index, count, place):
            return "\(file): \(kind) index \(index) in \(place) is out of range (\(count) available)."
        case let .malformedSymbol(file, symbol, section, reason):
            return "\(file): symbol '\(symbol)' in section '\(section)' is invalid: \(reason)."
        case let .unsupportedRelocationSection(file, section, kind):
            return "\(file): relocation section '\(section)' is of type \(kind), which is not supported."
        case let .unsupportedRelocation(file, section, offset, type, symbol):
            return "\(file): relocation type \(type) against '\(symbol)' at offset \(offset) in section '\(section)' is not supported."
        case let .invalidRelocation(file, section, offset, symbol, reason):
            return "\(file): relocation against '\(symbol)' at offset \(offset) in section '\(section)' is invalid: \(reason)."
        case let .externFunction(file, section, offset, symbol):
            return "\(file): call to extern function '\(symbol)' at offset \(offset) in section '\(section)' is not supported."
        case let .externVariable(file, section, offset, symbol):
            return "\(file): reference to extern variable '\(symbol)' at offset \(offset) in section '\(section)' is not supported."
        case let .invalidCall(file, section, offset, reason):
            return "\(file): bpf-to-bpf call at offset \(offset) in section '\(section)' is invalid: \(reason)."
        case let .malformedBTF(file, section, offset, reason):
            return "\(file): \(section) is malformed at offset \(offset): \(reason)."
        case let .invalidMap(file, map, reason):
            return "\(file): map '\(map)' is invalid: \(reason)."
        }
    }
}
