import BPFInstructionSet
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The five argument registers of a helper call.
public struct HelperArguments: Sendable {
    public var r1, r2, r3, r4, r5: UInt64
    public init(_ r1: UInt64 = 0, _ r2: UInt64 = 0, _ r3: UInt64 = 0, _ r4: UInt64 = 0, _ r5: UInt64 = 0) {
        (self.r1, self.r2, self.r3, self.r4, self.r5) = (r1, r2, r3, r4, r5)
    }
}

/// How a helper stops the program instead of returning.
public enum HelperError: Error, Sendable, Equatable {
    /// The helper ends the program at once with this return value (a host's "deny now").
    case exitProgram(returnValue: UInt64)
    /// The helper refuses its arguments; the program stops with a fault naming the helper.
    case fault(String)
}

/// A function a program can call with `call imm`. IDs 1-211 are Linux's helpers;
/// a host's own helpers take IDs outside Linux's range (e.g. from 0x10000 up).
public struct Helper: Sendable {
    public typealias Body = @Sendable (HelperArguments, HelperCallContext) throws(HelperError) -> UInt64

    public let id: Int32
    public let name: String
    public let body: Body

    public init(id: Int32, name: String, body: @escaping Body) {
        self.id = id
        self.name = name
        self.body = body
    }
}

/// The helpers a program may call, by ID.
public struct HelperRegistry: Sendable {
    private var helpers: [Int32: Helper] = [:]

    public init(_ helpers: [Helper] = []) {
        for helper in helpers { register(helper) }
    }

    /// Adds or replaces the helper with `helper.id`.
    public mutating func register(_ helper: Helper) {
        helpers[helper.id] = helper
    }

    public subscript(id: Int32) -> Helper? { helpers[id] }

    public var all: [Helper] { helpers.values.sorted { $0.id < $1.id } }
}

/// What a helper sees of the running program besides its arguments: memory
/// checks for pointer arguments, extra regions it grants (a map value it returns),
/// a trace stream and a tail-call request.
public final class HelperCallContext {
    /// The mode the program runs in; in checked mode helpers must validate pointers.
    public let mode: ExecutionMode
    /// Regions beyond the run's own that the program may touch from now on.
    var grantedRegions: [MemoryRegion] = []
    var runRegions: [MemoryRegion]
    var stackRange: (low: UInt64, high: UInt64) = (0, 0)
    /// Lines written by trace helpers, in order.
    public internal(set) var trace: [String] = []
    /// Set by a tail-call helper; the interpreter switches program when the helper returns.
    var pendingTailCall: ExecutableProgram?
    /// Opaque per-run value a host can hang its own state on (a packet, a process).
    public var userInfo: AnyObject?
    /// The CPU the run started on; per-CPU maps use its slot for the whole run,
    /// as Linux keeps a program on one CPU while it runs.
    public let processor: Int

    /// The interpreter running the program, and the calling frame's depth and
    /// program, while a helper runs (for ``callFunction(atSlot:arguments:)``).
    unowned(unsafe) var interpreter: Interpreter?
    /// Another engine's callback runner (``callbackRunner``); used instead of the interpreter when set.
    var externalCallbackRunner: (any CallbackRunner)?
    var callerDepth = 0
    var callerProgram: Unmanaged<ExecutableProgram>?

    init(mode: ExecutionMode, regions: [MemoryRegion]) {
        self.mode = mode
        self.runRegions = regions
        self.processor = currentProcessor()
    }

    /// Lets the program touch `region` for the rest of this run (checked mode).
    public func grantAccess(to region: MemoryRegion) {
        grantedRegions.append(region)
    }

    /// True when the program may read (or write) `[address, address + size)`.
    public func isAccessible(address: UInt64, size: UInt64, write: Bool) -> Bool {
        if address >= stackRange.low, size <= stackRange.high - stackRange.low,
           address - stackRange.low <= (stackRange.high - stackRange.low) - size {
            return true
        }
        for region in runRegions where region.contains(address: address, size: size) {
            if !write || region.isWritable { return true }
        }
        for region in grantedRegions where region.contains(address: address, size: size) {
            if !write || region.isWritable { return true }
        }
        return false
    }

    /// A helper's pointer argument as a buffer, after the same check a load or store gets.
    public func buffer(at address: UInt64, count: UInt64, write: Bool) throws(HelperError) -> UnsafeMutableRawBufferPointer {
        guard count > 0 else { return UnsafeMutableRawBufferPointer(start: nil, count: 0) }
        guard count <= UInt64(Int32.max) else {
            throw .fault("a buffer of \(count) bytes is larger than any memory a program may touch")
        }
        if mode == .checked && !isAccessible(address: address, size: count, write: write) {
            throw .fault("\(write ? "write to" : "read from") \(count) bytes at 0x\(hex(address)) is outside the memory the program may touch")
        }
        guard let base = UnsafeMutableRawPointer(bitPattern: UInt(address)) else {
            throw .fault("null pointer argument")
        }
        return UnsafeMutableRawBufferPointer(start: base, count: Int(count))
    }

    /// Calls the BPF function starting at `slot` of the calling program (a
    /// callback such as bpf_loop's, from an `lddw` function reference) as a
    /// nested frame of the same run, with `arguments` in r1-r5; returns its r0.
    /// Faults in the callback become a helper fault naming the callback.
    public func callFunction(atSlot slot: Int, arguments: HelperArguments) throws(HelperError) -> UInt64 {
        if let externalCallbackRunner {
            return try externalCallbackRunner.callFunction(atSlot: slot, arguments: arguments, context: self)
        }
        guard let interpreter, let program = callerProgram?.takeUnretainedValue() else {
            throw .fault("callbacks can only be called while a helper runs")
        }
        return try interpreter.callFunction(atSlot: slot, in: program, arguments: arguments, callerDepth: callerDepth,
                                            callerStackLow: stackRange.low, context: self)
    }

    /// Appends a line to the run's trace stream.
    public func emitTrace(_ line: String) {
        trace.append(line)
    }

    /// Tail calls made so far in this run.
    public internal(set) var tailCallCount = 0
    /// Linux's limit on a chain of tail calls (MAX_TAIL_CALL_CNT).
    public static let tailCallLimit = 33

    /// Asks the interpreter to continue in `program` when the helper returns
    /// (a successful `bpf_tail_call`). Returns false, and changes nothing, when the
    /// chain limit is reached: the tail call fails and the caller goes on.
    public func requestTailCall(to program: ExecutableProgram) -> Bool {
        guard tailCallCount < Self.tailCallLimit else { return false }
        tailCallCount += 1
        pendingTailCall = program
        return true
    }
}

/// glibc's `sched_getcpu`, which Swift's Glibc module does not export (it needs
/// _GNU_SOURCE); looked up once. Falls back to CPU 0 where it is missing.
private let schedGetCPU: (@convention(c) () -> Int32)? = {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "sched_getcpu") else { return nil }
    return unsafeBitCast(symbol, to: (@convention(c) () -> Int32).self)
}()

/// The index of the CPU the calling thread runs on.
public func currentProcessor() -> Int {
    Int(max(schedGetCPU?() ?? 0, 0))
}
