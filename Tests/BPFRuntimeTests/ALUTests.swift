import BPFRuntime
import Testing

/// Edge values of every ALU class, in both modes (they must agree).
@Suite struct ALUTests {
    @Test(arguments: ExecutionMode.allCases)
    func shiftCountsAreMaskedAsInLinux(mode: ExecutionMode) throws {
        let one = "lddw %r0, 0x8000000000000001\n"
        #expect(try run(one + "mov %r1, 0\nlsh %r0, %r1\nexit", mode: mode) == 0x8000_0000_0000_0001)
        #expect(try run(one + "mov %r1, 63\nlsh %r0, %r1\nexit", mode: mode) == 0x8000_0000_0000_0000)
        #expect(try run(one + "mov %r1, 64\nlsh %r0, %r1\nexit", mode: mode) == 0x8000_0000_0000_0001)
        #expect(try run(one + "mov %r1, 63\nrsh %r0, %r1\nexit", mode: mode) == 1)
        #expect(try run(one + "mov %r1, 63\narsh %r0, %r1\nexit", mode: mode) == UInt64.max)
        #expect(try run(one + "mov %r1, 32\nlsh %r0, %r1\nexit", mode: mode) == 0x1_0000_0000)
        // 32-bit shifts mask the count with 31 and zero the upper half.
        #expect(try run(one + "mov %r1, 31\nlsh32 %r0, %r1\nexit", mode: mode) == 0x8000_0000)
        #expect(try run(one + "mov %r1, 32\nlsh32 %r0, %r1\nexit", mode: mode) == 1)
        #expect(try run("mov32 %r0, 0x80000000\nmov %r1, 31\narsh32 %r0, %r1\nexit", mode: mode) == 0xffff_ffff)
        #expect(try run("mov32 %r0, 0x80000000\nrsh32 %r0, 31\nexit", mode: mode) == 1)
        #expect(try run("mov32 %r0, 0x80000000\narsh32 %r0, 0\nexit", mode: mode) == 0x8000_0000)
    }

    @Test(arguments: ExecutionMode.allCases)
    func divisionAndModuloByZeroFollowLinux(mode: ExecutionMode) throws {
        #expect(try run("mov %r0, 7\nmov %r1, 0\ndiv %r0, %r1\nexit", mode: mode) == 0)
        #expect(try run("mov %r0, 7\nmov %r1, 0\nsdiv %r0, %r1\nexit", mode: mode) == 0)
        #expect(try run("mov %r0, -7\nmov %r1, 0\nmod %r0, %r1\nexit", mode: mode) == UInt64(bitPattern: -7))
        #expect(try run("mov %r0, -7\nmov %r1, 0\nsmod %r0, %r1\nexit", mode: mode) == UInt64(bitPattern: -7))
        // 32-bit modulo by zero keeps the dividend's lower half only.
        #expect(try run("mov %r0, -7\nmov %r1, 0\nmod32 %r0, %r1\nexit", mode: mode) == 0xffff_fff9)
        #expect(try run("mov %r0, -7\nmov %r1, 0\nsmod32 %r0, %r1\nexit", mode: mode) == 0xffff_fff9)
        #expect(try run("mov %r0, -7\nmov32 %r1, 0\ndiv32 %r0, %r1\nexit", mode: mode) == 0)
    }

    @Test(arguments: ExecutionMode.allCases)
    func signedDivisionOfTheMinimumByMinusOneWraps(mode: ExecutionMode) throws {
        let min64 = "lddw %r0, 0x8000000000000000\n"
        #expect(try run(min64 + "sdiv %r0, -1\nexit", mode: mode) == 0x8000_0000_0000_0000)
        #expect(try run(min64 + "smod %r0, -1\nexit", mode: mode) == 0)
        #expect(try run("mov32 %r0, 0x80000000\nsdiv32 %r0, -1\nexit", mode: mode) == 0x8000_0000)
        #expect(try run("mov32 %r0, 0x80000000\nsmod32 %r0, -1\nexit", mode: mode) == 0)
        #expect(try run("mov %r0, -7\nsdiv %r0, 2\nexit", mode: mode) == UInt64(bitPattern: -3))
        #expect(try run("mov %r0, -7\nsmod %r0, 2\nexit", mode: mode) == UInt64(bitPattern: -1))
        #expect(try run("mov %r0, 7\nsmod %r0, -2\nexit", mode: mode) == 1)
        #expect(try run("mov32 %r0, -7\nsdiv32 %r0, 2\nexit", mode: mode) == 0xffff_fffd)
        #expect(try run(min64 + "neg %r0\nexit", mode: mode) == 0x8000_0000_0000_0000)
        #expect(try run("mov32 %r0, 0x80000000\nneg32 %r0\nexit", mode: mode) == 0x8000_0000)
    }

    @Test(arguments: ExecutionMode.allCases)
    func thirtyTwoBitResultsZeroExtend(mode: ExecutionMode) throws {
        #expect(try run("mov %r0, -1\nadd32 %r0, 1\nexit", mode: mode) == 0)
        #expect(try run("mov %r0, -1\nmov32 %r0, %r0\nexit", mode: mode) == 0xffff_ffff)
        #expect(try run("mov32 %r0, -1\nexit", mode: mode) == 0xffff_ffff)
        #expect(try run("mov %r0, -1\nexit", mode: mode) == UInt64.max)
        #expect(try run("mov32 %r0, 0\nsub32 %r0, 1\nexit", mode: mode) == 0xffff_ffff)
        #expect(try run("mov32 %r0, 0x10000\nmul32 %r0, 0x10000\nexit", mode: mode) == 0)
        #expect(try run("lddw %r0, 0x1234567800000001\nor32 %r0, 2\nexit", mode: mode) == 3)
        #expect(try run("lddw %r0, 0x1234567800000003\nand32 %r0, -1\nexit", mode: mode) == 3)
        #expect(try run("lddw %r0, 0x1234567800000003\nxor32 %r0, 1\nexit", mode: mode) == 2)
        // An ALU64 immediate is sign-extended.
        #expect(try run("mov %r0, 0\nadd %r0, -1\nexit", mode: mode) == UInt64.max)
        #expect(try run("mov %r0, 0\nor %r0, 0x80000000\nexit", mode: mode) == 0xffff_ffff_8000_0000)
    }

    @Test(arguments: ExecutionMode.allCases)
    func byteSwapsOfEveryWidth(mode: ExecutionMode) throws {
        let value = "lddw %r0, 0x1122334455667788\n"
        #expect(try run(value + "le16 %r0\nexit", mode: mode) == 0x7788)
        #expect(try run(value + "le32 %r0\nexit", mode: mode) == 0x5566_7788)
        #expect(try run(value + "le64 %r0\nexit", mode: mode) == 0x1122_3344_5566_7788)
        #expect(try run(value + "be16 %r0\nexit", mode: mode) == 0x8877)
        #expect(try run(value + "be32 %r0\nexit", mode: mode) == 0x8877_6655)
        #expect(try run(value + "be64 %r0\nexit", mode: mode) == 0x8877_6655_4433_2211)
        #expect(try run(value + "bswap16 %r0\nexit", mode: mode) == 0x8877)
        #expect(try run(value + "bswap32 %r0\nexit", mode: mode) == 0x8877_6655)
        #expect(try run(value + "bswap64 %r0\nexit", mode: mode) == 0x8877_6655_4433_2211)
    }

    @Test(arguments: ExecutionMode.allCases)
    func signExtensions(mode: ExecutionMode) throws {
        #expect(try run("mov %r1, 0x80\nmovsx864 %r0, %r1\nexit", mode: mode) == 0xffff_ffff_ffff_ff80)
        #expect(try run("mov %r1, 0x7f\nmovsx864 %r0, %r1\nexit", mode: mode) == 0x7f)
        #expect(try run("mov %r1, 0x8000\nmovsx1664 %r0, %r1\nexit", mode: mode) == 0xffff_ffff_ffff_8000)
        #expect(try run("mov32 %r1, 0x80000000\nmovsx3264 %r0, %r1\nexit", mode: mode) == 0xffff_ffff_8000_0000)
        #expect(try run("mov %r1, 0x80\nmovsx832 %r0, %r1\nexit", mode: mode) == 0xffff_ff80)
        #expect(try run("mov %r1, 0x8000\nmovsx1632 %r0, %r1\nexit", mode: mode) == 0xffff_8000)
        let memory: [UInt8] = [0x80, 0x80, 0x00, 0x80]
        #expect(try run("ldxsb %r0, [%r1+0]\nexit", memory: memory, mode: mode) == 0xffff_ffff_ffff_ff80)
        #expect(try run("ldxsh %r0, [%r1+0]\nexit", memory: memory, mode: mode) == 0xffff_ffff_ffff_8080)
        #expect(try run("ldxsw %r0, [%r1+0]\nexit", memory: memory, mode: mode) == 0xffff_ffff_8000_8080)
        #expect(try run("ldxw %r0, [%r1+0]\nexit", memory: memory, mode: mode) == 0x8000_8080)
    }

    @Test(arguments: ExecutionMode.allCases)
    func thirtyTwoBitJumpsCompareTheLowerHalf(mode: ExecutionMode) throws {
        let program = """
            lddw %r1, 0xffffffff00000005
            mov %r0, 0
            jeq32 %r1, 5, +1
            exit
            mov %r0, 1
            jsgt32 %r1, -1, +1
            exit
            mov %r0, 2
            jsgt %r1, -1, +1
            exit
            mov %r0, 3
            exit
            """
        #expect(try run(program, mode: mode) == 2)
    }

    @Test(arguments: ExecutionMode.allCases)
    func atomicsUpdateMemoryAndReturnOldValues(mode: ExecutionMode) throws {
        let fetchAdd = """
            mov %r1, 40
            stxdw [%r10-8], %r1
            mov %r2, 2
            lock fetch add [%r10-8], %r2
            ldxdw %r0, [%r10-8]
            lsh %r0, 8
            or %r0, %r2
            exit
            """
        #expect(try run(fetchAdd, mode: mode) == 42 << 8 | 40)
        let cmpxchg = """
            mov %r1, 7
            stxdw [%r10-8], %r1
            mov %r0, 7
            mov %r2, 9
            lock cmpxchg [%r10-8], %r2
            ldxdw %r3, [%r10-8]
            mov %r0, 6
            lock cmpxchg [%r10-8], %r1
            lsh %r3, 8
            or %r0, %r3
            exit
            """
        // First exchange succeeds (memory becomes 9); the second fails and loads 9 into r0.
        #expect(try run(cmpxchg, mode: mode) == 9 << 8 | 9)
        let xchg32 = """
            lddw %r1, 0xaaaaaaaabbbbbbbb
            stxdw [%r10-8], %r1
            lddw %r2, 0xffffffff00000001
            lock xchg32 [%r10-8], %r2
            mov %r0, %r2
            exit
            """
        #expect(try run(xchg32, mode: mode) == 0xbbbb_bbbb)
    }
}
