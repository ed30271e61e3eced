/// The kinds of BTF type records (`BTF_KIND_*`).
public enum BTFKind: UInt8, Sendable, CaseIterable {
    case integer = 1, pointer, array, structure, union, enumeration, forward, typedef
    case volatile, const, restrict, function, functionPrototype, variable, dataSection
    case float, declarationTag, typeTag, enumeration64

    /// The kernel's name for the kind (`INT`, `STRUCT`, ...).
    public var name: String {
        switch self {
        case .integer: "INT"
        case .pointer: "PTR"
        case .array: "ARRAY"
        case .structure: "STRUCT"
        case .union: "UNION"
        case .enumeration: "ENUM"
        case .forward: "FWD"
        case .typedef: "TYPEDEF"
        case .volatile: "VOLATILE"
        case .const: "CONST"
        case .restrict: "RESTRICT"
        case .function: "FUNC"
        case .functionPrototype: "FUNC_PROTO"
        case .variable: "VAR"
        case .dataSection: "DATASEC"
        case .float: "FLOAT"
        case .declarationTag: "DECL_TAG"
        case .typeTag: "TYPE_TAG"
        case .enumeration64: "ENUM64"
        }
    }
}

/// A member of a BTF struct or union.
public struct BTFMember: Sendable, Equatable {
    public var name: String
    public var type: UInt32
    /// Bit offset (with kind_flag set: bitfield size in the top 8 bits, offset in the low 24).
    public var offset: UInt32
}

/// A named value of a BTF enum or enum64.
public struct BTFEnumValue: Sendable, Equatable {
    public var name: String
    public var value: Int64
}

/// A parameter of a BTF function prototype.
public struct BTFParameter: Sendable, Equatable {
    public var name: String
    public var type: UInt32
}

/// A variable placed in a BTF data section.
public struct BTFSectionVariable: Sendable, Equatable {
    public var type: UInt32
    public var offset: UInt32
    public var size: UInt32
}

/// One BTF type record. Kind-specific data is in the matching property.
public struct BTFType: Sendable, Equatable {
    public var id: UInt32
    public var name: String
    public var kind: BTFKind
    public var kindFlag: Bool
    /// `vlen`: member/parameter count, or the linkage of a FUNC.
    public var vlen: UInt16
    /// The `size` (INT, STRUCT, UNION, ENUM, DATASEC, FLOAT) or `type` (PTR, TYPEDEF, modifiers, FUNC, VAR, ...) field.
    public var sizeOrType: UInt32
    public var integerEncoding: UInt32 = 0
    public var arrayElement: UInt32 = 0
    public var arrayIndex: UInt32 = 0
    public var arrayCount: UInt32 = 0
    public var members: [BTFMember] = []
    public var enumValues: [BTFEnumValue] = []
    public var parameters: [BTFParameter] = []
    public var sectionVariables: [BTFSectionVariable] = []
    /// VAR linkage (0 static, 1 global, 2 extern).
    public var linkage: UInt32 = 0
    /// DECL_TAG component index (-1 for the whole declaration).
    public var componentIndex: Int32 = 0
}

/// The `.BTF` section: type records (ids from 1; 0 is `void`) and their string table.
public struct BTF: Sendable, Equatable {
    public private(set) var types: [BTFType]
    let strings: [UInt8]

    /// The type with `id`, or `nil` for `void` (0) and out-of-range ids.
    public func type(id: UInt32) -> BTFType? {
        guard id > 0, Int(id) <= types.count else { return nil }
        return types[Int(id) - 1]
    }

    /// A string from the BTF string table.
    public func string(at offset: UInt32) -> String? {
        ByteReader(strings, file: "", context: "").cString(at: Int(offset))
    }

    /// Follows typedefs, modifiers (volatile, const, restrict, type tags) to the underlying type.
    public func resolved(_ id: UInt32) -> BTFType? {
        var current = id
        for _ in 0..<64 {
            guard let type = type(id: current) else { return nil }
            switch type.kind {
            case .typedef, .volatile, .const, .restrict, .typeTag, .declarationTag:
                current = type.sizeOrType
            default:
                return type
            }
        }
        return nil
    }

    /// The size in bytes of type `id`, or `nil` if it has none (void, functions) or nests too deeply.
    public func size(of id: UInt32) -> Int? {
        size(of: id, depth: 0)
    }

    private func size(of id: UInt32, depth: Int) -> Int? {
        guard depth < 64, let type = type(id: id) else { return nil }
        switch type.kind {
        case .integer, .structure, .union, .enumeration, .enumeration64, .float, .dataSection:
            return Int(type.sizeOrType)
        case .pointer:
            return 8
        case .array:
            guard let element = size(of: type.arrayElement, depth: depth + 1) else { return nil }
            let (total, overflow) = element.multipliedReportingOverflow(by: Int(type.arrayCount))
            return overflow ? nil : total
        case .typedef, .volatile, .const, .restrict, .typeTag, .variable:
            return size(of: type.sizeOrType, depth: depth + 1)
        case .forward, .function, .functionPrototype, .declarationTag:
            return nil
        }
    }

    /// The first type of `kind` named `name`.
    public func firstType(named name: String, kind: BTFKind) -> BTFType? {
        types.first { $0.kind == kind && $0.name == name }
    }

    static let magic: UInt16 = 0xeb9f

    init(bytes: [UInt8], file: String) throws(ObjectLoadError) {
        let section = ".BTF"
        let reader = ByteReader(bytes, file: file, context: ".BTF header")
        func fail(_ offset: Int, _ reason: String) -> ObjectLoadError {
            .malformedBTF(file: file, section: section, offset: offset, reason: reason)
        }
        guard try reader.u16(at: 0) == Self.magic else { throw fail(0, "bad magic (expected 0xeb9f)") }
        let headerLength = Int(try reader.u32(at: 4))
        guard headerLength >= 24, headerLength <= bytes.count else { throw fail(4, "header length \(headerLength) is invalid") }
        let typeOffset = Int(try reader.u32(at: 8))
        let typeLength = Int(try reader.u32(at: 12))
        let stringOffset = Int(try reader.u32(at: 16))
        let stringLength = Int(try reader.u32(at: 20))
        let typeStart = headerLength + typeOffset
        let stringStart = headerLength + stringOffset
        guard typeStart <= bytes.count, typeLength <= bytes.count - typeStart else {
            throw fail(8, "type section (\(typeLength) bytes at \(typeOffset)) lies beyond the section")
        }
        guard stringStart <= bytes.count, stringLength <= bytes.count - stringStart else {
            throw fail(16, "string section (\(stringLength) bytes at \(stringOffset)) lies beyond the section")
        }
        let stringTable = Array(bytes[stringStart..<(stringStart + stringLength)])
        let stringReader = ByteReader(stringTable, file: file, context: ".BTF strings")
        func name(_ offset: UInt32, at position: Int) throws(ObjectLoadError) -> String {
            guard let text = stringReader.cString(at: Int(offset)) else {
                throw fail(position, "string offset \(offset) is outside the string section (\(stringTable.count) bytes)")
            }
            return text
        }

        let types = ByteReader(Array(bytes[typeStart..<(typeStart + typeLength)]), file: file, context: ".BTF type section")
        var parsed: [BTFType] = []
        var position = 0
        while position < types.count {
            let start = position
            let nameOffset = try types.u32(at: position)
            let info = try types.u32(at: position + 4)
            let sizeOrType = try types.u32(at: position + 8)
            position += 12
            let kindValue = UInt8((info >> 24) & 0x1f)
            guard let kind = BTFKind(rawValue: kindValue) else {
                throw fail(typeStart + start, "type \(parsed.count + 1) has unknown kind \(kindValue)")
            }
            let vlen = Int(info & 0xffff)
            var type = BTFType(
                id: UInt32(parsed.count + 1), name: try name(nameOffset, at: typeStart + start), kind: kind,
                kindFlag: info >> 31 != 0, vlen: UInt16(vlen), sizeOrType: sizeOrType)
            switch kind {
            case .integer:
                type.integerEncoding = try types.u32(at: position)
                position += 4
            case .array:
                type.arrayElement = try types.u32(at: position)
                type.arrayIndex = try types.u32(at: position + 4)
                type.arrayCount = try types.u32(at: position + 8)
                position += 12
            case .structure, .union:
                for _ in 0..<vlen {
                    type.members.append(BTFMember(
                        name: try name(try types.u32(at: position), at: typeStart + position),
                        type: try types.u32(at: position + 4), offset: try types.u32(at: position + 8)))
                    position += 12
                }
            case .enumeration:
                for _ in 0..<vlen {
                    type.enumValues.append(BTFEnumValue(
                        name: try name(try types.u32(at: position), at: typeStart + position),
                        value: Int64(try types.i32(at: position + 4))))
                    position += 8
                }
            case .enumeration64:
                for _ in 0..<vlen {
                    let low = UInt64(try types.u32(at: position + 4))
                    let high = UInt64(try types.u32(at: position + 8))
                    type.enumValues.append(BTFEnumValue(
                        name: try name(try types.u32(at: position), at: typeStart + position),
                        value: Int64(bitPattern: high << 32 | low)))
                    position += 12
                }
            case .functionPrototype:
                for _ in 0..<vlen {
                    type.parameters.append(BTFParameter(
                        name: try name(try types.u32(at: position), at: typeStart + position),
                        type: try types.u32(at: position + 4)))
                    position += 8
                }
            case .variable:
                type.linkage = try types.u32(at: position)
                position += 4
            case .dataSection:
                for _ in 0..<vlen {
                    type.sectionVariables.append(BTFSectionVariable(
                        type: try types.u32(at: position), offset: try types.u32(at: position + 4),
                        size: try types.u32(at: position + 8)))
                    position += 12
                }
            case .declarationTag:
                type.componentIndex = try types.i32(at: position)
                position += 4
            case .pointer, .forward, .typedef, .volatile, .const, .restrict, .function, .float, .typeTag:
                break
            }
            parsed.append(type)
        }
        // Every referenced type id must exist.
        let count = UInt32(parsed.count)
        for type in parsed {
            var references: [UInt32] = []
            switch type.kind {
            case .pointer, .typedef, .volatile, .const, .restrict, .function, .variable, .typeTag, .declarationTag, .functionPrototype:
                references.append(type.sizeOrType)
            default:
                break
            }
            references += [type.arrayElement, type.arrayIndex]
            references += type.members.map(\.type) + type.parameters.map(\.type) + type.sectionVariables.map(\.type)
            if let bad = references.first(where: { $0 > count }) {
                throw fail(typeStart, "type \(type.id) '\(type.name)' refers to type \(bad), but only \(count) types exist")
            }
        }
        self.types = parsed
        self.strings = stringTable
    }
}
