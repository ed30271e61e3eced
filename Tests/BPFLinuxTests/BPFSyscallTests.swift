import Testing
@testable import BPFLinux
#if canImport(Glibc)
import Glibc
#endif

private func bytes<T: BitwiseCopyable>(_ value: T) -> [UInt8] {
    withUnsafeBytes(of: value) { Array($0) }
}

@Suite("bpf() error descriptions")
struct BPFSystemErrorTests {
    @Test func descriptionNamesCommandAndErrno() {
        let error = BPFSystemError(command: .mapCreate, errno: EINVAL)
        #expect(error.description == "BPF_MAP_CREATE failed: Invalid argument (EINVAL)")
        #expect(BPFSystemError(command: .mapGetNextKey, errno: ENOENT).description.hasPrefix("BPF_MAP_GET_NEXT_KEY failed:"))
    }
}

// These tests talk to the running kernel. When bpf() is refused (a container
// without CAP_BPF, seccomp, an old kernel) they are skipped, and Swift Testing
// reports the skip with the comment given to `.enabled(if:)`.
@Suite("Kernel bpf() syscall", .enabled(if: BPFSyscall.isAvailable, "bpf() is not permitted here (needs CAP_BPF or root)"))
struct BPFSyscallKernelTests {
    @Test func arrayMapUpdateLookupAndErrors() throws {
        let map = try KernelMap(type: 2, keySize: 4, valueSize: 8, maxEntries: 4)
        #expect(try map.lookup(key: bytes(UInt32(1))) == bytes(UInt64(0)))
        try map.update(key: bytes(UInt32(1)), value: bytes(UInt64(42)))
        #expect(try map.lookup(key: bytes(UInt32(1))) == bytes(UInt64(42)))
        #expect(try map.lookup(key: bytes(UInt32(9))) == nil)
        #expect(throws: BPFSystemError(command: .mapUpdateElement, errno: EEXIST)) {
            try map.update(key: bytes(UInt32(1)), value: bytes(UInt64(1)), flags: 1)
        }
        #expect(throws: BPFSystemError(command: .mapUpdateElement, errno: E2BIG)) {
            try map.update(key: bytes(UInt32(4)), value: bytes(UInt64(1)))
        }
        #expect(throws: BPFSystemError(command: .mapDeleteElement, errno: EINVAL)) {
            try map.delete(key: bytes(UInt32(1)))
        }
        #expect(try map.keys() == (0..<4).map { bytes(UInt32($0)) })
        #expect(try map.nextKey(after: bytes(UInt32(3))) == nil)
        #expect(try map.nextKey(after: bytes(UInt32(77))) == bytes(UInt32(0)))
    }

    @Test func hashMapUpdateLookupDeleteAndNextKey() throws {
        let map = try KernelMap(type: 1, keySize: 4, valueSize: 4, maxEntries: 2)
        #expect(try map.nextKey(after: nil) == nil)
        try map.update(key: bytes(UInt32(10)), value: bytes(UInt32(100)), flags: 1)
        #expect(throws: BPFSystemError(command: .mapUpdateElement, errno: EEXIST)) {
            try map.update(key: bytes(UInt32(10)), value: bytes(UInt32(1)), flags: 1)
        }
        #expect(throws: BPFSystemError(command: .mapUpdateElement, errno: ENOENT)) {
            try map.update(key: bytes(UInt32(11)), value: bytes(UInt32(1)), flags: 2)
        }
        try map.update(key: bytes(UInt32(11)), value: bytes(UInt32(110)))
        #expect(throws: BPFSystemError(command: .mapUpdateElement, errno: E2BIG)) {
            try map.update(key: bytes(UInt32(12)), value: bytes(UInt32(1)))
        }
        #expect(Set(try map.keys()) == [bytes(UInt32(10)), bytes(UInt32(11))])
        try map.delete(key: bytes(UInt32(10)))
        #expect(try map.lookup(key: bytes(UInt32(10))) == nil)
        #expect(throws: BPFSystemError(command: .mapDeleteElement, errno: ENOENT)) {
            try map.delete(key: bytes(UInt32(10)))
        }
        // A missing key restarts iteration from the first key.
        #expect(try map.nextKey(after: bytes(UInt32(10))) == bytes(UInt32(11)))
    }

    @Test func queuePushAndPop() throws {
        let map = try KernelMap(type: 22, keySize: 0, valueSize: 4, maxEntries: 2)
        try map.update(key: [], value: bytes(UInt32(1)))
        try map.update(key: [], value: bytes(UInt32(2)))
        #expect(try map.pop() == bytes(UInt32(1)))
        #expect(try map.pop() == bytes(UInt32(2)))
        #expect(try map.pop() == nil)
    }

    @Test func loadAndTestRunReturnsR0() throws {
        // mov r0, 2 ; exit
        let instructions: [UInt64] = [0x0000_0002_0000_00b7, 0x0000_0000_0000_0095]
        
        let program = try BPFSyscall.loadProgram(type: 6 /* XDP */, instructions: instructions, logLevel: 1)
        let result = try program.testRun(data: [UInt8](repeating: 0, count: 64))
        #expect(result.returnValue == 2)
        #expect(result.dataOut.count == 64)

        let filter = try BPFSyscall.loadProgram(type: 1 /* socket filter */, instructions: instructions)
        #expect(try filter.testRun(data: [UInt8](repeating: 0, count: 64)).returnValue == 2)
    }

    @Test func verifierRejectionCarriesLog() throws {
        // exit without setting r0: the verifier says "R0 !read_ok".
        let error = #expect(throws: BPFSystemError.self) {
            _ = try BPFSyscall.loadProgram(type: 6, instructions: [0x95], logLevel: 1)
        }
        #expect(error?.errno == EACCES)
        #expect(error?.log?.contains("R0") == true)
        #expect(error?.description.hasPrefix("BPF_PROG_LOAD failed:") == true)
    }
}

@Suite("Unprivileged bpf() calls", .enabled(if: BPFSyscall.isAvailable, "bpf() is not permitted here (needs CAP_BPF or root)"))
struct UnprivilegedCallerTests {
    /// `mov r0, 0; exit`.
    static let returnZero: [UInt64] = [0x0000_0000_0000_00b7, 0x0000_0000_0000_0095]

    @Test func aThreadWithoutCapabilitiesCannotLoadTracingPrograms() throws {
        // kprobe (2) needs CAP_BPF and CAP_PERFMON whatever the sysctl says.
        let refused = try UnprivilegedCaller.run { () -> Int32? in
            do throws(BPFSystemError) { _ = try BPFSyscall.loadProgram(type: 2, instructions: Self.returnZero, logLevel: 0); return nil }
            catch { return error.errno }
        }
        #expect(refused == EPERM)
        // The rest of the process keeps its privileges.
        #expect(throws: Never.self) { try BPFSyscall.loadProgram(type: 2, instructions: Self.returnZero, logLevel: 0) }
    }

    @Test func aSocketFilterLoadsWhenTheKernelAllowsUnprivilegedCallers() throws {
        let result = try UnprivilegedCaller.run { () -> Int32 in
            do throws(BPFSystemError) { _ = try BPFSyscall.loadProgram(type: 1, instructions: Self.returnZero, logLevel: 0); return 0 }
            catch { return error.errno }
        }
        #expect(result == (UnprivilegedCaller.isPermitted ? 0 : EPERM))
    }
}
