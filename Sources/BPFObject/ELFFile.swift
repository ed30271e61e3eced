/// ELF64 little-endian relocatable objects for EM_BPF, parsed with bounds checks.
/// Internal: the public surface is `ObjectSpec`.
struct ELFFile {
    struct Section {
        var index: Int
        var name: String
        var type: UInt32
        var flags: UInt64
        var offset: Int
        var size: Int
        var link: UInt32
        var info: UInt32
        var entrySize: UInt64

        var isExecutable: Bool { flags & ELFConstants.shfExecInstr != 0 }
        var isAllocated: Bool { flags & ELFConstants.shfAlloc != 0 }
        var isWritable: Bool { flags & ELFConstants.shfWrite != 0 }
        var hasFileBytes: Bool { type != ELFConstants.shtNoBits && type != ELFConstants.shtNull }
    }

    struct Symbol {
        var index: Int
        var name: String
        var info: UInt8
        var sectionIndex: Int
        var value: UInt64
        var size: UInt64

        var type: UInt8 { info & 0x0f }
        var binding: UInt8 { info >> 4 }
        var isFunction: Bool { type == ELFConstants.sttFunc }
        var isSection: Bool { type == ELFConstants.sttSection }
        var isGlobal: Bool { binding == ELFConstants.stbGlobal || binding == ELFConstants.stbWeak }
        var isUndefined: Bool { sectionIndex == 0 }
    }

    struct Relocation {
        var offset: UInt64
        var type: UInt32
        var symbolIndex: Int
        /// The explicit addend of an SHT_RELA entry; `nil` for SHT_REL (the addend is in the instruction).
        var addend: Int64?
    }

    let name: String
    let bytes: [UInt8]
    /// `e_machine`: 247 (EM_BPF), or 0 (EM_NONE) from old LLVM releases.
    let machine: UInt16
    let sections: [Section]
    let symbols: [Symbol]
    let symbolTableIndex: Int?

    init(bytes: [UInt8], name: String) throws(ObjectLoadError) {
        self.name = name
        self.bytes = bytes
        let reader = ByteReader(bytes, file: name, context: "ELF header")
        guard bytes.count >= 4, bytes[0] == 0x7f, bytes[1] == 0x45, bytes[2] == 0x4c, bytes[3] == 0x46 else {
            throw .notELF(file: name)
        }
        try reader.checkRange(0, 64)
        let elfClass = try reader.u8(at: 4)
        guard elfClass == 2 else {
            throw .unsupportedFormat(file: name, field: "EI_CLASS", value: UInt64(elfClass), expected: "2 (ELFCLASS64)")
        }
        let encoding = try reader.u8(at: 5)
        guard encoding == 1 else {
            throw .unsupportedFormat(file: name, field: "EI_DATA", value: UInt64(encoding), expected: "1 (little-endian)")
        }
        let fileType = try reader.u16(at: 16)
        guard fileType == 1 else {
            throw .unsupportedFormat(file: name, field: "e_type", value: UInt64(fileType), expected: "1 (ET_REL, relocatable)")
        }
        let machine = try reader.u16(at: 18)
        self.machine = machine
        // Old LLVM releases wrote EM_NONE; libbpf accepts it too.
        guard machine == ELFConstants.machineBPF || machine == 0 else {
            throw .unsupportedFormat(file: name, field: "e_machine", value: UInt64(machine), expected: "247 (EM_BPF) or 0 (EM_NONE, old LLVM)")
        }
        let headerSize = try reader.u16(at: 52)
        guard headerSize == 64 else {
            throw .malformedHeader(file: name, field: "e_ehsize", value: UInt64(headerSize), reason: "an ELF64 header is 64 bytes")
        }
        let programHeaderOffset = try reader.u64(at: 32)
        let programHeaderSize = try reader.u16(at: 54)
        let programHeaderCount = try reader.u16(at: 56)
        let sectionHeaderOffset = try reader.u64(at: 40)
        let sectionHeaderSize = try reader.u16(at: 58)
        var sectionCount = Int(try reader.u16(at: 60))
        var stringTableIndex = Int(try reader.u16(at: 62))

        if programHeaderCount != 0 {
            let length = UInt64(programHeaderCount) * UInt64(programHeaderSize)
            guard let start = Int(exactlyOnDisk: programHeaderOffset), let size = Int(exactlyOnDisk: length) else {
                throw .malformedHeader(file: name, field: "e_phoff", value: programHeaderOffset, reason: "offset does not fit")
            }
            try ByteReader(bytes, file: name, context: "program header table").checkRange(start, size)
            guard start >= 64 || size == 0 else {
                throw .malformedHeader(file: name, field: "e_phoff", value: programHeaderOffset, reason: "program headers overlap the ELF header")
            }
        }
        guard sectionHeaderOffset != 0 else {
            throw .malformedHeader(file: name, field: "e_shoff", value: 0, reason: "the object has no section header table")
        }
        guard sectionHeaderSize == 64 else {
            throw .malformedHeader(file: name, field: "e_shentsize", value: UInt64(sectionHeaderSize), reason: "an ELF64 section header is 64 bytes")
        }
        guard let tableStart = Int(exactlyOnDisk: sectionHeaderOffset), tableStart >= 64 else {
            throw .malformedHeader(file: name, field: "e_shoff", value: sectionHeaderOffset, reason: "the section header table overlaps the ELF header or lies beyond the file")
        }
        let tableReader = ByteReader(bytes, file: name, context: "section header table")
        // Extended numbering: a zero count or SHN_XINDEX lives in section 0.
        if sectionCount == 0 || stringTableIndex == 0xffff {
            try tableReader.checkRange(tableStart, 64)
            if sectionCount == 0 {
                let extended = try tableReader.u64(at: tableStart + 32)
                guard extended <= 0xffff_ff else {
                    throw .malformedHeader(file: name, field: "e_shnum", value: extended, reason: "too many sections")
                }
                sectionCount = Int(extended)
            }
            if stringTableIndex == 0xffff {
                stringTableIndex = Int(try tableReader.u32(at: tableStart + 40))
            }
        }
        guard sectionCount > 0 else {
            throw .malformedHeader(file: name, field: "e_shnum", value: 0, reason: "the object has no sections")
        }
        try tableReader.checkRange(tableStart, sectionCount * 64)
        guard stringTableIndex < sectionCount else {
            throw .indexOutOfRange(file: name, kind: "section", index: stringTableIndex, count: sectionCount, place: "e_shstrndx")
        }
        let tableEnd = tableStart + sectionCount * 64

        // The section-name string table first, so that later errors can name sections.
        let namesBase = tableStart + stringTableIndex * 64
        let namesType = try tableReader.u32(at: namesBase + 4)
        guard namesType == ELFConstants.shtStrTab else {
            throw .malformedSection(file: name, section: "#\(stringTableIndex)", reason: "e_shstrndx names a section of type \(namesType), not a string table")
        }
        let namesOffset = try tableReader.u64(at: namesBase + 24)
        let namesSize = try tableReader.u64(at: namesBase + 32)
        guard let namesStart = Int(exactlyOnDisk: namesOffset), let namesLength = Int(exactlyOnDisk: namesSize) else {
            throw .malformedSection(file: name, section: "#\(stringTableIndex)", reason: "offset \(namesOffset) or size \(namesSize) is too large")
        }
        let nameReader = ByteReader(Array(try ByteReader(bytes, file: name, context: "section name table").slice(at: namesStart, length: namesLength)),
                                    file: name, context: "section names")

        var raw: [(nameOffset: UInt32, section: Section)] = []
        raw.reserveCapacity(sectionCount)
        for index in 0..<sectionCount {
            let base = tableStart + index * 64
            let nameOffset = try tableReader.u32(at: base)
            let type = try tableReader.u32(at: base + 4)
            let flags = try tableReader.u64(at: base + 8)
            let offset = try tableReader.u64(at: base + 24)
            let size = try tableReader.u64(at: base + 32)
            let link = try tableReader.u32(at: base + 40)
            let info = try tableReader.u32(at: base + 44)
            let entrySize = try tableReader.u64(at: base + 56)
            let label = nameReader.cString(at: Int(nameOffset)) ?? "#\(index)"
            var start = 0
            var length = 0
            if type != ELFConstants.shtNoBits && type != ELFConstants.shtNull {
                guard let s = Int(exactlyOnDisk: offset), let l = Int(exactlyOnDisk: size) else {
                    throw .malformedSection(file: name, section: label, reason: "offset \(offset) or size \(size) is too large")
                }
                try ByteReader(bytes, file: name, context: "section \(label) contents").checkRange(s, l)
                if l > 0 {
                    guard s >= 64 else {
                        throw .malformedSection(file: name, section: label, reason: "contents at offset \(s) overlap the ELF header")
                    }
                    guard s + l <= tableStart || s >= tableEnd else {
                        throw .malformedSection(file: name, section: label, reason: "contents at offset \(s) overlap the section header table")
                    }
                }
                start = s
                length = l
            } else {
                guard let l = Int(exactlyOnDisk: size), l <= 1 << 32 else {
                    throw .malformedSection(file: name, section: label, reason: "size \(size) is too large")
                }
                length = l
            }
            raw.append((nameOffset, Section(
                index: index, name: label, type: type, flags: flags, offset: start, size: length,
                link: link, info: info, entrySize: entrySize)))
        }
        var sections: [Section] = []
        sections.reserveCapacity(sectionCount)
        for (nameOffset, var section) in raw {
            guard let sectionName = nameReader.cString(at: Int(nameOffset)) else {
                throw .indexOutOfRange(file: name, kind: "string", index: Int(nameOffset), count: nameReader.count, place: "name of section \(section.name)")
            }
            section.name = sectionName
            sections.append(section)
        }
        // Sections with file contents must not overlap one another.
        let placed = sections.filter { $0.hasFileBytes && $0.size > 0 }.sorted { $0.offset < $1.offset }
        for (previous, next) in zip(placed, placed.dropFirst()) where previous.offset + previous.size > next.offset {
            throw .malformedSection(file: name, section: next.name, reason: "contents overlap section '\(previous.name)'")
        }
        self.sections = sections

        // The symbol table.
        let symbolTables = sections.filter { $0.type == ELFConstants.shtSymTab }
        guard symbolTables.count <= 1 else {
            throw .malformedSection(file: name, section: symbolTables[1].name, reason: "more than one symbol table")
        }
        if let table = symbolTables.first {
            symbolTableIndex = table.index
            guard table.entrySize == 24 else {
                throw .malformedSection(file: name, section: table.name, reason: "symbol entry size is \(table.entrySize), expected 24")
            }
            guard table.size % 24 == 0 else {
                throw .malformedSection(file: name, section: table.name, reason: "size \(table.size) is not a multiple of the entry size 24")
            }
            guard Int(table.link) < sections.count, Int(table.link) > 0 else {
                throw .indexOutOfRange(file: name, kind: "section", index: Int(table.link), count: sections.count, place: "sh_link of '\(table.name)'")
            }
            let strings = sections[Int(table.link)]
            guard strings.type == ELFConstants.shtStrTab else {
                throw .malformedSection(file: name, section: table.name, reason: "sh_link names '\(strings.name)', which is not a string table")
            }
            let stringReader = ByteReader(Array(bytes[strings.offset..<(strings.offset + strings.size)]), file: name, context: "symbol names")
            let reader = ByteReader(bytes, file: name, context: "symbol table '\(table.name)'")
            var symbols: [Symbol] = []
            let count = table.size / 24
            symbols.reserveCapacity(count)
            for index in 0..<count {
                let base = table.offset + index * 24
                let nameOffset = try reader.u32(at: base)
                guard let symbolName = stringReader.cString(at: Int(nameOffset)) else {
                    throw .indexOutOfRange(file: name, kind: "string", index: Int(nameOffset), count: stringReader.count, place: "name of symbol #\(index)")
                }
                let sectionIndex = Int(try reader.u16(at: base + 6))
                let special = sectionIndex >= 0xff00
                guard special || sectionIndex < sections.count else {
                    throw .indexOutOfRange(file: name, kind: "section", index: sectionIndex, count: sections.count, place: "symbol '\(symbolName)'")
                }
                symbols.append(Symbol(
                    index: index, name: symbolName, info: try reader.u8(at: base + 4),
                    sectionIndex: sectionIndex, value: try reader.u64(at: base + 8), size: try reader.u64(at: base + 16)))
            }
            self.symbols = symbols
        } else {
            symbolTableIndex = nil
            symbols = []
        }
    }

    func contents(of section: Section) -> ArraySlice<UInt8> {
        guard section.hasFileBytes else { return [] }
        return bytes[section.offset..<(section.offset + section.size)]
    }

    func section(named sectionName: String) -> Section? {
        sections.first { $0.name == sectionName }
    }

    /// The relocations of section `target` (from SHT_REL sections whose sh_info names it).
    func relocations(for target: Section) throws(ObjectLoadError) -> (section: Section, entries: [Relocation])? {
        for section in sections where (section.type == ELFConstants.shtRel || section.type == ELFConstants.shtRela) && Int(section.info) == target.index {
            return (section, try relocations(in: section))
        }
        return nil
    }

    func relocations(in section: Section) throws(ObjectLoadError) -> [Relocation] {
        let isRela = section.type == ELFConstants.shtRela
        guard section.type == ELFConstants.shtRel || isRela else {
            throw .unsupportedRelocationSection(file: name, section: section.name, kind: "\(section.type)")
        }
        let entrySize = isRela ? 24 : 16
        guard section.entrySize == UInt64(entrySize) || section.entrySize == 0 else {
            throw .malformedSection(file: name, section: section.name, reason: "relocation entry size is \(section.entrySize), expected \(entrySize)")
        }
        guard section.size % entrySize == 0 else {
            throw .malformedSection(file: name, section: section.name, reason: "size \(section.size) is not a multiple of the entry size \(entrySize)")
        }
        guard let symbolTableIndex, Int(section.link) == symbolTableIndex else {
            throw .indexOutOfRange(file: name, kind: "symbol table section", index: Int(section.link), count: sections.count, place: "sh_link of '\(section.name)'")
        }
        let reader = ByteReader(bytes, file: name, context: "relocation section '\(section.name)'")
        var result: [Relocation] = []
        result.reserveCapacity(section.size / entrySize)
        for index in 0..<(section.size / entrySize) {
            let base = section.offset + index * entrySize
            let offset = try reader.u64(at: base)
            let info = try reader.u64(at: base + 8)
            let symbolIndex = Int(info >> 32)
            guard symbolIndex < symbols.count else {
                throw .indexOutOfRange(file: name, kind: "symbol", index: symbolIndex, count: symbols.count, place: "relocation at offset \(offset) of '\(section.name)'")
            }
            let addend = isRela ? Int64(bitPattern: try reader.u64(at: base + 16)) : nil
            result.append(Relocation(offset: offset, type: UInt32(truncatingIfNeeded: info), symbolIndex: symbolIndex, addend: addend))
        }
        return result
    }
}

enum ELFConstants {
    static let machineBPF: UInt16 = 247
    static let shtNull: UInt32 = 0
    static let shtProgBits: UInt32 = 1
    static let shtSymTab: UInt32 = 2
    static let shtStrTab: UInt32 = 3
    static let shtRela: UInt32 = 4
    static let shtNoBits: UInt32 = 8
    static let shtRel: UInt32 = 9
    static let shfWrite: UInt64 = 1
    static let shfAlloc: UInt64 = 2
    static let shfExecInstr: UInt64 = 4
    static let sttNoType: UInt8 = 0
    static let sttObject: UInt8 = 1
    static let sttFunc: UInt8 = 2
    static let sttSection: UInt8 = 3
    static let sttFile: UInt8 = 4
    static let stbLocal: UInt8 = 0
    static let stbGlobal: UInt8 = 1
    static let stbWeak: UInt8 = 2
}

/// BPF relocation types (the low 32 bits of r_info).
enum BPFRelocationType {
    static let none: UInt32 = 0
    static let imm64: UInt32 = 1        // R_BPF_64_64, on lddw
    static let abs64: UInt32 = 2        // R_BPF_64_ABS64, data
    static let abs32: UInt32 = 3        // R_BPF_64_ABS32, data
    static let nodyld32: UInt32 = 4     // R_BPF_64_NODYLD32, debug data
    static let call32: UInt32 = 10      // R_BPF_64_32, on call
}
