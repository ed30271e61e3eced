import BPFInstructionSet

/// Why the verifier refused a program. Every case carries the instruction index.
public enum VerifierError: Error, Sendable, Hashable {
    // Structure
    case malformed(pc: Int, reason: String)
    case tooManyInstructions(count: Int, limit: Int)
    /// The program has no type (BPF_PROG_TYPE_UNSPEC): its section names none; Linux refuses the load.
    case unknownProgramType
    case unreachableInstruction(pc: Int)
    case jumpOutOfFunction(pc: Int, target: Int)
    case fallsOffEnd(pc: Int)
    case backEdge(pc: Int, target: Int)
    /// Something Linux allows only with CAP_BPF or CAP_SYS_ADMIN (the privileged profile).
    case privilegedOnly(pc: Int, what: String)
    case invalidCallTarget(pc: Int, target: Int)
    case unsupportedInstruction(pc: Int, what: String)
    case invalidMapReference(pc: Int, reason: String)
    // Registers and arithmetic
    case uninitializedRegister(pc: Int, register: Int)
    case framePointerWrite(pc: Int)
    case divisionByZero(pc: Int)
    case invalidShift(pc: Int, amount: Int64)
    case pointerArithmetic(pc: Int, register: Int, reason: String)
    case pointerComparison(pc: Int, register: Int)
    case pointerLeak(pc: Int, register: Int, reason: String)
    // Memory
    case invalidMemoryAccess(pc: Int, register: Int, kind: String, reason: String)
    case possiblyNull(pc: Int, register: Int, kind: String)
    case contextAccess(pc: Int, offset: Int, size: Int)
    case modifiedContextPointer(pc: Int, register: Int, offset: Int)
    case outOfBounds(pc: Int, register: Int, kind: String, offset: Int64, size: Int, limit: Int)
    case unboundedOffset(pc: Int, register: Int, kind: String)
    case negativeOffset(pc: Int, register: Int, kind: String)
    case uninitializedStackRead(pc: Int, offset: Int, size: Int)
    case readOnlyWrite(pc: Int, register: Int, kind: String)
    case invalidSpillSize(pc: Int)
    case packetRangeNotChecked(pc: Int, register: Int, offset: Int, size: Int, range: Int)
    case mixedPointerKinds(pc: Int)
    /// A load or store through a socket pointer that `struct bpf_sock` / `struct bpf_tcp_sock`
    /// does not allow (Linux's `check_sock_access`): a field the kind lacks, a size, a write.
    case socketAccess(pc: Int, register: Int, kind: String, offset: Int, size: Int, reason: String)
    // Calls
    case unknownHelper(pc: Int, id: Int32)
    case helperUnavailable(pc: Int, id: Int32, name: String, programType: String)
    case helperArgument(pc: Int, helper: String, argument: Int, reason: String)
    case unreleasedReference(pc: Int, acquiredAt: Int, helper: String)
    case invalidRelease(pc: Int, register: Int)
    /// A socket argument of the wrong kind (a possibly-NULL socket, a number, another pointer).
    case socketArgument(pc: Int, helper: String, argument: Int, expected: String, got: String)
    /// bpf_sk_release of a socket that holds no reference (`__sk_buff.sk`, a listener socket).
    case unreferencedSocketRelease(pc: Int, register: Int, kind: String)
    case callDepthExceeded(pc: Int, depth: Int)
    case stackTooLarge(pc: Int, size: Int)
    // Spin locks and constant strings
    /// A bpf_spin_lock/bpf_spin_unlock argument Linux refuses (`process_spin_lock`).
    case spinLock(pc: Int, register: Int, problem: SpinLockProblem)
    /// Something a held bpf_spin_lock forbids.
    case lockHeld(pc: Int, lockedAt: Int, what: LockHeldAction)
    /// A map with a bpf_spin_lock in a program type that may not use one.
    case spinLockInProgramType(pc: Int, map: String, programType: String, tracing: Bool)
    /// A load, store or helper access that overlaps a bpf_spin_lock.
    case spinLockAccessed(pc: Int, register: Int)
    /// An `ARG_PTR_TO_CONST_STR` argument (bpf_snprintf's format, bpf_strncmp's s2) Linux refuses.
    case constantString(pc: Int, register: Int, problem: ConstantStringProblem)
    /// bpf_snprintf's format and data do not agree (`check_bpf_snprintf_call`).
    case invalidFormat(pc: Int, reason: String)
    // Exit
    case returnValueOutOfRange(pc: Int, range: String, value: String)
    case returnNotScalar(pc: Int, kind: String)
    // Exploration
    case infiniteLoop(pc: Int)
    case complexityLimit(pc: Int, processed: Int)
    /// More than 8,192 branches wait to be explored (Linux's BPF_COMPLEXITY_LIMIT_JMP_SEQ).
    case tooManyPendingBranches(pc: Int, count: Int)

    public var pc: Int {
        switch self {
        case .tooManyInstructions, .unknownProgramType: 0
        case .malformed(let pc, _), .unreachableInstruction(let pc), .jumpOutOfFunction(let pc, _),
             .fallsOffEnd(let pc), .backEdge(let pc, _), .privilegedOnly(let pc, _), .invalidCallTarget(let pc, _), .unsupportedInstruction(let pc, _),
             .invalidMapReference(let pc, _), .uninitializedRegister(let pc, _), .framePointerWrite(let pc),
             .divisionByZero(let pc), .invalidShift(let pc, _), .pointerArithmetic(let pc, _, _),
             .pointerComparison(let pc, _), .pointerLeak(let pc, _, _), .invalidMemoryAccess(let pc, _, _, _),
             .possiblyNull(let pc, _, _), .contextAccess(let pc, _, _), .modifiedContextPointer(let pc, _, _),
             .outOfBounds(let pc, _, _, _, _, _), .unboundedOffset(let pc, _, _), .negativeOffset(let pc, _, _),
             .uninitializedStackRead(let pc, _, _), .readOnlyWrite(let pc, _, _), .invalidSpillSize(let pc),
             .packetRangeNotChecked(let pc, _, _, _, _), .mixedPointerKinds(let pc), .unknownHelper(let pc, _),
             .socketAccess(let pc, _, _, _, _, _), .socketArgument(let pc, _, _, _, _), .unreferencedSocketRelease(let pc, _, _),
             .helperUnavailable(let pc, _, _, _), .helperArgument(let pc, _, _, _), .unreleasedReference(let pc, _, _),
             .invalidRelease(let pc, _), .callDepthExceeded(let pc, _), .stackTooLarge(let pc, _),
             .returnValueOutOfRange(let pc, _, _), .returnNotScalar(let pc, _), .infiniteLoop(let pc),
             .complexityLimit(let pc, _), .tooManyPendingBranches(let pc, _), .spinLock(let pc, _, _),
             .lockHeld(let pc, _, _), .spinLockInProgramType(let pc, _, _, _), .spinLockAccessed(let pc, _),
             .constantString(let pc, _, _), .invalidFormat(let pc, _):
            pc
        }
    }

    /// A short identifier of the rule (stable, for tests and tables).
    public var kind: String {
        switch self {
        case .malformed: "malformed"
        case .tooManyInstructions: "too_many_insns"
        case .unknownProgramType: "prog_type"
        case .unreachableInstruction: "unreachable"
        case .jumpOutOfFunction: "jump_out_of_func"
        case .fallsOffEnd: "falls_off_end"
        case .backEdge: "back_edge"
        case .privilegedOnly: "privileged_only"
        case .invalidCallTarget: "call_target"
        case .unsupportedInstruction: "unsupported"
        case .invalidMapReference: "map_ref"
        case .uninitializedRegister: "uninit_reg"
        case .framePointerWrite: "fp_write"
        case .divisionByZero: "div_zero"
        case .invalidShift: "shift"
        case .pointerArithmetic: "ptr_arith"
        case .pointerComparison: "ptr_cmp"
        case .pointerLeak: "ptr_leak"
        case .invalidMemoryAccess: "bad_mem"
        case .possiblyNull: "null"
        case .contextAccess: "ctx_access"
        case .modifiedContextPointer: "ctx_modified"
        case .outOfBounds: "bounds"
        case .unboundedOffset: "unbounded"
        case .negativeOffset: "negative"
        case .uninitializedStackRead: "uninit_stack"
        case .readOnlyWrite: "readonly"
        case .invalidSpillSize: "spill_size"
        case .packetRangeNotChecked: "pkt_range"
        case .mixedPointerKinds: "mixed_ptr"
        case .socketAccess: "sock_access"
        case .socketArgument: "sock_arg"
        case .unreferencedSocketRelease: "bad_release"
        case .unknownHelper: "unknown_helper"
        case .helperUnavailable: "helper_unavailable"
        case .helperArgument: "helper_arg"
        case .unreleasedReference: "unreleased_ref"
        case .invalidRelease: "bad_release"
        case .callDepthExceeded: "call_depth"
        case .stackTooLarge: "stack_size"
        case .returnValueOutOfRange: "return_range"
        case .returnNotScalar: "return_type"
        case .infiniteLoop: "infinite_loop"
        case .complexityLimit: "complexity"
        case .tooManyPendingBranches: "jump_sequence"
        case .spinLock: "spin_lock"
        case .lockHeld: "lock_held"
        case .spinLockInProgramType: "spin_lock_prog_type"
        case .spinLockAccessed: "spin_lock_access"
        case .constantString: "const_str"
        case .invalidFormat: "format"
        }
    }

    public var message: String {
        switch self {
        case .malformed(_, let reason): return reason
        case .tooManyInstructions(let count, let limit): return "the program has \(count) instructions; the limit is \(limit)"
        case .unknownProgramType: return "the program has no program type (BPF_PROG_TYPE_UNSPEC), which Linux refuses to load"
        case .unreachableInstruction(let pc): return "unreachable insn \(pc)"
        case .jumpOutOfFunction(_, let target): return "jump out of range: the target \(target) is in another function"
        case .fallsOffEnd: return "last insn is not an exit or jmp: execution can run past the end of the function"
        case .backEdge(let pc, let target): return "back-edge from insn \(pc) to \(target)"
        case .privilegedOnly(_, let what): return "\(what) are allowed for CAP_BPF and CAP_SYS_ADMIN only"
        case .invalidCallTarget(_, let target): return "the call target \(target) is not a function start"
        case .unsupportedInstruction(_, let what): return "\(what) is not supported"
        case .invalidMapReference(_, let reason): return reason
        case .uninitializedRegister(_, let r): return "R\(r) !read_ok: r\(r) is read before it is written"
        case .framePointerWrite: return "frame pointer is read only: r10 cannot be written"
        case .divisionByZero: return "division by zero"
        case .invalidShift(_, let amount): return "invalid shift \(amount)"
        case .pointerArithmetic(_, let r, let reason): return "R\(r) \(reason)"
        case .pointerComparison(_, let r): return "R\(r) pointer comparison prohibited"
        case .pointerLeak(_, let r, let reason): return "R\(r) \(reason)"
        case .invalidMemoryAccess(_, let r, let kind, let reason): return "R\(r) invalid mem access '\(kind)': \(reason)"
        case .possiblyNull(_, let r, let kind): return "R\(r) invalid mem access '\(kind)_or_null': r\(r) may be NULL here"
        case .contextAccess(_, let off, let size): return "invalid bpf_context access off=\(off) size=\(size)"
        case .modifiedContextPointer(_, let r, let off): return "dereference of modified ctx ptr R\(r) off=\(off) disallowed"
        case .outOfBounds(_, let r, let kind, let off, let size, let limit):
            return "R\(r) invalid access to \(kind), off=\(off) size=\(size): outside the \(limit) accessible bytes"
        case .unboundedOffset(_, let r, let kind): return "R\(r) unbounded memory access to \(kind): the variable offset has no upper bound"
        case .negativeOffset(_, let r, let kind): return "R\(r) min value is negative in an access to \(kind)"
        case .uninitializedStackRead(_, let off, let size): return "invalid read from stack off \(off)+0 size \(size): the bytes are not initialised"
        case .readOnlyWrite(_, let r, let kind): return "R\(r) cannot write into \(kind): it is read-only"
        case .invalidSpillSize: return "invalid size of register fill: part of a spilled pointer is read"
        case .packetRangeNotChecked(_, let r, let off, let size, let range):
            return "invalid access to packet, off=\(off) size=\(size), R\(r) r=\(range): the packet is only known to hold \(range) bytes here"
        case .mixedPointerKinds: return "same insn cannot be used with different pointers"
        case .socketAccess(_, let r, let kind, let off, let size, let reason):
            return "R\(r) invalid \(kind) access off=\(off) size=\(size): \(reason)"
        case .socketArgument(_, let helper, let arg, let expected, let got):
            return "\(helper) argument \(arg) (R\(arg)) type=\(got) expected=\(expected)"
        case .unreferencedSocketRelease(_, let r, let kind):
            return "R\(r) must be referenced when passed to release function: this \(kind) was not acquired by a lookup helper"
        case .unknownHelper(_, let id): return "invalid func unknown#\(id)"
        case .helperUnavailable(_, let id, let name, let type): return "program of type \(type) cannot use helper \(name)#\(id)"
        case .helperArgument(_, let helper, let arg, let reason): return "\(helper) argument \(arg) (R\(arg)): \(reason)"
        case .unreleasedReference(_, let at, let helper): return "Unreleased reference: acquired by \(helper) at insn \(at)"
        case .invalidRelease(_, let r): return "R\(r) must be a referenced pointer returned by the matching acquire helper"
        case .callDepthExceeded(_, let depth): return "the call stack of \(depth) frames is too deep (at most 8)"
        case .stackTooLarge(_, let size): return "combined stack size \(size) of the call chain is too large (at most 512)"
        case .returnValueOutOfRange(_, let range, let value): return "At program exit the register R0 has \(value) should have been in \(range)"
        case .returnNotScalar(_, let kind): return "At program exit the register R0 is not a known value (\(kind))"
        case .infiniteLoop(let pc): return "infinite loop detected at insn \(pc)"
        case .complexityLimit(_, let n): return "BPF program is too large. Processed \(n) insn: the verifier gave up here, having followed too many paths"
        case .tooManyPendingBranches(_, let n): return "The sequence of \(n) jumps is too complex: more than 8192 branches wait to be explored"
        case .spinLock(_, let r, let problem): return problem.message(register: r)
        case .lockHeld(_, let at, let what): return "\(what.message) (the bpf_spin_lock taken at insn \(at) is still held)"
        case .spinLockInProgramType(_, let map, let type, let tracing):
            return (tracing ? "tracing progs" : "socket filter progs") + " cannot use bpf_spin_lock yet: map '\(map)' holds one and the program is of type \(type)"
        case .spinLockAccessed(_, let r): return "R\(r) bpf_spin_lock cannot be accessed directly by load/store"
        case .constantString(_, let r, let problem): return problem.message(register: r)
        case .invalidFormat(_, let reason): return "Invalid format string: \(reason)"
        }
    }

    /// What to change in the program (every case has one).
    public var hint: String {
        switch self {
        case .unreachableInstruction: return "remove the dead code or make a branch reach it; Linux refuses instructions no path executes"
        case .fallsOffEnd: return "end every path of the function with `exit` (or a jump)"
        case .uninitializedRegister(_, let r): return r == 0 ? "set r0 (the return value) before `exit`" : "assign r\(r) on every path before this instruction"
        case .framePointerWrite: return "copy r10 into another register and change the copy"
        case .divisionByZero: return "divide by a non-zero constant, or by a register"
        case .invalidShift: return "shift by 0..63 (0..31 for 32-bit operations)"
        case .pointerArithmetic: return "only add or subtract scalars to pointers; check nullable pointers before arithmetic"
        case .pointerComparison: return "unprivileged programs may only compare pointers with packet ends or NULL"
        case .pointerLeak: return "unprivileged programs may not store pointers into maps or return them"
        case .possiblyNull(_, let r, _): return "after the lookup add `if (!value) return …;` (`if r\(r) == 0 goto out`) before using r\(r)"
        case .contextAccess: return "use a field of the program type's context with its declared size"
        case .modifiedContextPointer: return "access context fields through the original ctx pointer with the offset in the instruction"
        case .outOfBounds: return "keep the access within the object; check the index against its size first"
        case .unboundedOffset: return "bound the index with `if (i >= N) return …;` before using it as an offset"
        case .negativeOffset: return "use an unsigned index or check `if (i >= 0)` first"
        case .uninitializedStackRead: return "write the stack bytes (e.g. `__builtin_memset`) before reading them"
        case .readOnlyWrite: return "this map is read-only to programs; write to a writable map or to the stack"
        case .packetRangeNotChecked: return "check `if (data + N > data_end) return …;` with N covering the access first"
        case .helperUnavailable: return "use a helper offered to this program type"
        case .helperArgument: return "pass what the helper's prototype asks for"
        case .unreleasedReference(_, _, let helper):
            if helper.contains("lookup") { return "call bpf_sk_release() on the socket on every path where it is not NULL, including error paths" }
            return "submit or discard the reservation on every path, including error paths"
        case .returnValueOutOfRange, .returnNotScalar: return "return a value the program type allows"
        case .infiniteLoop: return "the loop repeats a state exactly, so it never ends: make every iteration change a bounded counter and exit when it reaches its limit"
        case .complexityLimit: return "every path through the loops is followed iteration by iteration; use fewer iterations, bpf_loop() with a callback, or a may_goto-bounded loop, or split the program with tail calls"
        case .tooManyPendingBranches: return "each iteration of a loop with branches in it leaves paths to explore; move the loop body into a bpf_loop() callback or reduce the iteration count"
        case .stackTooLarge: return "use less stack (move buffers into a per-CPU array map)"
        case .backEdge: return "loops need CAP_BPF (the privileged profile)"
        case .privilegedOnly: return "inline the function (`static __always_inline`), or load the program with the privileged profile (CAP_BPF)"
        case .malformed: return "the instruction bytes do not decode; rebuild the object, or check hand-written assembly for a bad opcode or a jump into the middle of an lddw"
        case .unknownProgramType: return "put the function in a section that names its type, as libbpf expects (SEC(\"xdp\"), SEC(\"tc\"), SEC(\"kprobe/...\")), or give the type (--type)"
        case .tooManyInstructions: return "split the program with tail calls or bpf-to-bpf calls, or load it with the privileged profile (1,000,000 instructions)"
        case .jumpOutOfFunction: return "jumps stay inside their function; call the other function instead"
        case .invalidCallTarget: return "call the first instruction of a function (`call local` to a label at a function start)"
        case .unsupportedInstruction(_, let what):
            if what.contains("func_info") { return "compile with `clang -g` so the object carries BTF function info (.BTF.ext)" }
            return "use an instruction or helper this program type and BPFKit support"
        case .invalidMapReference: return "refer to a map the object defines; direct value access (`lddw map_value`) works only for one-element arrays such as .data, .bss and .rodata"
        case .invalidMemoryAccess(_, let r, let kind, _):
            switch kind {
            case "scalar": return "r\(r) holds a number, not a pointer: load it from the context, a map lookup or r10 before dereferencing it"
            case "map_ptr": return "look the value up with bpf_map_lookup_elem() instead of reading the map itself"
            case "fp": return "stack accesses must stay within the frame and spill pointers with 8-byte stores at 8-byte aligned offsets"
            default: return "dereference r\(r) only where its kind allows it; pkt_end, map and function pointers cannot be read"
            }
        case .mixedPointerKinds: return "use separate load instructions for the context and for other memory (Linux rewrites context loads)"
        case .unknownHelper: return "call a helper Linux defines (see BPFABI's HelperTable); kfuncs are not supported"
        case .invalidRelease: return "pass the pointer returned by bpf_ringbuf_reserve() itself, after checking it is not NULL, to submit or discard"
        case .callDepthExceeded: return "at most 8 nested bpf-to-bpf calls: inline some functions (`static __always_inline`) or avoid recursion"
        case .invalidSpillSize: return "read a spilled pointer back with an 8-byte load from the same offset"
        case .socketAccess(_, _, let kind, _, _, let reason):
            if reason.contains("write") { return "socket fields are read-only; keep values you change in the stack or a map" }
            switch kind {
            case "sock_common": return "only struct sock_common fields (family, addresses, ports, state, bound_dev_if) can be read here; call bpf_sk_fullsock() and check it for NULL to read type, protocol, mark or priority"
            case "tcp_sock": return "read a struct bpf_tcp_sock field at its offset with its size (4 bytes; 8 for bytes_received and bytes_acked)"
            default: return "read a struct bpf_sock field at its offset: 4 bytes, or 1 and 2 bytes within address, port, family, type, protocol and state fields"
            }
        case .socketArgument(_, _, _, _, let got):
            if got.hasSuffix("_or_null") { return "check the socket for NULL (`if (!sk) return …;`) before passing it to the helper" }
            return "pass a socket pointer (from __sk_buff.sk, bpf_sk_lookup_tcp(), bpf_sk_fullsock()) of the kind the helper takes"
        case .unreferencedSocketRelease:
            return "release only sockets returned by bpf_sk_lookup_tcp(), bpf_sk_lookup_udp() or bpf_skc_lookup_tcp() (or derived from them); sockets read from the context are not counted"
        case .spinLock(_, _, let problem): return problem.hint
        case .lockHeld(_, _, let what): return what.hint
        case .spinLockInProgramType: return "take locks in networking, cgroup or LSM programs; tracing programs and socket filters may not refer to a map whose value holds a struct bpf_spin_lock"
        case .spinLockAccessed: return "read and write the other fields of the value; the struct bpf_spin_lock field is only passed to bpf_spin_lock()/bpf_spin_unlock()"
        case .constantString(_, _, let problem): return problem.hint
        case .invalidFormat: return "use the conversions bpf_snprintf supports (%d %i %u %x %X with l/ll, %c, %s, %p, %pK, %px, %pI4/6, %pks/%pus, flags 0+- and a width) and pass one 8-byte value per conversion: data_len = 8 × conversions, at most 12"
        }
    }
}

/// Why a bpf_spin_lock/bpf_spin_unlock argument is refused.
public enum SpinLockProblem: Sendable, Hashable {
    case variableOffset
    case mapWithoutBTF(map: String)
    case mapWithoutLock(map: String)
    case wrongOffset(offset: Int64, lockOffset: Int)
    case secondLock(heldSince: Int)
    case unlockWithoutLock
    case unlockOfDifferentLock(lockedAt: Int)

    func message(register r: Int) -> String {
        switch self {
        case .variableOffset: "R\(r) doesn't have constant offset. bpf_spin_lock has to be at the constant offset"
        case .mapWithoutBTF(let map): "map '\(map)' has to have BTF in order to use bpf_spin_lock"
        case .mapWithoutLock(let map): "map '\(map)' has no valid bpf_spin_lock"
        case .wrongOffset(let offset, let lock): "off \(offset) doesn't point to 'struct bpf_spin_lock' that is at \(lock)"
        case .secondLock(let at): "Locking two bpf_spin_locks are not allowed (one is held since insn \(at))"
        case .unlockWithoutLock: "bpf_spin_unlock without taking a lock"
        case .unlockOfDifferentLock(let at): "bpf_spin_unlock of different lock (the one held was taken at insn \(at))"
        }
    }

    var hint: String {
        switch self {
        case .variableOffset: return "pass &value->lock of a value pointer whose offset is a known constant"
        case .mapWithoutBTF: return "declare the map with BTF (`__type(value, struct ...)` in SEC(\".maps\")) in a hash, array or local-storage map; per-CPU and LRU maps cannot hold locks"
        case .mapWithoutLock: return "put one `struct bpf_spin_lock` field in the map's value type"
        case .wrongOffset: return "pass the address of the value's struct bpf_spin_lock field itself"
        case .secondLock: return "release the held lock with bpf_spin_unlock() before taking another"
        case .unlockWithoutLock: return "call bpf_spin_lock() on this path before bpf_spin_unlock()"
        case .unlockOfDifferentLock: return "unlock through the same value pointer (same lookup) that was locked"
        }
    }
}

/// What a program may not do while it holds a bpf_spin_lock.
public enum LockHeldAction: Sendable, Hashable {
    case helperCall
    case globalFunctionCall
    case exit
    case legacyPacketLoad

    var message: String {
        switch self {
        case .helperCall: "function calls are not allowed while holding a lock"
        case .globalFunctionCall: "global function calls are not allowed while holding a lock, use static function instead"
        case .exit: "BPF_EXIT instruction in main prog cannot be used inside bpf_spin_lock-ed region"
        case .legacyPacketLoad: "BPF_LD_[ABS|IND] cannot be used inside bpf_spin_lock-ed region"
        }
    }

    var hint: String {
        switch self {
        case .helperCall: return "call helpers before bpf_spin_lock() or after bpf_spin_unlock(); only bpf_spin_unlock() may be called while the lock is held"
        case .globalFunctionCall: return "make the function static (it is then verified with the caller's state), or call it outside the locked region"
        case .exit: return "call bpf_spin_unlock() on every path before returning, including early returns"
        case .legacyPacketLoad: return "read the packet outside the locked region"
        }
    }
}

/// Why a constant-string argument is refused (`check_reg_const_str`).
public enum ConstantStringProblem: Sendable, Hashable {
    case notMapValue(kind: String)
    case notReadOnly
    case variableOffset
    case noDirectAccess
    case contentsUnknown(map: String)
    case notTerminated

    func message(register r: Int) -> String {
        switch self {
        case .notMapValue(let kind): "R\(r) type=\(kind) expected=map_value: a constant string must be in a read-only map"
        case .notReadOnly: "R\(r) does not point to a readonly map"
        case .variableOffset: "R\(r) is not a constant address"
        case .noDirectAccess: "direct value access on string failed: the map is not an array with one element"
        case .contentsUnknown(let map): "R\(r) the contents of read-only map '\(map)' are not known to the verifier"
        case .notTerminated: "string is not zero-terminated"
        }
    }

    var hint: String {
        switch self {
        case .notMapValue, .notReadOnly, .noDirectAccess, .contentsUnknown:
            return "pass a string constant from .rodata (`static const char fmt[] = \"...\";`), not a stack buffer or writable global"
        case .variableOffset:
            return "pass the string's address directly, not an address computed from a variable"
        case .notTerminated:
            return "make sure the string ends with a NUL inside the map value"
        }
    }
}
