import BPFAssembler
import BPFInstructionSet
import BPFRuntime
import Testing

@Suite struct CallTests {
    @Test(arguments: ExecutionMode.allCases)
    func localCallsPreserveCalleeSavedRegistersAndTheFrame(mode: ExecutionMode) throws {
        let program = """
            mov %r6, 6
            stdw [%r10-8], 100
            mov %r1, 20
            call local double
            ldxdw %r1, [%r10-8]
            add %r0, %r1
            add %r0, %r6
            exit
            double:
            mov %r6, 0
            stdw [%r10-8], 1
            mov %r0, %r1
            add %r0, %r1
            exit
            """
        #expect(try run(program, mode: mode) == 40 + 100 + 6)
    }

    @Test(arguments: ExecutionMode.allCases)
    func hostHelpersReceiveArgumentsAndReturnR0(mode: ExecutionMode) throws {
        let helpers = HelperRegistry([
            Helper(id: 0x10000, name: "sum") { arguments, _ throws(HelperError) in
                arguments.r1 + arguments.r2 * 10 + arguments.r3 * 100 + arguments.r4 * 1000 + arguments.r5 * 10000
            },
        ])
        let program = "mov %r1, 1\nmov %r2, 2\nmov %r3, 3\nmov %r4, 4\nmov %r5, 5\ncall 65536\nexit"
        #expect(try run(program, mode: mode, helpers: helpers) == 54321)
    }

    @Test func helperCanEndTheProgramOrFault() throws {
        let helpers = HelperRegistry([
            Helper(id: 0x10001, name: "deny") { _, _ throws(HelperError) in throw .exitProgram(returnValue: 7) },
            Helper(id: 0x10002, name: "broken") { _, _ throws(HelperError) in throw .fault("bad argument") },
        ])
        #expect(try run("call 65537\nmov %r0, 1\nexit", helpers: helpers) == 7)
        let error = try #require(try fault("call 65538\nmov %r0, 1\nexit", helpers: helpers))
        #expect(error == .helperFault(pc: 0, helper: "broken", message: "bad argument"))
    }

    @Test func helperPointerArgumentsAreCheckedInCheckedMode() throws {
        let helpers = HelperRegistry([
            Helper(id: 0x10003, name: "first_byte") { arguments, context throws(HelperError) in
                let buffer = try context.buffer(at: arguments.r1, count: arguments.r2, write: false)
                return UInt64(buffer[0])
            },
        ])
        #expect(try run("stb [%r10-1], 77\nmov %r1, %r10\nadd %r1, -1\nmov %r2, 1\ncall 65539\nexit",
                        helpers: helpers) == 77)
        let error = try #require(try fault("mov %r1, %r10\nmov %r2, 1\ncall 65539\nexit", helpers: helpers))
        guard case .helperFault(2, "first_byte", _) = error else {
            Issue.record("expected the helper to refuse the pointer, got \(error)")
            return
        }
    }

    @Test func tailCallsReplaceTheProgramUpToLinuxsLimit() throws {
        // Program B returns 2; program A tail-calls B and returns 1 if the tail call fails.
        let target = try ExecutableProgram(slots: Assembler.assemble("mov %r0, 2\nexit"))
        let helpers = HelperRegistry([
            Helper(id: 12, name: "tail_call") { _, context throws(HelperError) in
                context.requestTailCall(to: target) ? 0 : UInt64(bitPattern: -2)
            },
        ])
        #expect(try run("call 12\nmov %r0, 1\nexit", helpers: helpers) == 2)

        // A program that tail-calls itself runs 33 tail calls, then the 34th fails and falls through.
        let counter = Counter()
        let looping = Box<ExecutableProgram>()
        let selfHelpers = HelperRegistry([
            Helper(id: 12, name: "tail_call") { _, context throws(HelperError) in
                counter.value += 1
                return context.requestTailCall(to: looping.value!) ? 0 : UInt64(bitPattern: -2)
            },
        ])
        looping.value = try ExecutableProgram(slots: Assembler.assemble("call 12\nmov %r0, 1\nexit"), helpers: selfHelpers)
        let result = try Interpreter(program: looping.value!).run()
        #expect(result.returnValue == 1)
        #expect(counter.value == HelperCallContext.tailCallLimit + 1)
    }

    @Test func mayGotoFallsThroughUntilItsBudgetIsSpent() throws {
        let program = try ExecutableProgram(slots: Assembler.assemble("""
            mov %r0, 0
            loop:
            may_goto +2
            add %r0, 1
            ja loop
            exit
            """))
        let interpreter = Interpreter(program: program)
        interpreter.mayGotoLimit = 100
        #expect(try interpreter.run().returnValue == 100)
    }

    @Test func legacyPacketLoadsReadNetworkOrderAndEndOnOverrun() throws {
        let packet: [UInt8] = [0x12, 0x34, 0x56, 0x78, 0x9a]
        #expect(try run("ldabsh 1\nexit", memory: packet) == 0x3456)
        #expect(try run("ldabsw 1\nexit", memory: packet) == 0x3456_789a)
        #expect(try run("mov %r6, 2\nldindb %r6, 2\nexit", memory: packet) == 0x9a)
        // Out of bounds: Linux ends the program with r0 = 0.
        #expect(try run("mov %r0, 5\nldabsw 2\nmov %r0, 9\nexit", memory: packet) == 0)
    }
}

final class Counter: @unchecked Sendable { var value = 0 }
final class Box<T>: @unchecked Sendable { var value: T? }
