import BPFInstructionSet
import BPFObject
import BPFMaps

/// Whose rules the verifier applies.
public enum VerifierProfile: Sendable, Hashable {
    /// Linux for root with CAP_BPF and CAP_PERFMON: bounded loops, pointer comparisons,
    /// uninitialised stack reads, 1,000,000 instructions.
    case privileged
    /// Linux for an unprivileged user: no pointer leaks, no back-edges, 4,096 instructions.
    case unprivileged
}

public struct VerifierOptions: Sendable {
    public var profile: VerifierProfile
    /// Largest program accepted (slots). Default 1,000,000 privileged, 4,096 unprivileged.
    public var instructionLimit: Int
    /// Instructions processed over all paths before giving up.
    public var complexityLimit: Int
    /// 0: verdict only; 1: the failing path; 2: every state.
    public var logLevel: Int
    public var helpers: any HelperCatalog
    public var contexts: any ContextCatalog
    /// CPUs the machine may have (bpf_get_smp_processor_id returns less).
    public var possibleCPUs: Int = PossibleCPUs.count

    public init(profile: VerifierProfile = .privileged, instructionLimit: Int? = nil,
                complexityLimit: Int = 1_000_000, logLevel: Int = 0,
                helpers: any HelperCatalog = LinuxHelpers(), contexts: any ContextCatalog = LinuxContexts()) {
        self.profile = profile
        self.instructionLimit = instructionLimit ?? (profile == .privileged ? 1_000_000 : 4_096)
        self.complexityLimit = complexityLimit
        self.logLevel = logLevel
        self.helpers = helpers
        self.contexts = contexts
    }
}

/// A map an `lddw` refers to.
public struct VerifierMap: Sendable, Hashable {
    public var name: String
    public var type: MapType
    public var keySize: Int
    public var valueSize: Int
    public var maxEntries: Int
    public var flags: UInt32
    /// Programs may only read values (BPF_F_RDONLY_PROG or frozen `.rodata`).
    public var isReadOnly: Bool
    /// For array/hash of maps: the index (in the input's maps) of the inner map's description.
    public var innerMap: Int?
    /// The map has a BTF value type Linux accepts (needed for bpf_spin_lock).
    public var hasBTF: Bool
    /// Where the value's `struct bpf_spin_lock` is (from BTF), nil when it has none.
    public var spinLockOffset: Int?
    /// For read-only maps: the value's bytes as the program will see them (`.rodata`),
    /// which constant-string arguments (bpf_snprintf's format) are read from.
    public var readOnlyContents: [UInt8]?

    public init(name: String, type: MapType, keySize: Int, valueSize: Int, maxEntries: Int, flags: UInt32 = 0,
                isReadOnly: Bool = false, innerMap: Int? = nil, hasBTF: Bool = false, spinLockOffset: Int? = nil,
                readOnlyContents: [UInt8]? = nil) {
        self.innerMap = innerMap
        self.hasBTF = hasBTF || spinLockOffset != nil
        self.spinLockOffset = spinLockOffset
        self.readOnlyContents = readOnlyContents
        self.name = name; self.type = type; self.keySize = keySize; self.valueSize = valueSize
        self.maxEntries = maxEntries; self.flags = flags
        self.isReadOnly = isReadOnly || flags & MapSpec.readOnlyProgramFlag != 0
    }

    /// The map as its spec describes it; read-only maps carry their initial data. The BTF
    /// facts (`hasBTF`, `spinLockOffset`) need the object's BTF: `VerifierInput(program:object:)` fills them.
    public init(_ spec: MapSpec) {
        self.init(name: spec.name, type: spec.type, keySize: Int(spec.keySize), valueSize: Int(spec.valueSize),
                  maxEntries: Int(spec.maxEntries), flags: spec.flags, isReadOnly: spec.isReadOnly)
        if isReadOnly { readOnlyContents = spec.initialData }
    }
}

/// What the verifier checks: instructions, program type, and the maps `lddw` refers to.
public struct VerifierInput: Sendable {
    public var instructions: [Instruction]
    public var programType: ProgramType
    /// The maps; `lddw map:N` (and `map_idx:N`) name `maps[N]`.
    public var maps: [VerifierMap]
    /// For `lddw` slots bound by relocation (object files): slot index → map index and value offset.
    public var mapReferences: [Int: (map: Int, valueOffset: Int?)]
    public var lineInfo: [LineInfo]
    public var name: String
    /// Global functions by entry instruction: verified on their own from their prototypes.
    public var globalFunctions: [Int: GlobalFunctionSignature] = [:]
    /// The program comes with BTF function info (`.BTF.ext`): Linux requires it for
    /// callbacks and for tail calls from subprograms.
    public var hasFunctionInfo = false
    /// A tracing program that walks a kernel iterator (`SEC("iter/...")`): Linux gives
    /// iterators no private stacks.
    public var isIterator = false

    public init(instructions: [Instruction], programType: ProgramType, maps: [VerifierMap] = [],
                mapReferences: [Int: (map: Int, valueOffset: Int?)] = [:], lineInfo: [LineInfo] = [], name: String = "") {
        self.instructions = instructions; self.programType = programType; self.maps = maps
        self.mapReferences = mapReferences; self.lineInfo = lineInfo; self.name = name
    }

    /// The input for a program of an object: its maps are the object's maps, its relocations
    /// say which `lddw` loads which. Returns nil if a relocation names a map the object lacks.
    public init(program: ProgramSpec, maps objectMaps: [MapSpec]) {
        var maps: [VerifierMap] = []
        var index: [String: Int] = [:]
        var refs: [Int: (map: Int, valueOffset: Int?)] = [:]
        for relocation in program.relocations {
            let name: String, offset: Int?
            switch relocation.target {
            case .map(let n): name = n; offset = nil
            case .mapValue(let n, let o): name = n; offset = Int(o)
            }
            let mapIndex: Int
            if let existing = index[name] { mapIndex = existing } else if let spec = objectMaps.first(where: { $0.name == name }) {
                mapIndex = maps.count
                maps.append(VerifierMap(spec))
                index[name] = mapIndex
                if let inner = spec.innerMap {
                    maps[mapIndex].innerMap = maps.count
                    maps.append(VerifierMap(inner))
                }
            } else { continue }
            refs[relocation.instructionIndex] = (mapIndex, offset)
        }
        self.init(instructions: program.instructions, programType: program.type, maps: maps, mapReferences: refs,
                  lineInfo: program.lineInfo, name: program.name)
        hasFunctionInfo = !program.functionInfo.isEmpty
        isIterator = program.sectionName.hasPrefix("iter/") || program.sectionName.hasPrefix("iter.s/")
    }

    func line(at pc: Int) -> LineInfo? {
        var best: LineInfo?
        for info in lineInfo where info.instructionIndex <= pc {
            if best == nil || info.instructionIndex >= best!.instructionIndex { best = info }
        }
        return best
    }
}

/// The kind of memory an instruction accesses (so the loader can rewrite context accesses).
public enum AccessKind: Sendable, Hashable {
    case context, stack, mapValue, packet, memory, readOnlyMemory
}

/// What the verifier proved about one instruction on every path reaching it.
public struct InstructionFacts: Sendable, Hashable {
    public var reached = false
    /// Loads, stores and atomics: the pointer kind used.
    public var access: AccessKind?
    /// Division and modulo by a register: the divisor is never zero.
    public var divisorNonZero = true
    /// After the instruction the destination register's upper 32 bits are zero on every path.
    public var upperHalfZero = true
    /// Conditional jumps: the outcome seen on all paths (nil if both).
    public var alwaysTaken: Bool?
    var seenTaken = false, seenNotTaken = false
}

/// An accepted program with the facts later stages can use.
public struct VerifiedProgram: Sendable {
    public var instructions: [Instruction]
    public var facts: [InstructionFacts]
    /// Per subprogram (entry → stack bytes used).
    public var stackDepth: [Int: Int]
    public var subprogramEntries: [Int]
}

/// A refusal, with everything a person needs to fix the program.
public struct VerifierRefusal: Error, Sendable, CustomStringConvertible {
    public var error: VerifierError
    public var pc: Int
    /// The instruction in C syntax.
    public var instructionText: String
    public var sourceLine: LineInfo?
    /// Registers and stack at the failing instruction ("" for structural refusals).
    public var state: String
    /// The branch decisions of the failing path.
    public var path: [String]
    public var message: String
    public var hint: String

    public var description: String {
        var text = "instruction \(pc)"
        if !instructionText.isEmpty { text += " (\(instructionText))" }
        if let line = sourceLine { text += " at \(line.fileName):\(line.line)" }
        text += ": " + message
        return text
    }

    /// Multi-line explanation: location, source, state, path, message and hint.
    public var explanation: String {
        var lines = [description]
        if let line = sourceLine, !line.sourceLine.isEmpty { lines.append("  source: \(line.sourceLine.trimmingCharacters())") }
        if !state.isEmpty { lines.append("  state: \(state)") }
        if !path.isEmpty { lines.append("  path: " + path.joined(separator: " -> ")) }
        if !hint.isEmpty { lines.append("  hint: \(hint)") }
        return lines.joined(separator: "\n")
    }
}

extension String {
    func trimmingCharacters() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\n" { s.removeLast() }
        return String(s)
    }
}

public struct VerificationResult: Sendable {
    public enum Verdict: Sendable {
        case accepted(VerifiedProgram)
        case refused(VerifierRefusal)
    }
    public var verdict: Verdict
    public var instructionsProcessed: Int
    public var statesExplored: Int
    public var log: String

    public var isAccepted: Bool { if case .accepted = verdict { true } else { false } }
    public var refusal: VerifierRefusal? { if case .refused(let r) = verdict { r } else { nil } }
    public var program: VerifiedProgram? { if case .accepted(let p) = verdict { p } else { nil } }
    /// One line: the verdict and the effort.
    public var summary: String {
        switch verdict {
        case .accepted: "accepted: processed \(instructionsProcessed) insns, \(statesExplored) states"
        case .refused(let r): "refused: \(r.description) (processed \(instructionsProcessed) insns)"
        }
    }
}
