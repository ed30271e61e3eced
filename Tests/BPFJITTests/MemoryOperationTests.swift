import BPFAssembler
import BPFInstructionSet
import BPFJIT
import BPFRuntime
import Testing

/// Every load, store and atomic through awkward base registers (r0 is rax, which the
/// compare-exchange loops use; r7 is r13, which needs a displacement byte even for +0)
/// and awkward sources, on both engines, trusted and checked.
@Suite struct MemoryOperationTests {
    static let atomics = [
        "lock add32", "lock or32", "lock and32", "lock xor32", "lock fetch add32", "lock fetch or32",
        "lock fetch and32", "lock fetch xor32", "lock xchg32", "lock cmpxchg32",
        "lock add", "lock or", "lock and", "lock xor", "lock fetch add", "lock fetch or",
        "lock fetch and", "lock fetch xor", "lock xchg", "lock cmpxchg",
    ]

    /// Runs `source` on both engines with r1 at the same buffer (reset in between), so that
    /// pointer values the program stores or computes with are the same on both.
    func compareOnOneBuffer(_ source: String, mode: ExecutionMode, memory: [UInt8],
                            sourceLocation: SourceLocation = #_sourceLocation) throws {
        let program = try executable(source)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: memory.count, alignment: 16)
        defer { buffer.deallocate() }
        func run(_ engine: any ProgramEngine) -> (Result<UInt64, ExecutionError>, [UInt8]) {
            buffer.copyBytes(from: memory)
            let result = Result { () throws(ExecutionError) -> UInt64 in try engine.run(memory: buffer).returnValue }
            return (result, Array(buffer))
        }
        let native = run(try JITCompiler().compile(program, mode: mode))
        let interpreted = run(Interpreter(program: program, mode: mode))
        #expect(sameOutcome(native.0, interpreted.0), "\(source)\nJIT \(native.0), interpreter \(interpreted.0)",
                sourceLocation: sourceLocation)
        #expect(native.1 == interpreted.1, "\(source)", sourceLocation: sourceLocation)
    }

    @Test(arguments: ExecutionMode.allCases)
    func atomicsThroughEveryKindOfRegister(mode: ExecutionMode) throws {
        let memory: [UInt8] = (0..<32).map { UInt8(truncatingIfNeeded: $0 &* 53 &+ 11) }
        for atomic in Self.atomics {
            for (base, source) in [("r0", "r0"), ("r0", "r5"), ("r7", "r0"), ("r7", "r7"), ("r1", "r1"), ("r3", "r4")] {
                let source = """
                    mov %r9, %r1
                    lddw %r0, 0x8877665544332211
                    lddw %r5, 0x0123456789abcdef
                    mov %r7, %r1
                    mov %r3, %r1
                    lddw %r4, 0xfedcba9876543210
                    mov %r\(base.dropFirst()), %r1
                    \(atomic) [%\(base)+8], %\(source)
                    ldxdw %r6, [%r9+8]
                    mov %r8, %r0
                    mul %r8, 3
                    xor %r8, %r\(source.dropFirst())
                    xor %r8, %r6
                    mov %r0, %r8
                    exit
                    """
                try compareOnOneBuffer(source, mode: mode, memory: memory)
            }
        }
    }

    @Test(arguments: ExecutionMode.allCases)
    func loadsAndStoresOfEveryWidthThroughEveryRegister(mode: ExecutionMode) throws {
        let memory: [UInt8] = (0..<64).map { UInt8(truncatingIfNeeded: $0 &* 29 &+ 3) }
        let loads = ["ldxb", "ldxh", "ldxw", "ldxdw", "ldxsb", "ldxsh", "ldxsw"]
        let stores = ["stxb", "stxh", "stxw", "stxdw"]
        for base in 0...9 {
            for (index, load) in loads.enumerated() {
                let destination = (base + index) % 10
                let source = """
                    mov %r\(base), %r1
                    \(load) %r\(destination), [%r\(base)+\(index * 4)]
                    mov %r0, %r\(destination)
                    exit
                    """
                try compareOnOneBuffer(source, mode: mode, memory: memory)
            }
            for (index, store) in stores.enumerated() {
                let value = [0, 2, 3, 4, 5, 6, 7, 8, 9].filter { $0 != base }[(base + index) % 8]
                let source = """
                    mov %r\(base), %r1
                    lddw %r\(value), 0x8182838485868788
                    \(store) [%r\(base)+\(index * 9)], %r\(value)
                    st\(["b", "h", "w", "dw"][index]) [%r\(base)+\(40 + index)], -2
                    mov %r0, 0
                    exit
                    """
                try compareOnOneBuffer(source, mode: mode, memory: memory)
            }
        }
    }
}
