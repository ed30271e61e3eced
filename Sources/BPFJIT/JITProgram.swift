import BPFInstructionSet
import BPFRuntime
import Synchronization

/// A program compiled to machine code, run like `Interpreter.run`: same arguments, same
/// results, same `ExecutionError`s. Thread-safe: each run uses its own stack (one is kept
/// for reuse, so single-threaded runs allocate nothing).
///
/// `instructionsExecuted` is exact in checked mode and 0 (not counted) in trusted mode.
public final class JITProgram: ProgramEngine, @unchecked Sendable {
    // @unchecked: `unit` is immutable; the cached run state moves in and out atomically.
    public let program: ExecutableProgram
    public let mode: ExecutionMode
    public let options: JITOptions
    let unit: NativeUnit
    private let cachedState = Atomic<UInt>(0)

    init(program: ExecutableProgram, unit: NativeUnit, mode: ExecutionMode, options: JITOptions) {
        self.program = program
        self.unit = unit
        self.mode = mode
        self.options = options
    }

    deinit {
        let bits = cachedState.exchange(0, ordering: .acquiringAndReleasing)
        if bits != 0, let pointer = UnsafeRawPointer(bitPattern: bits) {
            Unmanaged<RunState>.fromOpaque(pointer).release()
        }
    }

    /// The machine code bytes.
    public var machineCode: [UInt8] { unit.memory.bytes }

    /// Which bytes of `machineCode` each instruction became: (slot, code range); instructions
    /// the verifier proved unreachable have empty ranges. The code outside these ranges is the
    /// host entry stub (first) and the out-of-line paths and shared stubs (last).
    public var instructionCode: [(slot: Int, code: Range<Int>)] {
        program.instructions.map { ($0.index, unit.slotRanges[$0.index]) }
    }

    public func run(arguments: HelperArguments = HelperArguments(), regions: [MemoryRegion] = [],
                    packet: UnsafeRawBufferPointer? = nil, userInfo: AnyObject? = nil) throws(ExecutionError) -> ExecutionResult {
        let state = takeState()
        defer { giveBack(state) }
        return try state.run(unit: unit, program: program, arguments: arguments, regions: regions, packet: packet,
                             userInfo: userInfo)
    }

    private func takeState() -> RunState {
        let bits = cachedState.exchange(0, ordering: .acquiringAndReleasing)
        if bits != 0, let pointer = UnsafeRawPointer(bitPattern: bits) {
            return Unmanaged<RunState>.fromOpaque(pointer).takeRetainedValue()
        }
        return RunState(mode: mode, options: options)
    }

    private func giveBack(_ state: RunState) {
        let bits = UInt(bitPattern: Unmanaged.passRetained(state).toOpaque())
        let (exchanged, _) = cachedState.compareExchange(expected: 0, desired: bits, ordering: .acquiringAndReleasing)
        if !exchanged { Unmanaged<RunState>.fromOpaque(UnsafeRawPointer(bitPattern: bits)!).release() }
    }
}

/// The helper trampoline JIT'd code calls: r1-r5 in the C argument registers and the
/// context block as the sixth argument. It never throws: failures go into the context's
/// status and JIT'd code unwinds to the host.
let helperTrampoline: @convention(c) (UInt64, UInt64, UInt64, UInt64, UInt64, UnsafeMutableRawPointer?) -> UInt64 = {
    r1, r2, r3, r4, r5, block in
    // Unsafe: JIT'd code always passes its context block, whose run-state field holds the
    // running RunState (unretained; the run keeps it alive).
    let block = block.unsafelyUnwrapped
    let state = Unmanaged<RunState>.fromOpaque(block.load(fromByteOffset: Int(Context.runState), as: UnsafeRawPointer.self))
    return state._withUnsafeGuaranteedRef { $0.callHelper(HelperArguments(r1, r2, r3, r4, r5)) }
}

/// The memory and bookkeeping of one run: the context block, the BPF stack (8 frames of
/// 512 bytes), the checked-mode region table, the helper context made on the first helper call.
final class RunState: CallbackRunner {
    let mode: ExecutionMode
    let options: JITOptions
    /// Context block followed by the stack.
    let block: UnsafeMutableRawPointer
    let stackTop: UInt64
    static let stackBytes = Registers.stackSize * Registers.maxCallDepth

    // A run state serves one run at a time (JITProgram hands it to one thread), so the
    // dynamic exclusivity checks of these properties are left out.
    @exclusivity(unchecked) var context: HelperCallContext? {
        didSet { if context == nil { contextReference = nil } }
    }
    /// `context`, unretained, for the helper call path.
    @exclusivity(unchecked) var contextReference: Unmanaged<HelperCallContext>?
    @exclusivity(unchecked) var regions: [MemoryRegion] = []
    @exclusivity(unchecked) var userInfo: AnyObject?
    @exclusivity(unchecked) var helperFailure: (name: String, error: HelperError)?
    @exclusivity(unchecked) var tailCalled: [NativeUnit] = []
    @exclusivity(unchecked) var tailPrograms: [ExecutableProgram] = []
    /// The program the current run started in.
    @exclusivity(unchecked) var rootProgram: ExecutableProgram?
    /// Checked mode: (start, length, writable) triples; entry 0 is the stack a helper was last given.
    @exclusivity(unchecked) var regionTable: UnsafeMutablePointer<UInt64>
    @exclusivity(unchecked) var regionCapacity = 8
    @exclusivity(unchecked) var regionCount = 0
    @exclusivity(unchecked) var syncedGrants = 0

    init(mode: ExecutionMode, options: JITOptions) {
        self.mode = mode
        self.options = options
        block = .allocate(byteCount: Context.size + Self.stackBytes, alignment: 64)
        block.initializeMemory(as: UInt8.self, repeating: 0, count: Context.size + Self.stackBytes)
        stackTop = UInt64(UInt(bitPattern: block)) + UInt64(Context.size + Self.stackBytes)
        regionTable = .allocate(capacity: regionCapacity * 3)
        set(Context.stackTop, stackTop)
        for size in [1, 2, 4, 8] { set(Context.stackTopMinus(size), stackTop - UInt64(size)) }
        // A frame at depth d has r10 = top - 512 d; a call needs d + 1 < 8.
        set(Context.lowestCallingFramePointer, stackTop - UInt64(Registers.stackSize * (Registers.maxCallDepth - 2)))
        set(Context.runState, UInt64(UInt(bitPattern: Unmanaged.passUnretained(self).toOpaque())))
    }

    deinit {
        block.deallocate()
        regionTable.deallocate()
    }

    // Unsafe: every offset is a `Context` field, inside the block's first `Context.size` bytes.
    @inline(__always) func set(_ offset: Int32, _ value: UInt64) {
        block.storeBytes(of: value, toByteOffset: Int(offset), as: UInt64.self)
    }

    @inline(__always) func get(_ offset: Int32) -> UInt64 {
        block.load(fromByteOffset: Int(offset), as: UInt64.self)
    }

    func run(unit: NativeUnit, program: ExecutableProgram, arguments: HelperArguments, regions: [MemoryRegion],
             packet: UnsafeRawBufferPointer?, userInfo: AnyObject?) throws(ExecutionError) -> ExecutionResult {
        set(Context.status, 0)
        set(Context.entryTarget, unit.address(ofSlot: 0))
        set(Context.entryFramePointer, stackTop)
        setArguments(arguments)
        set(Context.mayGotoLeft, options.mayGotoLimit)
        set(Context.instructionCount, 0)
        set(Context.instructionBudget, options.instructionBudget)
        if let packet {
            set(Context.hasPacket, 1)
            set(Context.packet, UInt64(UInt(bitPattern: packet.baseAddress)))
            set(Context.packetLength, UInt64(packet.count))
        } else {
            set(Context.hasPacket, 0)
        }
        self.regions = regions
        self.userInfo = userInfo
        rootProgram = program
        if mode == .checked { resetRegionTable(regions) }
        // Frame 0 starts zeroed so that runs are deterministic, as in the interpreter.
        (block + Context.size + Self.stackBytes - Registers.stackSize)
            .initializeMemory(as: UInt8.self, repeating: 0, count: Registers.stackSize)
        let r0 = unit.entry(block)
        defer {
            if let context {
                context.callbackRunner = nil
                self.context = nil
            }
            self.regions = []
            self.userInfo = nil
            if !tailCalled.isEmpty {
                tailCalled.removeAll(keepingCapacity: true)
                tailPrograms.removeAll(keepingCapacity: true)
            }
            rootProgram = nil
        }
        let status = RunStatus(rawValue: get(Context.status)) ?? .fellOffEnd
        switch status {
        case .running, .exitRequested:
            return ExecutionResult(returnValue: r0,
                                   instructionsExecuted: mode == .checked ? get(Context.instructionCount) : 0,
                                   trace: context?.trace ?? [])
        default:
            throw error(for: status, program: program)
        }
    }

    // MARK: Errors, as the interpreter words them

    func error(for status: RunStatus, program: ExecutableProgram) -> ExecutionError {
        let pc = Int(get(Context.trapPC))
        func text(_ pc: Int) -> String {
            program.instruction(atSlot: pc).map { Disassembler.text(of: $0, syntax: .conformance) } ?? "slot \(pc)"
        }
        switch status {
        case .memoryFault, .misaligned:
            let address = get(Context.trapAddress)
            let info = get(Context.trapInfo)
            let size = Int(info & 0xff)
            let reason = status == .misaligned
                ? "is not aligned to \(size) bytes, as atomic operations require"
                : address < 4096 ? "is a null (or near-null) pointer dereference" : "is outside the memory the program may touch"
            return .memoryFault(pc: pc, instruction: text(pc), address: address, size: size, isWrite: info & 0x100 != 0,
                                reason: reason)
        case .budget: return .instructionBudgetExhausted(pc: pc, budget: options.instructionBudget)
        case .callDepth: return .callDepthExceeded(pc: pc, instruction: text(pc), limit: Registers.maxCallDepth)
        case .unknownHelper: return .unknownHelper(pc: pc, instruction: text(pc), id: get(Context.trapAddress))
        case .helperFault:
            let failure = helperFailure
            helperFailure = nil
            let message = switch failure?.error {
            case .fault(let message): message
            case .exitProgram(let value): "ended the program with \(value)"
            case nil: "failed"
            }
            return .helperFault(pc: pc, helper: failure?.name ?? "?", message: message)
        case .noPacket: return .noPacket(pc: pc, instruction: text(pc))
        case .fellOffEnd, .running, .exitRequested, .tailCall: return .fellOffEnd(pc: pc)
        }
    }

    // MARK: Helpers

    func trap(_ status: RunStatus, pc: Int) {
        set(Context.trapPC, UInt64(pc))
        set(Context.status, status.rawValue)
    }

    /// r1-r5 of the next entry into JIT'd code (a run, a tail call, a callback).
    func setArguments(_ arguments: HelperArguments) {
        set(Context.argument(0), arguments.r1)
        set(Context.argument(1), arguments.r2)
        set(Context.argument(2), arguments.r3)
        set(Context.argument(3), arguments.r4)
        set(Context.argument(4), arguments.r5)
    }

    func currentSite() -> (record: CallSiteRecord, unit: NativeUnit) {
        // Unsafe: JIT'd code stores the address of its call site record (owned by a unit
        // that is running, hence alive) before calling the trampoline.
        let record = UnsafePointer<CallSiteRecord>(bitPattern: UInt(get(Context.callSite))).unsafelyUnwrapped.pointee
        let unit = Unmanaged<NativeUnit>.fromOpaque(record.unit.unsafelyUnwrapped).takeUnretainedValue()
        return (record, unit)
    }

    @discardableResult
    func makeContext() -> HelperCallContext {
        let made = HelperCallContext.forEngine(mode: mode, regions: regions, userInfo: userInfo)
        made.callbackRunner = self
        context = made
        contextReference = Unmanaged.passUnretained(made)
        return made
    }

    func callHelper(_ arguments: HelperArguments) -> UInt64 {
        // Unsafe: JIT'd code stores the address of its call site record (owned by a unit
        // that is running, hence alive) before calling the trampoline.
        let record = UnsafePointer<CallSiteRecord>(bitPattern: UInt(get(Context.callSite))).unsafelyUnwrapped
        let slot = record.pointee.slot
        let index = record.pointee.helperIndex
        let unit = Unmanaged<NativeUnit>.fromOpaque(record.pointee.unit.unsafelyUnwrapped)
        if contextReference == nil { makeContext() }
        // The run holds the context (`context`) and the code being run holds its unit, so
        // neither needs retaining here, on the path every helper call takes.
        let outcome = contextReference.unsafelyUnwrapped._withUnsafeGuaranteedRef { context in
            unit._withUnsafeGuaranteedRef { unit in
                callHelper(unit: unit, index: index, slot: slot, arguments: arguments, context: context)
            }
        }
        return outcome
    }

    private func callHelper(unit: NativeUnit, index: Int, slot: Int, arguments: HelperArguments,
                            context: HelperCallContext) -> UInt64 {
        setCallerStack(low: get(Context.callerFramePointer) &- UInt64(Registers.stackSize), context: context)
        let r0: UInt64
        if index >= 0 {
            do {
                r0 = try unit.helpers[index].body(arguments, context)
            } catch {
                return helperFailed(error, name: unit.helpers[index].name, slot: slot)
            }
        } else {
            let id = get(Context.helperID)
            guard let id32 = Int32(exactly: id), let helper = unit.registry[id32] else {
                set(Context.trapAddress, id)
                trap(.unknownHelper, pc: slot)
                return 0
            }
            do {
                r0 = try helper.body(arguments, context)
            } catch {
                return helperFailed(error, name: helper.name, slot: slot)
            }
        }
        if context.hasTailCallRequest, let next = context.takeTailCallRequest() {
            do {
                let target = try NativeUnit.unit(for: next, mode: mode)
                tailCalled.append(target)
                tailPrograms.append(next)
                setArguments(arguments)
                set(Context.tailCallTarget, target.address(ofSlot: 0))
                set(Context.status, RunStatus.tailCall.rawValue)
            } catch {
                let name = index >= 0 ? unit.helpers[index].name : "helper"
                return helperFailed(.fault("the tail-called program \(next.name) cannot be compiled: \(error)"),
                                    name: name, slot: slot)
            }
        }
        if mode == .checked && context.grantedAccessCount != syncedGrants { syncGrants(context) }
        return r0
    }

    /// A helper threw: an early exit (r0 given) or a fault the host will report.
    @inline(never)
    private func helperFailed(_ error: HelperError, name: String, slot: Int) -> UInt64 {
        if case .exitProgram(let value) = error {
            set(Context.status, RunStatus.exitRequested.rawValue)
            return value
        }
        helperFailure = (name, error)
        trap(.helperFault, pc: slot)
        return 0
    }

    func setCallerStack(low: UInt64, context: HelperCallContext) {
        context.callerStack = (low, stackTop)
        if mode == .checked {
            regionTable[0] = low
            regionTable[1] = stackTop &- low
        }
    }

    // MARK: Checked-mode regions

    func resetRegionTable(_ regions: [MemoryRegion]) {
        regionCount = 0
        syncedGrants = 0
        append(start: 0, length: 0, writable: true)
        for region in regions { append(start: region.start, length: region.length, writable: region.isWritable) }
    }

    func append(start: UInt64, length: UInt64, writable: Bool) {
        if regionCount == regionCapacity {
            let bigger = UnsafeMutablePointer<UInt64>.allocate(capacity: regionCapacity * 2 * 3)
            bigger.update(from: regionTable, count: regionCount * 3)
            regionTable.deallocate()
            regionTable = bigger
            regionCapacity *= 2
        }
        regionTable[regionCount * 3] = start
        regionTable[regionCount * 3 + 1] = length
        regionTable[regionCount * 3 + 2] = writable ? 1 : 0
        regionCount += 1
        set(Context.regionTable, UInt64(UInt(bitPattern: regionTable)))
        set(Context.regionCount, UInt64(regionCount))
    }

    func syncGrants(_ context: HelperCallContext) {
        let granted = context.grantedAccess
        while syncedGrants < granted.count {
            let region = granted[syncedGrants]
            append(start: region.start, length: region.length, writable: region.isWritable)
            syncedGrants += 1
        }
    }

    // MARK: Callbacks (bpf_loop)

    func callFunction(atSlot slot: Int, arguments: HelperArguments,
                      context: HelperCallContext) throws(HelperError) -> UInt64 {
        let (_, unit) = currentSite()
        guard slot >= 0, slot < unit.slotCount else {
            throw .fault("callback slot \(slot) is outside the program")
        }
        let callerFramePointer = get(Context.callerFramePointer)
        let callerDepth = Int((stackTop &- callerFramePointer) / UInt64(Registers.stackSize))
        guard callerDepth + 1 < Registers.maxCallDepth else {
            throw .fault("the callback would nest calls deeper than \(Registers.maxCallDepth) frames")
        }
        // The caller's run state, restored after the callback (a tuple: no allocation per callback).
        let saved = (get(Context.savedStackPointer), get(Context.callSite), get(Context.callerFramePointer),
                     get(Context.mayGotoLeft), get(Context.instructionCount), get(Context.hasPacket))
        let savedRange = context.callerStack
        let frameTop = callerFramePointer &- UInt64(Registers.stackSize)
        set(Context.entryTarget, unit.address(ofSlot: slot))
        set(Context.entryFramePointer, frameTop)
        setArguments(arguments)
        set(Context.mayGotoLeft, options.mayGotoLimit)
        set(Context.instructionCount, 0)
        set(Context.hasPacket, 0)
        // Unsafe: callerDepth + 1 < maxCallDepth, so the new frame lies inside the stack.
        UnsafeMutableRawPointer(bitPattern: UInt(frameTop - UInt64(Registers.stackSize))).unsafelyUnwrapped
            .initializeMemory(as: UInt8.self, repeating: 0, count: Registers.stackSize)
        // The helper may have granted memory (for_each_map_elem's key) the callback reads.
        if mode == .checked && context.grantedAccessCount != syncedGrants { syncGrants(context) }
        let r0 = unit.entry(block)
        let status = RunStatus(rawValue: get(Context.status)) ?? .fellOffEnd
        set(Context.status, 0)
        set(Context.savedStackPointer, saved.0)
        set(Context.callSite, saved.1)
        set(Context.callerFramePointer, saved.2)
        set(Context.mayGotoLeft, saved.3)
        set(Context.instructionCount, saved.4)
        set(Context.hasPacket, saved.5)
        setCallerStack(low: savedRange.low, context: context)
        switch status {
        case .running, .exitRequested:
            return r0
        default:
            // As in the interpreter, messages name instructions of the program the run started in.
            throw .fault("callback: \(error(for: status, program: rootProgram.unsafelyUnwrapped).description)")
        }
    }
}
