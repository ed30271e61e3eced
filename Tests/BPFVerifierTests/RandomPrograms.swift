import BPFObject
import BPFTestSupport


/// Random verifier-test programs in assembly text: scalar ALU of both widths with edge immediates,
/// forward conditional jumps (both widths, register and immediate), stack stores and loads (in and
/// slightly out of bounds, initialised or not), map lookups with and without NULL checks, map value
/// accesses at constant and bounded variable offsets (some bounded through a linked copy with a
/// constant added, `c = i; c += k; if c > N`), packet accesses with and without range checks
/// (XDP and TC), pointer spills and fills, atomics on the stack, helper calls that clobber r1-r5, and an exit with r0 set or not. Only forward jumps, so
/// every program ends. Deterministic for a seed.
///
/// Register roles (a bias, not a rule — the generator sometimes breaks them on purpose):
/// r6 = ctx, r7 = map value, r8 = packet data, r9 = packet end, the rest scalars.
struct RandomProgramGenerator {
    struct Options {
        var type: ProgramType = .socketFilter
        /// `lddw map:5` (64-byte hash values) and `map:6` (64-byte array values) lookups.
        var maps = true
        /// Only map 5 (hash): its lookups may return NULL in a run (the soundness test needs that).
        var hashOnly = false
        var helpers = true
        /// Blocks between forward-jump targets (more blocks: more paths meeting, more pruning).
        var blocks: ClosedRange<Int> = 2...6
    }

    struct Program {
        var seed: UInt64
        var type: ProgramType
        var source: String
    }

    var options: Options
    private var rng: SplitMix64
    private var lines: [String] = []
    private var pendingLabel: String?
    private var initialised: Set<Int> = []
    private var block = 0
    private var blockCount = 0
    private var haveValue = false
    private var callsFunction = false
    private var havePacket = false

    init(seed: UInt64, options: Options = Options()) {
        self.options = options
        rng = SplitMix64(seed: seed)
    }

    static func program(seed: UInt64, options: Options) -> Program {
        var generator = RandomProgramGenerator(seed: seed, options: options)
        return Program(seed: seed, type: options.type, source: generator.generate())
    }

    // MARK: Random choices

    private mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &rng) }
    private mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &rng) < p }
    private mutating func pick<T>(_ items: [T]) -> T { items[int(0...items.count - 1)] }

    private var isXDP: Bool { options.type == .xdp }
    private var isKprobe: Bool { options.type == .kprobe }
    /// XDP and TC programs see the packet directly (r8 = data, r9 = data_end).
    private var hasPackets: Bool { isXDP || options.type == .schedCls }
    private static let scalarRegisters = [0, 2, 3, 4, 5]

    /// A register to compute in: mostly an initialised scalar register.
    private mutating func destination() -> Int {
        if chance(0.03) { return pick([6, 7, 8, 9, 1]) }
        let candidates = Self.scalarRegisters + (hasPackets ? [] : [8, 9]) + (haveValue ? [] : [7])
        return pick(candidates)
    }

    /// A register to read: initialised ones 96% of the time.
    private mutating func source() -> Int {
        let ready = initialised.filter { $0 != 10 }.sorted()
        if ready.isEmpty || chance(0.04) { return int(0...9) }
        return pick(ready)
    }

    /// Immediates, edge values included.
    private mutating func immediate() -> Int64 {
        switch int(0...9) {
        case 0: return pick([0, 1, -1])
        case 1: return pick([31, 32, 63, 64, 65])
        case 2: return pick([0x7fff_ffff, -0x8000_0000, 0xffff, 0x7f, 0x80, 0xff])
        case 3: return Int64(Int32.random(in: .min ... .max, using: &rng))
        default: return Int64(int(-16...70))
        }
    }

    private mutating func emit(_ line: String) {
        if let label = pendingLabel {
            lines.append("\(label): \(line)")
            pendingLabel = nil
        } else {
            lines.append(line)
        }
    }

    /// A label ahead of the current block (the end block included).
    private mutating func forwardLabel() -> String {
        "L\(int(block + 1 ... blockCount))"
    }

    // MARK: Program

    mutating func generate() -> String {
        blockCount = int(options.blocks)
        initialised = [1, 10]
        emit("mov %r6, %r1")
        initialised.insert(6)
        if hasPackets {
            emit("ldxw %r8, [%r6+\(isXDP ? 0 : 76)]")
            emit("ldxw %r9, [%r6+\(isXDP ? 4 : 80)]")
            initialised.formUnion([8, 9])
            havePacket = true
        }
        // Registers start set (so that jumps over assignments do not leave them unset), r0 mostly.
        for r in [0, 2, 3, 4, 5] + (hasPackets ? [7] : [7, 8, 9]) where r != 0 || chance(0.85) {
            initialise(r)
        }
        for b in 0..<blockCount {
            block = b
            if b > 0 { pendingLabel = "L\(b)" }
            for _ in 0..<int(1...5) { operation() }
            // A block must not be empty, or its label would sit on the next one.
            if pendingLabel != nil { aluImmediate() }
        }
        block = blockCount
        pendingLabel = "L\(blockCount)"
        if chance(0.93) {
            if isXDP, chance(0.7) {
                emit("mov %r0, \(int(0...4))")
            } else if chance(0.6) {
                emit("mov %r0, \(immediate())")
            } else {
                emit("mov %r0, %r\(source())")
            }
        }
        emit("exit")
        if callsFunction { function() }
        return lines.joined(separator: "\n")
    }

    /// `r = imm` or `r = ctx field`.
    private mutating func initialise(_ r: Int) {
        if chance(0.5) {
            emit("mov %r\(r), \(immediate())")
        } else {
            emit(isKprobe ? "ldxdw %r\(r), [%r6+\(8 * int(0...20))]"
                          : "ldxw %r\(r), [%r6+\(isXDP ? pick([12, 16]) : pick([0, 4, 8, 16]))]")
        }
        initialised.insert(r)
    }

    /// After a call: r1-r5 are unset; most are set again at once.
    private mutating func clobber() {
        for r in [1, 2, 3, 4, 5] { initialised.remove(r) }
        for r in [2, 3, 4, 5] where chance(0.9) { initialise(r) }
    }

    private mutating func operation() {
        switch int(0...99) {
        case 0..<22: aluImmediate()
        case 22..<32: aluRegister()
        case 32..<36: unaryOperation()
        case 36..<49: conditionalJump()
        case 49..<57: stackStore()
        case 57..<63: stackLoad()
        case 63..<67: contextLoad()
        case 67..<72:
            if options.maps { lookup() } else { aluImmediate() }
        case 72..<82:
            if hasPackets, havePacket { packetAccess() } else if haveValue { valueAccess() } else { stackStore() }
        case 82..<86:
            if haveValue { valueAccess() } else { aluRegister() }
        case 86..<89:
            if options.helpers { helperCall() } else { aluImmediate() }
        case 89..<92: pointerSpill()
        case 92..<94: atomic()
        case 94..<96:
            if options.helpers, isKprobe { probeRead() } else if options.helpers, !isXDP { loadBytes() } else { stackStore() }
        case 96..<98: localCall()
        default: variableStackAccess()
        }
    }

    private static let binaryOperations = ["add", "sub", "mul", "div", "or", "and", "lsh", "rsh", "mod", "xor", "mov", "arsh", "sdiv", "smod"]

    private mutating func aluImmediate() {
        let op = pick(Self.binaryOperations)
        let wide = chance(0.6)
        let r = destination()
        var imm = immediate()
        if op.hasSuffix("sh") {
            // Mostly legal amounts, sometimes 32..64 or negative (refused by Linux).
            imm = chance(0.9) ? Int64(int(0...(wide ? 63 : 31))) : pick([32, 63, 64, -1])
        } else if op.hasSuffix("div") || op.hasSuffix("mod"), chance(0.9), imm == 0 {
            imm = 3
        }
        emit("\(op)\(wide ? "" : "32") %r\(r), \(imm)")
        initialised.insert(r)
    }

    private mutating func aluRegister() {
        let op = pick(Self.binaryOperations)
        let wide = chance(0.6)
        let r = destination()
        let s = source()
        emit("\(op)\(wide ? "" : "32") %r\(r), %r\(s)")
        initialised.insert(r)
    }

    private mutating func unaryOperation() {
        let r = destination()
        switch int(0...5) {
        case 0: emit(chance(0.5) ? "neg %r\(r)" : "neg32 %r\(r)")
        case 1: emit("\(pick(["be16", "be32", "be64", "le16", "le32", "le64"])) %r\(r)")
        case 2: emit("\(pick(["bswap16", "bswap32", "bswap64"])) %r\(r)")
        default:
            emit("\(pick(["movsx864", "movsx1664", "movsx3264", "movsx832", "movsx1632"])) %r\(r), %r\(source())")
        }
        initialised.insert(r)
    }

    private static let jumps = ["jeq", "jne", "jgt", "jge", "jlt", "jle", "jsgt", "jsge", "jslt", "jsle", "jset"]

    private mutating func conditionalJump() {
        let op = pick(Self.jumps) + (chance(0.3) ? "32" : "")
        let r = source()
        let operand = chance(0.65) ? "\(immediate())" : "%r\(source())"
        emit("\(op) %r\(r), \(operand), \(forwardLabel())")
    }

    private mutating func size() -> (suffix: String, bytes: Int) {
        pick([("b", 1), ("h", 2), ("w", 4), ("dw", 8)])
    }

    private mutating func stackOffset(_ bytes: Int) -> Int {
        switch int(0...19) {
        case 0: return pick([-520, -513, -512 + bytes - 1, 0, bytes, -bytes + 1])
        case 1: return -int(1...64)
        default: return -bytes * int(1...(64 / bytes))
        }
    }

    private mutating func stackStore() {
        let (suffix, bytes) = size()
        let off = stackOffset(bytes)
        if chance(0.5) {
            emit("st\(suffix) [%r10\(signed(off))], \(immediate())")
        } else {
            emit("stx\(suffix) [%r10\(signed(off))], %r\(source())")
        }
    }

    private mutating func stackLoad() {
        let (suffix, bytes) = size()
        let r = destination()
        emit("ldx\(chance(0.1) && bytes < 8 ? "s" : "")\(suffix) %r\(r), [%r10\(signed(stackOffset(bytes)))]")
        initialised.insert(r)
    }

    private mutating func contextLoad() {
        let r = destination()
        if isXDP {
            emit(chance(0.9) ? "ldxw %r\(r), [%r6+\(pick([12, 16]))]" : "ldx\(pick(["b", "dw"])) %r\(r), [%r6+\(int(0...28))]")
        } else if isKprobe {
            emit(chance(0.9) ? "ldxdw %r\(r), [%r6+\(8 * int(0...20))]" : "ldx\(pick(["b", "w", "dw"])) %r\(r), [%r6\(signed(int(-4...172)))]")
        } else {
            emit(chance(0.9) ? "ldxw %r\(r), [%r6+\(pick([0, 4, 8, 16, 20, 24, 48, 52]))]"
                             : "ldx\(pick(["b", "h", "dw"])) %r\(r), [%r6\(signed(int(-4...200)))]")
        }
        initialised.insert(r)
    }

    private mutating func lookup() {
        if chance(0.9) { emit("stw [%r10-4], \(int(0...5))") }
        emit("mov %r2, %r10")
        emit("add %r2, -4")
        emit("lddw %r1, map:\(options.hashOnly || chance(0.6) ? 5 : 6)")
        emit("call 1")
        emit("mov %r7, %r0")
        initialised.formUnion([0, 7])
        clobber()
        haveValue = true
        if chance(0.8) { emit("jeq %r7, 0, \(forwardLabel())") }
    }

    /// r7 + constant, or r7 + a scalar bounded by `and` or a jump.
    private mutating func valueAccess() {
        let (suffix, bytes) = size()
        var base = 7
        if chance(0.5) {
            let index = pick(Self.scalarRegisters.filter { initialised.contains($0) && $0 != 5 } + [3])
            if chance(0.5) {
                linkedBound(index)
            } else if chance(0.6) {
                emit("and %r\(index), \(pick([7, 15, 31, 56, 63, 64, 127]))")
            } else {
                emit("\(pick(["jgt", "jge", "jsgt"])) %r\(index), \(pick([7, 31, 56, 63, 64])), \(forwardLabel())")
            }
            emit("mov %r5, %r7")
            emit("add %r5, %r\(index)")
            initialised.insert(5)
            base = 5
        }
        let off = chance(0.85) ? int(0...(64 - bytes)) : pick([-1, 64 - bytes + 1, 64])
        if chance(0.5) {
            let r = destination()
            emit("ldx\(suffix) %r\(r), [%r\(base)\(signed(off))]")
            initialised.insert(r)
        } else {
            emit("st\(suffix) [%r\(base)\(signed(off))], \(immediate())")
        }
    }

    /// Bounds `index` through a linked copy with a constant offset (`c = index; c += k; if c > N`),
    /// which Linux links (BPF_ADD_CONST) for 64- and 32-bit add/sub of constants in range.
    private mutating func linkedBound(_ index: Int) {
        let copy = pick([0, 2, 3, 4].filter { $0 != index })
        emit(chance(0.8) ? "mov %r\(copy), %r\(index)" : "mov32 %r\(copy), %r\(index)")
        let k: Int64 = chance(0.85) ? Int64(int(-4...4)) : pick([0x7fff_ffff, -0x8000_0000, 64, -64])
        emit("\(pick(["add", "add", "sub"]))\(chance(0.75) ? "" : "32") %r\(copy), \(k)")
        if chance(0.1) { emit("\(pick(["mov %r\(int(0...5)), %r\(copy)", "or %r\(copy), 0", "add %r\(copy), 1"]))") }
        let first = chance(0.5) ? copy : index
        emit("\(pick(["jgt", "jge", "jsgt", "jgt32"])) %r\(first), \(pick([60, 63, 64, 66])), \(forwardLabel())")
        if chance(0.7) {
            let second = chance(0.5) ? copy : index
            emit("\(pick(["jslt", "jlt", "jsle"])) %r\(second), \(pick([-3, 0, 1, 2, 4])), \(forwardLabel())")
        }
        initialised.insert(copy)
    }

    /// A range check `r8 + N > r9` then an access at r8 + off (sometimes without the check).
    private mutating func packetAccess() {
        let (suffix, bytes) = size()
        let n = int(1...40)
        if chance(0.85) {
            emit("mov %r4, %r8")
            emit("add %r4, \(n)")
            emit("jgt %r4, %r9, \(forwardLabel())")
            initialised.insert(4)
        }
        let off = chance(0.8) ? int(0...max(0, n - bytes)) : int(-2...(n + 2))
        if chance(0.6) {
            let r = pick(Self.scalarRegisters)
            emit("ldx\(suffix) %r\(r), [%r8\(signed(off))]")
            initialised.insert(r)
        } else {
            emit("st\(suffix) [%r8\(signed(off))], \(immediate())")
        }
    }

    private mutating func helperCall() {
        emit(pick(["call 7", "call 5", "call 8"]))
        initialised.insert(0)
        clobber()
    }

    /// r5 = r10 - 64 + (scalar & mask), then a byte access.
    private mutating func variableStackAccess() {
        let index = pick(Self.scalarRegisters.filter { initialised.contains($0) && $0 != 5 } + [3])
        emit("and %r\(index), \(pick([15, 31, 63, 64, 127]))")
        emit("mov %r5, %r10")
        emit("add %r5, -64")
        emit("add %r5, %r\(index)")
        initialised.insert(5)
        if chance(0.5) {
            emit("stb [%r5+0], 1")
        } else {
            let r = pick([0, 2, 4])
            emit("ldxb %r\(r), [%r5+0]")
            initialised.insert(r)
        }
    }

    /// A pointer (ctx, map value, packet) spilled to the stack, sometimes in part, and filled
    /// back, sometimes as a different size, then used.
    private mutating func pointerSpill() {
        let pointer = pick([6, 6, 7, 8, 10] + (haveValue ? [7, 7] : []))
        let off = -8 * int(2...7)
        if chance(0.85) {
            emit("stxdw [%r10\(off)], %r\(pointer)")
        } else {
            emit("stx\(pick(["w", "h", "b"])) [%r10\(off)], %r\(pointer)")
        }
        let r = pick([2, 3, 4])
        if chance(0.85) {
            emit("ldxdw %r\(r), [%r10\(off)]")
        } else {
            emit("ldxw %r\(r), [%r10\(off + pick([0, 4]))]")
        }
        initialised.insert(r)
        if chance(0.6) {
            let d = pick([0, 5])
            emit("ldx\(pick(["b", "w"])) %r\(d), [%r\(r)+\(pointer == 6 ? pick([0, 4, 16]) : pick([0, 1, 8, 60]))]")
            initialised.insert(d)
        }
    }

    /// Atomic operations on the stack (initialised or not), with and without fetch.
    private mutating func atomic() {
        let off = -8 * int(1...8)
        if chance(0.7) { emit("stdw [%r10\(off)], \(immediate())") }
        let r = pick(Self.scalarRegisters.filter { $0 != 0 })
        if !initialised.contains(r) { emit("mov %r\(r), \(immediate())"); initialised.insert(r) }
        switch int(0...4) {
        case 0: emit("lock add [%r10\(off)], %r\(r)")
        case 1: emit("lock fetch add [%r10\(off)], %r\(r)")
        case 2: emit("lock \(pick(["or", "and", "xor"]))32 [%r10\(off)], %r\(r)")
        case 3: emit("lock xchg [%r10\(off)], %r\(r)")
        default:
            emit("mov %r0, \(immediate())")
            emit("lock cmpxchg [%r10\(off)], %r\(r)")
            initialised.insert(0)
        }
    }

    /// bpf_probe_read_kernel(stack buffer, size, unsafe pointer), or trace_printk(stack, size).
    private mutating func probeRead() {
        let size = chance(0.85) ? int(1...32) : pick([0, 33, 64, -1])
        let buffer = -8 * int(1...4)
        if chance(0.7) { emit("stdw [%r10\(buffer)], 0") }
        emit("mov %r1, %r10")
        emit("add %r1, \(buffer)")
        if chance(0.8) {
            emit("mov %r2, \(size)")
        } else {
            emit("ldxdw %r2, [%r6+0]")
            emit("and %r2, \(pick([7, 15, 31, 63]))")
        }
        if chance(0.5) {
            emit("ldxdw %r3, [%r6+\(8 * int(0...20))]")
            emit("call \(pick([4, 113]))")
        } else {
            emit("call 6")
        }
        initialised.insert(0)
        clobber()
    }

    /// bpf_skb_load_bytes(ctx, offset, stack buffer, length): the memory and size pair.
    private mutating func loadBytes() {
        let length = chance(0.85) ? int(1...32) : pick([0, 33, 64, -1])
        let buffer = -8 * int(1...4)
        emit("mov %r1, %r6")
        emit("mov %r2, \(int(0...20))")
        emit("mov %r3, %r10")
        emit("add %r3, \(buffer)")
        if chance(0.8) {
            emit("mov %r4, \(length)")
        } else {
            emit("ldxw %r4, [%r6+0]")
            emit("and %r4, \(pick([7, 15, 31, 63]))")
        }
        emit("call 26")
        initialised.insert(0)
        clobber()
    }

    /// `call local F` with r1 a pointer into this frame (or a scalar) and r2 a scalar.
    private mutating func localCall() {
        let slot = -8 * int(1...4)
        if chance(0.8) { emit("stdw [%r10\(slot)], \(immediate())") }
        if chance(0.85) {
            emit("mov %r1, %r10")
            emit("add %r1, \(slot)")
        } else {
            emit("mov %r1, \(immediate())")
        }
        if chance(0.9) { emit("ldxw %r2, [%r6+\(isXDP ? 12 : 0)]") }
        emit("call local F")
        initialised.insert(0)
        clobber()
        callsFunction = true
    }

    /// The callee F: reads and writes through r1, uses its own stack, returns r0 (mostly).
    private mutating func function() {
        pendingLabel = "F"
        let steps = int(1...4)
        let hasExit = chance(0.5)
        if chance(0.95) { emit("mov %r0, \(immediate())") }
        for _ in 0..<steps {
            switch int(0...5) {
            case 0: emit("ldxdw %r0, [%r1\(signed(pick([0, 0, 8, -8])))]")
            case 1: emit("stdw [%r1\(signed(pick([0, 0, 8, -8])))], \(immediate())")
            case 2: emit("\(pick(["add", "xor", "and", "mul"])) %r0, %r2")
            case 3: emit("stdw [%r10\(signed(-8 * int(1...4)))], 1")
            case 4: emit("ldxdw %r3, [%r10\(signed(-8 * int(1...4)))]")
            default:
                if hasExit { emit("jgt %r2, \(int(0...64)), FE") } else { emit("and %r2, \(int(1...63))") }
            }
        }
        if hasExit { pendingLabel = "FE" }
        emit("exit")
    }

    private func signed(_ value: Int) -> String { value < 0 ? "\(value)" : "+\(value)" }
}
