import BPFAssembler
import BPFInstructionSet
import BPFJIT
import BPFRuntime
import Testing

/// Helpers, bpf-to-bpf calls, tail calls, callbacks and may_goto on JIT'd code, each
/// compared with the interpreter.
@Suite struct CallTests {
    @Test(arguments: ExecutionMode.allCases)
    func localCallsPreserveCalleeSavedRegistersAndTheFrame(mode: ExecutionMode) throws {
        let program = """
            mov %r6, 6
            mov %r9, 9
            stdw [%r10-8], 100
            mov %r1, 20
            call local double
            ldxdw %r1, [%r10-8]
            add %r0, %r1
            add %r0, %r6
            add %r0, %r9
            exit
            double:
            mov %r6, 0
            mov %r9, 0
            ldxdw %r2, [%r10-8]
            add %r1, %r2
            stdw [%r10-8], 1
            mov %r0, %r1
            add %r0, %r1
            exit
            """
        // The callee's frame starts zeroed: r2 = 0.
        #expect(try jitRun(program, mode: mode) == 40 + 100 + 6 + 9)
    }

    @Test(arguments: ExecutionMode.allCases)
    func callsNestEightFramesDeepAndNoDeeper(mode: ExecutionMode) throws {
        // f(n) calls itself until n = 0: depth n + 1 frames.
        func source(_ depth: Int) -> String {
            """
            mov %r1, \(depth - 1)
            call local f
            exit
            f:
            mov %r0, %r1
            jeq %r1, 0, done
            sub %r1, 1
            call local f
            add %r0, 1
            done:
            exit
            """
        }
        // main + 7 frames of f is Linux's 8.
        #expect(try jitRun(source(7), mode: mode) == 6)
        let error = try #require(try jitFault(source(8), mode: mode))
        #expect(error.pc == 6)
        guard case .callDepthExceeded(_, _, 8) = error else {
            Issue.record("expected the call depth limit, got \(error)")
            return
        }
    }

    @Test(arguments: ExecutionMode.allCases)
    func hostHelpersReceiveArgumentsAndReturnR0(mode: ExecutionMode) throws {
        let helpers = HelperRegistry([
            Helper(id: 0x10000, name: "sum") { arguments, _ throws(HelperError) in
                arguments.r1 + arguments.r2 * 10 + arguments.r3 * 100 + arguments.r4 * 1000 + arguments.r5 * 10000
            },
        ])
        let program = """
            mov %r6, 7
            mov %r1, 1
            mov %r2, 2
            mov %r3, 3
            mov %r4, 4
            mov %r5, 5
            call 65536
            mov %r1, 1
            mov %r2, 2
            mov %r3, 3
            mov %r4, 4
            mov %r5, 5
            add %r6, %r0
            mov %r0, 65536
            callx %r0
            add %r0, %r6
            exit
            """
        #expect(try jitRun(program, mode: mode, helpers: helpers) == 54321 * 2 + 7)
    }

    @Test(arguments: ExecutionMode.allCases)
    func helpersEndTheProgramOrFaultAsInTheInterpreter(mode: ExecutionMode) throws {
        let helpers = HelperRegistry([
            Helper(id: 0x10001, name: "deny") { _, _ throws(HelperError) in throw .exitProgram(returnValue: 7) },
            Helper(id: 0x10002, name: "broken") { _, _ throws(HelperError) in throw .fault("bad argument") },
        ])
        #expect(try jitRun("call 65537\nmov %r0, 1\nexit", mode: mode, helpers: helpers) == 7)
        // Inside a subprogram, too.
        #expect(try jitRun("call local f\nmov %r0, 1\nexit\nf:\ncall 65537\nexit", mode: mode, helpers: helpers) == 7)
        let error = try jitFault("mov %r0, 0\ncall 65538\nmov %r0, 1\nexit", mode: mode, helpers: helpers)
        #expect(error == .helperFault(pc: 1, helper: "broken", message: "bad argument"))
        let unknown = try jitFault("mov %r3, 99\ncallx %r3\nexit", mode: mode, helpers: helpers)
        #expect(unknown == .unknownHelper(pc: 1, instruction: "call %r3", id: 99))
    }

    @Test(arguments: ExecutionMode.allCases)
    func helpersSeeTheRunsUserInfoAndWriteItsTrace(mode: ExecutionMode) throws {
        final class Packet { let length: UInt64 = 60 }
        let helpers = HelperRegistry([
            Helper(id: 0x10005, name: "trace") { arguments, context throws(HelperError) in
                context.emitTrace("r1=\(arguments.r1)")
                return (context.userInfo as? Packet)?.length ?? 0
            },
        ])
        let program = try executable("mov %r1, 7\ncall 65541\nmov %r6, %r0\nmov %r1, 8\ncall 65541\nadd %r0, %r6\nexit",
                                     helpers: helpers)
        let jit = try JITCompiler().compile(program, mode: mode)
        let result = try jit.run(arguments: HelperArguments(), regions: [], packet: nil, userInfo: Packet())
        #expect(result.returnValue == 120)
        #expect(result.trace == ["r1=7", "r1=8"])
        // The next run starts with an empty trace and no user info.
        let again = try jit.run()
        #expect(again.returnValue == 0)
        #expect(again.trace == ["r1=7", "r1=8"])
    }

    @Test func helperPointerArgumentsAreCheckedInCheckedMode() throws {
        let helpers = HelperRegistry([
            Helper(id: 0x10003, name: "first_byte") { arguments, context throws(HelperError) in
                let buffer = try context.buffer(at: arguments.r1, count: arguments.r2, write: false)
                return UInt64(buffer[0])
            },
        ])
        #expect(try jitRun("stb [%r10-1], 77\nmov %r1, %r10\nadd %r1, -1\nmov %r2, 1\ncall 65539\nexit",
                           helpers: helpers) == 77)
        let error = try #require(try jitFault("mov %r1, %r10\nmov %r2, 1\ncall 65539\nexit", helpers: helpers))
        guard case .helperFault(2, "first_byte", _) = error else {
            Issue.record("expected the helper to refuse the pointer, got \(error)")
            return
        }
    }

    @Test func regionsGrantedByHelpersBecomeAccessible() throws {
        let granted = UnsafeMutableRawBufferPointer.allocate(byteCount: 16, alignment: 8)
        defer { granted.deallocate() }
        granted.initializeMemory(as: UInt8.self, repeating: 5)
        let region = MemoryRegion(granted, name: "value")
        let helpers = HelperRegistry([
            Helper(id: 0x10004, name: "lookup") { _, context throws(HelperError) in
                context.grantAccess(to: region)
                return region.start
            },
        ])
        #expect(try jitRun("call 65540\nstb [%r0+15], 9\nldxb %r1, [%r0+15]\nldxb %r0, [%r0+0]\nadd %r0, %r1\nexit",
                           helpers: helpers) == 14)
        let error = try #require(try jitFault("call 65540\nldxb %r0, [%r0+16]\nexit", helpers: helpers))
        #expect(error.pc == 1)
    }

    @Test(arguments: ExecutionMode.allCases)
    func tailCallsJumpIntoTheTargetUpToLinuxsLimit(mode: ExecutionMode) throws {
        // B returns r1 + 2 (r1 survives the tail call); A tail-calls B and returns 1 if it fails.
        let target = try executable("mov %r0, %r1\nadd %r0, 2\nexit", name: "B")
        let helpers = HelperRegistry([
            Helper(id: 12, name: "tail_call") { _, context throws(HelperError) in
                context.requestTailCall(to: target) ? 0 : UInt64(bitPattern: -2)
            },
        ])
        #expect(try jitRun("mov %r1, 40\ncall 12\nmov %r0, 1\nexit", mode: mode, helpers: helpers) == 42)
        // From a subprogram: the target's exit returns to the caller.
        #expect(try jitRun("""
            call local f
            add %r0, 100
            exit
            f:
            mov %r1, 10
            call 12
            mov %r0, 1
            exit
            """, mode: mode, helpers: helpers) == 112)

        // A program that tail-calls itself runs 33 tail calls, then the 34th fails and falls through.
        let counter = Counter()
        let looping = Box<ExecutableProgram>()
        let selfHelpers = HelperRegistry([
            Helper(id: 12, name: "tail_call") { _, context throws(HelperError) in
                counter.value += 1
                return context.requestTailCall(to: looping.value!) ? 0 : UInt64(bitPattern: -2)
            },
        ])
        looping.value = try executable("add %r6, 1\ncall 12\nmov %r0, %r6\nexit", helpers: selfHelpers)
        let result = try JITCompiler().compile(looping.value!, mode: mode).run()
        #expect(result.returnValue == UInt64(HelperCallContext.tailCallLimit + 1))
        #expect(counter.value == HelperCallContext.tailCallLimit + 1)
    }

    @Test(arguments: ExecutionMode.allCases)
    func callbacksRunAsNestedFrames(mode: ExecutionMode) throws {
        // A bpf_loop-like helper: calls the callback r1 times with (index, r3) until it returns 1.
        let helpers = HelperRegistry([
            Helper(id: 181, name: "loop") { arguments, context throws(HelperError) in
                var index: UInt64 = 0
                while index < arguments.r1 {
                    let verdict = try context.callFunction(atSlot: Int(arguments.r2),
                                                           arguments: HelperArguments(index, arguments.r3))
                    index += 1
                    if verdict != 0 { break }
                }
                return index
            },
        ])
        let source = """
            mov %r6, 1000
            stdw [%r10-8], 0
            mov %r1, 10
            lddw %r2, func:callback
            mov %r3, %r10
            add %r3, -8
            mov %r4, 0
            call 181
            ldxdw %r1, [%r10-8]
            add %r0, %r1
            add %r0, %r6
            exit
            callback:
            mov %r6, 0
            ldxdw %r2, [%r2+0]
            add %r2, %r1
            stxdw [%r10-8], %r2
            ldxdw %r3, [%r10-8]
            mov %r4, %r10
            add %r4, 512
            ldxdw %r5, [%r4-8]
            add %r5, %r1
            stxdw [%r4-8], %r5
            mov %r0, 0
            jne %r1, 6, +1
            mov %r0, 1
            exit
            """
        let decoded = try ProgramDecoder.decode(Assembler.assemble(source))
        let program = try ExecutableProgram(decoded, helpers: helpers) { instruction throws(LoadError) in
            UInt64(instruction.target ?? 0)
        }
        let jit = try JITCompiler().compile(program, mode: mode)
        let native = outcome(of: jit)
        let interpreted = outcome(of: Interpreter(program: program, mode: mode))
        #expect(sameOutcome(native.result, interpreted.result), "\(native.result) vs \(interpreted.result)")
        // 7 iterations; the sum 0+1+...+6 = 21 written into the caller's frame.
        #expect(try native.result.get() == 7 + 21 + 1000)
    }

    @Test(arguments: ExecutionMode.allCases)
    func mayGotoFallsThroughUntilItsBudgetIsSpent(mode: ExecutionMode) throws {
        let program = try executable("""
            mov %r0, 0
            loop:
            may_goto +2
            add %r0, 1
            ja loop
            exit
            """)
        let jit = try JITCompiler(JITOptions(mayGotoLimit: 100)).compile(program, mode: mode)
        #expect(try jit.run().returnValue == 100)
        #expect(try jit.run().returnValue == 100)
    }

    @Test(arguments: ExecutionMode.allCases)
    func legacyPacketLoadsReadNetworkOrderAndEndOnOverrun(mode: ExecutionMode) throws {
        let packet: [UInt8] = [0x12, 0x34, 0x56, 0x78, 0x9a]
        #expect(try jitRun("ldabsh 1\nexit", mode: mode, memory: packet) == 0x3456)
        #expect(try jitRun("ldabsw 1\nexit", mode: mode, memory: packet) == 0x3456_789a)
        #expect(try jitRun("mov %r6, 2\nldindb %r6, 2\nexit", mode: mode, memory: packet) == 0x9a)
        #expect(try jitRun("mov %r6, -1\nldindb %r6, 1\nexit", mode: mode, memory: packet) == 0x12)
        // Out of bounds: Linux ends the program with r0 = 0, even from a subprogram.
        #expect(try jitRun("mov %r0, 5\nldabsw 2\nmov %r0, 9\nexit", mode: mode, memory: packet) == 0)
        #expect(try jitRun("call local f\nmov %r0, 9\nexit\nf:\nldabsb 5\nexit", mode: mode, memory: packet) == 0)
        let error = try jitFault("ldabsb 0\nexit", mode: mode)
        #expect(error == .noPacket(pc: 0, instruction: "ldabsb 0"))
    }

    @Test func checkedModeEnforcesTheInstructionBudgetExactly() throws {
        let program = try executable("mov %r0, 0\nloop:\nadd %r0, 1\nja loop\nexit")
        let interpreter = Interpreter(program: program, mode: .checked, instructionBudget: 1000)
        let jit = try JITCompiler(JITOptions(instructionBudget: 1000)).compile(program, mode: .checked)
        let interpreted = outcome(of: interpreter).result
        let native = outcome(of: jit).result
        #expect(sameOutcome(native, interpreted), "\(native) vs \(interpreted)")
        // Counts are exact in checked mode.
        let counted = try executable("mov %r0, 3\nloop:\nsub %r0, 1\njne %r0, 0, loop\nexit")
        let expected = try Interpreter(program: counted, mode: .checked).run().instructionsExecuted
        #expect(try JITCompiler().compile(counted, mode: .checked).run().instructionsExecuted == expected)
    }

    @Test func programsWritingTheFramePointerAreRefused() throws {
        let program = try executable("mov %r10, 0\nmov %r0, 0\nexit")
        #expect(throws: JITError.framePointerWritten(index: 0)) {
            try JITCompiler().compile(program, mode: .checked)
        }
    }
}
