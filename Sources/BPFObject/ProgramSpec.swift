import BPFInstructionSet

/// A reference in a program's text that the loader must bind.
public struct Relocation: Sendable, Equatable {
    /// What an `lddw` refers to.
    public enum Target: Sendable, Hashable {
        /// The map itself: the loader sets src = BPF_PSEUDO_MAP_FD (or map index) and imm.
        case map(String)
        /// An address inside a global-data map's value (BPF_PSEUDO_MAP_VALUE): `offset` bytes into `name`.
        case mapValue(name: String, offset: UInt32)
    }

    /// Index of the (first slot of the) `lddw` in the program's final instructions.
    public var instructionIndex: Int
    public var target: Target
    /// The ELF symbol the relocation named.
    public var symbol: String
}

/// A function appended to a program because it is called (directly or transitively).
public struct SubprogramReference: Sendable, Equatable {
    public var name: String
    public var sectionName: String
    /// Where the function starts in the program's final instructions.
    public var instructionOffset: Int
    public var instructionCount: Int
}

/// Source position of an instruction, from `.BTF.ext` line info.
public struct LineInfo: Sendable, Equatable {
    /// Index in the program's final instructions where this line starts.
    public var instructionIndex: Int
    public var fileName: String
    /// The text of the source line, as recorded by the compiler.
    public var sourceLine: String
    public var line: UInt32
    public var column: UInt32
}

/// A function start from `.BTF.ext` func info.
public struct FunctionInfo: Sendable, Equatable {
    public var instructionIndex: Int
    public var typeID: UInt32
    public var name: String
}

/// Describes one program: its final instruction stream and what the loader still has to bind.
public struct ProgramSpec: Sendable, Equatable {
    /// The function symbol's name.
    public var name: String
    public var sectionName: String
    public var type: ProgramType
    public var expectedAttachType: AttachType?
    /// The attach point from the section name (`sys_execve` in `kprobe/sys_execve`).
    public var attachTo: String?
    /// What the section name matched in libbpf's table.
    public var sectionDefinition: SectionDefinition
    /// The program's own function followed by every subprogram it calls, call immediates fixed up.
    public var instructions: [Instruction]
    /// Slots of the program's own function (the leading part of `instructions`).
    public var functionInstructionCount: Int
    /// Byte offset of the function in its section.
    public var sectionOffset: Int
    /// Map and map-value references the loader must bind.
    public var relocations: [Relocation]
    /// Appended subprograms, in order.
    public var subprograms: [SubprogramReference]
    /// Line info sorted by instruction index (empty without `.BTF.ext`).
    public var lineInfo: [LineInfo]
    /// Function starts from `.BTF.ext` (empty without it).
    public var functionInfo: [FunctionInfo]
    /// The object's license string (copied here because the loader passes it per program).
    public var license: String

    /// The source position covering instruction `index`: the last line record at or before it.
    public func lineInfo(forInstructionAt index: Int) -> LineInfo? {
        var low = 0
        var high = lineInfo.count
        while low < high {
            let middle = (low + high) / 2
            if lineInfo[middle].instructionIndex <= index { low = middle + 1 } else { high = middle }
        }
        return low > 0 ? lineInfo[low - 1] : nil
    }
}

/// A function that is not a program of its own: called from programs (`.text` functions).
public struct SubprogramSpec: Sendable, Equatable {
    public var name: String
    public var sectionName: String
    public var sectionOffset: Int
    public var instructionCount: Int
}
