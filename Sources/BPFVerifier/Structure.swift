import BPFInstructionSet

/// The control-flow facts of a program: decoded instructions by slot, functions,
/// prune points and register liveness. Built by `check`, which also refuses
/// programs whose structure Linux refuses (`check_subprogs`, `check_cfg`).
struct ProgramStructure {
    /// Decoded instruction at each slot (nil for the second slot of an lddw).
    var slots: [DecodedInstruction?]
    /// Sorted function entries (0 first).
    var functionEntries: [Int]
    /// Function entry of each slot.
    var functionOf: [Int]
    /// Where Linux's `visit_insn` marks prune points: conditional jumps themselves,
    /// targets of `ja`, the instruction after a call, calls of subprograms and of
    /// callback-taking helpers.
    var isPrunePoint: [Bool]
    /// Prune points where a checkpoint is always stored (`may_goto`, callback-calling helpers).
    var isForceCheckpoint: [Bool]
    /// Helper calls that run a callback (bpf_loop, for_each_map_elem, …).
    var callsCallback: [Bool]
    /// Registers (bit i = ri) whose value may be read before being written, at each slot.
    var liveIn: [UInt16]
    /// Stack slots of the current frame that may still be read, at each slot (StackLiveness).
    var stackLiveIn: [UInt64]

    static func check(_ instructions: [Instruction], options: VerifierOptions) throws(VerifierError) -> ProgramStructure {
        guard instructions.count <= options.instructionLimit else {
            throw .tooManyInstructions(count: instructions.count, limit: options.instructionLimit)
        }
        let decoded: [DecodedInstruction]
        do {
            decoded = try ProgramDecoder.decode(instructions)
        } catch {
            switch error {
            case .incompleteWideInstruction(let index): throw .fallsOffEnd(pc: index)
            default: throw .malformed(pc: error.index ?? 0, reason: error.description)
            }
        }
        let count = instructions.count
        var slots = [DecodedInstruction?](repeating: nil, count: count)
        for d in decoded { slots[d.index] = d }

        // Functions: entry 0, every `call local` target and every `lddw func:` target.
        var entries: Set<Int> = [0]
        for d in decoded where d.operation == .callLocal || d.operation == .loadFunction {
            // Linux's add_subprog_and_kfunc: subprograms need CAP_BPF.
            if options.profile == .unprivileged {
                throw .privilegedOnly(pc: d.index, what: "calls of other BPF functions and function pointers")
            }
            guard let t = d.target, slots[t] != nil else { throw .invalidCallTarget(pc: d.index, target: d.target ?? -1) }
            entries.insert(t)
        }
        let functionEntries = entries.sorted()
        var functionOf = [Int](repeating: 0, count: count)
        for (i, entry) in functionEntries.enumerated() {
            let end = i + 1 < functionEntries.count ? functionEntries[i + 1] : count
            for s in entry..<end { functionOf[s] = entry }
            // The last instruction of each function must be exit or an unconditional jump.
            var last = end - 1
            if slots[last] == nil { last -= 1 }
            if let d = slots[last] {
                if d.operation != .exit && d.operation != .ja && d.operation != .jaLong {
                    throw .fallsOffEnd(pc: last)
                }
            }
        }
        for d in decoded {
            switch d.descriptor.form {
            case .jump, .jumpLong, .conditionalImmediate, .conditionalRegister, .mayGoto:
                if let t = d.target, functionOf[t] != functionOf[d.index] {
                    throw .jumpOutOfFunction(pc: d.index, target: t)
                }
            default: break
            }
        }

        // Reachability (check_cfg): depth-first from every function entry reachable from 0.
        var reached = [Bool](repeating: false, count: count)
        var onStack = [Bool](repeating: false, count: count)
        var isPrunePoint = [Bool](repeating: false, count: count)
        func successors(_ d: DecodedInstruction) -> [Int] {
            switch d.descriptor.form {
            case .exit: return []
            case .jump, .jumpLong: return [d.target!]
            case .conditionalImmediate, .conditionalRegister, .mayGoto: return [d.index + 1, d.target!]
            default: return [d.index + d.slotCount]
            }
        }
        var worklist: [Int] = [0]
        var entriesSeen: Set<Int> = [0]
        while let entry = worklist.popLast() {
            // Iterative DFS with explicit stack of (node, next successor index).
            var stack: [(Int, [Int], Int)] = []
            if reached[entry] { continue }
            reached[entry] = true
            onStack[entry] = true
            if let d = slots[entry], d.operation == .callLocal || d.operation == .loadFunction,
               let callee = d.target, !entriesSeen.contains(callee) {
                entriesSeen.insert(callee)
                worklist.append(callee)
            }
            stack.append((entry, successors(slots[entry]!), 0))
            while !stack.isEmpty {
                let (node, succ, next) = stack[stack.count - 1]
                if next == succ.count {
                    onStack[node] = false
                    stack.removeLast()
                    continue
                }
                stack[stack.count - 1].2 += 1
                let t = succ[next]
                guard t < count, slots[t] != nil else { throw .fallsOffEnd(pc: node) }
                if onStack[t] {
                    if options.profile == .unprivileged { throw .backEdge(pc: node, target: t) }
                    continue
                }
                if reached[t] { continue }
                reached[t] = true
                onStack[t] = true
                let d = slots[t]!
                if (d.operation == .callLocal || d.operation == .loadFunction), let callee = d.target, !entriesSeen.contains(callee) {
                    entriesSeen.insert(callee)
                    worklist.append(callee)
                }
                stack.append((t, successors(d), 0))
            }
        }
        if let first = decoded.first(where: { !reached[$0.index] }) {
            throw .unreachableInstruction(pc: first.index)
        }
        var isForceCheckpoint = [Bool](repeating: false, count: count)
        var callsCallback = [Bool](repeating: false, count: count)
        for d in decoded {
            let t = d.index
            switch d.descriptor.form {
            case .conditionalImmediate, .conditionalRegister:
                // The jump and its target (Linux's visit_insn and push_insn for a BRANCH edge).
                isPrunePoint[t] = true
                if let target = d.target { isPrunePoint[target] = true }
            case .mayGoto:
                isPrunePoint[t] = true
                isForceCheckpoint[t] = true
            case .jump, .jumpLong:
                if let target = d.target { isPrunePoint[target] = true }
            case .callLocal:
                isPrunePoint[t] = true
                if t + 1 < count { isPrunePoint[t + 1] = true }
            case .loadImmediate64 where d.operation == .loadFunction:
                isPrunePoint[t] = true
                if t + 2 < count { isPrunePoint[t + 2] = true }
            case .callHelper, .callKernelFunction, .callRegister:
                if t + 1 < count { isPrunePoint[t + 1] = true }
                if d.descriptor.form == .callHelper,
                   options.helpers.prototype(of: d.immediate)?.arguments.contains(.callback) == true {
                    isPrunePoint[t] = true
                    isForceCheckpoint[t] = true
                    callsCallback[t] = true
                }
            default: break
            }
        }
        let liveIn = computeLiveness(slots: slots, successors: successors) { id in
            options.helpers.prototype(of: id)?.arguments.count
        }
        let stackLiveIn = StackLiveness.compute(slots: slots, successors: successors) { id in
            // Only helpers whose arguments are all numbers, map pointers or the context
            // cannot be handed a pointer into the stack.
            guard let arguments = options.helpers.prototype(of: id)?.arguments else { return true }
            return arguments.contains { argument in
                switch argument {
                case .scalar, .size, .mapPointer, .context, .allocationSize: false
                default: true
                }
            }
        }
        return ProgramStructure(slots: slots, functionEntries: functionEntries, functionOf: functionOf,
                                isPrunePoint: isPrunePoint, isForceCheckpoint: isForceCheckpoint,
                                callsCallback: callsCallback, liveIn: liveIn, stackLiveIn: stackLiveIn)
    }

    /// Registers used and defined by an instruction (for liveness). A helper call reads only
    /// the registers of its prototype's arguments, as Linux's `compute_insn_live_regs` says;
    /// other calls read r1-r5.
    static func usesAndDefs(_ d: DecodedInstruction, helperArguments: Int? = nil) -> (use: UInt16, def: UInt16) {
        let dst = UInt16(1) << UInt16(d.destination), src = UInt16(1) << UInt16(d.source)
        let args: UInt16 = 0b111110, callerSaved: UInt16 = 0b111111
        switch d.descriptor.form {
        case .aluRegister:
            let isMove = [.mov64Reg, .mov32Reg, .movsx8To64, .movsx16To64, .movsx32To64, .movsx8To32, .movsx16To32].contains(d.operation)
            return (isMove ? src : src | dst, dst)
        case .aluImmediate:
            let isMove = d.operation == .mov64Imm || d.operation == .mov32Imm
            return (isMove ? 0 : dst, dst)
        case .unary: return (dst, dst)
        case .conditionalImmediate: return (dst, 0)
        case .conditionalRegister: return (dst | src, 0)
        case .callHelper:
            guard let count = helperArguments else { return (args, callerSaved) }
            return (UInt16((1 << (count + 1)) - 2), callerSaved)
        case .callLocal, .callKernelFunction: return (args, callerSaved)
        case .callRegister: return (args | dst, callerSaved)
        case .exit: return (1, 0)
        case .loadImmediate64: return (0, dst)
        case .loadMemory, .loadAcquire: return (src, dst)
        case .storeImmediate: return (dst, 0)
        case .storeRegister, .storeRelease: return (dst | src, 0)
        case .atomic:
            var def: UInt16 = 0, use = dst | src
            if d.operation == .atomicCmpxchg32 || d.operation == .atomicCmpxchg64 { def = 1; use |= 1 }
            else if d.instruction.immediate & 1 != 0 { def = src }
            return (use, def)
        case .packetAbsolute: return (1 << 6, callerSaved)
        case .packetIndirect: return (1 << 6 | src, callerSaved)
        case .jump, .jumpLong, .mayGoto: return (0, 0)
        }
    }

    static func computeLiveness(slots: [DecodedInstruction?], successors: (DecodedInstruction) -> [Int],
                                helperArguments: (Int32) -> Int?) -> [UInt16] {
        // r10 is always live: it is the frame.
        backwardLiveness(slots: slots, successors: successors) { d in
            let (use, def) = usesAndDefs(d, helperArguments: d.descriptor.form == .callHelper ? helperArguments(d.immediate) : nil)
            return (use | 1 << 10, def)
        }
    }

    /// A backward may-analysis to its fixed point: what is live before a slot is what it
    /// reads, plus what is live after it (on any successor) and it does not overwrite.
    static func backwardLiveness<Mask: FixedWidthInteger>(slots: [DecodedInstruction?], successors: (DecodedInstruction) -> [Int],
                                                          effect: (DecodedInstruction) -> (use: Mask, kill: Mask)) -> [Mask] {
        let effects = slots.map { $0.map(effect) }
        var live = [Mask](repeating: 0, count: slots.count)
        var changed = true
        while changed {
            changed = false
            for i in stride(from: slots.count - 1, through: 0, by: -1) {
                guard let d = slots[i], let (use, kill) = effects[i] else { continue }
                var out: Mask = 0
                for s in successors(d) where s < slots.count { out |= live[s] }
                let new = use | (out & ~kill)
                if new != live[i] { live[i] = new; changed = true }
            }
        }
        return live
    }
}
