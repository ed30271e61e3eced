#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The `bpf()` commands BPFKit issues, with the numbers of Linux's `enum bpf_cmd`.
public enum BPFCommand: Int32, Sendable, CaseIterable {
    case mapCreate = 0
    case mapLookupElement = 1
    case mapUpdateElement = 2
    case mapDeleteElement = 3
    case mapGetNextKey = 4
    case programLoad = 5
    case programTestRun = 10
    case mapLookupAndDeleteElement = 21

    /// The command's name in the Linux UAPI header, e.g. `BPF_MAP_CREATE`.
    public var name: String {
        switch self {
        case .mapCreate: "BPF_MAP_CREATE"
        case .mapLookupElement: "BPF_MAP_LOOKUP_ELEM"
        case .mapUpdateElement: "BPF_MAP_UPDATE_ELEM"
        case .mapDeleteElement: "BPF_MAP_DELETE_ELEM"
        case .mapGetNextKey: "BPF_MAP_GET_NEXT_KEY"
        case .programLoad: "BPF_PROG_LOAD"
        case .programTestRun: "BPF_PROG_TEST_RUN"
        case .mapLookupAndDeleteElement: "BPF_MAP_LOOKUP_AND_DELETE_ELEM"
        }
    }
}

/// A failed `bpf()` call: which command failed and the `errno` the kernel returned.
public struct BPFSystemError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The command that failed.
    public let command: BPFCommand
    /// The positive `errno` value the kernel reported.
    public let errno: Int32
    /// The verifier log, when a program load failed and a log was requested.
    public let log: String?

    public init(command: BPFCommand, errno: Int32, log: String? = nil) {
        self.command = command
        self.errno = errno
        self.log = log
    }

    /// The symbolic name of the errno, e.g. `EINVAL`, or `errno N` if unknown.
    public var errnoName: String {
        switch errno {
        case EPERM: "EPERM"
        case ENOENT: "ENOENT"
        case EINTR: "EINTR"
        case E2BIG: "E2BIG"
        case EBADF: "EBADF"
        case EAGAIN: "EAGAIN"
        case ENOMEM: "ENOMEM"
        case EACCES: "EACCES"
        case EFAULT: "EFAULT"
        case EBUSY: "EBUSY"
        case EEXIST: "EEXIST"
        case EINVAL: "EINVAL"
        case ENOSPC: "ENOSPC"
        case ENOSYS: "ENOSYS"
        case ENOTSUP: "ENOTSUPP"
        case ERANGE: "ERANGE"
        default: "errno \(errno)"
        }
    }

    public var description: String {
        let message = String(cString: strerror(errno))
        var text = "\(command.name) failed: \(message) (\(errnoName))"
        if let log, !log.isEmpty { text += "\nverifier log:\n\(log)" }
        return text
    }
}
