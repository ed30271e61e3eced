import BPFInstructionSet
import Synchronization

/// Something that runs an `ExecutableProgram`: the interpreter, or native code made
/// from the program (BPFJIT). The loader and the CLI hold engines through this
/// protocol so that they can swap one for another.
public protocol ProgramEngine: AnyObject {
    var program: ExecutableProgram { get }
    /// Runs once with `arguments` in r1-r5. In checked mode the program may touch
    /// only its stack and `regions`; `packet` backs legacy LD_ABS/LD_IND loads.
    func run(arguments: HelperArguments, regions: [MemoryRegion], packet: UnsafeRawBufferPointer?,
             userInfo: AnyObject?) throws(ExecutionError) -> ExecutionResult
}

extension ProgramEngine {
    /// Runs with r1 pointing at `memory` and r2 holding its length, the convention of
    /// the conformance suite. The memory is the only region besides the stack.
    public func run(memory buffer: UnsafeMutableRawBufferPointer) throws(ExecutionError) -> ExecutionResult {
        let base = UInt64(UInt(bitPattern: buffer.baseAddress))
        return try run(arguments: HelperArguments(base, UInt64(buffer.count)),
                       regions: buffer.isEmpty ? [] : [MemoryRegion(buffer, name: "memory")],
                       packet: UnsafeRawBufferPointer(buffer), userInfo: nil)
    }
}

extension Interpreter: ProgramEngine {}

/// Runs `bpf_loop`-style callbacks for an engine other than the interpreter.
public protocol CallbackRunner: AnyObject {
    /// Calls the function at `slot` of the program whose helper call is in progress,
    /// as a nested frame of the same run; returns its r0.
    func callFunction(atSlot slot: Int, arguments: HelperArguments,
                      context: HelperCallContext) throws(HelperError) -> UInt64
}

// MARK: What other engines need of a helper call's context

extension HelperCallContext {
    /// The context of one run of an engine other than the interpreter.
    public static func forEngine(mode: ExecutionMode, regions: [MemoryRegion], userInfo: AnyObject?) -> HelperCallContext {
        let context = HelperCallContext(mode: mode, regions: regions)
        context.userInfo = userInfo
        return context
    }

    /// The stack the calling frame may touch, `[low, high)`; engines set it before each helper call.
    public var callerStack: (low: UInt64, high: UInt64) {
        get { stackRange }
        set { stackRange = newValue }
    }

    /// Regions helpers granted during this run (``grantAccess(to:)``), in order.
    public var grantedAccess: [MemoryRegion] { grantedRegions }

    /// True when a helper asked for a tail call that nobody took yet.
    public var hasTailCallRequest: Bool { pendingTailCall != nil }

    /// How many regions helpers granted so far (``grantedAccess``'s count, without copying it).
    public var grantedAccessCount: Int { grantedRegions.count }

    /// Takes the program a helper asked to tail-call into (``requestTailCall(to:)``), if any.
    public func takeTailCallRequest() -> ExecutableProgram? {
        defer { pendingTailCall = nil }
        return pendingTailCall
    }

    /// The engine that runs callbacks while a helper runs, when it is not the interpreter.
    public var callbackRunner: (any CallbackRunner)? {
        get { externalCallbackRunner }
        set { externalCallbackRunner = newValue }
    }
}

// MARK: Native code attached to a program

/// Machine code (or any engine's prepared form) kept with a program, by key, so that a
/// tail call into the program can find it. Thread-safe.
public final class AttachedCode: Sendable {
    private let entries = Mutex<[String: AnyObject & Sendable]>([:])

    init() {}

    public subscript(key: String) -> (AnyObject & Sendable)? {
        get { entries.withLock { $0[key] } }
        set { entries.withLock { $0[key] = newValue } }
    }

    /// The entry for `key`, made by `make` when there is none yet.
    public func value<T: AnyObject & Sendable, E: Error>(forKey key: String,
                                                         make: () throws(E) -> T) throws(E) -> T {
        if let existing = self[key] as? T { return existing }
        let made = try make()
        return entries.withLock { table in
            if let existing = table[key] as? T { return existing }
            table[key] = made
            return made
        }
    }
}

extension ExecutableProgram {
    /// The 64-bit value an `lddw` at `slot` loads, pseudo references resolved; nil for other slots.
    public func loadedValue(atSlot slot: Int) -> UInt64? {
        guard slot >= 0, slot < slotCount else { return nil }
        let s = code.base[slot]
        switch s.operation {
        case .loadImm64, .loadMapFD, .loadMapValue, .loadBTFID, .loadFunction, .loadMapIndex, .loadMapIndexValue:
            return UInt64(bitPattern: s.immediate)
        default:
            return nil
        }
    }
}
