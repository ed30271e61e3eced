import BPFConformance
import BPFInstructionSet
import BPFRuntime
import Testing

@Suite struct DataFileTests {
    @Test func readsWordAndByteRawForms() throws {
        let words = try ConformanceTest(parsing: "-- raw\n0x00000001000000b7 # mov r0, 1\n0x0000000000000095\n-- result\n0x1",
                                        name: "w.data")
        let bytes = try ConformanceTest(parsing: "-- raw\nb7 00 00 00 01 00 00 00\n95 00 00 00 00 00 00 00\n-- result\n1",
                                        name: "b.data")
        #expect(words.raw == bytes.raw)
        #expect(words.raw?.first == Instruction(opcode: 0xb7, immediate: 1))
        #expect(words.expectedResult == 1 && bytes.expectedResult == 1)
    }

    @Test func ignoresCommentsCSectionsAndRegisterOffsetNotes() throws {
        let text = """
            # header comment
            -- asm
            mov %r0, %r2
            exit
            -- mem
            00 01 # two bytes
            02
            -- c
            int f(void) { return 3; }
            -- no register offset
            -- result
            0x3
            """
        let test = try ConformanceTest(parsing: text, name: "t.data")
        #expect(test.memory == [0, 1, 2])
        #expect(test.assemblyFirstLine == 3)
        #expect(ConformanceRunner().run(test).status == .passed)
    }

    @Test func unknownDirectiveNamesTheLine() {
        #expect(throws: ConformanceFileError.unknownSection(file: "x.data", line: 2, directive: "Unknown directive")) {
            try ConformanceTest(parsing: "-- asm\n-- Unknown directive\n", name: "x.data")
        }
    }

    @Test func badBytesNameTheLineAndSection() {
        #expect(throws: ConformanceFileError.badNumber(file: "x.data", line: 4, token: "zz", section: "mem")) {
            try ConformanceTest(parsing: "-- asm\nexit\n-- mem\nzz\n", name: "x.data")
        }
    }

    @Test func expectedErrorPassesOnlyWhenTheProgramIsRefusedOrFaults() throws {
        let refused = try ConformanceTest(parsing: "-- raw\n95 00 00 00 01 00 00 00\n-- error\n", name: "r.data")
        #expect(ConformanceRunner().run(refused).status == .passed)
        let faults = try ConformanceTest(parsing: "-- asm\nldxdw %r0, [%r1+0]\nexit\n-- error\n", name: "f.data")
        #expect(ConformanceRunner().run(faults).status == .passed)
        let runs = try ConformanceTest(parsing: "-- asm\nmov %r0, 1\nexit\n-- error\n", name: "ok.data")
        #expect(ConformanceRunner().run(runs).status != .passed)
    }

    @Test func assemblyErrorsNameTheFileLine() throws {
        let test = try ConformanceTest(parsing: "# c\n-- asm\nmov %r0, 1\nldxq %r0, %r1\nexit\n-- result\n0x1",
                                       name: "m.data")
        #expect(throws: ProgramLoadFailure.self) { try ConformanceRunner.program(of: test) }
        do {
            _ = try ConformanceRunner.program(of: test)
        } catch {
            #expect(error.description.hasPrefix("m.data:4:1: unknown mnemonic 'ldxq'"))
        }
    }
}
