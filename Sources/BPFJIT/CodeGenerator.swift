import BPFInstructionSet
import BPFRuntime
import BPFVerifier

/// Where each BPF register lives while JIT'd code runs. r0-r5 sit in the registers of
/// the C calling convention (r0 the return value, r1-r5 the arguments), so a helper call
/// needs no moves; r6-r9 sit in callee-saved registers; r10 is rbp and points at the top
/// of the current 512-byte frame of a separate BPF stack. r12 holds the run's context
/// block; r9, r10 and r11 are scratch.
let registerMap: [X86Register] = [.rax, .rdi, .rsi, .rdx, .rcx, .r8, .rbx, .r13, .r14, .r15, .rbp]

/// Translates one program into machine code. Every BPF slot gets a label; a function is
/// just its first slot (calls save r6-r10 at the call site), so `exit` is `ret`, a tail
/// call is a `jmp` into the target's slot 0, and a callback can start at any slot.
struct CodeGenerator {
    let instructions: [DecodedInstruction]
    let program: ExecutableProgram
    let facts: [InstructionFacts]?
    let mode: ExecutionMode
    let slotCount: Int
    /// Addresses baked into the code.
    let siteBase: UnsafeMutablePointer<CallSiteRecord>
    let helperTrampoline: UInt64
    /// The unit's helpers (`call imm`), in binding order; filled while generating.
    var helperIndex: [Int32: Int] = [:]
    var helpers: [Helper] = []
    var siteCount = 0

    var asm = X86Encoder()
    var slotLabels: [Int] = []
    var commonExit = 0
    var epilogue = 0
    /// `zeroFrame[k]` clears the frame below rbp from byte 16 k up (32: nothing).
    var zeroFrame: [Int] = []
    /// Trusted code with facts: stack bytes each function uses (by entry slot), so that a
    /// call clears only those of the callee's frame (nothing else of it can be read).
    let stackDepth: [Int: Int]?
    var regionCheck = 0
    var isTarget: [Bool]
    /// Out-of-line code, emitted after the body.
    var cold: [(label: Int, stub: ColdStub)] = []
    /// Per slot, where its code starts and ends (for listings).
    var slotRanges: [Range<Int>] = []
    /// BPF registers (bit per register) whose upper 32 bits are known to be zero here,
    /// within the current straight-line block (from the verifier's `upperHalfZero` facts).
    var upperHalfZero: UInt16 = 0

    enum ColdStub {
        case trap(RunStatus, pc: Int)
        case memoryFault(pc: Int, size: Int, write: Bool, resume: Int)
        case misaligned(pc: Int, size: Int, write: Bool)
        case afterHelper
        case packetOutOfBounds
        case budgetThenJump(target: Int, targetLabel: Int)
    }

    var checked: Bool { mode == .checked }

    init(program: ExecutableProgram, facts: [InstructionFacts]?, stackDepth: [Int: Int]? = nil, mode: ExecutionMode,
         siteBase: UnsafeMutablePointer<CallSiteRecord>, helperTrampoline: UInt64) {
        self.program = program
        self.stackDepth = mode == .trusted ? stackDepth : nil
        self.instructions = program.instructions
        self.facts = facts
        self.mode = mode
        self.slotCount = program.slotCount
        self.siteBase = siteBase
        self.helperTrampoline = helperTrampoline
        var targets = [Bool](repeating: false, count: program.slotCount + 1)
        targets[0] = true
        for instruction in program.instructions {
            if let target = instruction.target { targets[target] = true }
        }
        self.isTarget = targets
    }

    func reg(_ number: UInt8) -> X86Register { registerMap[Int(number)] }

    func fact(_ slot: Int) -> InstructionFacts? {
        guard mode == .trusted, let facts, slot < facts.count else { return nil }
        return facts[slot]
    }

    // MARK: Passes

    /// Generates the code, repeating passes so that jumps take their short forms.
    mutating func generate() throws(JITError) -> [UInt8] {
        for instruction in instructions {
            try Self.check(instruction)
        }
        var pass = 0
        while true {
            if pass > 0 { asm.startPass() }
            emitProgram()
            let fits = asm.resolve()
            pass += 1
            // Pass 1 takes every jump long; pass 2 shortens those that reach; more only if one did not.
            if fits && pass >= 2 { break }
            if pass > 12 { throw .unsupported(index: 0, feature: "code whose jumps do not settle") }
        }
        return asm.bytes
    }

    static func check(_ instruction: DecodedInstruction) throws(JITError) {
        let form = instruction.descriptor.form
        let writesDestination: Bool = switch form {
        case .aluRegister, .aluImmediate, .unary, .loadImmediate64, .loadMemory, .loadAcquire: true
        default: false
        }
        if writesDestination && instruction.destination == Registers.framePointer {
            throw .framePointerWritten(index: instruction.index)
        }
        if form == .atomic && instruction.source == Registers.framePointer {
            switch instruction.operation {
            case .atomicAdd32, .atomicOr32, .atomicAnd32, .atomicXor32,
                .atomicAdd64, .atomicOr64, .atomicAnd64, .atomicXor64, .atomicCmpxchg32, .atomicCmpxchg64: break
            default: throw .framePointerWritten(index: instruction.index)
            }
        }
        if instruction.operation == .callKernelFunction {
            throw .unsupported(index: instruction.index, feature: "kernel function calls")
        }
    }

    mutating func emitProgram() {
        siteCount = 0
        cold = []
        helpers = []
        helperIndex = [:]
        slotRanges = []
        if slotLabels.isEmpty {
            slotLabels = (0...slotCount).map { _ in asm.newLabel() }
            commonExit = asm.newLabel()
            epilogue = asm.newLabel()
            zeroFrame = (0...32).map { _ in asm.newLabel() }
            regionCheck = asm.newLabel()
        }
        coldLabelCursor = 0
        localLabelCursor = 0
        emitHostEntry()
        var pending = 0
        var ranges = [Range<Int>](repeating: 0..<0, count: slotCount + 1)
        upperHalfZero = 0
        for instruction in instructions {
            let slot = instruction.index
            if isTarget[slot] { upperHalfZero = 0 }
            if isTarget[slot] && checked { flushCount(&pending) }
            asm.bind(slotLabels[slot])
            if instruction.descriptor.isWide { asm.bind(slotLabels[slot + 1]) }
            let start = asm.count
            if let fact = fact(slot), !fact.reached {
                ranges[slot] = start..<start
                continue
            }
            pending += 1
            if checked && Self.endsSegment(instruction.operation) { flushCount(&pending) }
            emit(instruction)
            trackUpperHalves(after: instruction)
            ranges[slot] = start..<asm.count
        }
        asm.bind(slotLabels[slotCount])
        trap(.fellOffEnd, pc: slotCount)
        emitColdStubs()
        emitSharedStubs()
        slotRanges = ranges
    }

    /// Updates `upperHalfZero` after `instruction` (trusted code with facts only), from the
    /// instruction's form alone: ALU32 results, narrow loads, small constants and copies
    /// of such registers. The verifier's value-based `upperHalfZero` fact is not used: it
    /// holds on the paths the verifier walked, but a path pruned as equivalent may carry a
    /// different (imprecise) value, so it cannot license dropping code.
    mutating func trackUpperHalves(after instruction: DecodedInstruction) {
        guard let fact = fact(instruction.index) else { return }
        let d = UInt16(1) << instruction.destination
        let s = UInt16(1) << instruction.source
        switch instruction.descriptor.form {
        case .aluRegister, .aluImmediate, .unary:
            _ = fact
            if instruction.operation == .le64 || instruction.operation == .be64 || instruction.operation == .bswap64 {
                upperHalfZero &= ~d  // 64-bit byte swaps (le64/be64 sit in the ALU32 class)
            } else if instruction.descriptor.is32Bit {
                upperHalfZero |= d
            } else if instruction.operation == .mov64Reg {
                if upperHalfZero & s != 0 { upperHalfZero |= d } else { upperHalfZero &= ~d }
            } else if (instruction.operation == .mov64Imm || instruction.operation == .and64Imm) && instruction.immediate >= 0 {
                upperHalfZero |= d
            } else if instruction.operation == .rsh64Imm && (instruction.immediate >= 32 || upperHalfZero & d != 0) {
                upperHalfZero |= d
            } else {
                upperHalfZero &= ~d
            }
        case .loadImmediate64:
            let value = program.loadedValue(atSlot: instruction.index) ?? instruction.wideImmediate
            if value <= UInt64(UInt32.max) { upperHalfZero |= d } else { upperHalfZero &= ~d }
        case .loadMemory, .loadAcquire:
            switch instruction.operation {
            case .ldxb, .ldxh, .ldxw, .loadAcquire8, .loadAcquire16, .loadAcquire32: upperHalfZero |= d
            default: upperHalfZero &= ~d
            }
        case .atomic:
            upperHalfZero &= ~(s | 1)
        case .callHelper, .callRegister, .callLocal, .packetAbsolute, .packetIndirect:
            upperHalfZero &= ~0x3f
        default:
            break
        }
    }

    static func endsSegment(_ operation: Operation) -> Bool {
        switch operation.descriptor.form {
        case .jump, .jumpLong, .conditionalImmediate, .conditionalRegister, .mayGoto, .callHelper, .callLocal,
            .callRegister, .exit, .packetAbsolute, .packetIndirect: true
        default: false
        }
    }

    mutating func flushCount(_ pending: inout Int) {
        guard pending > 0 else { return }
        asm.alu(.add, .memory(X86Memory(.r12, Context.instructionCount)), immediate: Int32(pending))
        pending = 0
    }

    // Cold stub labels are allocated in the same order every pass.
    var coldLabelCursor = 0
    var coldLabelPool: [Int] = []
    mutating func coldLabel(_ stub: ColdStub) -> Int {
        if coldLabelCursor == coldLabelPool.count { coldLabelPool.append(asm.newLabel()) }
        let label = coldLabelPool[coldLabelCursor]
        coldLabelCursor += 1
        cold.append((label, stub))
        return label
    }

    var localLabelCursor = 0
    var localLabelPool: [Int] = []

    // MARK: Host entry and shared stubs

    /// `entry(context) -> r0`, the C function the host calls: saves the callee-saved
    /// registers, loads r1-r5 and r10 from the context, zeroes r0 and r6-r9, calls the
    /// slot named in the context and returns r0. Traps unwind to `commonExit`.
    mutating func emitHostEntry() {
        for register in [X86Register.rbp, .rbx, .r12, .r13, .r14, .r15] { asm.push(register) }
        asm.alu(.sub, .register(.rsp), immediate: 8)
        asm.mov(.r12, .rdi)
        asm.store(X86Memory(.r12, Context.savedStackPointer), .rsp, width: .qword)
        asm.load(.rbp, X86Memory(.r12, Context.entryFramePointer), width: .qword)
        for k in 0..<5 { asm.load(registerMap[k + 1], X86Memory(.r12, Context.argument(k)), width: .qword) }
        for register in [X86Register.rax, .rbx, .r13, .r14, .r15] { asm.mov(register, immediate: 0) }
        asm.load(.r11, X86Memory(.r12, Context.entryTarget), width: .qword)
        asm.call(.r11)
        asm.bind(epilogue)
        asm.alu(.add, .register(.rsp), immediate: 8)
        for register in [X86Register.r15, .r14, .r13, .r12, .rbx, .rbp] { asm.pop(register) }
        asm.ret()
        asm.bind(commonExit)
        asm.load(.rsp, X86Memory(.r12, Context.savedStackPointer), width: .qword)
        asm.jump(label: epilogue)
    }

    mutating func emitSharedStubs() {
        // Clears the 512-byte frame below rbp (a new bpf-to-bpf frame), from line k up.
        if instructions.contains(where: { $0.operation == .callLocal }) {
            for k in 0..<32 {
                asm.bind(zeroFrame[k])
                asm.storeXMM0(X86Memory(.rbp, Int32(-512 + 16 * k)))
            }
            asm.bind(zeroFrame[32])
            asm.ret()
        }
        guard checked else { return }

        // Checked mode: is [r11, r11 + r10) inside a region of the table (writable if r9 != 0)?
        // Returns r10 = 0 when it is; preserves everything else but the flags.
        asm.bind(regionCheck)
        for register in [X86Register.rax, .rcx, .rdx, .rsi] { asm.push(register) }
        asm.load(.rax, X86Memory(.r12, Context.regionTable), width: .qword)
        asm.load(.rcx, X86Memory(.r12, Context.regionCount), width: .dword)
        let loop = localLabel(), next = localLabel(), found = localLabel(), notFound = localLabel(), done = localLabel()
        asm.bind(loop)
        asm.test(.rcx, .rcx, width: .dword)
        asm.jump(if: .equal, label: notFound)
        asm.mov(.rdx, .r11)
        asm.alu(.sub, .rdx, X86Memory(.rax, 0))
        asm.jump(if: .below, label: next)
        asm.load(.rsi, X86Memory(.rax, 8), width: .qword)
        asm.alu(.sub, .rsi, .r10)
        asm.jump(if: .below, label: next)
        asm.alu(.cmp, .rdx, .rsi)
        asm.jump(if: .above, label: next)
        asm.test(.r9, .r9)
        asm.jump(if: .equal, label: found)
        asm.alu(.cmp, .memory(X86Memory(.rax, 16)), immediate: 0)
        asm.jump(if: .notEqual, label: found)
        asm.bind(next)
        asm.alu(.add, .register(.rax), immediate: 24)
        asm.alu(.sub, .register(.rcx), immediate: 1, width: .dword)
        asm.jump(label: loop)
        asm.bind(found)
        asm.mov(.r10, immediate: 0)
        asm.jump(label: done)
        asm.bind(notFound)
        asm.mov(.r10, immediate: 1)
        asm.bind(done)
        for register in [X86Register.rsi, .rdx, .rcx, .rax] { asm.pop(register) }
        asm.ret()
    }

    mutating func localLabel() -> Int {
        if localLabelCursor == localLabelPool.count { localLabelPool.append(asm.newLabel()) }
        defer { localLabelCursor += 1 }
        return localLabelPool[localLabelCursor]
    }

    /// Stores the trap's status and pc, then unwinds to the host.
    mutating func trap(_ status: RunStatus, pc: Int) {
        asm.store(X86Memory(.r12, Context.trapPC), immediate: Int32(pc), width: .qword)
        asm.store(X86Memory(.r12, Context.status), immediate: Int32(status.rawValue), width: .qword)
        asm.jump(label: commonExit)
    }

    mutating func emitColdStubs() {
        var index = 0
        while index < cold.count {
            let (label, stub) = cold[index]
            index += 1
            asm.bind(label)
            switch stub {
            case .trap(let status, let pc):
                trap(status, pc: pc)
            case .memoryFault(let pc, let size, let write, let resume):
                // The stack test failed. The run's first region (table entry 1) inline, then
                // the whole table, else a fault with the address in r11.
                let general = localLabel()
                asm.alu(.cmp, .memory(X86Memory(.r12, Context.regionCount)), immediate: 2, width: .dword)
                asm.jump(if: .below, label: general)
                asm.load(.r10, X86Memory(.r12, Context.regionTable), width: .qword)
                asm.mov(.r9, .r11)
                asm.alu(.sub, .r9, X86Memory(.r10, 24))
                asm.jump(if: .below, label: general)
                if write {
                    asm.alu(.cmp, .memory(X86Memory(.r10, 40)), immediate: 0)
                    asm.jump(if: .equal, label: general)
                }
                asm.load(.r10, X86Memory(.r10, 32), width: .qword)
                asm.alu(.sub, .register(.r10), immediate: Int32(size))
                asm.jump(if: .below, label: general)
                asm.alu(.cmp, .r9, .r10)
                asm.jump(if: .belowOrEqual, label: resume)
                asm.bind(general)
                asm.mov(.r10, immediate: UInt64(size))
                asm.mov(.r9, immediate: write ? 1 : 0)
                asm.call(label: regionCheck)
                asm.test(.r10, .r10)
                asm.jump(if: .equal, label: resume)
                storeFault(size: size, write: write)
                trap(.memoryFault, pc: pc)
            case .misaligned(let pc, let size, let write):
                storeFault(size: size, write: write)
                trap(.misaligned, pc: pc)
            case .afterHelper:
                // A fault, an early exit or a tail call. Only the tail call continues here.
                asm.alu(.cmp, .memory(X86Memory(.r12, Context.status)), immediate: Int32(RunStatus.tailCall.rawValue))
                asm.jump(if: .notEqual, label: commonExit)
                asm.store(X86Memory(.r12, Context.status), immediate: 0, width: .qword)
                for k in 0..<5 { asm.load(registerMap[k + 1], X86Memory(.r12, Context.argument(k)), width: .qword) }
                asm.load(.r11, X86Memory(.r12, Context.tailCallTarget), width: .qword)
                asm.jump(.r11)
            case .packetOutOfBounds:
                // Linux ends the program with r0 = 0.
                asm.mov(.rax, immediate: 0)
                asm.jump(label: commonExit)
            case .budgetThenJump(let target, let targetLabel):
                budgetCheck(pc: target)
                asm.jump(label: targetLabel)
            }
        }
    }

    mutating func storeFault(size: Int, write: Bool) {
        asm.store(X86Memory(.r12, Context.trapAddress), .r11, width: .qword)
        asm.store(X86Memory(.r12, Context.trapInfo), immediate: Int32(size | (write ? 0x100 : 0)), width: .qword)
    }

    /// Checked mode: stops with a budget error at `pc` when the count passed the budget.
    mutating func budgetCheck(pc: Int) {
        asm.load(.r11, X86Memory(.r12, Context.instructionCount), width: .qword)
        asm.alu(.cmp, .r11, X86Memory(.r12, Context.instructionBudget))
        asm.jump(if: .above, label: coldLabel(.trap(.budget, pc: pc)))
    }

    /// A jump to slot `target`, through the budget check in checked mode.
    mutating func jump(if condition: X86Condition?, to target: Int) {
        let label = checked ? coldLabel(.budgetThenJump(target: target, targetLabel: slotLabels[target])) : slotLabels[target]
        if let condition { asm.jump(if: condition, label: label) } else { asm.jump(label: label) }
    }
}
