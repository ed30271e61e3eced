#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A failed `capget`/`capset`, or a thread that could not be started.
public struct PrivilegeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The call that failed: `capget`, `capset` or `pthread_create`.
    public let call: String
    public let errno: Int32

    public var description: String { "\(call) failed with errno \(errno)" }
}

/// Calls `bpf()` as an unprivileged user would, so that Linux's unprivileged verifier
/// can serve as a reference too.
///
/// The work runs on a thread of its own whose effective capabilities are cleared with a
/// raw `capset` (Linux keeps credentials per thread, and the raw call, unlike glibc's
/// set*id wrappers, does not spread the change to the other threads). The thread ends
/// with the work, so the rest of the process keeps its privileges.
public enum UnprivilegedCaller {
    /// Whether Linux lets callers without CAP_BPF or CAP_SYS_ADMIN load programs at all:
    /// `kernel.unprivileged_bpf_disabled` is 0.
    public static var isPermitted: Bool {
        guard let file = fopen("/proc/sys/kernel/unprivileged_bpf_disabled", "r") else { return false }
        defer { fclose(file) }
        var text: [CChar] = Array(repeating: 0, count: 8)
        guard fgets(&text, Int32(text.count), file) != nil else { return false }
        return text[0] == 0x30 && (text[1] == 0x0a || text[1] == 0)  // "0\n"
    }

    /// Runs `body` on a new thread without effective capabilities and returns its result.
    public static func run<T>(_ body: () -> T) throws(PrivilegeError) -> T {
        try withoutActuallyEscaping(body) { (escaping) throws(PrivilegeError) -> T in
            let job = Job(escaping)
            var thread = pthread_t()
            let unmanaged = Unmanaged<Work>.passRetained(job)
            let started = pthread_create(&thread, nil, { raw in
                // `raw` is the retained `Work` passed below; this is its only release.
                let job = Unmanaged<Work>.fromOpaque(raw!).takeRetainedValue()
                job.perform()
                return nil
            }, unmanaged.toOpaque())
            guard started == 0 else {
                unmanaged.release()
                throw PrivilegeError(call: "pthread_create", errno: started)
            }
            pthread_join(thread, nil)
            switch job.outcome! {
            case .success(let value): return value
            case .failure(let error): throw error
            }
        }
    }

    /// What the worker thread runs; the thread entry point cannot be generic.
    private class Work {
        func perform() {}
    }

    private final class Job<T>: Work {
        // Written by the worker thread before it ends, read after `pthread_join`.
        let body: () -> T
        var outcome: Result<T, PrivilegeError>?
        init(_ body: @escaping () -> T) { self.body = body }

        override func perform() {
            do throws(PrivilegeError) {
                try UnprivilegedCaller.dropEffectiveCapabilities()
                outcome = .success(body())
            } catch {
                outcome = .failure(error)
            }
        }
    }

    /// The numbers of `capget` and `capset` on this architecture.
    private static var capabilityCalls: (get: Int, set: Int)? {
        #if arch(x86_64)
        return (125, 126)
        #elseif arch(arm64)
        return (90, 91)
        #else
        return nil
        #endif
    }

    /// Clears the calling thread's effective capability set (keeps the permitted set).
    static func dropEffectiveCapabilities() throws(PrivilegeError) {
        guard let calls = capabilityCalls, let function = BPFSyscall.syscallFunction else {
            throw PrivilegeError(call: "capset", errno: ENOSYS)
        }
        // struct __user_cap_header_struct { u32 version; int pid; }: version 3, pid 0 (this thread).
        var header: (UInt32, Int32) = (0x2008_0522, 0)
        // Two struct __user_cap_data_struct { u32 effective, permitted, inheritable; }.
        var data: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0, 0, 0)
        func call(_ name: String, _ number: Int) throws(PrivilegeError) {
            while true {
                // `header` and `data` are live locals of the layouts the kernel expects for
                // version 3 (8 and 24 bytes) for the whole call.
                let result = withUnsafeMutableBytes(of: &header) { h in
                    withUnsafeMutableBytes(of: &data) { d in
                        function(number, Int(bitPattern: h.baseAddress), Int(bitPattern: d.baseAddress), 0)
                    }
                }
                if result == 0 { return }
                let code = errno
                if code != EINTR { throw PrivilegeError(call: name, errno: code) }
            }
        }
        try call("capget", calls.get)
        data.0 = 0  // effective, capabilities 0-31
        data.3 = 0  // effective, capabilities 32-63
        try call("capset", calls.set)
    }
}
