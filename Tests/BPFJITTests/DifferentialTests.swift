import BPFInstructionSet
import BPFJIT
import BPFRuntime
import BPFVerifier
import Testing
import BPFTestSupport

/// Random programs the verifier accepts: registers seeded with random constants (the
/// inputs), a 64-byte initialised stack area, then ALU of every kind (division, modulo,
/// shifts, 32-bit forms, sign extension, byte swaps), stack loads and stores of every width,
/// atomics on the stack, forward conditional jumps, helper calls and bpf-to-bpf calls. The
/// epilogue folds r0-r9 and the stack area into r0, so comparing r0 compares all state.
struct ProgramGenerator {
    var rng: SplitMix64
    var slots: [Instruction] = []

    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    static let helperIDs: [Int32] = [7, 8]

    /// The helpers the generated programs call (Linux's IDs, deterministic bodies).
    static let helpers = HelperRegistry([
        Helper(id: 7, name: "get_prandom_u32") { arguments, _ throws(HelperError) in
            (arguments.r1 &* 0x9E37_79B9_7F4A_7C15 ^ arguments.r5) & 0xffff_ffff
        },
        Helper(id: 8, name: "get_smp_processor_id") { arguments, _ throws(HelperError) in
            arguments.r2 % UInt64(VerifierOptions().possibleCPUs)  // the range the verifier assumes, as Linux
        },
    ])

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &rng) }
    mutating func chance(_ percent: Int) -> Bool { int(0...99) < percent }

    mutating func immediate() -> Int32 {
        switch int(0...7) {
        case 0: return 0
        case 1: return 1
        case 2: return -1
        case 3: return Int32.min
        case 4: return Int32.max
        case 5: return Int32(int(-16...16))
        default: return Int32(truncatingIfNeeded: rng.next())
        }
    }

    mutating func add(_ op: Operation, dst: UInt8 = 0, src: UInt8 = 0, off: Int16 = 0, imm: Int32 = 0) {
        var instruction = op.descriptor.template
        instruction.destination = dst
        if op.descriptor.form.usesSource { instruction.source = src }
        if op.descriptor.form.usesOffset { instruction.offset = off }
        if op.descriptor.form.usesImmediate { instruction.immediate = imm }
        slots.append(instruction)
    }

    mutating func wide(_ dst: UInt8, _ value: UInt64) {
        var first = Operation.loadImm64.descriptor.template
        first.destination = dst
        first.immediate = Int32(truncatingIfNeeded: value)
        slots.append(first)
        slots.append(Instruction(opcode: 0, immediate: Int32(truncatingIfNeeded: value >> 32)))
    }

    mutating func register() -> UInt8 { UInt8(int(0...9)) }

    mutating func seedRegisters(_ registers: ClosedRange<UInt8>) {
        for r in registers {
            if chance(30) { wide(r, rng.next()) } else { add(.mov64Imm, dst: r, imm: immediate()) }
        }
    }

    static let aluOperations: [(Operation, Operation, Operation, Operation)] = [
        (.add64Imm, .add64Reg, .add32Imm, .add32Reg), (.sub64Imm, .sub64Reg, .sub32Imm, .sub32Reg),
        (.mul64Imm, .mul64Reg, .mul32Imm, .mul32Reg), (.div64Imm, .div64Reg, .div32Imm, .div32Reg),
        (.sdiv64Imm, .sdiv64Reg, .sdiv32Imm, .sdiv32Reg), (.or64Imm, .or64Reg, .or32Imm, .or32Reg),
        (.and64Imm, .and64Reg, .and32Imm, .and32Reg), (.lsh64Imm, .lsh64Reg, .lsh32Imm, .lsh32Reg),
        (.rsh64Imm, .rsh64Reg, .rsh32Imm, .rsh32Reg), (.mod64Imm, .mod64Reg, .mod32Imm, .mod32Reg),
        (.smod64Imm, .smod64Reg, .smod32Imm, .smod32Reg), (.xor64Imm, .xor64Reg, .xor32Imm, .xor32Reg),
        (.mov64Imm, .mov64Reg, .mov32Imm, .mov32Reg), (.arsh64Imm, .arsh64Reg, .arsh32Imm, .arsh32Reg),
    ]
    static let unaryOperations: [Operation] = [
        .neg64, .neg32, .le16, .le32, .le64, .be16, .be32, .be64, .bswap16, .bswap32, .bswap64,
    ]
    static let extendOperations: [Operation] = [.movsx8To64, .movsx16To64, .movsx32To64, .movsx8To32, .movsx16To32]
    static let branches: [(Operation, Operation, Operation, Operation)] = [
        (.jeq64Imm, .jeq64Reg, .jeq32Imm, .jeq32Reg), (.jne64Imm, .jne64Reg, .jne32Imm, .jne32Reg),
        (.jgt64Imm, .jgt64Reg, .jgt32Imm, .jgt32Reg), (.jge64Imm, .jge64Reg, .jge32Imm, .jge32Reg),
        (.jlt64Imm, .jlt64Reg, .jlt32Imm, .jlt32Reg), (.jle64Imm, .jle64Reg, .jle32Imm, .jle32Reg),
        (.jsgt64Imm, .jsgt64Reg, .jsgt32Imm, .jsgt32Reg), (.jsge64Imm, .jsge64Reg, .jsge32Imm, .jsge32Reg),
        (.jslt64Imm, .jslt64Reg, .jslt32Imm, .jslt32Reg), (.jsle64Imm, .jsle64Reg, .jsle32Imm, .jsle32Reg),
        (.jset64Imm, .jset64Reg, .jset32Imm, .jset32Reg),
    ]
    static let atomics: [Operation] = [
        .atomicAdd32, .atomicOr32, .atomicAnd32, .atomicXor32, .atomicFetchAdd32, .atomicFetchOr32,
        .atomicFetchAnd32, .atomicFetchXor32, .atomicXchg32, .atomicCmpxchg32,
        .atomicAdd64, .atomicOr64, .atomicAnd64, .atomicXor64, .atomicFetchAdd64, .atomicFetchOr64,
        .atomicFetchAnd64, .atomicFetchXor64, .atomicXchg64, .atomicCmpxchg64,
    ]

    /// An aligned stack offset inside the initialised 64 bytes for an access of `size`.
    mutating func stackOffset(_ size: Int) -> Int16 {
        Int16(-64 + size * int(0...(64 / size - 1)))
    }

    mutating func aluItem(registers: ClosedRange<UInt8>) {
        let ops = Self.aluOperations[int(0...Self.aluOperations.count - 1)]
        let is32 = chance(40), isImm = chance(50)
        let op = is32 ? (isImm ? ops.2 : ops.3) : (isImm ? ops.0 : ops.1)
        let dst = UInt8(int(Int(registers.lowerBound)...Int(registers.upperBound)))
        let src = UInt8(int(Int(registers.lowerBound)...Int(registers.upperBound)))
        var imm = immediate()
        switch op {
        case .lsh64Imm, .rsh64Imm, .arsh64Imm: imm = Int32(int(0...63))
        case .lsh32Imm, .rsh32Imm, .arsh32Imm: imm = Int32(int(0...31))
        case .div64Imm, .div32Imm, .sdiv64Imm, .sdiv32Imm, .mod64Imm, .mod32Imm, .smod64Imm, .smod32Imm:
            if imm == 0 { imm = 3 }
        default: break
        }
        add(op, dst: dst, src: src, imm: imm)
    }

    /// One item of the main body; returns its slot range start. `jumps` collects conditional
    /// jumps to resolve (slot of the jump, item it targets).
    mutating func bodyItem(index: Int, itemCount: Int, jumps: inout [(slot: Int, targetItem: Int)], hasSubprograms: Bool) {
        switch int(0...99) {
        case 0..<38:
            aluItem(registers: 0...9)
        case 38..<46:
            let dst = register()
            if chance(50) {
                add(Self.unaryOperations[int(0...Self.unaryOperations.count - 1)], dst: dst)
            } else {
                add(Self.extendOperations[int(0...Self.extendOperations.count - 1)], dst: dst, src: register())
            }
        case 46..<56:
            let size = [1, 2, 4, 8][int(0...3)]
            let off = stackOffset(size)
            let store: [Int: (Operation, Operation)] = [1: (.stb, .stxb), 2: (.sth, .stxh), 4: (.stw, .stxw), 8: (.stdw, .stxdw)]
            if chance(30) {
                add(store[size]!.0, dst: 10, off: off, imm: immediate())
            } else {
                add(store[size]!.1, dst: 10, src: register(), off: off)
            }
        case 56..<66:
            let size = [1, 2, 4, 8][int(0...3)]
            let signed = size < 8 && chance(40)
            let op: Operation = switch (size, signed) {
            case (1, false): .ldxb
            case (2, false): .ldxh
            case (4, false): .ldxw
            case (1, true): .ldxsb
            case (2, true): .ldxsh
            case (4, true): .ldxsw
            default: .ldxdw
            }
            add(op, dst: register(), src: 10, off: stackOffset(size))
        case 66..<73:
            let op = Self.atomics[int(0...Self.atomics.count - 1)]
            let size = op.descriptor.accessSize
            add(op, dst: 10, src: register(), off: stackOffset(size))
        case 73..<88:
            guard index + 1 < itemCount else { aluItem(registers: 0...9); return }
            let ops = Self.branches[int(0...Self.branches.count - 1)]
            let is32 = chance(40), isImm = chance(50)
            let op = is32 ? (isImm ? ops.2 : ops.3) : (isImm ? ops.0 : ops.1)
            jumps.append((slots.count, min(itemCount, index + 1 + int(0...4))))
            add(op, dst: register(), src: register(), imm: chance(50) ? immediate() : Int32(int(-3...3)))
        case 88..<94:
            add(.callHelper, imm: Self.helperIDs[int(0...Self.helperIDs.count - 1)])
            seedRegisters(1...5)
        default:
            if hasSubprograms {
                add(.callLocal, imm: Int32(int(0...1)))  // resolved later: subprogram number
                seedRegisters(1...5)
            } else {
                aluItem(registers: 0...9)
            }
        }
    }

    /// Builds one program.
    mutating func program() -> [Instruction] {
        slots = []
        seedRegisters(0...9)
        for k in 1...8 {
            if chance(50) { add(.stdw, dst: 10, off: Int16(-8 * k), imm: immediate()) } else {
                add(.stxdw, dst: 10, src: register(), off: Int16(-8 * k))
            }
        }
        let itemCount = int(8...30)
        let hasSubprograms = chance(60)
        var itemStarts: [Int] = []
        var jumps: [(slot: Int, targetItem: Int)] = []
        var localCalls: [Int] = []
        for index in 0..<itemCount {
            itemStarts.append(slots.count)
            let before = slots.count
            bodyItem(index: index, itemCount: itemCount, jumps: &jumps, hasSubprograms: hasSubprograms)
            if slots[before].opcode == Operation.callLocal.descriptor.opcode && slots[before].source == 1 {
                localCalls.append(before)
            }
        }
        itemStarts.append(slots.count)
        // Epilogue: fold registers and the stack area into r0.
        for r: UInt8 in [6, 7, 8, 9, 1, 2, 3, 4, 5] {
            add(.mul64Imm, dst: 0, imm: 0x0100_0193)
            add(.xor64Reg, dst: 0, src: r)
        }
        for k in 1...8 {
            add(.ldxdw, dst: 1, src: 10, off: Int16(-8 * k))
            add(.mul64Imm, dst: 0, imm: 0x0100_0193)
            add(.xor64Reg, dst: 0, src: 1)
        }
        add(.exit)
        for (slot, targetItem) in jumps {
            slots[slot].offset = Int16(itemStarts[targetItem] - slot - 1)
        }
        // Subprograms only when called (unreachable code is refused); the first call goes to
        // subprogram 1, which calls subprogram 0, so both are reached.
        guard let firstCall = localCalls.first else { return slots }
        slots[firstCall].immediate = 1
        // Subprogram 0: arithmetic on its arguments and its own frame; clobbers r6-r9.
        var entries: [Int] = []
        entries.append(slots.count)
        add(.mov64Reg, dst: 0, src: 1)
        add(.stxdw, dst: 10, src: 2, off: -8)
        add(.stxw, dst: 10, src: 3, off: -16)
        add(.stxw, dst: 10, src: 4, off: -12)
        for _ in 0..<int(2...8) { aluItem(registers: 0...5) }
        add(.ldxdw, dst: 6, src: 10, off: -16)
        add(.xor64Reg, dst: 0, src: 6)
        add(.ldxdw, dst: 7, src: 10, off: -8)
        add(.add64Reg, dst: 0, src: 7)
        add(.mov64Imm, dst: 8, imm: 8)
        add(.mov64Imm, dst: 9, imm: 9)
        add(.exit)
        // Subprogram 1: calls a helper and subprogram 0 (two frames deep).
        entries.append(slots.count)
        add(.mov64Reg, dst: 6, src: 1)
        add(.stxdw, dst: 10, src: 5, off: -24)
        add(.callHelper, imm: 7)
        add(.mov64Reg, dst: 1, src: 0)
        add(.mov64Reg, dst: 2, src: 6)
        add(.mov64Imm, dst: 3, imm: immediate())
        add(.mov64Imm, dst: 4, imm: immediate())
        add(.mov64Imm, dst: 5, imm: immediate())
        let nested = slots.count
        add(.callLocal, imm: 0)
        slots[nested].immediate = Int32(entries[0] - nested - 1)
        add(.ldxdw, dst: 1, src: 10, off: -24)
        add(.add64Reg, dst: 0, src: 1)
        add(.exit)
        for call in localCalls {
            let entry = entries[Int(slots[call].immediate)]
            slots[call].immediate = Int32(entry - call - 1)
        }
        return slots
    }
}

@Suite struct DifferentialTests {
    static let programCount = 10_000

    /// Random verified programs give the same r0 (which folds registers and stack) and the
    /// same errors on the interpreter and on JIT'd code, trusted with the verifier's facts
    /// and checked.
    @Test func jitMatchesTheInterpreterOnRandomVerifiedPrograms() throws {
        let verifier = Verifier()
        var accepted = 0, seed: UInt64 = 0
        var failures: [String] = []
        while accepted < Self.programCount && seed < UInt64(Self.programCount * 3) {
            defer { seed += 1 }
            var generator = ProgramGenerator(seed: seed)
            let slots = generator.program()
            let verdict = verifier.verify(VerifierInput(instructions: slots, programType: .socketFilter))
            guard let verified = verdict.program else { continue }
            accepted += 1
            let program = try ExecutableProgram(slots: slots, helpers: ProgramGenerator.helpers, name: "seed \(seed)")
            let expected = outcome(of: Interpreter(program: program, mode: .trusted)).result
            let compiled = try JITCompiler().compile(program, facts: verified, mode: .trusted)
            let trusted = outcome(of: compiled).result
            if !sameOutcome(trusted, expected) {
                failures.append("seed \(seed) trusted: JIT \(trusted), interpreter \(expected)")
            }
            if seed % 4 == 0 {
                let checked = outcome(of: try JITCompiler().compile(program, mode: .checked)).result
                let interpreted = outcome(of: Interpreter(program: program, mode: .checked)).result
                if !sameOutcome(checked, interpreted) {
                    failures.append("seed \(seed) checked: JIT \(checked), interpreter \(interpreted)")
                }
            }
            if failures.count >= 5 { break }
        }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
        #expect(accepted >= Self.programCount, "only \(accepted) of \(seed) generated programs were verified")
    }

    /// Unverified programs with loads and stores at random places through r1 (64 bytes of
    /// memory), r10 and null: checked JIT code faults where the checked interpreter does,
    /// with the same kind, instruction and access; otherwise memory and r0 are the same.
    @Test func checkedJITFaultsMatchTheCheckedInterpreter() throws {
        var failures: [String] = []
        var faults = 0
        for seed in UInt64(0)..<1500 {
            var generator = ProgramGenerator(seed: seed &+ 1_000_000)
            var slots: [Instruction] = []
            generator.slots = []
            generator.add(.mov64Imm, dst: 0, imm: 0)
            generator.add(.mov64Reg, dst: 6, src: 1)
            for _ in 0..<generator.int(1...12) {
                let base: UInt8 = [1, 6, 10, 10, 2][generator.int(0...4)]
                let size = [1, 2, 4, 8][generator.int(0...3)]
                let off = Int16(generator.int(-600...80))
                switch generator.int(0...5) {
                case 0:
                    generator.add([.ldxb, .ldxh, .ldxw, .ldxdw][[1, 2, 4, 8].firstIndex(of: size)!], dst: 3, src: base, off: off)
                    generator.add(.add64Reg, dst: 0, src: 3)
                case 1:
                    generator.add([.stb, .sth, .stw, .stdw][[1, 2, 4, 8].firstIndex(of: size)!], dst: base, off: off,
                                  imm: generator.immediate())
                case 2:
                    generator.add([.stxb, .stxh, .stxw, .stxdw][[1, 2, 4, 8].firstIndex(of: size)!], dst: base, src: 0, off: off)
                case 3:
                    generator.add([.atomicAdd32, .atomicFetchOr64, .atomicXchg32, .atomicCmpxchg64][generator.int(0...3)],
                                  dst: base, src: 4, off: off)
                case 4:
                    generator.add(.callLocal, imm: 0)
                default:
                    generator.add(.mov64Imm, dst: 2, imm: Int32(generator.int(0...4096)))
                }
            }
            generator.add(.exit)
            slots = generator.slots
            // `call local +0` calls the next instruction: fix up to call a tiny function at the end.
            let functionSlot = slots.count
            for k in 0..<slots.count where slots[k].opcode == 0x85 && slots[k].source == 1 {
                slots[k].immediate = Int32(functionSlot - k - 1)
            }
            slots += [Operation.stdw.descriptor.template.with(dst: 10, off: -8, imm: 5),
                      Operation.ldxdw.descriptor.template.with(dst: 3, src: 10, off: 504),
                      Operation.exit.descriptor.template]
            let program = try ExecutableProgram(slots: slots, name: "seed \(seed)")
            let jit = faultOutcome(of: try JITCompiler().compile(program, mode: .checked))
            let interpreted = faultOutcome(of: Interpreter(program: program, mode: .checked))
            if case .failure = interpreted.result { faults += 1 }
            if !sameOutcome(jit.result, interpreted.result) || jit.memory != interpreted.memory {
                failures.append("seed \(seed): JIT \(jit.result), interpreter \(interpreted.result)")
                if failures.count >= 5 { break }
            }
        }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
        #expect(faults > 100)
    }

    /// Runs with r1 at 64 bytes of memory in the middle of three pages owned here, so that
    /// wild offsets from r1 land in this test's memory, never in an engine's own stack.
    func faultOutcome(of engine: any ProgramEngine) -> (result: Result<UInt64, ExecutionError>, memory: [UInt8]) {
        let pages = UnsafeMutableRawBufferPointer.allocate(byteCount: 3 * 4096, alignment: 4096)
        defer { pages.deallocate() }
        for k in 0..<pages.count { pages[k] = UInt8(truncatingIfNeeded: k &* 37) }
        let memory = UnsafeMutableRawBufferPointer(rebasing: pages[4096..<4096 + 64])
        let result = Result { () throws(ExecutionError) -> UInt64 in
            try engine.run(arguments: HelperArguments(UInt64(UInt(bitPattern: memory.baseAddress)), 64),
                           regions: [MemoryRegion(memory, name: "memory")], packet: nil, userInfo: nil).returnValue
        }
        return (result, Array(pages))
    }
}

extension Instruction {
    func with(dst: UInt8 = 0, src: UInt8 = 0, off: Int16 = 0, imm: Int32 = 0) -> Instruction {
        var copy = self
        copy.destination = dst
        copy.source = src
        copy.offset = off
        copy.immediate = imm
        return copy
    }
}

