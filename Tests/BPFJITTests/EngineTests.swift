import BPFAssembler
import BPFInstructionSet
@testable import BPFJIT
import BPFRuntime
import BPFVerifier
import Foundation
import Testing

/// The compiled program as an object: facts it uses, memory it owns, threads it serves.
@Suite struct EngineTests {
    func verified(_ source: String) throws -> (ExecutableProgram, VerifiedProgram) {
        let slots = try Assembler.assemble(source)
        let result = Verifier().verify(VerifierInput(instructions: slots, programType: .socketFilter))
        let facts = try #require(result.program, "\(result.summary)")
        return (try ExecutableProgram(slots: slots), facts)
    }

    @Test func provenBranchesAndDeadCodeAreNotCompiled() throws {
        let (program, facts) = try verified("""
            mov %r0, 1
            jeq %r0, 1, +1
            mov %r0, 2
            exit
            """)
        let optimised = try JITCompiler().compile(program, facts: facts, mode: .trusted)
        let plain = try JITCompiler().compile(program, mode: .trusted)
        #expect(try optimised.run().returnValue == 1)
        #expect(try plain.run().returnValue == 1)
        let ranges = Dictionary(uniqueKeysWithValues: optimised.instructionCode.map { ($0.slot, $0.code) })
        #expect(ranges[1]!.isEmpty || ranges[1]!.count <= 2)   // an always-taken jump to the next-but-one slot
        #expect(ranges[2]!.isEmpty)                              // never reached
        let plainRanges = Dictionary(uniqueKeysWithValues: plain.instructionCode.map { ($0.slot, $0.code) })
        #expect(!plainRanges[2]!.isEmpty)
    }

    /// As in Linux, a division by a register keeps its zero test even where the verifier
    /// saw only non-zero divisors: a path it pruned may carry another (imprecise) divisor.
    @Test func divisionsByARegisterKeepTheZeroTest() throws {
        let source = """
            mov %r0, 100
            mov %r1, 7
            div %r0, %r1
            exit
            """
        let (program, facts) = try verified(source)
        #expect(facts.facts[2].divisorNonZero)
        let optimised = try JITCompiler().compile(program, facts: facts, mode: .trusted)
        let plain = try JITCompiler().compile(program, mode: .trusted)
        #expect(try optimised.run().returnValue == 14)
        let size = { (jit: JITProgram) in jit.instructionCode.first { $0.slot == 2 }!.code.count }
        #expect(size(optimised) == size(plain))
    }

    @Test func calleeFramesStartZeroedWithOrWithoutFacts() throws {
        // f leaves 77 in its frame; g, called next at the same depth, reads that slot
        // uninitialised (privileged programs may) and must see 0, as in the interpreter.
        let (program, facts) = try verified("""
            call local f
            call local g
            exit
            f:
            stdw [%r10-8], 77
            stdw [%r10-256], 77
            mov %r0, 0
            exit
            g:
            ldxdw %r0, [%r10-8]
            exit
            """)
        #expect(try JITCompiler().compile(program, facts: facts, mode: .trusted).run().returnValue == 0)
        #expect(try JITCompiler().compile(program, mode: .trusted).run().returnValue == 0)
        #expect(try Interpreter(program: program, mode: .trusted).run().returnValue == 0)
    }

    @Test func provenZeroUpperHalvesNeedNoZeroExtension() throws {
        let (program, facts) = try verified("""
            ldxw %r0, [%r1+0]
            le32 %r0
            rsh %r0, 3
            le32 %r0
            exit
            """)
        let optimised = try JITCompiler().compile(program, facts: facts, mode: .trusted)
        let plain = try JITCompiler().compile(program, mode: .trusted)
        let ranges = Dictionary(uniqueKeysWithValues: optimised.instructionCode.map { ($0.slot, $0.code) })
        let plainRanges = Dictionary(uniqueKeysWithValues: plain.instructionCode.map { ($0.slot, $0.code) })
        #expect(ranges[1]!.isEmpty && ranges[3]!.isEmpty)
        #expect(!plainRanges[1]!.isEmpty && !plainRanges[3]!.isEmpty)
        var word: UInt32 = 0xdead_beef
        let result = try withUnsafeMutableBytes(of: &word) { try optimised.run(memory: $0) }
        #expect(result.returnValue == 0xdead_beef >> 3)
    }

    @Test func factsMustDescribeTheProgram() throws {
        let (_, facts) = try verified("mov %r0, 0\nexit")
        let other = try executable("mov %r0, 0\nmov %r0, 1\nexit")
        #expect(throws: JITError.factsMismatch(programSlots: 3, factSlots: 2)) {
            try JITCompiler().compile(other, facts: facts)
        }
    }

    @Test func codeIsMappedReadExecuteAndFreedWithTheProgram() throws {
        weak var weakUnit: NativeUnit?
        var start: UInt = 0
        do {
            let program = try executable("mov %r0, 5\nexit")
            let jit = try JITCompiler().compile(program, mode: .trusted)
            weakUnit = jit.unit
            start = UInt(bitPattern: jit.unit.memory.base)
            #expect(try jit.run().returnValue == 5)
            let mapping = try #require(Self.mapping(containing: start))
            #expect(mapping.hasPrefix("r-x"), "\(mapping)")
        }
        // Released with the last reference (its deinit unmaps the code).
        #expect(weakUnit == nil)
    }

    /// The permissions of the /proc/self/maps line covering `address`.
    static func mapping(containing address: UInt) -> String? {
        guard let handle = FileHandle(forReadingAtPath: "/proc/self/maps") else { return nil }
        let maps = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        for line in maps.split(separator: "\n") {
            let fields = line.split(separator: " ")
            let bounds = fields[0].split(separator: "-").compactMap { UInt($0, radix: 16) }
            if bounds.count == 2, address >= bounds[0], address < bounds[1] { return String(fields[1]) }
        }
        return nil
    }

    @Test(arguments: ExecutionMode.allCases)
    func oneProgramRunsOnManyThreadsAtOnce(mode: ExecutionMode) async throws {
        let program = try executable("""
            mov %r0, 0
            mov %r3, %r1
            loop:
            stxdw [%r10-8], %r3
            ldxdw %r4, [%r10-8]
            add %r0, %r4
            sub %r3, 1
            jne %r3, 0, loop
            exit
            """)
        let jit = try JITCompiler().compile(program, mode: mode)
        let sums = await withTaskGroup(of: Bool.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for n in UInt64(1)...200 {
                        let value = UInt64(task) * 1000 + n
                        guard let result = try? jit.run(arguments: HelperArguments(value)),
                              result.returnValue == value * (value + 1) / 2 else { return false }
                    }
                    return true
                }
            }
            return await group.reduce(true) { $0 && $1 }
        }
        #expect(sums)
    }
}
