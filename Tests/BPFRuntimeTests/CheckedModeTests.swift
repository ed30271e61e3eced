import BPFAssembler
import BPFInstructionSet
import BPFRuntime
import Testing

/// In checked mode a bad access stops the program cleanly, naming the instruction.
@Suite struct CheckedModeTests {
    @Test func readPastTheEndOfMemoryFaults() throws {
        let error = try #require(try fault("ldxdw %r0, [%r1+4]\nexit", memory: [UInt8](repeating: 0, count: 8)))
        guard case .memoryFault(let pc, let instruction, _, let size, let isWrite, _) = error else {
            Issue.record("expected a memory fault, got \(error)")
            return
        }
        #expect(pc == 0)
        #expect(instruction == "ldxdw %r0, [%r1+4]")
        #expect(size == 8)
        #expect(!isWrite)
        #expect(error.description.hasPrefix("fault at pc 0 (ldxdw %r0, [%r1+4]): read of 8 bytes"))
    }

    @Test func readInsideMemoryIsAllowed() throws {
        #expect(try fault("ldxdw %r0, [%r1+0]\nexit", memory: [UInt8](repeating: 0, count: 8)) == nil)
    }

    @Test func writesPastEitherEndOfTheStackFault() throws {
        let above = try #require(try fault("mov %r0, 0\nstxdw [%r10+0], %r0\nexit"))
        #expect(above.pc == 1)
        let below = try #require(try fault("mov %r0, 0\nstb [%r10-513], 1\nexit"))
        #expect(below.pc == 1)
        #expect(try fault("stb [%r10-512], 1\nstdw [%r10-8], 1\nmov %r0, 0\nexit") == nil)
    }

    @Test func nullPointerDereferenceFaults() throws {
        let error = try #require(try fault("mov %r1, 0\nldxw %r0, [%r1+0]\nexit"))
        #expect(error.pc == 1)
        #expect(error.description.contains("null"))
    }

    @Test func callerStackIsReachableFromACalleeButNotBelowItsFrame() throws {
        let program = """
            stdw [%r10-8], 42
            mov %r1, %r10
            call local callee
            exit
            callee:
            ldxdw %r0, [%r1-8]
            exit
            """
        #expect(try run(program) == 42)
        let below = "call local callee\nexit\ncallee:\nstb [%r10-513], 1\nmov %r0, 0\nexit"
        #expect(try fault(below)?.pc == 2)
    }

    @Test func writeToReadOnlyRegionFaults() throws {
        let bytes: [UInt8] = [1, 2, 3, 4]
        let program = try ExecutableProgram(slots: Assembler.assemble("stb [%r1+0], 9\nmov %r0, 0\nexit"))
        let interpreter = Interpreter(program: program)
        let error = bytes.withUnsafeBytes { buffer -> ExecutionError? in
            let region = MemoryRegion(buffer, name: "ro")
            do throws(ExecutionError) {
                _ = try interpreter.run(arguments: HelperArguments(region.start), regions: [region])
                return nil
            } catch {
                return error
            }
        }
        guard case .some(.memoryFault(0, _, _, 1, true, _)) = error else {
            Issue.record("expected a write fault at pc 0, got \(String(describing: error))")
            return
        }
        #expect(bytes == [1, 2, 3, 4])
    }

    @Test func misalignedAtomicFaults() throws {
        let error = try #require(try fault("mov %r1, 1\nlock add [%r10-15], %r1\nmov %r0, 0\nexit"))
        #expect(error.pc == 1)
        #expect(error.description.contains("aligned"))
    }

    @Test func runawayLoopStopsAtTheBudget() throws {
        let error = try #require(try fault("mov %r0, 0\nloop:\nadd %r0, 1\nja loop\nexit", budget: 1000))
        guard case .instructionBudgetExhausted(_, 1000) = error else {
            Issue.record("expected the budget to stop the loop, got \(error)")
            return
        }
    }

    @Test func recursionDeeperThanEightFramesFaults() throws {
        let error = try #require(try fault("call local self\nexit\nself:\ncall local self\nexit"))
        guard case .callDepthExceeded(2, _, 8) = error else {
            Issue.record("expected the call depth limit, got \(error)")
            return
        }
    }

    @Test func sevenNestedCallsAreAllowed() throws {
        var source = "mov %r0, 0\ncall local f1\nexit\n"
        for depth in 1...7 {
            source += "f\(depth):\nadd %r0, 1\n" + (depth < 7 ? "call local f\(depth + 1)\n" : "") + "exit\n"
        }
        #expect(try run(source) == 7)
    }

    @Test func runningPastTheLastInstructionFaults() throws {
        let error = try #require(try fault("mov %r0, 1"))
        #expect(error == .fellOffEnd(pc: 1))
    }

    @Test func unknownHelperIsRefusedAtLoadAndThroughCallx() throws {
        #expect(throws: LoadError.unknownHelper(index: 0, id: 99)) {
            try ExecutableProgram(slots: Assembler.assemble("call 99\nexit"))
        }
        let error = try #require(try fault("mov %r2, 99\ncall %r2\nexit"))
        guard case .unknownHelper(1, _, 99) = error else {
            Issue.record("expected an unknown-helper fault, got \(error)")
            return
        }
    }

    @Test func unboundMapReferenceIsRefusedAtLoad() throws {
        #expect(throws: LoadError.self) {
            try ExecutableProgram(slots: Assembler.assemble("lddw %r1, map:0\nmov %r0, 0\nexit"))
        }
    }
}
