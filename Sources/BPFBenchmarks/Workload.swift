/// BPFBenchmarks: the workloads and the measurement behind `bpfkit bench`.
/// Timing lives here and in the command, never in the test suite.
import BPFKit

/// One benchmark program with the memory it runs on.
public struct Workload: Sendable {
    public var name: String
    public var summary: String
    public var assembly: String
    /// The bytes passed in r1 (length in r2).
    public var memory: [UInt8]
    /// The r0 every engine must return, computed independently in Swift.
    public var expectedResult: UInt64

    /// FNV-1a (64-bit) over a 1 KiB buffer, ten passes: a loop-heavy ALU workload.
    public static let fnv1a: Workload = {
        let buffer = (0..<1024).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for _ in 0..<10 {
            for byte in buffer {
                hash ^= UInt64(byte)
                hash = hash &* 0x100_0000_01b3
            }
        }
        return Workload(
            name: "fnv1a",
            summary: "FNV-1a over 1 KiB, 10 passes",
            assembly: """
                # r1 = buffer, r2 = length; r0 = FNV-1a 64 of ten passes over the buffer
                lddw %r0, 0xcbf29ce484222325
                lddw %r5, 0x100000001b3
                mov %r6, 10
                pass:
                mov %r3, %r1
                mov %r4, %r1
                add %r4, %r2
                byte:
                ldxb %r7, [%r3+0]
                xor %r0, %r7
                mul %r0, %r5
                add %r3, 1
                jne %r3, %r4, byte
                sub %r6, 1
                jne %r6, 0, pass
                exit
                """,
            memory: buffer,
            expectedResult: hash)
    }()

    public static let all: [Workload] = [.fnv1a]
}
