#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A zeroed `union bpf_attr` image filled at the byte offsets of the Linux
/// UAPI header (`include/uapi/linux/bpf.h`). Unused fields stay zero, which the
/// kernel requires of every byte it does not know for a command.
struct BPFAttributes {
    /// Larger than every member BPFKit uses (BPF_PROG_LOAD's prefix up to
    /// `fd_array` is 128 bytes); the kernel accepts a shorter or longer union
    /// as long as the unknown tail is zero.
    static let size = 128
    var bytes = [UInt8](repeating: 0, count: BPFAttributes.size)

    mutating func set(_ value: UInt32, at offset: Int) {
        precondition(offset % 4 == 0 && offset + 4 <= Self.size)
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt32.self) }
    }

    mutating func set(_ value: UInt64, at offset: Int) {
        precondition(offset % 8 == 0 && offset + 8 <= Self.size)
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt64.self) }
    }

    mutating func set(pointer: UnsafeRawPointer?, at offset: Int) {
        set(UInt64(UInt(bitPattern: pointer)), at: offset)
    }

    func uint32(at offset: Int) -> UInt32 {
        bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
    }
}

/// The one entry point to Linux's `bpf()` system call.
///
/// Every command goes through ``invoke(_:_:)``, which retries on `EINTR` and
/// throws a ``BPFSystemError`` naming the command on failure.
public enum BPFSyscall {
    /// The syscall number of `bpf` on this architecture.
    public static var number: Int {
        #if arch(x86_64)
        return 321
        #elseif arch(arm64)
        return 280
        #elseif arch(i386)
        return 357
        #else
        return -1
        #endif
    }

    typealias SyscallFunction = @convention(c) (Int, Int, Int, Int) -> Int

    /// libc's `syscall(long, ...)`. It is variadic and therefore not imported
    /// into Swift; on x86-64 and arm64 Linux integer arguments of a variadic
    /// call travel in the same registers as a non-variadic call, so calling it
    /// through a four-integer C function pointer is ABI-compatible.
    static let syscallFunction: SyscallFunction? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "syscall") else { return nil }
        return unsafeBitCast(symbol, to: SyscallFunction.self)
    }()

    /// Issues `bpf(command, attributes, size)`, retrying while it fails with
    /// `EINTR`. Returns the non-negative result (often a new descriptor).
    @discardableResult
    static func invoke(_ command: BPFCommand, _ attributes: inout BPFAttributes) throws(BPFSystemError) -> Int32 {
        guard let function = syscallFunction, number >= 0 else {
            throw BPFSystemError(command: command, errno: ENOSYS)
        }
        while true {
            let result = attributes.bytes.withUnsafeMutableBytes { buffer in
                // `buffer` is a live, writable 128-byte allocation for the whole
                // call; the kernel reads and writes only within `size` bytes.
                function(number, Int(command.rawValue), Int(bitPattern: buffer.baseAddress), BPFAttributes.size)
            }
            if result >= 0 { return Int32(truncatingIfNeeded: result) }
            let code = errno
            if code == EINTR { continue }
            throw BPFSystemError(command: command, errno: code)
        }
    }

    /// Whether `bpf()` works here: creating a one-element array map succeeds.
    /// False in containers without `CAP_BPF`/`CAP_SYS_ADMIN` or under seccomp.
    public static let isAvailable: Bool = {
        (try? createMap(type: 2, keySize: 4, valueSize: 4, maxEntries: 1)) != nil
    }()

    // MARK: Maps

    /// BPF_MAP_CREATE. Returns an owned map descriptor.
    public static func createMap(
        type: UInt32, keySize: UInt32, valueSize: UInt32, maxEntries: UInt32,
        flags: UInt32 = 0, innerMapFileDescriptor: Int32 = 0, mapExtra: UInt64 = 0,
        name: String = ""
    ) throws(BPFSystemError) -> KernelFileDescriptor {
        var attributes = BPFAttributes()
        attributes.set(type, at: 0)
        attributes.set(keySize, at: 4)
        attributes.set(valueSize, at: 8)
        attributes.set(maxEntries, at: 12)
        attributes.set(flags, at: 16)
        attributes.set(UInt32(bitPattern: innerMapFileDescriptor), at: 20)
        // map_name: char[16] at offset 28, NUL-terminated; keep 15 characters.
        for (index, byte) in name.utf8.prefix(15).enumerated() { attributes.bytes[28 + index] = byte }
        attributes.set(mapExtra, at: 64)
        return KernelFileDescriptor(owning: try invoke(.mapCreate, &attributes))
    }

    /// Fills the `BPF_MAP_*_ELEM` member: map_fd @0, key @8, value/next_key @16, flags @24.
    private static func elementCall(
        _ command: BPFCommand, map: Int32, key: UnsafeRawPointer?, value: UnsafeRawPointer?, flags: UInt64
    ) throws(BPFSystemError) {
        var attributes = BPFAttributes()
        attributes.set(UInt32(bitPattern: map), at: 0)
        attributes.set(pointer: key, at: 8)
        attributes.set(pointer: value, at: 16)
        attributes.set(flags, at: 24)
        try invoke(command, &attributes)
    }

    /// BPF_MAP_LOOKUP_ELEM: copies the value of `key` into `value`.
    public static func lookupElement(
        map: Int32, key: UnsafeRawPointer?, value: UnsafeMutableRawPointer, flags: UInt64 = 0
    ) throws(BPFSystemError) {
        try elementCall(.mapLookupElement, map: map, key: key, value: value, flags: flags)
    }

    /// BPF_MAP_UPDATE_ELEM with BPF_ANY/BPF_NOEXIST/BPF_EXIST/BPF_F_LOCK `flags`.
    public static func updateElement(
        map: Int32, key: UnsafeRawPointer?, value: UnsafeRawPointer, flags: UInt64
    ) throws(BPFSystemError) {
        try elementCall(.mapUpdateElement, map: map, key: key, value: value, flags: flags)
    }

    /// BPF_MAP_DELETE_ELEM.
    public static func deleteElement(map: Int32, key: UnsafeRawPointer?) throws(BPFSystemError) {
        try elementCall(.mapDeleteElement, map: map, key: key, value: nil, flags: 0)
    }

    /// BPF_MAP_GET_NEXT_KEY: writes the key after `key` (or the first key when
    /// `key` is nil) into `nextKey`.
    public static func nextKey(
        map: Int32, key: UnsafeRawPointer?, nextKey: UnsafeMutableRawPointer
    ) throws(BPFSystemError) {
        try elementCall(.mapGetNextKey, map: map, key: key, value: nextKey, flags: 0)
    }

    /// BPF_MAP_LOOKUP_AND_DELETE_ELEM (a queue/stack pop when `key` is nil).
    public static func lookupAndDeleteElement(
        map: Int32, key: UnsafeRawPointer?, value: UnsafeMutableRawPointer, flags: UInt64 = 0
    ) throws(BPFSystemError) {
        try elementCall(.mapLookupAndDeleteElement, map: map, key: key, value: value, flags: flags)
    }

    // MARK: Programs

    /// BPF_PROG_LOAD. `instructions` are raw 8-byte instruction words (the
    /// value of each `UInt64` is the little-endian encoding of one slot).
    /// When `logLevel` is non-zero a log buffer of `logSize` bytes is passed and
    /// the verifier log is returned (and attached to the error on failure).
    public static func loadProgram(
        type: UInt32, instructions: [UInt64], license: String = "GPL",
        logLevel: UInt32 = 0, logSize: Int = 1 << 20,
        expectedAttachType: UInt32 = 0, flags: UInt32 = 0, name: String = ""
    ) throws(BPFSystemError) -> KernelProgram {
        let words = instructions.map { $0.littleEndian }
        let licenseBytes = Array(license.utf8) + [0]
        var logBuffer = [UInt8](repeating: 0, count: logLevel == 0 ? 0 : max(logSize, 256))
        var attributes = BPFAttributes()
        attributes.set(type, at: 0)
        attributes.set(UInt32(words.count), at: 4)
        attributes.set(logLevel, at: 24)
        attributes.set(UInt32(logBuffer.count), at: 28)
        attributes.set(flags, at: 44)
        for (index, byte) in name.utf8.prefix(15).enumerated() { attributes.bytes[48 + index] = byte }
        attributes.set(expectedAttachType, at: 68)
        let outcome: Result<Int32, BPFSystemError> = words.withUnsafeBytes { insns in
            licenseBytes.withUnsafeBytes { lic in
                logBuffer.withUnsafeMutableBytes { log in
                    // The three buffers stay alive and unmoved for the duration of
                    // this closure, which encloses the syscall that reads them.
                    attributes.set(pointer: insns.baseAddress, at: 8)
                    attributes.set(pointer: lic.baseAddress, at: 16)
                    attributes.set(pointer: log.count == 0 ? nil : UnsafeRawPointer(log.baseAddress), at: 32)
                    do throws(BPFSystemError) { return .success(try invoke(.programLoad, &attributes)) }
                    catch { return .failure(error) }
                }
            }
        }
        let log = String(decoding: logBuffer.prefix { $0 != 0 }, as: UTF8.self)
        switch outcome {
        case .success(let fd): return KernelProgram(descriptor: KernelFileDescriptor(owning: fd), log: log)
        case .failure(let error): throw BPFSystemError(command: error.command, errno: error.errno, log: log)
        }
    }

    /// The result of BPF_PROG_TEST_RUN.
    public struct TestRunResult: Sendable, Equatable {
        /// The program's return value (r0, truncated to 32 bits by the kernel).
        public var returnValue: UInt32
        /// The average duration of one run in nanoseconds, as measured by the kernel.
        public var durationNanoseconds: UInt32
        /// The packet data after the run (`data_size_out` bytes).
        public var dataOut: [UInt8]
        /// The context after the run, when a context was passed in.
        public var contextOut: [UInt8]
    }

    /// BPF_PROG_TEST_RUN: runs `program` `repeatCount` times over `data` (and
    /// `context`), returning r0, the duration and the output buffers.
    public static func testRun(
        program: Int32, data: [UInt8] = [], context: [UInt8]? = nil, repeatCount: UInt32 = 1,
        dataOutCapacity: Int? = nil, flags: UInt32 = 0, cpu: UInt32 = 0
    ) throws(BPFSystemError) -> TestRunResult {
        var dataOut = [UInt8](repeating: 0, count: dataOutCapacity ?? max(data.count + 256, 256))
        let contextIn = context ?? []
        var contextOut = [UInt8](repeating: 0, count: context == nil ? 0 : contextIn.count)
        var attributes = BPFAttributes()
        attributes.set(UInt32(bitPattern: program), at: 0)
        attributes.set(UInt32(data.count), at: 8)
        attributes.set(UInt32(dataOut.count), at: 12)
        attributes.set(repeatCount, at: 32)
        attributes.set(UInt32(contextIn.count), at: 40)
        attributes.set(UInt32(contextOut.count), at: 44)
        attributes.set(flags, at: 64)
        attributes.set(cpu, at: 68)
        let outcome: Result<Int32, BPFSystemError> = data.withUnsafeBytes { dataIn in
            dataOut.withUnsafeMutableBytes { dataOutBuffer in
                contextIn.withUnsafeBytes { ctxIn in
                    contextOut.withUnsafeMutableBytes { ctxOut in
                        // All four buffers outlive the syscall made inside this closure.
                        attributes.set(pointer: dataIn.count == 0 ? nil : dataIn.baseAddress, at: 16)
                        attributes.set(pointer: dataOutBuffer.count == 0 ? nil : UnsafeRawPointer(dataOutBuffer.baseAddress), at: 24)
                        attributes.set(pointer: ctxIn.count == 0 ? nil : ctxIn.baseAddress, at: 48)
                        attributes.set(pointer: ctxOut.count == 0 ? nil : UnsafeRawPointer(ctxOut.baseAddress), at: 56)
                        do throws(BPFSystemError) { return .success(try invoke(.programTestRun, &attributes)) }
                        catch { return .failure(error) }
                    }
                }
            }
        }
        if case .failure(let error) = outcome { throw error }
        let dataSizeOut = Int(attributes.uint32(at: 12))
        let contextSizeOut = Int(attributes.uint32(at: 44))
        return TestRunResult(
            returnValue: attributes.uint32(at: 4),
            durationNanoseconds: attributes.uint32(at: 36),
            dataOut: Array(dataOut.prefix(dataSizeOut)),
            contextOut: Array(contextOut.prefix(contextSizeOut))
        )
    }
}

/// A program loaded into the kernel with BPF_PROG_LOAD, owning its descriptor.
public final class KernelProgram: Sendable {
    /// The owned program descriptor; closed when the program is deinitialised.
    public let descriptor: KernelFileDescriptor
    /// The verifier log captured at load time (empty when no log was requested).
    public let log: String

    init(descriptor: consuming KernelFileDescriptor, log: String) {
        self.descriptor = descriptor
        self.log = log
    }

    /// Runs the program with BPF_PROG_TEST_RUN; see ``BPFSyscall/testRun(program:data:context:repeatCount:dataOutCapacity:flags:cpu:)``.
    public func testRun(
        data: [UInt8] = [], context: [UInt8]? = nil, repeatCount: UInt32 = 1
    ) throws(BPFSystemError) -> BPFSyscall.TestRunResult {
        try BPFSyscall.testRun(program: descriptor.rawValue, data: data, context: context, repeatCount: repeatCount)
    }
}
