import Testing
import BPFAssembler
import BPFObject
import BPFMaps
@testable import BPFVerifier

/// Small assembly programs with the verdict Linux 6.18 (root) gives them: "ok" or the
/// error kind (`VerifierError.kind`).
struct Case: CustomStringConvertible, Sendable {
    var name: String
    var source: String
    var type: ProgramType = .socketFilter
    var expected: String
    var profile: VerifierProfile = .privileged
    /// The program comes with BTF function info (callbacks need it).
    var functionInfo = false
    var description: String { name }
}

let hashMap = VerifierMap(name: "h", type: .hash, keySize: 4, valueSize: 16, maxEntries: 8)
let arrayMap = VerifierMap(name: "a", type: .array, keySize: 4, valueSize: 8, maxEntries: 4)
let ringMap = VerifierMap(name: "rb", type: .ringBuffer, keySize: 0, valueSize: 0, maxEntries: 4096)
let progArray = VerifierMap(name: "p", type: .programArray, keySize: 4, valueSize: 4, maxEntries: 4)
let readOnlyMap = VerifierMap(name: ".rodata", type: .array, keySize: 4, valueSize: 16, maxEntries: 1, isReadOnly: true)
let testMaps = [hashMap, arrayMap, ringMap, progArray, readOnlyMap]

/// Lookup of key 0 in map 0 (hash, value 16 bytes) leaving the result in r0.
let lookup = """
mov %r6, %r1
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:0
call 1
"""

let cases: [Case] = [
    // Structure
    Case(name: "minimal", source: "mov %r0, 0\nexit", expected: "ok"),
    Case(name: "no exit", source: "mov %r0, 0", expected: "falls_off_end"),
    Case(name: "unreachable", source: "mov %r0, 0\nexit\nmov %r0, 1\nexit", expected: "unreachable"),
    Case(name: "jump over dead code", source: "mov %r0, 0\nja +1\nmov %r0, 1\nexit", expected: "unreachable"),
    Case(name: "conditional both reachable", source: "mov %r0, 0\njeq %r1, 0, +1\nmov %r0, 1\nexit", expected: "ok"),
    Case(name: "jump into lddw", source: "ja +1\nlddw %r0, 0x100000000\nexit", expected: "malformed"),
    Case(name: "back-edge unprivileged", source: "mov %r0, 0\nl: add %r0, 1\njlt %r0, 4, l\nexit", expected: "back_edge", profile: .unprivileged),
    Case(name: "bounded loop privileged", source: "mov %r0, 0\nl: add %r0, 1\njlt %r0, 4, l\nexit", expected: "ok"),
    Case(name: "infinite loop", source: "mov %r0, 0\nl: ja l\nexit", expected: "unreachable"),
    Case(name: "infinite loop with state", source: "mov %r0, 0\nl: mov %r1, 1\njeq %r0, 0, l\nexit", expected: "infinite_loop"),
    Case(name: "unbounded loop hits complexity", source: "mov %r0, 0\nl: add %r0, 1\njne %r0, -1, l\nexit", expected: "complexity"),
    Case(name: "uninitialised r0 at exit", source: "exit", expected: "uninit_reg"),
    Case(name: "uninitialised r2 read", source: "mov %r0, %r2\nexit", expected: "uninit_reg"),
    Case(name: "write r10", source: "mov %r10, 0\nmov %r0, 0\nexit", expected: "fp_write"),
    Case(name: "add to r10", source: "add %r10, 8\nmov %r0, 0\nexit", expected: "fp_write"),
    Case(name: "kfunc call unsupported", source: "call kfunc 5\nmov %r0, 0\nexit", expected: "unsupported"),
    // Arithmetic
    Case(name: "div by zero immediate", source: "mov %r0, 1\ndiv %r0, 0\nexit", expected: "div_zero"),
    Case(name: "mod by zero immediate", source: "mov %r0, 1\nmod32 %r0, 0\nexit", expected: "div_zero"),
    Case(name: "div by register is defined", source: "mov %r0, 1\nmov %r1, 0\ndiv %r0, %r1\nexit", expected: "ok"),
    Case(name: "shift 64 refused", source: "mov %r0, 1\nlsh %r0, 64\nexit", expected: "shift"),
    Case(name: "shift32 by 32 refused", source: "mov %r0, 1\nlsh32 %r0, 32\nexit", expected: "shift"),
    Case(name: "shift 63 ok", source: "mov %r0, 1\nlsh %r0, 63\nexit", expected: "ok"),
    Case(name: "negative shift refused", source: "mov %r0, 1\narsh %r0, -1\nexit", expected: "shift"),
    Case(name: "byte swaps", source: "mov %r0, 0x1234\nbe16 %r0\nle32 %r0\nbswap64 %r0\nexit", expected: "ok"),
    Case(name: "sign extension", source: "mov %r0, 0x80\nmovsx864 %r0, %r0\nexit", expected: "ok"),
    Case(name: "constant branch prunes dead side", source: "mov %r1, 5\njgt %r1, 10, +1\nmov %r0, 0\nexit", expected: "ok"),
    // Context
    Case(name: "skb len read", source: "ldxw %r0, [%r1+0]\nexit", expected: "ok"),
    Case(name: "skb mark 8-byte read", source: "ldxdw %r0, [%r1+8]\nexit", expected: "ctx_access"),
    Case(name: "skb out of range", source: "ldxw %r0, [%r1+400]\nexit", expected: "ctx_access"),
    Case(name: "skb misaligned", source: "ldxw %r0, [%r1+2]\nexit", expected: "ctx_access"),
    Case(name: "skb write mark from socket filter", source: "stw [%r1+8], 1\nmov %r0, 0\nexit", expected: "ctx_access"),
    Case(name: "skb write cb", source: "stw [%r1+48], 1\nmov %r0, 0\nexit", expected: "ok"),
    Case(name: "skb cb dword write", source: "stdw [%r1+48], 1\nmov %r0, 0\nexit", expected: "ok"),
    Case(name: "skb cb dword past the end", source: "stdw [%r1+64], 1\nmov %r0, 0\nexit", expected: "ctx_access"),
    Case(name: "tc write mark", source: "stw [%r1+8], 1\nmov %r0, 0\nexit", type: .schedCls, expected: "ok"),
    Case(name: "socket filter data_end denied", source: "ldxw %r0, [%r1+80]\nexit", expected: "ctx_access"),
    Case(name: "modified ctx pointer", source: "add %r1, 8\nldxw %r0, [%r1+0]\nexit", expected: "ctx_modified"),
    Case(name: "tc reads tstamp_type byte", source: "ldxb %r0, [%r1+180]\nexit", type: .schedCls, expected: "ok"),
    Case(name: "socket filter cannot read tstamp_type", source: "ldxb %r0, [%r1+180]\nexit", expected: "ctx_access"),
    Case(name: "cgroup_skb remote_ip4 narrow read", source: "ldxb %r0, [%r1+92]\nand %r0, 1\nexit", type: .cgroupSkb, expected: "ctx_access"),
    Case(name: "cgroup_skb remote_ip4 read", source: "ldxw %r0, [%r1+92]\nand %r0, 1\nexit", type: .cgroupSkb, expected: "ok"),
    Case(name: "tc narrow data read", source: "ldxh %r0, [%r1+76]\nexit", type: .schedCls, expected: "ctx_access"),
    Case(name: "tc tstamp 8-byte write", source: "stdw [%r1+152], 0\nmov %r0, 0\nexit", type: .schedCls, expected: "ok"),
    Case(name: "tracepoint record read", source: "ldxdw %r0, [%r1+8184]\nexit", type: .tracepoint, expected: "ok"),
    Case(name: "tracepoint past PERF_MAX_TRACE_SIZE", source: "ldxdw %r0, [%r1+8192]\nexit", type: .tracepoint, expected: "ctx_access"),
    Case(name: "kprobe regs read", source: "ldxdw %r0, [%r1+112]\nexit", type: .kprobe, expected: "ok"),
    Case(name: "kprobe regs write", source: "stdw [%r1+112], 0\nmov %r0, 0\nexit", type: .kprobe, expected: "ctx_access"),
    Case(name: "kprobe past regs", source: "ldxdw %r0, [%r1+168]\nexit", type: .kprobe, expected: "ctx_access"),
    Case(name: "xdp fields", source: "ldxw %r0, [%r1+12]\nexit", type: .xdp, expected: "ok"),
    Case(name: "xdp 8-byte data", source: "ldxdw %r0, [%r1+0]\nexit", type: .xdp, expected: "ctx_access"),
    Case(name: "ctx pointer leaked to r0 privileged", source: "mov %r0, %r1\nexit", expected: "ok"),
    Case(name: "ctx pointer leaked to r0 unprivileged", source: "mov %r0, %r1\nexit", expected: "ptr_leak", profile: .unprivileged),
    Case(name: "cgroup_skb return range ok", source: "mov %r0, 1\nexit", type: .cgroupSkb, expected: "ok"),
    Case(name: "cgroup_skb return 2", source: "mov %r0, 2\nexit", type: .cgroupSkb, expected: "return_range"),
    Case(name: "cgroup_skb return unknown", source: "ldxw %r0, [%r1+0]\nexit", type: .cgroupSkb, expected: "return_range"),
    Case(name: "cgroup_skb return bounded", source: "ldxw %r0, [%r1+0]\nand %r0, 1\nexit", type: .cgroupSkb, expected: "ok"),
    // Stack
    Case(name: "stack write read", source: "stdw [%r10-8], 7\nldxdw %r0, [%r10-8]\nexit", expected: "ok"),
    Case(name: "stack below frame", source: "stdw [%r10-520], 7\nmov %r0, 0\nexit", expected: "bounds"),
    Case(name: "stack above fp", source: "stdw [%r10+0], 7\nmov %r0, 0\nexit", expected: "bounds"),
    Case(name: "stack misaligned", source: "stdw [%r10-12], 7\nmov %r0, 0\nexit", expected: "bad_mem"),
    Case(name: "uninit stack read privileged", source: "ldxdw %r0, [%r10-8]\nexit", expected: "ok"),
    Case(name: "uninit stack read unprivileged", source: "ldxdw %r0, [%r10-8]\nexit", expected: "uninit_stack", profile: .unprivileged),
    Case(name: "spill and fill pointer", source: "stxdw [%r10-8], %r1\nldxdw %r2, [%r10-8]\nldxw %r0, [%r2+0]\nexit", expected: "ok"),
    Case(name: "partial fill of pointer", source: "stxdw [%r10-8], %r1\nldxw %r2, [%r10-8]\nmov %r0, 0\nexit", expected: "spill_size"),
    Case(name: "spilled constant keeps value", source: "mov %r1, -8\nstxdw [%r10-8], %r1\nldxdw %r2, [%r10-8]\nmov %r3, %r10\nadd %r3, -8\nadd %r3, %r2\nldxdw %r0, [%r3+0]\nexit", expected: "ok"),
    Case(name: "stack pointer minus constant", source: "mov %r2, %r10\nsub %r2, 8\nmov %r0, 0\nexit", expected: "ptr_arith"),
    Case(name: "pointer spilled with 4 bytes", source: "stxw [%r10-8], %r1\nmov %r0, 0\nexit", expected: "bad_mem"),
    Case(name: "32-bit spill filled back", source: "ldxw %r2, [%r1+0]\nand %r2, 7\nstxw [%r10-8], %r2\nldxw %r3, [%r10-8]\nmov %r4, %r10\nadd %r4, -16\nadd %r4, %r3\nldxb %r0, [%r4+0]\nexit", expected: "ok"),
    Case(name: "32-bit fill of unaligned half is unknown", source: "ldxw %r2, [%r1+0]\nand %r2, 7\nstxw [%r10-4], %r2\nldxw %r3, [%r10-4]\nmov %r4, %r10\nadd %r4, -16\nadd %r4, %r3\nldxb %r0, [%r4+0]\nexit", expected: "bounds"),
    Case(name: "variable stack offset bounded", source: "stdw [%r10-16], 0\nstdw [%r10-8], 0\nldxw %r2, [%r1+0]\nand %r2, 8\nmov %r3, %r10\nadd %r3, -16\nadd %r3, %r2\nldxdw %r0, [%r3+0]\nexit", expected: "ok"),
    Case(name: "variable stack offset unbounded", source: "ldxw %r2, [%r1+0]\nmov %r3, %r10\nadd %r3, -16\nadd %r3, %r2\nldxdw %r0, [%r3+0]\nexit", expected: "bounds"),
    Case(name: "stack offset with large negative min", source: "ldxw %r2, [%r1+0]\nlsh %r2, 32\narsh %r2, 32\nmov %r3, %r10\nadd %r3, %r2\nmov %r0, 0\nexit", expected: "ptr_arith"),
    Case(name: "stack offset with unbounded min 64", source: "ldxdw %r2, [%r10-8]\nmov %r3, %r10\nadd %r3, %r2\nmov %r0, 0\nexit", expected: "ptr_arith"),
    // Map values and null checks
    Case(name: "lookup without null check", source: lookup + "\nldxdw %r0, [%r0+0]\nexit", expected: "null"),
    Case(name: "lookup with null check", source: lookup + "\njeq %r0, 0, +1\nldxdw %r0, [%r0+0]\nexit", expected: "ok"),
    Case(name: "null check on copy", source: lookup + "\nmov %r6, %r0\njeq %r0, 0, +1\nldxdw %r0, [%r6+8]\nexit", expected: "ok"),
    Case(name: "null check jne form", source: lookup + "\njne %r0, 0, +1\nexit\nldxdw %r0, [%r0+8]\nexit", expected: "ok"),
    Case(name: "value read past end", source: lookup + "\njeq %r0, 0, +1\nldxdw %r0, [%r0+16]\nexit", expected: "bounds"),
    Case(name: "value last byte", source: lookup + "\njeq %r0, 0, +1\nldxb %r0, [%r0+15]\nexit", expected: "ok"),
    Case(name: "value negative offset", source: lookup + "\njeq %r0, 0, +1\nldxb %r0, [%r0-1]\nexit", expected: "bounds"),
    Case(name: "value write", source: lookup + "\njeq %r0, 0, +2\nstdw [%r0+8], 1\nmov %r0, 0\nexit", expected: "ok"),
    Case(name: "arithmetic on nullable pointer", source: lookup + "\nadd %r0, 8\nmov %r0, 0\nexit", expected: "ptr_arith"),
    Case(name: "variable index bounded", source: lookup + "\njeq %r0, 0, +5\nldxw %r2, [%r6+0]\nand %r2, 7\nadd %r0, %r2\nldxdw %r0, [%r0+0]\nexit\nmov %r0, 0\nexit", expected: "ok"),
    Case(name: "variable index too large", source: lookup + "\njeq %r0, 0, +5\nldxw %r2, [%r6+0]\nand %r2, 15\nadd %r0, %r2\nldxdw %r0, [%r0+0]\nexit\nmov %r0, 0\nexit", expected: "bounds"),
    Case(name: "variable index unbounded", source: lookup + "\njeq %r0, 0, +4\nldxw %r2, [%r6+0]\nadd %r0, %r2\nldxdw %r0, [%r0+0]\nexit\nmov %r0, 0\nexit", expected: "unbounded"),
    Case(name: "index checked with jlt", source: lookup + "\njeq %r0, 0, +6\nldxw %r2, [%r6+0]\njge %r2, 9, +3\nadd %r0, %r2\nldxdw %r0, [%r0+0]\nexit\nmov %r0, 0\nexit", expected: "ok"),
    Case(name: "index checked one too far", source: lookup + "\njeq %r0, 0, +6\nldxw %r2, [%r6+0]\njgt %r2, 9, +3\nadd %r0, %r2\nldxdw %r0, [%r0+0]\nexit\nmov %r0, 0\nexit", expected: "bounds"),
    Case(name: "signed index needs lower bound", source: lookup + "\njeq %r0, 0, +6\nldxw %r2, [%r6+0]\nmovsx3264 %r2, %r2\njsgt %r2, 7, +2\nadd %r0, %r2\nldxb %r0, [%r0+0]\nmov %r0, 0\nexit", expected: "ptr_arith"),
    Case(name: "map pointer arithmetic", source: "lddw %r1, map:0\nadd %r1, 8\nmov %r0, 0\nexit", expected: "ptr_arith"),
    Case(name: "map pointer read privileged", source: "lddw %r1, map:0\nldxdw %r0, [%r1+0]\nexit", expected: "ok"),
    Case(name: "map pointer read unprivileged", source: "lddw %r1, map:0\nldxdw %r0, [%r1+0]\nexit", expected: "bad_mem", profile: .unprivileged),
    Case(name: "map pointer write", source: "lddw %r1, map:0\nstdw [%r1+0], 0\nmov %r0, 0\nexit", expected: "bad_mem"),
    Case(name: "jset refinement that contradicts the range keeps the branch", source: "ldxw %r3, [%r1+0]\nmov %r5, 0\njlt %r3, 31, +2\njset %r3, -4, +1\nlsh32 %r5, 32\nmov %r0, 0\nexit", expected: "shift"),
    Case(name: "bad map index", source: "lddw %r1, map:9\nmov %r0, 0\nexit", expected: "map_ref"),
    Case(name: "read-only map value write", source: "lddw %r1, map_value:4+0\nstdw [%r1+0], 1\nmov %r0, 0\nexit", expected: "readonly"),
    Case(name: "read-only map value read", source: "lddw %r1, map_value:4+8\nldxdw %r0, [%r1+0]\nexit", expected: "ok"),
    Case(name: "global value past end", source: "lddw %r1, map_value:4+8\nldxdw %r0, [%r1+8]\nexit", expected: "bounds"),
    Case(name: "scalar dereference", source: "mov %r1, 0\nldxdw %r0, [%r1+0]\nexit", expected: "bad_mem"),
    Case(name: "null after check is scalar zero", source: lookup + "\njne %r0, 0, +1\nldxdw %r0, [%r0+0]\nmov %r0, 0\nexit", expected: "bad_mem"),
    // Pointer arithmetic and comparisons
    Case(name: "pointer plus pointer", source: "mov %r2, %r10\nadd %r1, %r2\nmov %r0, 0\nexit", expected: "ptr_arith"),
    Case(name: "pointer minus pointer privileged", source: "mov %r2, %r10\nmov %r3, %r10\nsub %r2, %r3\nmov %r0, %r2\nexit", expected: "ok"),
    Case(name: "pointer times scalar", source: "mul %r1, 2\nmov %r0, 0\nexit", expected: "ptr_arith"),
    Case(name: "pointer and scalar", source: "and %r1, 2\nmov %r0, 0\nexit", expected: "ptr_arith"),
    Case(name: "32-bit pointer add", source: "add32 %r1, 2\nmov %r0, 0\nexit", expected: "ptr_arith"),
    Case(name: "scalar minus pointer", source: "mov %r2, 0\nsub %r2, %r1\nmov %r0, 0\nexit", expected: "ptr_arith"),
    Case(name: "pointer plus unbounded scalar", source: "ldxw %r2, [%r1+0]\nlsh %r2, 40\nmov %r3, %r10\nadd %r3, %r2\nmov %r0, 0\nexit", expected: "ptr_arith"),
    Case(name: "pointer comparison privileged", source: "mov %r0, 0\njeq %r1, %r10, +1\nmov %r0, 1\nexit", expected: "ok"),
    Case(name: "pointer comparison unprivileged", source: "mov %r0, 0\njeq %r1, %r10, +1\nmov %r0, 1\nexit", expected: "ptr_cmp", profile: .unprivileged),
    Case(name: "pointer store into map unprivileged", source: lookup + "\njeq %r0, 0, +1\nstxdw [%r0+0], %r10\nmov %r0, 0\nexit", expected: "ptr_leak", profile: .unprivileged),
    Case(name: "partial pointer copy unprivileged", source: "mov32 %r0, %r1\nexit", expected: "ptr_leak", profile: .unprivileged),
    // Packets
    Case(name: "xdp packet read checked", source: "ldxw %r2, [%r1+0]\nldxw %r3, [%r1+4]\nmov %r4, %r2\nadd %r4, 14\njgt %r4, %r3, +2\nldxb %r0, [%r2+13]\nexit\nmov %r0, 2\nexit", type: .xdp, expected: "ok"),
    Case(name: "xdp packet read one past", source: "ldxw %r2, [%r1+0]\nldxw %r3, [%r1+4]\nmov %r4, %r2\nadd %r4, 14\njgt %r4, %r3, +2\nldxb %r0, [%r2+14]\nexit\nmov %r0, 2\nexit", type: .xdp, expected: "pkt_range"),
    Case(name: "xdp packet unchecked", source: "ldxw %r2, [%r1+0]\nldxb %r0, [%r2+0]\nexit", type: .xdp, expected: "pkt_range"),
    Case(name: "xdp packet check on wrong side", source: "ldxw %r2, [%r1+0]\nldxw %r3, [%r1+4]\nmov %r4, %r2\nadd %r4, 14\njgt %r4, %r3, +2\nmov %r0, 2\nexit\nldxb %r0, [%r2+0]\nexit", type: .xdp, expected: "pkt_range"),
    Case(name: "xdp packet check reversed operands", source: "ldxw %r2, [%r1+0]\nldxw %r3, [%r1+4]\nmov %r4, %r2\nadd %r4, 8\njlt %r3, %r4, +2\nldxdw %r0, [%r2+0]\nexit\nmov %r0, 2\nexit", type: .xdp, expected: "ok"),
    Case(name: "xdp packet write", source: "ldxw %r2, [%r1+0]\nldxw %r3, [%r1+4]\nmov %r4, %r2\nadd %r4, 1\njgt %r4, %r3, +1\nstb [%r2+0], 1\nmov %r0, 2\nexit", type: .xdp, expected: "ok"),
    Case(name: "packet pointer beyond data_end is remembered", source: "ldxw %r2, [%r1+0]\nldxw %r3, [%r1+4]\nmov %r0, 2\njge %r3, %r2, +3\njgt %r2, %r3, +2\nstw [%r2+0], 1\nmov %r0, 1\nexit", type: .xdp, expected: "ok"),
    Case(name: "packet pointer at data_end is not beyond", source: "ldxw %r2, [%r1+0]\nldxw %r3, [%r1+4]\nmov %r0, 2\njgt %r3, %r2, +3\njgt %r2, %r3, +2\nstw [%r2+0], 1\nmov %r0, 1\nexit", type: .xdp, expected: "pkt_range"),
    Case(name: "packet end dereference", source: "ldxw %r3, [%r1+4]\nldxb %r0, [%r3+0]\nexit", type: .xdp, expected: "bad_mem"),
    Case(name: "packet end arithmetic", source: "ldxw %r3, [%r1+4]\nadd %r3, 1\nmov %r0, 0\nexit", type: .xdp, expected: "ptr_arith"),
    Case(name: "packet variable offset loses range", source: "ldxw %r2, [%r1+0]\nldxw %r3, [%r1+4]\nmov %r4, %r2\nadd %r4, 14\njgt %r4, %r3, +4\nldxb %r5, [%r2+0]\nand %r5, 7\nadd %r2, %r5\nldxb %r0, [%r2+0]\nmov %r0, 2\nexit", type: .xdp, expected: "pkt_range"),
    Case(name: "tc packet read checked", source: "ldxw %r2, [%r1+76]\nldxw %r3, [%r1+80]\nmov %r4, %r2\nadd %r4, 4\njgt %r4, %r3, +2\nldxw %r0, [%r2+0]\nexit\nmov %r0, 0\nexit", type: .schedCls, expected: "ok"),
    Case(name: "cgroup_skb packet write refused", source: "ldxw %r2, [%r1+76]\nldxw %r3, [%r1+80]\nmov %r4, %r2\nadd %r4, 4\njgt %r4, %r3, +1\nstb [%r2+0], 1\nmov %r0, 1\nexit", type: .cgroupSkb, expected: "readonly"),
    // Helpers
    Case(name: "unknown helper", source: "call 100000\nmov %r0, 0\nexit", expected: "unknown_helper"),
    Case(name: "helper unavailable", source: "mov %r1, 0\ncall 9\nmov %r0, 0\nexit", expected: "helper_unavailable"),
    Case(name: "probe_read in kprobe", source: "mov %r1, %r10\nadd %r1, -8\nmov %r2, 8\nmov %r3, 0\ncall 4\nmov %r0, 0\nexit", type: .kprobe, expected: "ok"),
    Case(name: "probe_read too big", source: "mov %r1, %r10\nadd %r1, -8\nmov %r2, 16\nmov %r3, 0\ncall 4\nmov %r0, 0\nexit", type: .kprobe, expected: "bounds"),
    Case(name: "probe_read unbounded size", source: "mov %r6, %r1\nmov %r1, %r10\nadd %r1, -8\nldxdw %r2, [%r6+0]\nmov %r3, 0\ncall 4\nmov %r0, 0\nexit", type: .kprobe, expected: "helper_arg"),
    Case(name: "probe_read bounded size", source: "mov %r6, %r1\nmov %r1, %r10\nadd %r1, -8\nldxdw %r2, [%r6+0]\nand %r2, 7\nmov %r3, 0\ncall 4\nmov %r0, 0\nexit", type: .kprobe, expected: "ok"),
    Case(name: "lookup key missing", source: "lddw %r1, map:0\nmov %r2, 0\ncall 1\nmov %r0, 0\nexit", expected: "helper_arg"),
    Case(name: "lookup key too small", source: "stb [%r10-1], 0\nmov %r2, %r10\nadd %r2, -1\nlddw %r1, map:0\ncall 1\nmov %r0, 0\nexit", expected: "bounds"),
    Case(name: "update with value", source: "stw [%r10-4], 0\nstdw [%r10-24], 0\nstdw [%r10-16], 0\nmov %r2, %r10\nadd %r2, -4\nmov %r3, %r10\nadd %r3, -24\nmov %r4, 0\nlddw %r1, map:0\ncall 2\nmov %r0, 0\nexit", expected: "ok"),
    Case(name: "map argument not a map", source: "mov %r1, 0\nmov %r2, %r10\nadd %r2, -4\ncall 1\nmov %r0, 0\nexit", expected: "helper_arg"),
    Case(name: "r1-r5 clobbered after call", source: "mov %r1, 1\ncall 7\nmov %r0, %r1\nexit", expected: "uninit_reg"),
    Case(name: "r6 preserved across call", source: "mov %r6, 1\ncall 7\nmov %r0, %r6\nexit", expected: "ok"),
    Case(name: "tail call", source: "mov %r6, %r1\nmov %r1, %r6\nlddw %r2, map:3\nmov %r3, 0\ncall 12\nmov %r0, 0\nexit", expected: "ok"),
    Case(name: "tail call r0 after", source: "lddw %r2, map:3\nmov %r3, 0\ncall 12\nexit", expected: "uninit_reg"),
    Case(name: "tail call wrong map", source: "lddw %r2, map:0\nmov %r3, 0\ncall 12\nmov %r0, 0\nexit", expected: "helper_arg"),
    Case(name: "ringbuf reserve submit", source: "lddw %r1, map:2\nmov %r2, 8\nmov %r3, 0\ncall 131\njeq %r0, 0, +4\nstdw [%r0+0], 1\nmov %r1, %r0\nmov %r2, 0\ncall 132\nmov %r0, 0\nexit", expected: "ok"),
    Case(name: "ringbuf leak", source: "lddw %r1, map:2\nmov %r2, 8\nmov %r3, 0\ncall 131\nmov %r0, 0\nexit", expected: "unreleased_ref"),
    Case(name: "ringbuf leak on one path", source: "lddw %r1, map:2\nmov %r2, 8\nmov %r3, 0\ncall 131\njeq %r0, 0, +5\nldxw %r1, [%r0+0]\njeq %r1, 0, +3\nmov %r1, %r0\nmov %r2, 0\ncall 133\nmov %r0, 0\nexit", expected: "unreleased_ref"),
    Case(name: "ringbuf write past size", source: "lddw %r1, map:2\nmov %r2, 8\nmov %r3, 0\ncall 131\njeq %r0, 0, +4\nstdw [%r0+8], 1\nmov %r1, %r0\nmov %r2, 0\ncall 132\nmov %r0, 0\nexit", expected: "bounds"),
    Case(name: "ringbuf use after submit", source: "lddw %r1, map:2\nmov %r2, 8\nmov %r3, 0\ncall 131\njeq %r0, 0, +5\nmov %r6, %r0\nmov %r1, %r0\nmov %r2, 0\ncall 132\nstdw [%r6+0], 1\nmov %r0, 0\nexit", expected: "bad_mem"),
    Case(name: "ringbuf submit unchecked", source: "lddw %r1, map:2\nmov %r2, 8\nmov %r3, 0\ncall 131\nmov %r1, %r0\nmov %r2, 0\ncall 132\nmov %r0, 0\nexit", expected: "bad_release"),
    Case(name: "ringbuf variable size", source: "ldxw %r2, [%r1+0]\nlddw %r1, map:2\nmov %r3, 0\ncall 131\nmov %r0, 0\nexit", expected: "helper_arg"),
    Case(name: "trace_printk", source: "stdw [%r10-8], 0\nmov %r1, %r10\nadd %r1, -8\nmov %r2, 8\ncall 6\nmov %r0, 0\nexit", type: .kprobe, expected: "ok"),
    Case(name: "zero-size read", source: "stdw [%r10-8], 0\nmov %r1, %r10\nadd %r1, -8\nmov %r2, 0\ncall 6\nmov %r0, 0\nexit", type: .kprobe, expected: "helper_arg"),
    Case(name: "helper with pointer as ctx", source: "mov %r1, %r10\ncall 17\nmov %r0, 0\nexit", type: .schedCls, expected: "helper_arg"),
    // bpf-to-bpf calls
    Case(name: "local call", source: "call local f\nexit\nf: mov %r0, 1\nexit", expected: "ok"),
    Case(name: "local call passes r1", source: "call local f\nexit\nf: ldxw %r0, [%r1+0]\nexit", expected: "ok"),
    Case(name: "callee cannot see r6", source: "mov %r6, 1\ncall local f\nexit\nf: mov %r0, %r6\nexit", expected: "uninit_reg"),
    Case(name: "callee returns stack pointer", source: "call local f\nmov %r0, 0\nexit\nf: mov %r0, %r10\nexit", expected: "bad_mem"),
    Case(name: "caller stack through pointer", source: "stdw [%r10-8], 3\nmov %r1, %r10\nadd %r1, -8\ncall local f\nexit\nf: ldxdw %r0, [%r1+0]\nexit", expected: "ok"),
    Case(name: "callee may leave r0 unset when the caller ignores it", source: "call local f\nmov %r0, 4\nexit\nf: exit", expected: "ok"),
    Case(name: "caller reads r0 the callee left unset", source: "call local f\nexit\nf: exit", expected: "uninit_reg"),
    Case(name: "stack of 512 bytes and an empty callee", source: "stb [%r10-512], 1\ncall local f\nmov %r0, 0\nexit\nf: mov %r0, 0\nexit", expected: "ok"),
    Case(name: "stack of 512 bytes and a callee using 8", source: "stb [%r10-512], 1\ncall local f\nmov %r0, 0\nexit\nf: stdw [%r10-8], 0\nmov %r0, 0\nexit", expected: "stack_size"),
    Case(name: "jump out of function", source: "call local f\nexit\nf: ja -2\n", expected: "jump_out_of_func"),
    Case(name: "recursion too deep", source: "call local f\nexit\nf: call local f\nmov %r0, 0\nexit", expected: "call_depth"),
    Case(name: "bpf_loop callback", source: "mov %r1, 10\nlddw %r2, func:cb\nmov %r3, 0\nmov %r4, 0\ncall 181\nmov %r0, 0\nexit\ncb: mov %r0, 0\nexit", expected: "ok", functionInfo: true),
    Case(name: "bpf_loop callback bad return", source: "mov %r1, 10\nlddw %r2, func:cb\nmov %r3, 0\nmov %r4, 0\ncall 181\nmov %r0, 0\nexit\ncb: mov %r0, 5\nexit", expected: "return_range", functionInfo: true),
    Case(name: "bpf_loop callback counts in the caller's stack", source: "stdw [%r10-8], 0\nmov %r1, 100\nlddw %r2, func:cb\nmov %r3, %r10\nadd %r3, -8\nmov %r4, 0\ncall 181\nldxdw %r0, [%r10-8]\nexit\ncb: ldxdw %r3, [%r2+0]\nadd %r3, 1\nstxdw [%r2+0], %r3\nmov %r0, 0\nexit", expected: "ok", functionInfo: true),
    Case(name: "bpf_loop callback index is unknown", source: "mov %r1, 4\nlddw %r2, func:cb\nmov %r3, 0\nmov %r4, 0\ncall 181\nmov %r0, 0\nexit\ncb: mov %r3, %r10\nadd %r3, -8\nadd %r3, %r1\nstb [%r3+0], 1\nmov %r0, 0\nexit", expected: "ptr_arith", functionInfo: true),
    Case(name: "bpf_loop callback state used after the loop", source: "stdw [%r10-8], 0\nmov %r1, 3\nlddw %r2, func:cb\nmov %r3, %r10\nadd %r3, -8\nmov %r4, 0\ncall 181\nldxdw %r1, [%r10-8]\nmov %r3, %r10\nadd %r3, -16\nadd %r3, %r1\nldxb %r0, [%r3+0]\nexit\ncb: mov %r3, 16\nstxdw [%r2+0], %r3\nmov %r0, 0\nexit", expected: "bounds", functionInfo: true),
    Case(name: "bpf_loop callback may stop", source: "mov %r1, 4\nlddw %r2, func:cb\nmov %r3, 0\nmov %r4, 0\ncall 181\nmov %r0, 0\nexit\ncb: mov %r0, 1\nexit", expected: "ok", functionInfo: true),
    Case(name: "for_each_map_elem reads the value", source: "lddw %r1, map:0\nlddw %r2, func:cb\nmov %r3, 0\nmov %r4, 0\ncall 164\nmov %r0, 0\nexit\ncb: ldxdw %r0, [%r3+8]\nldxw %r0, [%r2+0]\nmov %r0, 0\nexit", expected: "ok", functionInfo: true),
    Case(name: "for_each_map_elem value past end", source: "lddw %r1, map:0\nlddw %r2, func:cb\nmov %r3, 0\nmov %r4, 0\ncall 164\nmov %r0, 0\nexit\ncb: ldxdw %r0, [%r3+16]\nmov %r0, 0\nexit", expected: "bounds", functionInfo: true),
    Case(name: "for_each_map_elem key is read-only", source: "lddw %r1, map:0\nlddw %r2, func:cb\nmov %r3, 0\nmov %r4, 0\ncall 164\nmov %r0, 0\nexit\ncb: stw [%r2+0], 1\nmov %r0, 0\nexit", expected: "readonly", functionInfo: true),
    Case(name: "callback without BTF", source: "mov %r1, 10\nlddw %r2, func:cb\nmov %r3, 0\nmov %r4, 0\ncall 181\nmov %r0, 0\nexit\ncb: mov %r0, 0\nexit", expected: "unsupported"),
    Case(name: "tail call in subprogram without BTF", source: "call local f\nexit\nf: lddw %r2, map:3\nmov %r3, 0\ncall 12\nmov %r0, 0\nexit", expected: "helper_arg"),
    Case(name: "tail call in subprogram with BTF", source: "call local f\nexit\nf: lddw %r2, map:3\nmov %r3, 0\ncall 12\nmov %r0, 0\nexit", expected: "ok", functionInfo: true),
    // Atomics and legacy packet loads
    Case(name: "atomic add on stack", source: "stdw [%r10-8], 0\nmov %r1, 1\nlock add [%r10-8], %r1\nmov %r0, 0\nexit", expected: "ok"),
    Case(name: "atomic on ctx", source: "mov %r2, 1\nlock add32 [%r1+48], %r2\nmov %r0, 0\nexit", expected: "bad_mem"),
    Case(name: "atomic fetch result", source: "stdw [%r10-8], 0\nmov %r1, 1\nlock fetch add [%r10-8], %r1\nmov %r0, %r1\nexit", expected: "ok"),
    Case(name: "fetch add returns the spilled constant", source: "stdw [%r10-8], 3\nmov %r4, 1\nlock fetch add [%r10-8], %r4\njeq %r4, 3, +1\nmov %r0, %r5\nmov %r0, 0\nexit", expected: "ok"),
    Case(name: "fetch add of an unknown value", source: "ldxw %r2, [%r1+0]\nstxdw [%r10-8], %r2\nmov %r4, 1\nlock fetch add [%r10-8], %r4\njeq %r4, 3, +1\nmov %r0, %r5\nmov %r0, 0\nexit", expected: "uninit_reg"),
    Case(name: "cmpxchg loads the spilled constant into r0", source: "stdw [%r10-8], 7\nmov %r0, 0\nmov %r4, 1\nlock cmpxchg [%r10-8], %r4\njeq %r0, 7, +1\nmov %r0, %r5\nmov %r0, 0\nexit", expected: "ok"),
    Case(name: "fetch add on a spilled pointer returns the pointer", source: "stxdw [%r10-56], %r1\nmov %r4, 1\nlock fetch add [%r10-56], %r4\ndiv %r4, 63\nmov %r0, 0\nexit", expected: "ptr_arith"),
    Case(name: "slot after an atomic is not a spill", source: "stdw [%r10-8], 3\nmov %r4, 1\nlock add [%r10-8], %r4\nldxdw %r2, [%r10-8]\njeq %r2, 3, +1\nmov %r0, %r5\nmov %r0, 0\nexit", expected: "uninit_reg"),
    Case(name: "ldabs in socket filter", source: "mov %r6, %r1\nldabsb 12\nexit", expected: "ok"),
    Case(name: "ldabs without skb in r6", source: "ldabsb 12\nexit", expected: "uninit_reg"),
    Case(name: "ldabs in xdp", source: "mov %r6, %r1\nldabsb 12\nexit", type: .xdp, expected: "unsupported"),
    // Bounds tracking through branches
    Case(name: "jmp32 refines lower half", source: lookup + "\njeq %r0, 0, +6\nldxw %r2, [%r6+0]\njgt32 %r2, 7, +3\nadd %r0, %r2\nldxdw %r0, [%r0+0]\nexit\nmov %r0, 0\nexit", expected: "ok"),
    Case(name: "jmp32 on 64-bit value leaves upper half", source: lookup + "\njeq %r0, 0, +6\nldxdw %r2, [%r0+0]\njgt32 %r2, 7, +3\nadd %r0, %r2\nldxdw %r0, [%r0+0]\nexit\nmov %r0, 0\nexit", expected: "ptr_arith"),
    Case(name: "reg-reg comparison refines", source: lookup + "\njeq %r0, 0, +7\nldxw %r2, [%r6+0]\nmov %r3, 8\njge %r2, %r3, +3\nadd %r0, %r2\nldxdw %r0, [%r0+0]\nexit\nmov %r0, 0\nexit", expected: "ok"),
    Case(name: "linked copy refined", source: lookup + "\njeq %r0, 0, +7\nldxw %r2, [%r6+0]\nmov %r3, %r2\njgt %r2, 8, +3\nadd %r0, %r3\nldxdw %r0, [%r0+0]\nexit\nmov %r0, 0\nexit", expected: "ok"),
    Case(name: "stale bounds after overwrite", source: lookup + "\njeq %r0, 0, +8\nldxw %r2, [%r6+0]\nmov %r3, %r2\njgt %r2, 8, +4\nldxw %r3, [%r6+4]\nadd %r0, %r3\nldxdw %r0, [%r0+0]\nexit\nmov %r0, 0\nexit", expected: "unbounded"),
    Case(name: "alu32 result zero-extended", source: lookup + "\njeq %r0, 0, +6\nldxdw %r2, [%r0+0]\nmov32 %r2, %r2\nand32 %r2, 7\nadd %r0, %r2\nldxdw %r0, [%r0+0]\nexit\nmov %r0, 0\nexit", expected: "ok"),
    Case(name: "sign-extended load is signed", source: lookup + "\njeq %r0, 0, +6\nldxsb %r2, [%r0+0]\njsgt %r2, 7, +3\nadd %r0, %r2\nldxdw %r0, [%r0+0]\nexit\nmov %r0, 0\nexit", expected: "negative"),
    Case(name: "unsigned check of sign-extended load", source: lookup + "\njeq %r0, 0, +7\nldxsb %r2, [%r0+0]\njsgt %r2, 7, +4\njslt %r2, 0, +3\nadd %r0, %r2\nldxdw %r0, [%r0+0]\nexit\nmov %r0, 0\nexit", expected: "ok"),
    Case(name: "jset refines", source: "ldxw %r2, [%r1+0]\nmov %r0, 0\njset %r2, 1, +1\nexit\nexit", expected: "ok"),
    Case(name: "may_goto loop", source: "mov %r0, 0\nl: may_goto +1\nja l\nexit", expected: "ok"),
    Case(name: "may_goto counted loop", source: "mov %r0, 0\nl: may_goto +2\nadd %r0, 1\nja l\nexit", expected: "ok"),
    Case(name: "may_goto loop with bad access", source: "mov %r6, 0\nl: may_goto +5\nadd %r6, 1\nmov %r3, %r10\nadd %r3, -8\nadd %r3, %r6\nja l\nldxb %r0, [%r3+0]\nexit", expected: "uninit_reg"),
    // Precision: scalars that decide nothing do not keep states apart; those that do are exact.
    Case(name: "imprecise counter converges", source: "mov %r6, %r1\nmov %r0, 0\nmov %r7, 0\nl: ldxw %r2, [%r6+0]\njset %r2, 1, +1\nadd %r0, 1\nadd %r7, 1\njlt %r7, 300, l\nmov %r0, 0\nexit", expected: "ok"),
    Case(name: "precise counter as offset", source: "mov %r6, %r1\nmov %r0, 0\nmov %r7, 0\nl: ldxw %r2, [%r6+0]\njset %r2, 1, +1\nadd %r0, 1\nadd %r7, 1\njlt %r7, 6, l\nmov %r3, %r10\nadd %r3, -8\nadd %r3, %r0\nldxb %r0, [%r3+0]\nexit", expected: "ok"),
    Case(name: "precise counter one past", source: "mov %r6, %r1\nmov %r0, 0\nmov %r7, 0\nl: ldxw %r2, [%r6+0]\njset %r2, 1, +1\nadd %r0, 1\nadd %r7, 1\njlt %r7, 6, l\nmov %r3, %r10\nadd %r3, -6\nadd %r3, %r0\nldxb %r0, [%r3+0]\nexit", expected: "bounds"),
    Case(name: "precise counter through spill", source: "mov %r6, %r1\nmov %r0, 0\nmov %r7, 0\nl: ldxw %r2, [%r6+0]\njset %r2, 1, +1\nadd %r0, 1\nadd %r7, 1\njlt %r7, 6, l\nstxdw [%r10-32], %r0\nldxdw %r4, [%r10-32]\nmov %r3, %r10\nadd %r3, -6\nadd %r3, %r4\nldxb %r0, [%r3+0]\nexit", expected: "bounds"),
    Case(name: "precise counter through linked copy", source: "mov %r6, %r1\nmov %r0, 0\nmov %r7, 0\nl: ldxw %r2, [%r6+0]\njset %r2, 1, +1\nadd %r0, 1\nadd %r7, 1\njlt %r7, 6, l\nmov %r8, %r0\njgt %r0, 5, +4\nmov %r3, %r10\nadd %r3, -6\nadd %r3, %r8\nldxb %r0, [%r3+0]\nmov %r0, 0\nexit", expected: "ok"),
    Case(name: "precise return value", source: "mov %r6, %r1\nmov %r0, 0\nmov %r7, 0\nl: ldxw %r2, [%r6+0]\njset %r2, 1, +1\nadd %r0, 1\nadd %r7, 1\njlt %r7, 3, l\nexit", type: .cgroupSkb, expected: "return_range"),
    // Linux 6.18 details
    Case(name: "ctx compared with NULL explores both", source: "jeq %r1, 0, +1\nmov %r0, 1\nexit", expected: "uninit_reg"),
    Case(name: "null check against zero register", source: lookup + "\nmov %r4, 0\njeq %r0, %r4, +2\nldxdw %r0, [%r0+0]\nexit\nmov %r0, 0\nexit", expected: "null"),
    Case(name: "array lookup of constant key", source: "stw [%r10-4], 0\nmov %r2, %r10\nadd %r2, -4\nlddw %r1, map:1\ncall 1\nldxdw %r0, [%r0+0]\nexit", expected: "ok"),
    Case(name: "array lookup of constant key out of range", source: "mov %r3, 4\nstxw [%r10-8], %r3\nmov %r2, %r10\nadd %r2, -8\nlddw %r1, map:1\ncall 1\nldxdw %r0, [%r0+0]\nexit", expected: "null"),
    Case(name: "spilled constant key", source: "mov %r3, 2\nstxw [%r10-8], %r3\nmov %r2, %r10\nadd %r2, -8\nlddw %r1, map:1\ncall 1\nldxdw %r0, [%r0+0]\nexit", expected: "ok"),
    Case(name: "array lookup of unaligned non-zero key", source: "stw [%r10-4], 3\nmov %r2, %r10\nadd %r2, -4\nlddw %r1, map:1\ncall 1\nldxdw %r0, [%r0+0]\nexit", expected: "null"),
    Case(name: "hash lookup of constant key", source: "stw [%r10-4], 0\nmov %r2, %r10\nadd %r2, -4\nlddw %r1, map:0\ncall 1\nldxdw %r0, [%r0+0]\nexit", expected: "null"),
    Case(name: "direct value of multi-element array", source: "lddw %r1, map_value:1+0\nstdw [%r1+0], 1\nmov %r0, 0\nexit", expected: "map_ref"),
    Case(name: "direct value of hash map", source: "lddw %r1, map_value:0+0\nmov %r0, 0\nexit", expected: "map_ref"),
    Case(name: "lookup in ring buffer", source: "stw [%r10-4], 0\nmov %r2, %r10\nadd %r2, -4\nlddw %r1, map:2\ncall 1\nmov %r0, 0\nexit", expected: "helper_arg"),
    Case(name: "xdp egress_ifindex", source: "ldxw %r0, [%r1+20]\nexit", type: .xdp, expected: "ctx_access"),
    Case(name: "xdp packet pointer stale after adjust_head", source: "mov %r6, %r1\nldxw %r7, [%r6+0]\nldxw %r8, [%r6+4]\nmov %r2, %r7\nadd %r2, 1\njgt %r2, %r8, +5\nmov %r1, %r6\nmov %r2, 0\ncall 44\nldxb %r0, [%r7+0]\nexit\nmov %r0, 2\nexit", type: .xdp, expected: "bad_mem"),
    Case(name: "xdp packet reloaded after adjust_head", source: "mov %r6, %r1\nmov %r1, %r6\nmov %r2, 0\ncall 44\nldxw %r7, [%r6+0]\nldxw %r8, [%r6+4]\nmov %r2, %r7\nadd %r2, 1\njgt %r2, %r8, +2\nldxb %r0, [%r7+0]\nexit\nmov %r0, 2\nexit", type: .xdp, expected: "ok"),
    Case(name: "pointer neg privileged", source: "neg %r1\nmov %r0, 0\nexit", expected: "ok"),
    Case(name: "pointer neg unprivileged", source: "neg %r1\nmov %r0, 0\nexit", expected: "ptr_arith", profile: .unprivileged),
    Case(name: "pointer byte swap privileged", source: "be16 %r1\nmov %r0, 0\nexit", expected: "ok"),
    Case(name: "byte swap keeps known bits", source: lookup + "\njeq %r0, 0, +6\nldxdw %r2, [%r0+0]\nand %r2, 0x3f00\nbe16 %r2\nadd %r0, %r2\nldxb %r0, [%r0+0]\nexit\nmov %r0, 0\nexit", expected: "bounds"),
    Case(name: "byte swap keeps known bits in range", source: lookup + "\njeq %r0, 0, +6\nldxdw %r2, [%r0+0]\nand %r2, 0x0f00\nbe16 %r2\nadd %r0, %r2\nldxb %r0, [%r0+0]\nexit\nmov %r0, 0\nexit", expected: "ok"),
    Case(name: "smp_processor_id is below the CPU count", source: "call 8\nmov %r3, %r10\nadd %r3, -512\nadd %r3, %r0\nldxb %r0, [%r3+0]\nexit", expected: "ok"),
]

@Suite struct CaseTableTests {
    @Test(arguments: cases)
    func verdict(_ c: Case) throws {
        let program = try Assembler.assembleProgram(c.source)
        var input = VerifierInput(instructions: program.instructions, programType: c.type, maps: testMaps)
        input.hasFunctionInfo = c.functionInfo
        let result = Verifier(options: VerifierOptions(profile: c.profile, complexityLimit: 20_000)).verify(input)
        let got = result.refusal?.error.kind ?? "ok"
        #expect(got == c.expected, "\(c.name): \(result.summary)\n\(result.refusal?.explanation ?? "")")
    }

    @Test func refusalExplainsItself() throws {
        let program = try Assembler.assembleProgram(lookup + "\nldxdw %r0, [%r0+0]\nexit")
        let result = Verifier().verify(VerifierInput(instructions: program.instructions, programType: .socketFilter, maps: testMaps))
        let refusal = try #require(result.refusal)
        #expect(refusal.pc == 7)
        #expect(refusal.instructionText.contains("r0 = *(u64 *)(r0 + 0)"))
        #expect(refusal.hint.contains("NULL"))
        #expect(refusal.state.contains("R0=map_value_or_null"))
        #expect(result.log.contains("instruction 7"))
    }

    @Test func factsRecordAccessKindsAndDivisors() throws {
        let program = try Assembler.assembleProgram("ldxw %r2, [%r1+0]\nor %r2, 1\nmov %r0, 10\ndiv %r0, %r2\nstdw [%r10-8], 1\nexit")
        let result = Verifier().verify(VerifierInput(instructions: program.instructions, programType: .socketFilter))
        let verified = try #require(result.program)
        #expect(verified.facts[0].access == .context)
        #expect(verified.facts[3].divisorNonZero)
        #expect(verified.facts[4].access == .stack)
        #expect(verified.facts[0].upperHalfZero)
    }

    /// A loop whose branches keep a precise value apart leaves one pending branch per
    /// iteration: Linux gives up past 8,192 of them, naming the jump.
    @Test func pendingBranchLimit() throws {
        let source = "mov %r6, %r1\nmov %r0, 0\nmov %r7, 0\nl: ldxw %r2, [%r6+0]\njset %r2, 1, +1\nadd %r0, 1\nadd %r7, 1\njlt %r7, 100000, l\nmov %r3, %r10\nadd %r3, -512\nand %r0, 255\nadd %r3, %r0\nldxb %r0, [%r3+0]\nexit"
        let program = try Assembler.assembleProgram(source)
        let result = Verifier().verify(VerifierInput(instructions: program.instructions, programType: .socketFilter))
        let refusal = try #require(result.refusal)
        #expect(refusal.error.kind == "jump_sequence" || refusal.error.kind == "complexity", "\(result.summary)")
        #expect(refusal.message.contains("too complex") || refusal.message.contains("too large"))
        #expect(!refusal.hint.isEmpty)
        #expect(result.log.contains("processed"))
    }

    @Test func complexityLimitNamesTheInstruction() throws {
        let program = try Assembler.assembleProgram("mov %r0, 0\nl: add %r0, 1\njne %r0, -1, l\nexit")
        let input = VerifierInput(instructions: program.instructions, programType: .socketFilter)
        let result = Verifier(options: VerifierOptions(complexityLimit: 5_000)).verify(input)
        let refusal = try #require(result.refusal)
        #expect(refusal.error.kind == "complexity")
        #expect(refusal.message.contains("Processed 5001 insn"))
        #expect(refusal.pc == 1 || refusal.pc == 2)
        #expect(refusal.explanation.contains("hint:"))
    }

    /// A global function is verified from its prototype: a pointer argument may be NULL.
    @Test func globalFunctionArgumentsMayBeNull() throws {
        let source = "stw [%r10-8], 3\nmov %r1, %r10\nadd %r1, -8\ncall local g\nexit\ng: ldxw %r0, [%r1+0]\nexit"
        let checked = "stw [%r10-8], 3\nmov %r1, %r10\nadd %r1, -8\ncall local g\nexit\ng: mov %r0, 0\njeq %r1, 0, +1\nldxw %r0, [%r1+0]\nexit"
        for (text, expected) in [(source, "null"), (checked, "ok")] {
            let program = try Assembler.assembleProgram(text)
            var input = VerifierInput(instructions: program.instructions, programType: .socketFilter)
            input.globalFunctions[5] = GlobalFunctionSignature(name: "g", arguments: [.memory(size: 4)])
            let result = Verifier().verify(input)
            #expect((result.refusal?.error.kind ?? "ok") == expected, "\(result.summary)")
        }
        // The caller must pass memory of the prototype's size.
        let small = "stb [%r10-1], 3\nmov %r1, %r10\nadd %r1, -1\ncall local g\nexit\ng: mov %r0, 0\nexit"
        let program = try Assembler.assembleProgram(small)
        var input = VerifierInput(instructions: program.instructions, programType: .socketFilter)
        input.globalFunctions[5] = GlobalFunctionSignature(name: "g", arguments: [.memory(size: 4)])
        #expect(Verifier().verify(input).refusal?.error.kind == "bounds")
    }

    @Test func everyErrorHasAHint() {
        let errors: [VerifierError] = [
            .malformed(pc: 0, reason: "r"), .tooManyInstructions(count: 5000, limit: 4096), .unknownProgramType, .unreachableInstruction(pc: 1),
            .jumpOutOfFunction(pc: 0, target: 3), .fallsOffEnd(pc: 0), .backEdge(pc: 2, target: 0), .invalidCallTarget(pc: 0, target: 9),
            .unsupportedInstruction(pc: 0, what: "x"), .invalidMapReference(pc: 0, reason: "r"), .uninitializedRegister(pc: 0, register: 2),
            .framePointerWrite(pc: 0), .divisionByZero(pc: 0), .invalidShift(pc: 0, amount: 64),
            .pointerArithmetic(pc: 0, register: 1, reason: "r"), .pointerComparison(pc: 0, register: 1),
            .pointerLeak(pc: 0, register: 0, reason: "r"), .invalidMemoryAccess(pc: 0, register: 1, kind: "scalar", reason: "r"),
            .possiblyNull(pc: 0, register: 0, kind: "map_value"), .contextAccess(pc: 0, offset: 400, size: 4),
            .modifiedContextPointer(pc: 0, register: 1, offset: 8), .outOfBounds(pc: 0, register: 0, kind: "map_value", offset: 16, size: 8, limit: 16),
            .unboundedOffset(pc: 0, register: 0, kind: "map_value"), .negativeOffset(pc: 0, register: 0, kind: "packet"),
            .uninitializedStackRead(pc: 0, offset: -8, size: 8), .readOnlyWrite(pc: 0, register: 1, kind: "map_value"),
            .invalidSpillSize(pc: 0), .packetRangeNotChecked(pc: 0, register: 2, offset: 0, size: 1, range: 0),
            .mixedPointerKinds(pc: 0), .unknownHelper(pc: 0, id: 99999), .helperUnavailable(pc: 0, id: 9, name: "n", programType: "t"),
            .helperArgument(pc: 0, helper: "h", argument: 1, reason: "r"), .unreleasedReference(pc: 0, acquiredAt: 3, helper: "h"),
            .invalidRelease(pc: 0, register: 1), .callDepthExceeded(pc: 0, depth: 9), .stackTooLarge(pc: 0, size: 600),
            .returnValueOutOfRange(pc: 0, range: "[0, 1]", value: "2"), .returnNotScalar(pc: 0, kind: "fp"),
            .infiniteLoop(pc: 0), .complexityLimit(pc: 0, processed: 1_000_001), .tooManyPendingBranches(pc: 0, count: 8193),
        ]
        for error in errors {
            #expect(!error.hint.isEmpty, "\(error.kind) has no hint")
            #expect(!error.message.isEmpty)
        }
    }

    @Test func programSizeLimits() {
        let body = Array(repeating: "mov %r0, 0", count: 4100).joined(separator: "\n") + "\nexit"
        let program = try! Assembler.assemble(body)
        let input = VerifierInput(instructions: program, programType: .socketFilter)
        #expect(Verifier(options: VerifierOptions(profile: .unprivileged)).verify(input).refusal?.error.kind == "too_many_insns")
        #expect(Verifier().verify(input).isAccepted)
    }
}
