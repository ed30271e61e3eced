import BPFRuntime
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Helpers about "the current task": the host process is the closest analogue.
enum ProcessHelpers {
    /// The host process's name from /proc/self/comm (at most 15 bytes, like TASK_COMM_LEN - 1).
    static let command: [UInt8] = {
        guard let file = fopen("/proc/self/comm", "r") else { return Array("bpfkit".utf8) }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 64)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return Array("bpfkit".utf8) }
        let bytes = buffer.prefix { $0 != 0 && $0 != 10 }.map { UInt8(bitPattern: $0) }
        return Array(bytes.prefix(15))
    }()

    /// The calling thread's id (gettid), which Swift's Glibc module does not export.
    static let gettidFunction: (@convention(c) () -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "gettid") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) () -> Int32).self)
    }()

    static func currentThreadID() -> Int32 { gettidFunction?() ?? getpid() }

    static func bodies() -> [(Int32, Helper.Body)] {
        [
            (LinuxHelper.getPrandomU32, { _, _ in UInt64(UInt32.random(in: .min ... .max)) }),
            (LinuxHelper.getSmpProcessorID, { _, context in UInt64(context.processor) }),
            (LinuxHelper.getNumaNodeID, { _, _ in 0 }),
            (LinuxHelper.getCurrentPidTgid, { _, _ in
                UInt64(UInt32(bitPattern: getpid())) << 32 | UInt64(UInt32(bitPattern: currentThreadID()))
            }),
            (LinuxHelper.getCurrentUidGid, { _, _ in UInt64(getgid()) << 32 | UInt64(getuid()) }),
            (LinuxHelper.getCurrentComm, { arguments, context throws(HelperError) in
                let size = Int(truncatingIfNeeded: arguments.r2)
                guard size > 0 else { return HelperSupport.errno(HelperSupport.EINVAL) }
                let buffer = try context.buffer(at: arguments.r1, count: UInt64(size), write: true)
                // strscpy_pad: copy what fits with a NUL, zero the rest.
                buffer.initializeMemory(as: UInt8.self, repeating: 0)
                for (index, byte) in command.prefix(size - 1).enumerated() { buffer[index] = byte }
                return 0
            }),
            // No attachment exists in BPFKit: no cookie (Linux returns 0), no probed function address.
            (LinuxHelper.getAttachCookie, { _, _ in 0 }),
            (LinuxHelper.getFuncIP, { _, _ in 0 }),
        ]
    }
}
