import Testing
import BPFAssembler
@testable import BPFVerifier

/// Which stack slots count when two states are compared: only those the rest of the
/// function may read (slot i holds fp-8(i+1)...fp-8i).
@Suite struct StackLivenessTests {
    func liveness(_ source: String) throws -> [UInt64] {
        let instructions = try Assembler.assembleProgram(source).instructions
        return try ProgramStructure.check(instructions, options: VerifierOptions()).stackLiveIn
    }

    @Test func aSlotReadThroughR10IsLiveUntilItIsOverwritten() throws {
        let live = try liveness("""
            stdw [%r10-8], 1
            ldxdw %r0, [%r10-8]
            stdw [%r10-16], 2
            stdw [%r10-16], 3
            ldxw %r1, [%r10-12]
            exit
            """)
        #expect(live[0] == 0, "fp-8 is written before it is read")
        #expect(live[1] == 0b01, "fp-8 is read next")
        #expect(live[2] == 0, "fp-16 is overwritten whole before it is read")
        #expect(live[3] == 0)
        #expect(live[4] == 0b10, "a 4-byte read of fp-12 reads slot 1")
        #expect(live[5] == 0, "nothing of the frame is read after exit")
    }

    @Test func aNarrowStoreDoesNotEndASlot() throws {
        let live = try liveness("stw [%r10-8], 1\nldxdw %r0, [%r10-8]\nexit")
        #expect(live[0] == 0b01, "the other four bytes of fp-8 are still read")
    }

    @Test func readsThroughOtherPointersAndCallsKeepEverySlot() throws {
        let throughPointer = try liveness("mov %r2, %r10\nadd %r2, -8\nldxdw %r0, [%r2+0]\nexit")
        #expect(throughPointer[0] == .max && throughPointer[2] == .max)
        let helperWithPointer = try liveness("mov %r2, %r10\nadd %r2, -4\nstw [%r10-4], 0\nlddw %r1, map:0\ncall 1\nmov %r0, 0\nexit")
        #expect(helperWithPointer[0] == .max, "bpf_map_lookup_elem reads its key from the stack")
        let helperWithoutPointer = try liveness("stdw [%r10-8], 1\ncall 7\nmov %r0, 0\nexit")
        #expect(helperWithoutPointer[1] == 0, "bpf_get_prandom_u32 takes no pointer")
        let subprogram = try liveness("call local f\nmov %r0, 0\nexit\nf: mov %r0, 0\nexit")
        #expect(subprogram[0] == .max, "a callee may read the caller's stack through a pointer")
    }
}
