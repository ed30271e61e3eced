import BPFInstructionSet
import Synchronization

/// Whether the loop checks memory accesses; a type parameter so that the trusted
/// loop is compiled without a trace of the checks.
protocol AccessPolicy {
    static var isChecked: Bool { get }
}
enum CheckedAccess: AccessPolicy { static var isChecked: Bool { true } }
enum TrustedAccess: AccessPolicy { static var isChecked: Bool { false } }

/// Why the loop returned. The loop itself never throws; `run` turns traps into errors.
enum Trap {
    case exit
    case memory(pc: Int, address: UInt64, size: Int, isWrite: Bool, reason: String)
    case budget(pc: Int)
    case callDepth(pc: Int)
    case unknownHelper(pc: Int, id: UInt64)
    case helper(pc: Int, name: String, error: HelperError)
    case fellOffEnd(pc: Int)
    case noPacket(pc: Int)
}

/// Runs an `ExecutableProgram`: 512 bytes of stack per frame, bpf-to-bpf calls up
/// to Linux's depth of 8, helper calls through the program's registry, tail calls,
/// and an instruction budget. Not thread-safe: use one interpreter per thread
/// (programs themselves are shared freely).
public final class Interpreter {
    public let program: ExecutableProgram
    public var mode: ExecutionMode
    /// A run that executes more instructions than this stops with an error.
    public var instructionBudget: UInt64
    public static let defaultInstructionBudget: UInt64 = 100_000_000
    /// Linux's bound on `may_goto` iterations per run (BPF_MAX_LOOPS).
    public static let defaultMayGotoLimit: UInt64 = 8 * 1024 * 1024
    /// How many `may_goto` fall-throughs a run gets before they start to jump.
    public var mayGotoLimit: UInt64 = Interpreter.defaultMayGotoLimit

    private let memory = ExecutionStack()

    public init(program: ExecutableProgram, mode: ExecutionMode = .checked,
                instructionBudget: UInt64 = Interpreter.defaultInstructionBudget) {
        self.program = program
        self.mode = mode
        self.instructionBudget = instructionBudget
    }

    /// Runs once with `arguments` in r1-r5. In checked mode the program may touch
    /// only its stack and `regions`; `packet` backs legacy LD_ABS/LD_IND loads.
    public func run(arguments: HelperArguments = HelperArguments(), regions: [MemoryRegion] = [],
                    packet: UnsafeRawBufferPointer? = nil, userInfo: AnyObject? = nil) throws(ExecutionError) -> ExecutionResult {
        let context = HelperCallContext(mode: mode, regions: regions)
        context.userInfo = userInfo
        context.interpreter = self
        defer { context.interpreter = nil }
        let registers = memory.registers
        registers.update(repeating: 0, count: 16)
        registers[1] = arguments.r1
        registers[2] = arguments.r2
        registers[3] = arguments.r3
        registers[4] = arguments.r4
        registers[5] = arguments.r5
        registers[10] = memory.top
        // Frame 0 starts zeroed so that runs are deterministic.
        (memory.stack + ExecutionStack.stackBytes - Registers.stackSize)
            .initializeMemory(as: UInt8.self, repeating: 0, count: Registers.stackSize)
        var executed: UInt64 = 0
        let entry = Entry(pc: 0, program: program, depth: 0, stackLow: memory.top - UInt64(Registers.stackSize))
        let trap = switch mode {
        case .checked: execute(CheckedAccess.self, entry: entry, context: context, packet: packet, executed: &executed)
        case .trusted: execute(TrustedAccess.self, entry: entry, context: context, packet: packet, executed: &executed)
        }
        if case .exit = trap {
            return ExecutionResult(returnValue: registers[0], instructionsExecuted: executed, trace: context.trace)
        }
        throw error(for: trap, context: context)
    }

    /// Runs with r1 pointing at `memory` and r2 holding its length, the convention of
    /// the conformance suite. The memory is the only region besides the stack.
    public func run(memory buffer: UnsafeMutableRawBufferPointer) throws(ExecutionError) -> ExecutionResult {
        let base = UInt64(UInt(bitPattern: buffer.baseAddress))
        return try run(arguments: HelperArguments(base, UInt64(buffer.count)),
                       regions: buffer.isEmpty ? [] : [MemoryRegion(buffer, name: "memory")],
                       packet: UnsafeRawBufferPointer(buffer))
    }

    /// Runs the function at `slot` of `program` as a new frame below the helper's
    /// caller (bpf_loop's callback), with `arguments` in r1-r5; returns its r0.
    /// The caller's r6-r10 are preserved, as across any call.
    func callFunction(atSlot slot: Int, in program: ExecutableProgram, arguments: HelperArguments,
                      callerDepth: Int, callerStackLow: UInt64, context: HelperCallContext) throws(HelperError) -> UInt64 {
        guard slot >= 0, slot < program.slotCount else {
            throw .fault("callback slot \(slot) is outside the program")
        }
        guard callerDepth + 1 < Registers.maxCallDepth else {
            throw .fault("the callback would nest calls deeper than \(Registers.maxCallDepth) frames")
        }
        let r = memory.registers
        let saved = (r[6], r[7], r[8], r[9], r[10])
        let savedRange = context.stackRange
        r[1] = arguments.r1; r[2] = arguments.r2; r[3] = arguments.r3; r[4] = arguments.r4; r[5] = arguments.r5
        r[10] = callerStackLow
        let stackLow = callerStackLow &- UInt64(Registers.stackSize)
        // Unsafe 6: callerDepth + 1 < maxCallDepth, so the new frame lies inside the stack allocation.
        UnsafeMutableRawPointer(bitPattern: UInt(stackLow)).unsafelyUnwrapped
            .initializeMemory(as: UInt8.self, repeating: 0, count: Registers.stackSize)
        let entry = Entry(pc: slot, program: program, depth: callerDepth + 1, stackLow: stackLow)
        var executed: UInt64 = 0
        let trap = switch mode {
        case .checked: execute(CheckedAccess.self, entry: entry, context: context, packet: nil, executed: &executed)
        case .trusted: execute(TrustedAccess.self, entry: entry, context: context, packet: nil, executed: &executed)
        }
        let result = r[0]
        (r[6], r[7], r[8], r[9], r[10]) = saved
        context.stackRange = savedRange
        context.callerDepth = callerDepth
        context.callerProgram = Unmanaged.passUnretained(program)
        if case .exit = trap { return result }
        throw .fault("callback: \(error(for: trap, context: context).description)")
    }

    // MARK: The loop

    /// Where a run of the loop starts: the program's entry, or a callback's frame
    /// nested under a helper call (`depth` frames already in use below it).
    struct Entry {
        var pc: Int
        var program: ExecutableProgram
        var depth: Int
        var stackLow: UInt64
    }

    @inline(__always)
    private func execute<Policy: AccessPolicy>(_: Policy.Type, entry: Entry, context: HelperCallContext,
                                               packet: UnsafeRawBufferPointer?, executed: inout UInt64) -> Trap {
        let r = memory.registers
        let frames = memory.frames
        let stackTop = memory.top
        let budget = instructionBudget
        var current = Unmanaged.passUnretained(entry.program)
        var code = entry.program.code.base
        var tailCalledPrograms: [ExecutableProgram] = []
        let baseDepth = entry.depth
        var depth = entry.depth
        var pc = entry.pc
        var count: UInt64 = 0
        var stackLow = entry.stackLow
        var mayGotoLeft = mayGotoLimit
        defer { executed = count }

        /// Checked mode: the access must lie in the live stack frames or a region.
        @inline(__always)
        func allowed(_ address: UInt64, _ size: UInt64, write: Bool) -> Bool {
            if address >= stackLow && address <= stackTop &- size { return true }
            return context.isAccessible(address: address, size: size, write: write)
        }

        @inline(__always)
        func pointer(_ address: UInt64) -> UnsafeMutableRawPointer {
            // Unsafe 2: in checked mode `allowed` has proven the address inside the
            // stack or a live region; in trusted mode the verifier has.
            UnsafeMutableRawPointer(bitPattern: UInt(address)).unsafelyUnwrapped
        }

        loop: while true {
            // Unsafe 3: `pc` is always a slot index of `code`: branch targets were
            // checked by the decoder and the slot after the last is a sentinel.
            let s = code[pc]
            pc &+= 1
            count &+= 1
            let d = Int(s.destination)
            let imm = s.immediate
            switch s.operation {
            // MARK: ALU64
            case .add64Imm: r[d] = r[d] &+ UInt64(bitPattern: imm)
            case .add64Reg: r[d] = r[d] &+ r[Int(s.source)]
            case .sub64Imm: r[d] = r[d] &- UInt64(bitPattern: imm)
            case .sub64Reg: r[d] = r[d] &- r[Int(s.source)]
            case .mul64Imm: r[d] = r[d] &* UInt64(bitPattern: imm)
            case .mul64Reg: r[d] = r[d] &* r[Int(s.source)]
            case .div64Imm: r[d] = Self.udiv64(r[d], UInt64(bitPattern: imm))
            case .div64Reg: r[d] = Self.udiv64(r[d], r[Int(s.source)])
            case .sdiv64Imm: r[d] = Self.sdiv64(r[d], UInt64(bitPattern: imm))
            case .sdiv64Reg: r[d] = Self.sdiv64(r[d], r[Int(s.source)])
            case .or64Imm: r[d] = r[d] | UInt64(bitPattern: imm)
            case .or64Reg: r[d] = r[d] | r[Int(s.source)]
            case .and64Imm: r[d] = r[d] & UInt64(bitPattern: imm)
            case .and64Reg: r[d] = r[d] & r[Int(s.source)]
            case .lsh64Imm: r[d] = r[d] << (UInt64(bitPattern: imm) & 63)
            case .lsh64Reg: r[d] = r[d] << (r[Int(s.source)] & 63)
            case .rsh64Imm: r[d] = r[d] >> (UInt64(bitPattern: imm) & 63)
            case .rsh64Reg: r[d] = r[d] >> (r[Int(s.source)] & 63)
            case .mod64Imm: r[d] = Self.umod64(r[d], UInt64(bitPattern: imm))
            case .mod64Reg: r[d] = Self.umod64(r[d], r[Int(s.source)])
            case .smod64Imm: r[d] = Self.smod64(r[d], UInt64(bitPattern: imm))
            case .smod64Reg: r[d] = Self.smod64(r[d], r[Int(s.source)])
            case .xor64Imm: r[d] = r[d] ^ UInt64(bitPattern: imm)
            case .xor64Reg: r[d] = r[d] ^ r[Int(s.source)]
            case .mov64Imm: r[d] = UInt64(bitPattern: imm)
            case .mov64Reg: r[d] = r[Int(s.source)]
            case .arsh64Imm: r[d] = UInt64(bitPattern: Int64(bitPattern: r[d]) >> (imm & 63))
            case .arsh64Reg: r[d] = UInt64(bitPattern: Int64(bitPattern: r[d]) >> (r[Int(s.source)] & 63))
            case .neg64: r[d] = 0 &- r[d]
            case .movsx8To64: r[d] = UInt64(bitPattern: Int64(Int8(truncatingIfNeeded: r[Int(s.source)])))
            case .movsx16To64: r[d] = UInt64(bitPattern: Int64(Int16(truncatingIfNeeded: r[Int(s.source)])))
            case .movsx32To64: r[d] = UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: r[Int(s.source)])))

            // MARK: ALU32 (results zero-extend)
            case .add32Imm: r[d] = Self.zext(Self.low(r[d]) &+ Self.low(imm))
            case .add32Reg: r[d] = Self.zext(Self.low(r[d]) &+ Self.low(r[Int(s.source)]))
            case .sub32Imm: r[d] = Self.zext(Self.low(r[d]) &- Self.low(imm))
            case .sub32Reg: r[d] = Self.zext(Self.low(r[d]) &- Self.low(r[Int(s.source)]))
            case .mul32Imm: r[d] = Self.zext(Self.low(r[d]) &* Self.low(imm))
            case .mul32Reg: r[d] = Self.zext(Self.low(r[d]) &* Self.low(r[Int(s.source)]))
            case .div32Imm: r[d] = Self.udiv32(r[d], Self.low(imm))
            case .div32Reg: r[d] = Self.udiv32(r[d], Self.low(r[Int(s.source)]))
            case .sdiv32Imm: r[d] = Self.sdiv32(r[d], Self.low(imm))
            case .sdiv32Reg: r[d] = Self.sdiv32(r[d], Self.low(r[Int(s.source)]))
            case .or32Imm: r[d] = Self.zext(Self.low(r[d]) | Self.low(imm))
            case .or32Reg: r[d] = Self.zext(Self.low(r[d]) | Self.low(r[Int(s.source)]))
            case .and32Imm: r[d] = Self.zext(Self.low(r[d]) & Self.low(imm))
            case .and32Reg: r[d] = Self.zext(Self.low(r[d]) & Self.low(r[Int(s.source)]))
            case .lsh32Imm: r[d] = Self.zext(Self.low(r[d]) << (Self.low(imm) & 31))
            case .lsh32Reg: r[d] = Self.zext(Self.low(r[d]) << (Self.low(r[Int(s.source)]) & 31))
            case .rsh32Imm: r[d] = Self.zext(Self.low(r[d]) >> (Self.low(imm) & 31))
            case .rsh32Reg: r[d] = Self.zext(Self.low(r[d]) >> (Self.low(r[Int(s.source)]) & 31))
            case .mod32Imm: r[d] = Self.umod32(r[d], Self.low(imm))
            case .mod32Reg: r[d] = Self.umod32(r[d], Self.low(r[Int(s.source)]))
            case .smod32Imm: r[d] = Self.smod32(r[d], Self.low(imm))
            case .smod32Reg: r[d] = Self.smod32(r[d], Self.low(r[Int(s.source)]))
            case .xor32Imm: r[d] = Self.zext(Self.low(r[d]) ^ Self.low(imm))
            case .xor32Reg: r[d] = Self.zext(Self.low(r[d]) ^ Self.low(r[Int(s.source)]))
            case .mov32Imm: r[d] = Self.zext(Self.low(imm))
            case .mov32Reg: r[d] = Self.zext(Self.low(r[Int(s.source)]))
            case .arsh32Imm: r[d] = Self.arsh32(r[d], Self.low(imm))
            case .arsh32Reg: r[d] = Self.arsh32(r[d], Self.low(r[Int(s.source)]))
            case .neg32: r[d] = Self.zext(0 &- Self.low(r[d]))
            case .movsx8To32: r[d] = Self.zext(UInt32(bitPattern: Int32(Int8(truncatingIfNeeded: r[Int(s.source)]))))
            case .movsx16To32: r[d] = Self.zext(UInt32(bitPattern: Int32(Int16(truncatingIfNeeded: r[Int(s.source)]))))

            // MARK: Byte order (the host is little-endian)
            case .le16: r[d] = UInt64(UInt16(truncatingIfNeeded: r[d]))
            case .le32: r[d] = UInt64(UInt32(truncatingIfNeeded: r[d]))
            case .le64: break
            case .be16, .bswap16: r[d] = UInt64(UInt16(truncatingIfNeeded: r[d]).byteSwapped)
            case .be32, .bswap32: r[d] = UInt64(UInt32(truncatingIfNeeded: r[d]).byteSwapped)
            case .be64, .bswap64: r[d] = r[d].byteSwapped

            // MARK: Jumps (targets are absolute slots in `offset`)
            case .ja:
                pc = Int(s.offset)
                if count > budget { return .budget(pc: pc) }
            case .jaLong:
                pc = Int(s.offset)
                if count > budget { return .budget(pc: pc) }
            case .jeq64Imm: if r[d] == UInt64(bitPattern: imm) { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jeq64Reg: if r[d] == r[Int(s.source)] { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jeq32Imm: if Self.low(r[d]) == Self.low(imm) { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jeq32Reg: if Self.low(r[d]) == Self.low(r[Int(s.source)]) { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jne64Imm: if r[d] != UInt64(bitPattern: imm) { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jne64Reg: if r[d] != r[Int(s.source)] { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jne32Imm: if Self.low(r[d]) != Self.low(imm) { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jne32Reg: if Self.low(r[d]) != Self.low(r[Int(s.source)]) { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jgt64Imm: if r[d] > UInt64(bitPattern: imm) { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jgt64Reg: if r[d] > r[Int(s.source)] { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jgt32Imm: if Self.low(r[d]) > Self.low(imm) { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jgt32Reg: if Self.low(r[d]) > Self.low(r[Int(s.source)]) { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jge64Imm: if r[d] >= UInt64(bitPattern: imm) { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jge64Reg: if r[d] >= r[Int(s.source)] { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jge32Imm: if Self.low(r[d]) >= Self.low(imm) { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jge32Reg: if Self.low(r[d]) >= Self.low(r[Int(s.source)]) { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jlt64Imm: if r[d] < UInt64(bitPattern: imm) { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jlt64Reg: if r[d] < r[Int(s.source)] { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jlt32Imm: if Self.low(r[d]) < Self.low(imm) { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jlt32Reg: if Self.low(r[d]) < Self.low(r[Int(s.source)]) { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jle64Imm: if r[d] <= UInt64(bitPattern: imm) { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jle64Reg: if r[d] <= r[Int(s.source)] { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jle32Imm: if Self.low(r[d]) <= Self.low(imm) { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jle32Reg: if Self.low(r[d]) <= Self.low(r[Int(s.source)]) { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jset64Imm: if r[d] & UInt64(bitPattern: imm) != 0 { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jset64Reg: if r[d] & r[Int(s.source)] != 0 { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jset32Imm: if Self.low(r[d]) & Self.low(imm) != 0 { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jset32Reg: if Self.low(r[d]) & Self.low(r[Int(s.source)]) != 0 { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jsgt64Imm: if Int64(bitPattern: r[d]) > imm { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jsgt64Reg: if Int64(bitPattern: r[d]) > Int64(bitPattern: r[Int(s.source)]) { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jsgt32Imm: if Self.slow(r[d]) > Int32(truncatingIfNeeded: imm) { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jsgt32Reg: if Self.slow(r[d]) > Self.slow(r[Int(s.source)]) { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jsge64Imm: if Int64(bitPattern: r[d]) >= imm { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jsge64Reg: if Int64(bitPattern: r[d]) >= Int64(bitPattern: r[Int(s.source)]) { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jsge32Imm: if Self.slow(r[d]) >= Int32(truncatingIfNeeded: imm) { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jsge32Reg: if Self.slow(r[d]) >= Self.slow(r[Int(s.source)]) { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jslt64Imm: if Int64(bitPattern: r[d]) < imm { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jslt64Reg: if Int64(bitPattern: r[d]) < Int64(bitPattern: r[Int(s.source)]) { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jslt32Imm: if Self.slow(r[d]) < Int32(truncatingIfNeeded: imm) { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jslt32Reg: if Self.slow(r[d]) < Self.slow(r[Int(s.source)]) { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jsle64Imm: if Int64(bitPattern: r[d]) <= imm { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jsle64Reg: if Int64(bitPattern: r[d]) <= Int64(bitPattern: r[Int(s.source)]) { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jsle32Imm: if Self.slow(r[d]) <= Int32(truncatingIfNeeded: imm) { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .jsle32Reg: if Self.slow(r[d]) <= Self.slow(r[Int(s.source)]) { pc = Int(s.offset); if count > budget { return .budget(pc: pc) } }
            case .mayGoto:
                if mayGotoLeft == 0 { pc = Int(s.offset) } else { mayGotoLeft &-= 1 }

            // MARK: Calls
            case .callLocal:
                guard depth + 1 < Registers.maxCallDepth else { return .callDepth(pc: pc - 1) }
                if count > budget { return .budget(pc: pc - 1) }
                frames[depth] = CallFrame(returnSlot: pc, r6: r[6], r7: r[7], r8: r[8], r9: r[9],
                                          framePointer: r[10], code: code, program: current)
                depth += 1
                r[10] = r[10] &- UInt64(Registers.stackSize)
                stackLow = r[10] &- UInt64(Registers.stackSize)
                // Unsafe 4: frames are `stackSize` bytes apart and depth < maxCallDepth,
                // so the new frame lies inside the stack allocation.
                pointer(stackLow).initializeMemory(as: UInt8.self, repeating: 0, count: Registers.stackSize)
                pc = Int(imm)
            case .exit:
                if depth == baseDepth { return .exit }
                depth -= 1
                let frame = frames[depth]
                pc = frame.returnSlot
                r[6] = frame.r6; r[7] = frame.r7; r[8] = frame.r8; r[9] = frame.r9
                r[10] = frame.framePointer
                stackLow = r[10] &- UInt64(Registers.stackSize)
                code = frame.code
                current = frame.program
            case .callHelper, .callRegister:
                let helper: Helper
                if s.operation == .callHelper {
                    helper = current._withUnsafeGuaranteedRef { $0.boundHelpers[Int(imm)] }
                } else {
                    guard let id = Int32(exactly: r[d]),
                          let found = current._withUnsafeGuaranteedRef({ $0.helpers[id] }) else {
                        return .unknownHelper(pc: pc - 1, id: r[d])
                    }
                    helper = found
                }
                context.stackRange = (stackLow, stackTop)
                context.callerDepth = depth
                context.callerProgram = current
                if let trap = Self.callHelper(helper, registers: r, context: context, pc: pc - 1) { return trap }
                if let next = context.pendingTailCall {
                    context.pendingTailCall = nil
                    tailCalledPrograms.append(next)
                    current = Unmanaged.passUnretained(next)
                    code = next.code.base
                    pc = 0
                }
            case .callKernelFunction:
                // Only sentinels: loaded programs never contain kfunc calls, and the
                // second slot of an lddw is never reached (the decoder refuses jumps
                // into it), so this is the slot after the last instruction.
                return .fellOffEnd(pc: pc - 1)

            // MARK: 64-bit immediates (pseudo references were resolved when loading)
            case .loadImm64, .loadMapFD, .loadMapValue, .loadBTFID, .loadFunction, .loadMapIndex, .loadMapIndexValue:
                r[d] = UInt64(bitPattern: imm)
                pc &+= 1

            // MARK: Loads
            case .ldxb, .ldxh, .ldxw, .ldxdw, .ldxsb, .ldxsh, .ldxsw:
                let address = r[Int(s.source)] &+ UInt64(bitPattern: Int64(s.offset))
                let size = Self.accessSize(s.operation)
                if Policy.isChecked, !allowed(address, size, write: false) {
                    return Self.memoryTrap(pc - 1, address, size, write: false)
                }
                let p = pointer(address)
                switch s.operation {
                case .ldxb: r[d] = UInt64(p.load(as: UInt8.self))
                case .ldxh: r[d] = UInt64(p.loadUnaligned(as: UInt16.self))
                case .ldxw: r[d] = UInt64(p.loadUnaligned(as: UInt32.self))
                case .ldxdw: r[d] = p.loadUnaligned(as: UInt64.self)
                case .ldxsb: r[d] = UInt64(bitPattern: Int64(p.load(as: Int8.self)))
                case .ldxsh: r[d] = UInt64(bitPattern: Int64(p.loadUnaligned(as: Int16.self)))
                default: r[d] = UInt64(bitPattern: Int64(p.loadUnaligned(as: Int32.self)))
                }

            // MARK: Stores
            case .stb, .sth, .stw, .stdw, .stxb, .stxh, .stxw, .stxdw:
                let address = r[d] &+ UInt64(bitPattern: Int64(s.offset))
                let size = Self.accessSize(s.operation)
                if Policy.isChecked, !allowed(address, size, write: true) {
                    return Self.memoryTrap(pc - 1, address, size, write: true)
                }
                let value: UInt64
                switch s.operation {
                case .stb, .sth, .stw, .stdw: value = UInt64(bitPattern: imm)
                default: value = r[Int(s.source)]
                }
                let p = pointer(address)
                switch size {
                case 1: p.storeBytes(of: UInt8(truncatingIfNeeded: value), as: UInt8.self)
                case 2: p.storeBytes(of: UInt16(truncatingIfNeeded: value), toByteOffset: 0, as: UInt16.self)
                case 4: p.storeBytes(of: UInt32(truncatingIfNeeded: value), toByteOffset: 0, as: UInt32.self)
                default: p.storeBytes(of: value, toByteOffset: 0, as: UInt64.self)
                }

            // MARK: Atomics
            case .atomicAdd32, .atomicOr32, .atomicAnd32, .atomicXor32, .atomicFetchAdd32, .atomicFetchOr32,
                .atomicFetchAnd32, .atomicFetchXor32, .atomicXchg32, .atomicCmpxchg32,
                .atomicAdd64, .atomicOr64, .atomicAnd64, .atomicXor64, .atomicFetchAdd64, .atomicFetchOr64,
                .atomicFetchAnd64, .atomicFetchXor64, .atomicXchg64, .atomicCmpxchg64,
                .loadAcquire8, .loadAcquire16, .loadAcquire32, .loadAcquire64,
                .storeRelease8, .storeRelease16, .storeRelease32, .storeRelease64:
                let isLoad = s.operation.descriptor.form == .loadAcquire
                let base = isLoad ? r[Int(s.source)] : r[d]
                let address = base &+ UInt64(bitPattern: Int64(s.offset))
                let size = UInt64(s.operation.descriptor.accessSize)
                if Policy.isChecked {
                    if !allowed(address, size, write: !isLoad) {
                        return Self.memoryTrap(pc - 1, address, size, write: !isLoad)
                    }
                    if address % size != 0 {
                        return .memory(pc: pc - 1, address: address, size: Int(size), isWrite: !isLoad,
                                       reason: "is not aligned to \(size) bytes, as atomic operations require")
                    }
                }
                Self.atomic(s.operation, pointer(address), registers: r, destination: d, source: Int(s.source))

            // MARK: Legacy packet loads
            case .ldabsb, .ldabsh, .ldabsw, .ldindb, .ldindh, .ldindw:
                guard let packet else { return .noPacket(pc: pc - 1) }
                var offset = Int64(imm)
                switch s.operation {
                case .ldindb, .ldindh, .ldindw: offset &+= Int64(Int32(truncatingIfNeeded: r[Int(s.source)]))
                default: break
                }
                guard let value = Self.packetLoad(packet, offset: offset, size: Int(Self.accessSize(s.operation))) else {
                    // Linux ends the program with r0 = 0 when the load is out of bounds.
                    r[0] = 0
                    return .exit
                }
                r[0] = value
            }
        }
    }

    // MARK: Semantics kept out of the loop body

    @inline(__always) static func low(_ value: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: value) }
    @inline(__always) static func low(_ value: Int64) -> UInt32 { UInt32(truncatingIfNeeded: value) }
    @inline(__always) static func slow(_ value: UInt64) -> Int32 { Int32(truncatingIfNeeded: value) }
    @inline(__always) static func zext(_ value: UInt32) -> UInt64 { UInt64(value) }

    /// Linux: division by zero gives 0.
    @inline(__always) static func udiv64(_ a: UInt64, _ b: UInt64) -> UInt64 { b == 0 ? 0 : a / b }
    @inline(__always) static func udiv32(_ a: UInt64, _ b: UInt32) -> UInt64 { b == 0 ? 0 : UInt64(low(a) / b) }
    /// Linux: modulo by zero leaves the dividend (truncated to 32 bits for ALU32).
    @inline(__always) static func umod64(_ a: UInt64, _ b: UInt64) -> UInt64 { b == 0 ? a : a % b }
    @inline(__always) static func umod32(_ a: UInt64, _ b: UInt32) -> UInt64 { b == 0 ? UInt64(low(a)) : UInt64(low(a) % b) }
    /// Signed division: by zero gives 0; INT_MIN / -1 wraps to INT_MIN.
    @inline(__always) static func sdiv64(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let divisor = Int64(bitPattern: b)
        if divisor == 0 { return 0 }
        if divisor == -1 { return 0 &- a }
        return UInt64(bitPattern: Int64(bitPattern: a) / divisor)
    }
    @inline(__always) static func sdiv32(_ a: UInt64, _ b: UInt32) -> UInt64 {
        let divisor = Int32(bitPattern: b)
        if divisor == 0 { return 0 }
        if divisor == -1 { return UInt64(0 &- low(a)) }
        return UInt64(UInt32(bitPattern: Int32(bitPattern: low(a)) / divisor))
    }
    /// Signed modulo: by zero leaves the dividend; the result has the dividend's sign.
    @inline(__always) static func smod64(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let divisor = Int64(bitPattern: b)
        if divisor == 0 { return a }
        if divisor == -1 { return 0 }
        return UInt64(bitPattern: Int64(bitPattern: a) % divisor)
    }
    @inline(__always) static func smod32(_ a: UInt64, _ b: UInt32) -> UInt64 {
        let divisor = Int32(bitPattern: b)
        if divisor == 0 { return UInt64(low(a)) }
        if divisor == -1 { return 0 }
        return UInt64(UInt32(bitPattern: Int32(bitPattern: low(a)) % divisor))
    }
    @inline(__always) static func arsh32(_ a: UInt64, _ shift: UInt32) -> UInt64 {
        UInt64(UInt32(bitPattern: Int32(bitPattern: low(a)) >> (shift & 31)))
    }

    @inline(__always) static func accessSize(_ operation: Operation) -> UInt64 {
        switch operation {
        case .ldxb, .ldxsb, .stb, .stxb, .ldabsb, .ldindb: 1
        case .ldxh, .ldxsh, .sth, .stxh, .ldabsh, .ldindh: 2
        case .ldxw, .ldxsw, .stw, .stxw, .ldabsw, .ldindw: 4
        default: 8
        }
    }

    @inline(never)
    static func memoryTrap(_ pc: Int, _ address: UInt64, _ size: UInt64, write: Bool) -> Trap {
        let reason = address < 4096
            ? "is a null (or near-null) pointer dereference"
            : "is outside the memory the program may touch"
        return .memory(pc: pc, address: address, size: Int(size), isWrite: write, reason: reason)
    }

    @inline(never)
    static func callHelper(_ helper: Helper, registers r: UnsafeMutablePointer<UInt64>, context: HelperCallContext,
                           pc: Int) -> Trap? {
        do {
            r[0] = try helper.body(HelperArguments(r[1], r[2], r[3], r[4], r[5]), context)
            return nil
        } catch .exitProgram(let value) {
            r[0] = value
            return .exit
        } catch {
            return .helper(pc: pc, name: helper.name, error: error)
        }
    }

    @inline(never)
    static func packetLoad(_ packet: UnsafeRawBufferPointer, offset: Int64, size: Int) -> UInt64? {
        guard offset >= 0, offset <= Int64(packet.count - size) else { return nil }
        var value: UInt64 = 0
        for index in 0..<size {
            value = value << 8 | UInt64(packet[Int(offset) + index])
        }
        return value
    }

    @inline(never)
    static func atomic(_ operation: Operation, _ p: UnsafeMutableRawPointer, registers r: UnsafeMutablePointer<UInt64>,
                       destination d: Int, source s: Int) {
        // Unsafe 5: the address was checked (checked mode) or proven (trusted mode)
        // in bounds and aligned; atomics reinterpret it for the duration of one call.
        let a32 = p.assumingMemoryBound(to: Atomic<UInt32>.self)
        let a64 = p.assumingMemoryBound(to: Atomic<UInt64>.self)
        let v32 = low(r[s])
        let v64 = r[s]
        switch operation {
        case .atomicAdd32: _ = a32.pointee.wrappingAdd(v32, ordering: .sequentiallyConsistent)
        case .atomicOr32: _ = a32.pointee.bitwiseOr(v32, ordering: .sequentiallyConsistent)
        case .atomicAnd32: _ = a32.pointee.bitwiseAnd(v32, ordering: .sequentiallyConsistent)
        case .atomicXor32: _ = a32.pointee.bitwiseXor(v32, ordering: .sequentiallyConsistent)
        case .atomicFetchAdd32: r[s] = UInt64(a32.pointee.wrappingAdd(v32, ordering: .sequentiallyConsistent).oldValue)
        case .atomicFetchOr32: r[s] = UInt64(a32.pointee.bitwiseOr(v32, ordering: .sequentiallyConsistent).oldValue)
        case .atomicFetchAnd32: r[s] = UInt64(a32.pointee.bitwiseAnd(v32, ordering: .sequentiallyConsistent).oldValue)
        case .atomicFetchXor32: r[s] = UInt64(a32.pointee.bitwiseXor(v32, ordering: .sequentiallyConsistent).oldValue)
        case .atomicXchg32: r[s] = UInt64(a32.pointee.exchange(v32, ordering: .sequentiallyConsistent))
        case .atomicCmpxchg32:
            let result = a32.pointee.compareExchange(expected: low(r[0]), desired: v32, ordering: .sequentiallyConsistent)
            r[0] = UInt64(result.original)
        case .atomicAdd64: _ = a64.pointee.wrappingAdd(v64, ordering: .sequentiallyConsistent)
        case .atomicOr64: _ = a64.pointee.bitwiseOr(v64, ordering: .sequentiallyConsistent)
        case .atomicAnd64: _ = a64.pointee.bitwiseAnd(v64, ordering: .sequentiallyConsistent)
        case .atomicXor64: _ = a64.pointee.bitwiseXor(v64, ordering: .sequentiallyConsistent)
        case .atomicFetchAdd64: r[s] = a64.pointee.wrappingAdd(v64, ordering: .sequentiallyConsistent).oldValue
        case .atomicFetchOr64: r[s] = a64.pointee.bitwiseOr(v64, ordering: .sequentiallyConsistent).oldValue
        case .atomicFetchAnd64: r[s] = a64.pointee.bitwiseAnd(v64, ordering: .sequentiallyConsistent).oldValue
        case .atomicFetchXor64: r[s] = a64.pointee.bitwiseXor(v64, ordering: .sequentiallyConsistent).oldValue
        case .atomicXchg64: r[s] = a64.pointee.exchange(v64, ordering: .sequentiallyConsistent)
        case .atomicCmpxchg64:
            r[0] = a64.pointee.compareExchange(expected: r[0], desired: v64, ordering: .sequentiallyConsistent).original
        case .loadAcquire8: r[d] = UInt64(p.assumingMemoryBound(to: Atomic<UInt8>.self).pointee.load(ordering: .acquiring))
        case .loadAcquire16: r[d] = UInt64(p.assumingMemoryBound(to: Atomic<UInt16>.self).pointee.load(ordering: .acquiring))
        case .loadAcquire32: r[d] = UInt64(a32.pointee.load(ordering: .acquiring))
        case .loadAcquire64: r[d] = a64.pointee.load(ordering: .acquiring)
        case .storeRelease8: p.assumingMemoryBound(to: Atomic<UInt8>.self).pointee.store(UInt8(truncatingIfNeeded: v64), ordering: .releasing)
        case .storeRelease16: p.assumingMemoryBound(to: Atomic<UInt16>.self).pointee.store(UInt16(truncatingIfNeeded: v64), ordering: .releasing)
        case .storeRelease32: a32.pointee.store(v32, ordering: .releasing)
        case .storeRelease64: a64.pointee.store(v64, ordering: .releasing)
        default: preconditionFailure("\(operation) is not an atomic operation")
        }
    }

    // MARK: Traps to errors (slow path)

    @inline(never)
    private func error(for trap: Trap, context: HelperCallContext) -> ExecutionError {
        func text(_ pc: Int) -> String {
            program.instruction(atSlot: pc).map { Disassembler.text(of: $0, syntax: .conformance) } ?? "slot \(pc)"
        }
        switch trap {
        case .exit: preconditionFailure("exit is not an error")
        case .memory(let pc, let address, let size, let isWrite, let reason):
            return .memoryFault(pc: pc, instruction: text(pc), address: address, size: size, isWrite: isWrite, reason: reason)
        case .budget(let pc): return .instructionBudgetExhausted(pc: pc, budget: instructionBudget)
        case .callDepth(let pc): return .callDepthExceeded(pc: pc, instruction: text(pc), limit: Registers.maxCallDepth)
        case .unknownHelper(let pc, let id): return .unknownHelper(pc: pc, instruction: text(pc), id: id)
        case .helper(let pc, let name, let error):
            let message = switch error {
            case .fault(let message): message
            case .exitProgram(let value): "ended the program with \(value)"
            }
            return .helperFault(pc: pc, helper: name, message: message)
        case .fellOffEnd(let pc): return .fellOffEnd(pc: pc)
        case .noPacket(let pc): return .noPacket(pc: pc, instruction: text(pc))
        }
    }
}
