import BPFObject

/// Linux's limit on the stack a call chain uses (`check_max_stack_depth`), with the
/// private stacks Linux 6.18's x86-64 JIT gives tracing programs.
extension Engine {
    /// Linux's BPF_PRIV_STACK_MIN_SIZE: a function using at least this much stack gets a
    /// private stack when its program may have them.
    static let privateStackThreshold = 64

    /// Whether Linux (`bpf_enable_priv_stack`) gives this program's functions private stacks:
    /// the program types that run under a recursion check (kprobe, tracepoint, perf_event,
    /// raw_tracepoint, and trampoline tracing except iterators), and only when no function
    /// makes a tail call.
    var mayUsePrivateStacks: Bool {
        switch input.programType {
        case .kprobe, .tracepoint, .perfEvent, .rawTracepoint: break
        case .tracing where !input.isIterator: break
        default: return false
        }
        return !input.instructions.contains { $0.opcode == 0x85 && $0.source == 0 && $0.immediate == 12 }
    }

    /// The deepest chain of frames on the shared stack must stay within 512 bytes. Each
    /// frame is rounded up to 16 bytes, as Linux does for a program that will be JIT-compiled
    /// (`round_up_stack_depth`). A function with a private stack runs on its own stack of up
    /// to 512 bytes and adds nothing to its callers' chain.
    func checkStackChains() throws {
        let privateStacks = mayUsePrivateStacks
        func depth(_ entry: Int) -> Int { ((stackDepth[entry] ?? 0) + 15) / 16 * 16 }
        func sharedDepth(_ entry: Int) -> Int {
            let d = depth(entry)
            return privateStacks && d >= Self.privateStackThreshold ? 0 : d
        }
        var best: [Int: Int] = [:]
        func chain(_ entry: Int, _ seen: Set<Int>) -> Int {
            if let b = best[entry] { return b }
            var deepest = 0
            for edge in callEdges where edge[0] == entry && !seen.contains(edge[1]) {
                deepest = max(deepest, chain(edge[1], seen.union([edge[1]])))
            }
            let total = sharedDepth(entry) + deepest
            best[entry] = total
            return total
        }
        let total = chain(0, [0])
        if total > 512 && callEdges.contains(where: { $0[0] == 0 }) {
            throw Failure(error: .stackTooLarge(pc: 0, size: total))
        }
    }
}
