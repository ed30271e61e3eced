import BPFInstructionSet
import BPFRuntime
import BPFVerifier

/// Why a program cannot be compiled. Every case that concerns an instruction names it.
public enum JITError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The program writes r10, which the JIT keeps as the frame pointer (Linux's verifier refuses this too).
    case framePointerWritten(index: Int)
    case unsupported(index: Int, feature: String)
    /// The verifier's facts describe a program with another number of slots.
    case factsMismatch(programSlots: Int, factSlots: Int)
    case memory(String)

    public var description: String {
        switch self {
        case .framePointerWritten(let index):
            "instruction \(index): writes r10, the read-only frame pointer; the JIT cannot compile it"
        case .unsupported(let index, let feature):
            "instruction \(index): \(feature) cannot be compiled"
        case .factsMismatch(let programSlots, let factSlots):
            "the verifier's facts cover \(factSlots) slots but the program has \(programSlots)"
        case .memory(let reason):
            "cannot map memory for machine code: \(reason)"
        }
    }
}

/// Settings of compiled programs.
public struct JITOptions: Sendable {
    /// Checked mode: a run that executes more instructions than this stops with an error
    /// (the same error as the interpreter's). Trusted code has no budget, as in Linux.
    public var instructionBudget: UInt64
    /// `may_goto` fall-throughs per run before they start to jump (Linux's BPF_MAX_LOOPS).
    public var mayGotoLimit: UInt64

    public init(instructionBudget: UInt64 = Interpreter.defaultInstructionBudget,
                mayGotoLimit: UInt64 = Interpreter.defaultMayGotoLimit) {
        self.instructionBudget = instructionBudget
        self.mayGotoLimit = mayGotoLimit
    }
}

/// Translates `ExecutableProgram`s into x86-64 machine code.
///
///     let jit = try JITCompiler().compile(executable, facts: verified, mode: .trusted)
///     let result = try jit.run(arguments: HelperArguments(context), regions: [], packet: nil, userInfo: nil)
///
/// Trusted code (for verified programs) has no memory checks and uses the verifier's facts
/// (`divisorNonZero`, `alwaysTaken`, `reached`) to drop checks and dead code. Checked code
/// tests every access against the stack and the run's regions and counts instructions
/// against a budget, so unverified programs fail exactly as in the checked interpreter.
public struct JITCompiler: Sendable {
    public var options: JITOptions

    public init(_ options: JITOptions = JITOptions()) {
        self.options = options
    }

    /// Compiles `program`. `facts`, when given, must come from verifying this program;
    /// they are used in trusted mode only. The machine code is also attached to the
    /// program, so that tail calls into it from other JIT'd programs run it.
    public func compile(_ program: ExecutableProgram, facts: VerifiedProgram? = nil,
                        mode: ExecutionMode = .trusted) throws(JITError) -> JITProgram {
        if let facts, facts.facts.count != program.slotCount {
            throw .factsMismatch(programSlots: program.slotCount, factSlots: facts.facts.count)
        }
        let unit = try NativeUnit(program: program, facts: facts?.facts, stackDepth: facts?.stackDepth, mode: mode)
        // Code made with facts replaces code made without; never the other way round.
        if facts != nil || program.attachedCode[NativeUnit.key(mode)] == nil {
            program.attachedCode[NativeUnit.key(mode)] = unit
        }
        return JITProgram(program: program, unit: unit, mode: mode, options: options)
    }
}

/// The machine code of one program in one mode, with what its helper calls need.
/// Shared by every run (and by tail calls from other programs); immutable once made.
final class NativeUnit: @unchecked Sendable {
    // @unchecked: the call site records are written during `init` only.
    let memory: ExecutableMemory
    let mode: ExecutionMode
    let name: String
    let slotCount: Int
    let helpers: [Helper]
    let registry: HelperRegistry
    let sites: UnsafeMutablePointer<CallSiteRecord>
    let siteCount: Int
    /// Code offset of each slot (and of the end).
    let slotOffsets: [Int]
    let slotRanges: [Range<Int>]
    let entry: @convention(c) (UnsafeMutableRawPointer) -> UInt64

    static func key(_ mode: ExecutionMode) -> String { "BPFJIT." + mode.rawValue }

    /// The unit for `program` in `mode`: the one attached to it, or a new one without facts.
    static func unit(for program: ExecutableProgram, mode: ExecutionMode) throws(JITError) -> NativeUnit {
        try program.attachedCode.value(forKey: key(mode)) { () throws(JITError) -> NativeUnit in
            try NativeUnit(program: program, facts: nil, mode: mode)
        }
    }

    init(program: ExecutableProgram, facts: [InstructionFacts]?, stackDepth: [Int: Int]? = nil,
         mode: ExecutionMode) throws(JITError) {
        let calls = program.instructions.filter { $0.operation == .callHelper || $0.operation == .callRegister }.count
        let sites = UnsafeMutablePointer<CallSiteRecord>.allocate(capacity: max(calls, 1))
        var generator = CodeGenerator(program: program, facts: facts, stackDepth: stackDepth, mode: mode, siteBase: sites,
                                      helperTrampoline: UInt64(UInt(bitPattern: unsafeBitCast(helperTrampoline, to: UnsafeRawPointer.self))))
        let code: [UInt8]
        do {
            code = try generator.generate()
        } catch {
            sites.deallocate()
            throw error
        }
        let memory: ExecutableMemory
        do {
            memory = try ExecutableMemory(code: code)
        } catch {
            sites.deallocate()
            throw error
        }
        let base = memory.base
        self.memory = memory
        self.mode = mode
        self.name = program.name
        self.slotCount = program.slotCount
        self.helpers = generator.helpers
        self.registry = program.helpers
        self.sites = sites
        self.siteCount = generator.siteCount
        self.slotOffsets = generator.slotLabels.map { generator.asm.labels[$0] }
        self.slotRanges = generator.slotRanges
        // Unsafe: offset 0 of the mapping is the host entry stub, a C function (context) -> r0.
        self.entry = unsafeBitCast(base, to: (@convention(c) (UnsafeMutableRawPointer) -> UInt64).self)
        let me = UnsafeRawPointer(Unmanaged.passUnretained(self).toOpaque())
        for k in 0..<generator.siteCount { sites[k].unit = me }
    }

    /// The native address of slot `slot`'s code.
    func address(ofSlot slot: Int) -> UInt64 {
        UInt64(UInt(bitPattern: memory.base)) + UInt64(slotOffsets[slot])
    }

    deinit {
        sites.deallocate()
    }
}
