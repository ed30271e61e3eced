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
        do {
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
    var parentNode: Int
    var decisions: [String]
}

/// A state stored at a prune point; `branches` counts paths below it still being explored.
struct ExploredNode {
    var state: AbstractState
    var pc: Int
    var parent: Int
    var branches: Int
}

final class Engine {
    let input: VerifierInput
    let options: VerifierOptions
    let structure: ProgramStructure
    let privileged: Bool
    var facts: [InstructionFacts]
    var nodes: [ExploredNode] = []
    var explored: [Int: [Int]] = [:]
    var worklist: [Path] = []
    var processed = 0
    var log: [String] = []
    var nextID: UInt32 = 0
    var stackDepth: [Int: Int] = [:]
    var callEdges: Set<[Int]> = []
    /// Pointer kind seen by each load/store (for the mixed-pointer rule).
    var accessKinds: [Int: RegisterKind] = [:]

    init(input: VerifierInput, options: VerifierOptions, structure: ProgramStructure) {
        self.input = input
        self.options = options
        self.structure = structure
        self.privileged = options.profile == .privileged
        self.facts = Array(repeating: InstructionFacts(), count: input.instructions.count)
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
            try checkStackChains()
        } catch let failure as Failure {
            let path = current
            let refusal = Engine.refusal(failure.error, input: input, slots: structure.slots, state: path?.state,
                                         path: path?.decisions ?? [])
            var text = log
            text.append(refusal.explanation)
            text.append("processed \(processed) insns, \(nodes.count) states")
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
        text.append("verification succeeded: processed \(processed) insns, \(nodes.count) states")
        return VerificationResult(verdict: .accepted(program), instructionsProcessed: processed,
                                  statesExplored: nodes.count, log: text.joined(separator: "\n"))
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
            for s in 0..<64 where !frame.stack[s].isEmpty {
                regs.append("fp-\((s + 1) * 8)=\(frame.stack[s].description)")
            }
            parts.append(prefix + regs.joined(separator: " "))
        }
        if !state.references.isEmpty {
            parts.append("refs=" + state.references.map { "\($0.id)@\($0.pc)" }.joined(separator: ","))
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
                throw Failure(error: .complexityLimit(pc: path.pc, processed: processed - 1))
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
            let done = try step(d, &path)
            current = path
            if done {
                finish(path.parentNode)
                return
            }
        }
    }

    /// Linux's `is_state_visited`: prune if a finished state at this point includes the
    /// current one; refuse an exact repetition of an ancestor (an infinite loop).
    func visit(_ path: inout Path) throws -> Bool {
        let pc = path.pc
        let live = structure.liveIn[pc]
        if let list = explored[pc] {
            for index in list.reversed() {
                let node = nodes[index]
                if node.branches == 0 {
                    if StateComparison.includes(node.state, path.state, live: live) { return true }
                } else if structure.slots[pc]?.operation == .mayGoto, node.state.mayGotoDepth != path.state.mayGotoDepth,
                          isAncestor(index, of: path.parentNode),
                          StateComparison.includes(node.state, path.state, live: live) {
                    // may_goto bounds the loop at run time: an iteration that repeats an earlier state is covered.
                    return true
                } else if node.state == path.state && isAncestor(index, of: path.parentNode) {
                    throw Failure(error: .infiniteLoop(pc: pc))
                }
            }
        }
        nodes.append(ExploredNode(state: path.state, pc: pc, parent: path.parentNode, branches: 1))
        path.parentNode = nodes.count - 1
        explored[pc, default: []].append(nodes.count - 1)
        if explored[pc]!.count > 256 { explored[pc]!.removeFirst(explored[pc]!.count - 256) }
        return false
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
            n = nodes[n].parent
        }
    }

    func fork(_ path: Path, to pc: Int, state: AbstractState, decision: String) {
        if path.parentNode >= 0 { nodes[path.parentNode].branches += 1 }
        var decisions = path.decisions
        decisions.append(decision)
        worklist.append(Path(state: state, pc: pc, parentNode: path.parentNode, decisions: decisions))
    }

    func checkStackChains() throws {
        // Longest chain of frames by stack use (each frame rounded up to 32 bytes, as Linux does).
        func depth(_ entry: Int) -> Int { ((max(stackDepth[entry] ?? 0, 1) + 31) / 32) * 32 }
        var best: [Int: Int] = [:]
        func chain(_ entry: Int, _ seen: Set<Int>) -> Int {
            if let b = best[entry] { return b }
            var deepest = 0
            for edge in callEdges where edge[0] == entry && !seen.contains(edge[1]) {
                deepest = max(deepest, chain(edge[1], seen.union([edge[1]])))
            }
            let total = depth(entry) + deepest
            best[entry] = total
            return total
        }
        let total = chain(0, [0])
        if total > 512 && callEdges.contains(where: { $0[0] == 0 }) {
            throw Failure(error: .stackTooLarge(pc: 0, size: total))
        }
    }
}
