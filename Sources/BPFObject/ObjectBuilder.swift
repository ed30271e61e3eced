import BPFInstructionSet

/// Turns a parsed ELF file into an `ObjectSpec`.
struct ObjectBuilder {
    /// A function's extent inside an executable section, in instruction slots.
    struct Function {
        var name: String
        var sectionIndex: Int
        var start: Int
        var end: Int
    }

    /// Where a relocated instruction points after interpretation.
    enum CodeReference {
        case call(sectionIndex: Int, target: Int)
        case functionPointer(sectionIndex: Int, target: Int)
        case data(Relocation.Target, symbol: String)
    }

    /// A map's place in its defining section, for resolving relocations.
    struct MapLocation {
        var sectionIndex: Int
        var offset: UInt64
        var size: UInt64
        var mapIndex: Int
        var valuesOffset: UInt64?
    }

    let elf: ELFFile
    var file: String { elf.name }
    var btf: BTF?
    var btfExt: [String: BTFExtSection] = [:]
    var maps: [MapSpec] = []
    var mapLocations: [MapLocation] = []
    var dataSections: Set<Int> = []
    var sectionInstructions: [Int: [Instruction]] = [:]
    var functionsBySection: [Int: [Function]] = [:]
    var references: [Int: [Int: CodeReference]] = [:]

    init(elf: ELFFile) throws(ObjectLoadError) {
        self.elf = elf
        if let section = elf.section(named: ".BTF") {
            btf = try BTF(bytes: Array(elf.contents(of: section)), file: elf.name)
        }
        if let section = elf.section(named: ".BTF.ext"), let btf {
            btfExt = try parseBTFExt(Array(elf.contents(of: section)), btf: btf, file: elf.name)
        }
    }

    mutating func build() throws(ObjectLoadError) -> ObjectSpec {
        let license = elf.section(named: "license").map { ByteReader(Array(elf.contents(of: $0)), file: file, context: "license").cString(at: 0) ?? "" }
        var kernelVersion: UInt32?
        if let section = elf.section(named: "version") {
            guard section.size == 4 else {
                throw .malformedSection(file: file, section: "version", reason: "size is \(section.size), expected 4")
            }
            kernelVersion = try ByteReader(Array(elf.contents(of: section)), file: file, context: "version").u32(at: 0)
        }

        try collectFunctions()
        try collectLegacyMaps()
        try collectBTFMaps()
        collectDataMaps()
        for section in elf.sections where section.isExecutable && section.type == ELFConstants.shtProgBits {
            try collectReferences(in: section)
        }

        // Programs: functions outside `.text`; if there are none, every `.text` function.
        let sections = elf.sections
        let isSubprogramSection = { (index: Int) in sections[index].name.hasPrefix(".text") }
        var programFunctions = functionsBySection.keys.sorted().filter { !isSubprogramSection($0) }.flatMap { functionsBySection[$0] ?? [] }
        var subprogramFunctions = functionsBySection.keys.sorted().filter(isSubprogramSection).flatMap { functionsBySection[$0] ?? [] }
        if programFunctions.isEmpty {
            programFunctions = subprogramFunctions
            subprogramFunctions = []
        }
        var programs: [ProgramSpec] = []
        for function in programFunctions {
            programs.append(try makeProgram(function, license: license ?? ""))
        }
        try resolveStaticValues(programNames: Set(programs.map(\.name)))
        let subprograms = subprogramFunctions.map {
            SubprogramSpec(name: $0.name, sectionName: elf.sections[$0.sectionIndex].name,
                           sectionOffset: $0.start * 8, instructionCount: $0.end - $0.start)
        }
        return ObjectSpec(name: file, programs: programs, subprograms: subprograms, maps: maps,
                          license: license, kernelVersion: kernelVersion, btf: btf)
    }

    // MARK: Functions

    mutating func collectFunctions() throws(ObjectLoadError) {
        for section in elf.sections where section.isExecutable && section.type == ELFConstants.shtProgBits && section.size > 0 {
            guard section.size % 8 == 0 else {
                throw .malformedSection(file: file, section: section.name, reason: "size \(section.size) is not a multiple of the instruction size 8")
            }
            let instructions: [Instruction]
            do {
                instructions = try Instruction.decodeSlots(elf.contents(of: section))
            } catch {
                throw .malformedSection(file: file, section: section.name, reason: "\(error)")
            }
            sectionInstructions[section.index] = instructions
            let slots = instructions.count
            var starts: [(name: String, start: Int, size: Int)] = []
            for symbol in elf.symbols where symbol.sectionIndex == section.index
                && (symbol.isFunction || (symbol.type == ELFConstants.sttNoType && symbol.isGlobal)) {
                guard symbol.value % 8 == 0, symbol.size % 8 == 0 else {
                    throw .malformedSymbol(file: file, symbol: symbol.name, section: section.name,
                                           reason: "value \(symbol.value) or size \(symbol.size) is not a multiple of 8")
                }
                guard symbol.value <= UInt64(section.size), symbol.size <= UInt64(section.size) - symbol.value else {
                    throw .malformedSymbol(file: file, symbol: symbol.name, section: section.name,
                                           reason: "value \(symbol.value) + size \(symbol.size) exceeds the section size \(section.size)")
                }
                if symbol.value == UInt64(section.size) { continue }
                if starts.contains(where: { $0.start == Int(symbol.value / 8) }) { continue }
                starts.append((symbol.name, Int(symbol.value / 8), Int(symbol.size / 8)))
            }
            starts.sort { $0.start < $1.start }
            if starts.first?.start != 0 {
                // Code before the first symbol (or no symbols at all) is named after the section.
                starts.insert((section.name, 0, 0), at: 0)
            }
            var functions: [Function] = []
            for (position, entry) in starts.enumerated() {
                let next = position + 1 < starts.count ? starts[position + 1].start : slots
                let end = entry.size > 0 ? min(entry.start + entry.size, slots) : next
                functions.append(Function(name: entry.name, sectionIndex: section.index, start: entry.start, end: max(end, entry.start)))
            }
            functionsBySection[section.index] = functions
        }
    }

    func function(in sectionIndex: Int, containing slot: Int) -> Function? {
        functionsBySection[sectionIndex]?.first { $0.start <= slot && slot < $0.end }
    }

    // MARK: Relocations in code

    mutating func collectReferences(in section: ELFFile.Section) throws(ObjectLoadError) {
        guard let instructions = sectionInstructions[section.index] else { return }
        var found: [Int: CodeReference] = [:]
        if let (relocationSection, entries) = try elf.relocations(for: section) {
            for entry in entries {
                let symbol = elf.symbols[entry.symbolIndex]
                let symbolName = symbol.isSection && symbol.sectionIndex < elf.sections.count ? elf.sections[symbol.sectionIndex].name : symbol.name
                guard entry.offset % 8 == 0, entry.offset < UInt64(section.size) else {
                    throw .invalidRelocation(file: file, section: relocationSection.name, offset: entry.offset, symbol: symbolName,
                                             reason: "offset is not an instruction boundary inside '\(section.name)' (\(section.size) bytes)")
                }
                let slot = Int(entry.offset / 8)
                var instruction = instructions[slot]
                // SHT_RELA carries the addend explicitly instead of in the immediate.
                if let addend = entry.addend {
                    guard let narrow = Int32(exactly: addend + (entry.type == BPFRelocationType.call32 ? Int64(instruction.immediate) : 0)) else {
                        throw .invalidRelocation(file: file, section: relocationSection.name, offset: entry.offset, symbol: symbolName,
                                                 reason: "addend \(addend) does not fit in 32 bits")
                    }
                    instruction.immediate = narrow
                }
                var type = entry.type
                // LLVM releases old enough to write EM_NONE used type 0 for lddw relocations.
                if type == BPFRelocationType.none && elf.machine == 0 && instruction.opcode == 0x18 {
                    type = BPFRelocationType.imm64
                }
                switch type {
                case BPFRelocationType.call32:
                    guard instruction.opcode == 0x85 else {
                        throw .invalidRelocation(file: file, section: section.name, offset: entry.offset, symbol: symbolName,
                                                 reason: "R_BPF_64_32 applies to opcode 0x\(String(instruction.opcode, radix: 16)), not a call")
                    }
                    if symbol.isUndefined {
                        throw .externFunction(file: file, section: section.name, offset: entry.offset, symbol: symbolName)
                    }
                    guard symbol.sectionIndex < elf.sections.count, sectionInstructions[symbol.sectionIndex] != nil else {
                        throw .invalidCall(file: file, section: section.name, offset: entry.offset,
                                           reason: "target '\(symbolName)' is not in an executable section")
                    }
                    let target = Int(symbol.value / 8) + Int(instruction.immediate) + 1
                    found[slot] = .call(sectionIndex: symbol.sectionIndex, target: target)
                case BPFRelocationType.imm64:
                    guard instruction.opcode == 0x18, slot + 1 < instructions.count else {
                        throw .invalidRelocation(file: file, section: section.name, offset: entry.offset, symbol: symbolName,
                                                 reason: "R_BPF_64_64 applies to opcode 0x\(String(instruction.opcode, radix: 16)), not a complete lddw")
                    }
                    if symbol.isUndefined {
                        if symbol.type == ELFConstants.sttFunc {
                            throw .externFunction(file: file, section: section.name, offset: entry.offset, symbol: symbolName)
                        }
                        throw .externVariable(file: file, section: section.name, offset: entry.offset, symbol: symbolName)
                    }
                    found[slot] = try interpretLoad(symbol: symbol, symbolName: symbolName, immediate: instruction.immediate,
                                                    section: section, offset: entry.offset)
                default:
                    throw .unsupportedRelocation(file: file, section: section.name, offset: entry.offset, type: entry.type, symbol: symbolName)
                }
            }
        }
        // Pseudo calls and function pointers without relocations are relative to their own section.
        for (slot, instruction) in instructions.enumerated() where found[slot] == nil {
            if instruction.opcode == 0x85 && instruction.source == 1 {
                found[slot] = .call(sectionIndex: section.index, target: slot + Int(instruction.immediate) + 1)
            } else if instruction.opcode == 0x18 && instruction.source == 4 {
                found[slot] = .functionPointer(sectionIndex: section.index, target: slot + Int(instruction.immediate) + 1)
            }
        }
        references[section.index] = found
    }

    func interpretLoad(symbol: ELFFile.Symbol, symbolName: String, immediate: Int32,
                       section: ELFFile.Section, offset: UInt64) throws(ObjectLoadError) -> CodeReference {
        guard symbol.sectionIndex < elf.sections.count else {
            throw .invalidRelocation(file: file, section: section.name, offset: offset, symbol: symbolName,
                                     reason: "the symbol has special section index \(symbol.sectionIndex)")
        }
        let targetSection = elf.sections[symbol.sectionIndex]
        let (address, overflow) = symbol.value.addingReportingOverflow(UInt64(bitPattern: Int64(immediate)))
        if sectionInstructions[symbol.sectionIndex] != nil {
            guard !overflow, address % 8 == 0 else {
                throw .invalidRelocation(file: file, section: section.name, offset: offset, symbol: symbolName,
                                         reason: "function pointer offset \(address) is not an instruction boundary")
            }
            return .functionPointer(sectionIndex: symbol.sectionIndex, target: Int(address / 8))
        }
        if let location = mapLocations.first(where: {
            $0.sectionIndex == symbol.sectionIndex && $0.offset == (symbol.isSection ? address : symbol.value)
        }) {
            return .data(.map(maps[location.mapIndex].name), symbol: symbolName)
        }
        if dataSections.contains(symbol.sectionIndex) {
            guard !overflow, address <= UInt64(targetSection.size) else {
                throw .invalidRelocation(file: file, section: section.name, offset: offset, symbol: symbolName,
                                         reason: "offset \(Int64(bitPattern: address)) lies outside '\(targetSection.name)' (\(targetSection.size) bytes)")
            }
            return .data(.mapValue(name: targetSection.name, offset: UInt32(address)), symbol: symbolName)
        }
        throw .invalidRelocation(file: file, section: section.name, offset: offset, symbol: symbolName,
                                 reason: "it refers to section '\(targetSection.name)', which holds neither a map, global data nor code")
    }

    // MARK: Programs

    func makeProgram(_ function: Function, license: String) throws(ObjectLoadError) -> ProgramSpec {
        struct Piece { var function: Function; var finalStart: Int }
        var pieces = [Piece(function: function, finalStart: 0)]
        var total = function.end - function.start
        var output: [Instruction] = []
        var relocations: [Relocation] = []
        var lineInfo: [LineInfo] = []
        var functionInfo: [FunctionInfo] = []
        var index = 0
        while index < pieces.count {
            let piece = pieces[index]
            index += 1
            let sectionIndex = piece.function.sectionIndex
            let section = elf.sections[sectionIndex]
            guard let instructions = sectionInstructions[sectionIndex] else { continue }
            let sectionReferences = references[sectionIndex] ?? [:]
            for slot in piece.function.start..<piece.function.end {
                var instruction = instructions[slot]
                let finalIndex = piece.finalStart + slot - piece.function.start
                switch sectionReferences[slot] {
                case let .call(targetSection, target), let .functionPointer(targetSection, target):
                    // Find (or append) the function holding the target.
                    var finalTarget: Int
                    if let existing = pieces.first(where: {
                        $0.function.sectionIndex == targetSection && $0.function.start <= target && target < $0.function.end
                    }) {
                        finalTarget = existing.finalStart + target - existing.function.start
                    } else if let callee = self.function(in: targetSection, containing: target) {
                        pieces.append(Piece(function: callee, finalStart: total))
                        finalTarget = total + target - callee.start
                        total += callee.end - callee.start
                    } else {
                        throw .invalidCall(file: file, section: section.name, offset: UInt64(slot * 8),
                                           reason: "target instruction \(target) in '\(elf.sections[targetSection].name)' is not inside a function")
                    }
                    let relative = finalTarget - finalIndex - 1
                    guard let immediate = Int32(exactly: relative) else {
                        throw .invalidCall(file: file, section: section.name, offset: UInt64(slot * 8), reason: "call distance \(relative) does not fit")
                    }
                    instruction.immediate = immediate
                    if case .call = sectionReferences[slot] { instruction.source = 1 } else { instruction.source = 4 }
                case let .data(target, symbol):
                    relocations.append(Relocation(instructionIndex: finalIndex, target: target, symbol: symbol))
                case nil:
                    break
                }
                output.append(instruction)
            }
            if let ext = btfExt[section.name], let btf {
                let range = piece.function.start..<piece.function.end
                for record in ext.lines where range.contains(Int(record.byteOffset / 8)) {
                    lineInfo.append(LineInfo(
                        instructionIndex: piece.finalStart + Int(record.byteOffset / 8) - piece.function.start,
                        fileName: btf.string(at: record.fileNameOffset) ?? "",
                        sourceLine: btf.string(at: record.lineOffset) ?? "",
                        line: record.lineColumn >> 10, column: record.lineColumn & 0x3ff))
                }
                for record in ext.functions where range.contains(Int(record.byteOffset / 8)) {
                    functionInfo.append(FunctionInfo(
                        instructionIndex: piece.finalStart + Int(record.byteOffset / 8) - piece.function.start,
                        typeID: record.typeID, name: btf.type(id: record.typeID)?.name ?? ""))
                }
            }
        }
        let definition = SectionDefinition(sectionName: elf.sections[function.sectionIndex].name)
        let subprograms = pieces.dropFirst().map {
            SubprogramReference(name: $0.function.name, sectionName: elf.sections[$0.function.sectionIndex].name,
                                instructionOffset: $0.finalStart, instructionCount: $0.function.end - $0.function.start)
        }
        return ProgramSpec(
            name: function.name, sectionName: elf.sections[function.sectionIndex].name,
            type: definition.programType, expectedAttachType: definition.expectedAttachType,
            attachTo: definition.attachTo, sectionDefinition: definition, instructions: output,
            functionInstructionCount: function.end - function.start, sectionOffset: function.start * 8,
            relocations: relocations, subprograms: subprograms,
            lineInfo: lineInfo.sorted { $0.instructionIndex < $1.instructionIndex },
            functionInfo: functionInfo.sorted { $0.instructionIndex < $1.instructionIndex },
            license: license)
    }
}
