import BPFInstructionSet
import BPFObject

/// Proves programs safe as Linux's verifier does, or explains why not.
public struct Verifier: Sendable {
    public var options: VerifierOptions

    public init(options: VerifierOptions = VerifierOptions()) {
        self.options = options
    }

    public func verify(_ input: VerifierInput) -> VerificationResult {
        let structure: ProgramStructure
        do throws(VerifierError) {
            if input.programType == .unspecified { throw VerifierError.unknownProgramType }
            structure = try ProgramStructure.check(input.instructions, options: options)
        } catch {
            let refusal = Engine.refusal(error, input: input, slots: nil, state: nil, path: [])
            return VerificationResult(verdict: .refused(refusal), instructionsProcessed: 0, statesExplored: 0,
                                      log: refusal.explanation)
        }
        let engine = Engine(input: input, options: options, structure: structure)
        return engine.run()
    }
}

/// A refusal raised while exploring a path.
struct Failure: Error {
    var error: VerifierError
}

/// One path being explored.
struct Path {
    var state: AbstractState
    var pc: Int
    /// The latest checkpoint on this path (-1 before the first).
    var parentNode: Int
    /// Branch decisions: `pc << 2 | outcome` (see `Engine.describeDecision`).
    var decisions: [UInt32]
    /// The instructions executed since `parentNode` (Linux's jump history, kept for
    /// every instruction): `pc | flags << 32`, flags from `Engine.stackFlag`.
    var history: [UInt64] = []
    /// Jumps in `history` (Linux forces a checkpoint after 40).
    var historyJumps: Int = 0
}

/// A state stored at a prune point (a checkpoint); `branches` counts paths below it
/// still being explored. Its scalars' `precise` flags grow while `branches > 0`.
struct ExploredNode {
    var state: AbstractState
    var pc: Int
    var parent: Int
    var branches: Int
    /// The instructions from the parent checkpoint up to (not including) `pc`.
    var history: [UInt64]
    var hits = 0, misses = 0
    /// Still in the list of states compared at `pc`.
    var listed = true
    /// Every scalar was marked precise (by a backtracking that lost its way).
    var allPrecise = false
}

final class Engine {
    let input: VerifierInput
    let options: VerifierOptions
    let structure: ProgramStructure
    let privileged: Bool
    var facts: [InstructionFacts]
    var nodes: [ExploredNode] = []
    /// Checkpoints compared at each instruction, oldest first.
    var explored: [[Int]]
    var worklist: [Path] = []
    var processed = 0
    var jumpsProcessed = 0
    var previousJumps = 0, previousProcessed = 0
    var peakStates = 0, liveStates = 0
    var log: [String] = []
    var nextID: UInt32 = 0
    var stackDepth: [Int: Int] = [:]
    var callEdges: Set<[Int]> = []
    /// Pointer kind seen by each load/store (for the mixed-pointer rule).
    var accessKinds: [Int: RegisterKind] = [:]
    /// Unprivileged register-source add/sub: what each instruction recorded (Spectre v1 masking).
    var aluSanitation: [Int: ALUSanitation] = [:]
    /// Set by a fixed-offset stack access during the current instruction (for backtracking).
    var lastStackAccess: UInt64 = 0
    /// Set when a store wrote zero bytes (not a spill) to the stack.
    var zeroStored = false
    /// Where each nullable pointer (by id) came from: the helper or function and its instruction.
    var nullableOrigins: [UInt32: (what: String, pc: Int)] = [:]
    /// Global functions called so far, verified after the main program.
    var globalsToVerify: [Int] = []
    /// The entry of the global function being verified (nil for the main program).
    var verifyingGlobal: Int?
    /// Linux's BPF_COMPLEXITY_LIMIT_JMP_SEQ: pending branches at most.
    static let pendingBranchLimit = 8192

    init(input: VerifierInput, options: VerifierOptions, structure: ProgramStructure) {
        self.input = input
        self.options = options
        self.structure = structure
        self.privileged = options.profile == .privileged
        self.facts = Array(repeating: InstructionFacts(), count: input.instructions.count)
        self.explored = Array(repeating: [], count: input.instructions.count)
    }

    func newID() -> UInt32 { nextID += 1; return nextID }

    func run() -> VerificationResult {
        var initial = AbstractState(frames: [Frame(frameNumber: 0, callSite: -1, functionEntry: 0)])
        initial[register: 1] = .pointer(.context)
        worklist.append(Path(state: initial, pc: 0, parentNode: -1, decisions: []))
        var current: Path?
        do {
            while let path = worklist.popLast() {
                current = path
                try explore(path, current: &current)
            }
            var next = 0
            while next < globalsToVerify.count {
                let entry = globalsToVerify[next]
                next += 1
                guard let signature = input.globalFunctions[entry] else { continue }
                verifyingGlobal = entry
                nodes.removeAll()
                for i in explored.indices where !explored[i].isEmpty { explored[i].removeAll() }
                previousJumps = jumpsProcessed
                previousProcessed = processed
                liveStates = 0
                worklist.append(Path(state: try globalEntryState(entry, signature), pc: entry, parentNode: -1, decisions: []))
                while let path = worklist.popLast() {
                    current = path
                    try explore(path, current: &current)
                }
            }
            try checkStackChains()
        } catch let failure as Failure {
            var text = log
            let path = current
            var refusal = Engine.refusal(failure.error, input: input, slots: structure.slots, state: path?.state,
                                         path: (path?.decisions ?? []).map(describeDecision))
            if case .possiblyNull(_, let r, _) = failure.error, let state = path?.state,
               let origin = nullableOrigins[state[register: r].id] {
                var place = "instruction \(origin.pc)"
                if let line = input.line(at: origin.pc) { place += ", line \(line.line)" }
                refusal.hint = "r\(r) may be NULL here: after \(origin.what) (\(place)) add `if (!value) return …;` (`if r\(r) == 0 goto …`) before reading it"
            }
            if options.logLevel >= 1, let path {
                text.append("the failing path:")
                text.append(contentsOf: path.decisions.map { "  " + describeDecision($0) })
            }
            text.append(refusal.explanation)
            text.append(statistics)
            return VerificationResult(verdict: .refused(refusal), instructionsProcessed: processed,
                                      statesExplored: nodes.count, log: text.joined(separator: "\n"))
        } catch {
            fatalError("unexpected error \(error)")
        }
        for i in facts.indices where facts[i].reached {
            if facts[i].seenTaken != facts[i].seenNotTaken { facts[i].alwaysTaken = facts[i].seenTaken }
        }
        let program = VerifiedProgram(instructions: input.instructions, facts: facts, stackDepth: stackDepth,
                                      subprogramEntries: structure.functionEntries)
        var text = log
        text.append("verification succeeded")
        text.append(statistics)
        return VerificationResult(verdict: .accepted(program), instructionsProcessed: processed,
                                  statesExplored: nodes.count, log: text.joined(separator: "\n"))
    }

    /// The line Linux ends its log with.
    var statistics: String {
        let perInstruction = explored.reduce(0) { max($0, $1.count) }
        return "processed \(processed) insns (limit \(options.complexityLimit)) max_states_per_insn \(perInstruction) total_states \(nodes.count) peak_states \(peakStates)"
    }

    /// A branch decision of the failing path as a sentence.
    func describeDecision(_ code: UInt32) -> String {
        let pc = Int(code >> 2)
        let text = structure.slots[pc].map { Disassembler.text(of: $0, syntax: .c) } ?? "?"
        if structure.slots[pc]?.operation == .mayGoto { return "\(pc): may_goto budget exhausted" }
        switch code & 3 {
        case 0: return "\(pc): \(text) not taken"
        case 1: return "\(pc): \(text) taken"
        case 2: return "\(pc): \(text) always not taken"
        default: return "\(pc): \(text) always taken"
        }
    }

    func record(_ path: inout Path, _ pc: Int, taken: Bool, decided: Bool) {
        path.decisions.append(UInt32(pc) << 2 | (taken ? 1 : 0) | (decided ? 2 : 0))
        if path.decisions.count > 256 { path.decisions.removeFirst(128) }
    }

    static func refusal(_ error: VerifierError, input: VerifierInput, slots: [DecodedInstruction?]?,
                        state: AbstractState?, path: [String]) -> VerifierRefusal {
        let pc = error.pc
        var text = ""
        if let slots, pc < slots.count, let d = slots[pc] {
            text = Disassembler.text(of: d, syntax: .c)
        } else if pc < input.instructions.count, let d = try? ProgramDecoder.decode(Array(input.instructions[pc...])).first {
            text = Disassembler.text(of: d, syntax: .c)
        }
        let shownPath = path.count > 40 ? ["… \(path.count - 40) earlier decisions"] + path.suffix(40) : path
        var hint = error.hint
        if case .possiblyNull(_, let r, _) = error {
            hint = "r\(r) may be NULL here: after the lookup add `if (!value) return …;` (`if r\(r) == 0 goto …`) before using it"
        }
        return VerifierRefusal(error: error, pc: pc, instructionText: text, sourceLine: input.line(at: pc),
                               state: state.map(describe) ?? "", path: shownPath, message: error.message, hint: hint)
    }

    static func describe(_ state: AbstractState) -> String {
        var parts: [String] = []
        for (n, frame) in state.frames.enumerated() {
            let prefix = state.frames.count > 1 ? "frame\(n): " : ""
            var regs: [String] = []
            for r in 0..<11 where frame.registers[r].isInitialized {
                regs.append("R\(r)=\(frame.registers[r])")
            }
            for s in 0..<frame.stack.storedCount where !frame.stack[s].isEmpty {
                regs.append("fp-\((s + 1) * 8)=\(frame.stack[s].description)")
            }
            parts.append(prefix + regs.joined(separator: " "))
        }
        if !state.references.isEmpty {
            parts.append("refs=" + state.references.map { "\($0.id)@\($0.pc)" }.joined(separator: ","))
        }
        if let lock = state.heldLock {
            parts.append("lock=map\(lock.map)" + (lock.id != 0 ? ",id=\(lock.id)" : "") + "@\(lock.pc)")
        }
        return parts.joined(separator: " | ")
    }

    // MARK: Exploration

    func explore(_ start: Path, current: inout Path?) throws {
        var path = start
        while true {
            current = path
            processed += 1
            if processed > options.complexityLimit {
                throw Failure(error: .complexityLimit(pc: path.pc, processed: processed))
            }
            let pc = path.pc
            if structure.isPrunePoint[pc] {
                if try visit(&path) {
                    finish(path.parentNode)
                    return
                }
            }
            facts[pc].reached = true
            guard let d = structure.slots[pc] else { throw Failure(error: .malformed(pc: pc, reason: "no instruction")) }
            if options.logLevel >= 2 {
                log.append("\(pc): \(Disassembler.text(of: d, syntax: .c))    ; \(Engine.describe(path.state))")
            }
            path.history.append(UInt64(pc))
            lastStackAccess = 0
            if d.descriptor.form.isBranch || d.descriptor.form == .exit || d.descriptor.form == .callHelper
                || d.descriptor.form == .callLocal {
                jumpsProcessed += 1
                path.historyJumps += 1
            }
            let done = try step(d, &path)
            if lastStackAccess != 0 && !path.history.isEmpty {
                path.history[path.history.count - 1] |= lastStackAccess << 32
            }
            current = path
            if done {
                finish(path.parentNode)
                return
            }
        }
    }

    /// Linux's `is_state_visited`: prune if a finished checkpoint at this point covers the
    /// current state (imprecise scalars and dead registers ignored); refuse an exact
    /// repetition of an ancestor (an infinite loop); store a checkpoint if enough work
    /// was done since the last one.
    func visit(_ path: inout Path) throws -> Bool {
        let pc = path.pc
        let live = structure.liveIn[pc]
        let liveStack = structure.stackLiveIn[pc]
        let force = structure.isForceCheckpoint[pc] || path.historyJumps > 40
        var addNew = force || (jumpsProcessed - previousJumps >= 2 && processed - previousProcessed >= 8)
        let mode: StateComparison.Mode = privileged ? .notExact : .rangeWithin
        let lockMaps = input.mapsWithSpinLocks
        var list = explored[pc]
        var changed = false
        var k = list.count - 1
        while k >= 0 {
            let index = list[k]
            k -= 1
            if nodes[index].branches > 0 {
                var skipLoopCheck = false
                if structure.slots[pc]?.operation == .mayGoto,
                   nodes[index].state.mayGotoDepth != path.state.mayGotoDepth,
                   StateComparison.includes(nodes[index].state, path.state, live: live, liveStack: liveStack, mode: .rangeWithin, maps: lockMaps) {
                    // may_goto bounds the loop at run time: an iteration that repeats an earlier state is covered.
                    nodes[index].hits += 1
                    if changed { explored[pc] = list }
                    return true
                }
                if structure.callsCallback[pc] {
                    if StateComparison.includes(nodes[index].state, path.state, live: live, liveStack: liveStack, mode: .rangeWithin, maps: lockMaps) {
                        nodes[index].hits += 1
                        if changed { explored[pc] = list }
                        return true
                    }
                    skipLoopCheck = true
                }
                if !skipLoopCheck, nodes[index].state.frames.count == path.state.frames.count,
                   nodes[index].state == path.state, isAncestor(index, of: path.parentNode) {
                    throw Failure(error: .infiniteLoop(pc: pc))
                }
                if !force && jumpsProcessed - previousJumps < 20 && processed - previousProcessed < 100 {
                    addNew = false
                }
            } else if StateComparison.includes(nodes[index].state, path.state, live: live, liveStack: liveStack, mode: mode, maps: lockMaps) {
                nodes[index].hits += 1
                if changed { explored[pc] = list }
                if privileged { propagatePrecision(from: index, to: &path) }
                return true
            }
            if addNew { nodes[index].misses += 1 }
            let n = structure.isForceCheckpoint[pc] && nodes[index].branches > 0 ? 64 : 3
            if nodes[index].misses > nodes[index].hits * n + n {
                // Unlikely to help: stop comparing against it (Linux's eviction).
                list.remove(at: k + 1)
                changed = true
                nodes[index].listed = false
                if nodes[index].branches == 0 { release(index) }
            }
        }
        if changed { explored[pc] = list }
        if !addNew { return false }
        previousJumps = jumpsProcessed
        previousProcessed = processed
        if privileged { path.state.forEachRegister { $0.precise = false } }
        nodes.append(ExploredNode(state: path.state, pc: pc, parent: path.parentNode, branches: 1, history: path.history))
        liveStates += 1
        peakStates = max(peakStates, liveStates)
        path.parentNode = nodes.count - 1
        path.history = []
        path.historyJumps = 0
        explored[pc].append(nodes.count - 1)
        return false
    }

    /// Frees a finished checkpoint that is no longer compared against.
    func release(_ index: Int) {
        guard !nodes[index].state.frames.isEmpty else { return }
        nodes[index].state = AbstractState(frames: [])
        nodes[index].history = []
        liveStates -= 1
    }

    func isAncestor(_ index: Int, of node: Int) -> Bool {
        var n = node
        while n >= 0 {
            if n == index { return true }
            n = nodes[n].parent
        }
        return false
    }

    func finish(_ node: Int) {
        var n = node
        while n >= 0 {
            nodes[n].branches -= 1
            if nodes[n].branches > 0 { return }
            if !nodes[n].listed { release(n) }
            n = nodes[n].parent
        }
    }

    func fork(_ path: Path, to pc: Int, state: AbstractState, decision: UInt32) throws {
        if worklist.count >= Engine.pendingBranchLimit {
            throw fail(.tooManyPendingBranches(pc: path.pc, count: worklist.count + 1))
        }
        if path.parentNode >= 0 { nodes[path.parentNode].branches += 1 }
        var copy = path
        copy.state = state
        copy.pc = pc
        copy.decisions.append(decision)
        if copy.decisions.count > 256 { copy.decisions.removeFirst(128) }
        worklist.append(copy)
    }
}
