import BPFRuntime
import BPFVerifier

/// Which engine runs a loaded object's programs.
public enum EngineChoice: String, Sendable, CaseIterable {
    /// The x86-64 JIT for verified programs on x86-64, the interpreter otherwise
    /// (unverified programs, other architectures).
    case automatic
    /// BPFRuntime's interpreter, checked or trusted per ``LoadedProgram/mode``.
    case interpreter
    /// BPFJIT's machine code, checked or trusted per ``LoadedProgram/mode``
    /// (x86-64 hosts only).
    case jit

    /// The engine a program runs on under this choice.
    func resolved(verified: Bool) -> EngineChoice {
        switch self {
        case .interpreter, .jit: return self
        case .automatic:
            #if arch(x86_64)
            return verified ? .jit : .interpreter
            #else
            return .interpreter
            #endif
        }
    }
}

/// How a ``LoadedObject`` is made from an object.
public struct LoadOptions: Sendable {
    /// Run mode of verified programs. The rule: a program the verifier accepted
    /// runs `.trusted` (the default) unless this is `.checked`, which forces
    /// checked runs; a program that was not verified (``verifies`` is false)
    /// always runs `.checked`, whatever this says. ``LoadedProgram/mode`` is
    /// the mode a program actually runs in.
    public var mode: ExecutionMode
    /// Verify every loaded program before it may run (the default), refusing
    /// the load with ``CollectionLoadError/programRefused(program:result:)`` as
    /// Linux refuses it. False is `--no-verify`: programs run in checked mode.
    public var verifies: Bool
    /// The verifier's rules (privileged profile by default).
    public var verifierOptions: VerifierOptions
    /// The programs to load, by function name; nil loads every program. Other
    /// programs stay described in the ``LoadedObject/spec`` but are neither
    /// verified nor runnable, and prog-array slots naming them stay empty.
    public var programNames: Set<String>?
    /// New contents of read-only global data (`.rodata*`, by section name), applied
    /// before the map is frozen, as a libbpf skeleton sets `const volatile` config.
    public var readOnlyData: [String: [UInt8]]
    /// Entries written after the maps are created, as user-space BPF_ANY updates.
    public var mapInitialEntries: [String: [(key: [UInt8], value: [UInt8])]]
    /// Instruction budget of one run. The trusted JIT, like Linux, has none: the
    /// verifier proved the program terminates.
    public var instructionBudget: UInt64
    /// The engine that runs the programs (``EngineChoice/automatic`` by default).
    public var engine: EngineChoice

    public init(mode: ExecutionMode = .trusted, verifies: Bool = true, verifierOptions: VerifierOptions = VerifierOptions(),
                programNames: Set<String>? = nil, readOnlyData: [String: [UInt8]] = [:],
                mapInitialEntries: [String: [(key: [UInt8], value: [UInt8])]] = [:],
                instructionBudget: UInt64 = Interpreter.defaultInstructionBudget, engine: EngineChoice = .automatic) {
        self.mode = mode
        self.verifies = verifies
        self.verifierOptions = verifierOptions
        self.programNames = programNames
        self.readOnlyData = readOnlyData
        self.mapInitialEntries = mapInitialEntries
        self.instructionBudget = instructionBudget
        self.engine = engine
    }
}
