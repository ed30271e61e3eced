import BPFObject

/// The values the kernel's `check_return_code` accepts in `r0` at a program's exit.
public struct ReturnRange: Sendable, Hashable {
    public var minimum: Int64
    public var maximum: Int64

    public init(_ minimum: Int64, _ maximum: Int64) {
        self.minimum = minimum
        self.maximum = maximum
    }

    public func contains(_ value: Int64) -> Bool { value >= minimum && value <= maximum }

    /// `-MAX_ERRNO`: the smallest errno an LSM hook may return.
    public static let maximumErrno: Int64 = 4095

    /// What Linux 6.18 checks for `type` (refined by `attachType` where the kernel looks at it),
    /// or `nil` where it checks nothing: socket_filter, sched_cls/act, xdp, lwt_*, sk_skb, sk_msg,
    /// tracepoint, perf_event, ext, raw_tp and most kprobes return unchecked values.
    public static func `for`(_ type: ProgramType, attachType: AttachType? = nil) -> ReturnRange? {
        switch type {
        case .cgroupSockAddr:
            switch attachType {
            case .cgroupUdp4Recvmsg, .cgroupUdp6Recvmsg, .cgroupUnixRecvmsg, .cgroupInet4Getpeername,
                 .cgroupInet6Getpeername, .cgroupUnixGetpeername, .cgroupInet4Getsockname,
                 .cgroupInet6Getsockname, .cgroupUnixGetsockname:
                ReturnRange(1, 1)
            case .cgroupInet4Bind, .cgroupInet6Bind:
                ReturnRange(0, 3)
            default:
                ReturnRange(0, 1)
            }
        case .cgroupSkb:
            // Egress programs may also set the congestion-notification bit (values 2 and 3).
            attachType == .cgroupInetEgress ? ReturnRange(0, 3) : ReturnRange(0, 1)
        case .cgroupSock, .sockOps, .cgroupDevice, .cgroupSysctl, .cgroupSockopt:
            ReturnRange(0, 1)
        case .rawTracepoint, .rawTracepointWritable:
            nil
        case .tracing:
            switch attachType {
            case .traceFentry, .traceFexit: ReturnRange(0, 0)
            case .traceIter: ReturnRange(0, 1)
            default: nil
            }
        case .skLookup:
            ReturnRange(0, 1)  // SK_DROP, SK_PASS
        case .lsm:
            // LSM hooks return 0 or -errno; lsm_cgroup programs return 0 or 1.
            attachType == .lsmCgroup ? ReturnRange(0, 1) : ReturnRange(-maximumErrno, 0)
        case .netfilter:
            ReturnRange(0, 1)  // NF_DROP, NF_ACCEPT
        case .kprobe:
            attachType == .traceKprobeSession ? ReturnRange(0, 1) : nil
        default:
            nil
        }
    }
}

/// Symbolic names of return values, for printing results.
public enum ReturnValueNames {
    /// `enum xdp_action`.
    public static let xdp: [Int64: String] = [
        0: "XDP_ABORTED", 1: "XDP_DROP", 2: "XDP_PASS", 3: "XDP_TX", 4: "XDP_REDIRECT",
    ]

    /// `TC_ACT_*` from `<linux/pkt_cls.h>`.
    public static let trafficControl: [Int64: String] = [
        -1: "TC_ACT_UNSPEC", 0: "TC_ACT_OK", 1: "TC_ACT_RECLASSIFY", 2: "TC_ACT_SHOT", 3: "TC_ACT_PIPE",
        4: "TC_ACT_STOLEN", 5: "TC_ACT_QUEUED", 6: "TC_ACT_REPEAT", 7: "TC_ACT_REDIRECT", 8: "TC_ACT_TRAP",
    ]

    /// `enum sk_action`.
    public static let socket: [Int64: String] = [0: "SK_DROP", 1: "SK_PASS"]

    /// The name of `value` as a result of a `type` program (`XDP_PASS`, `TC_ACT_SHOT`), if it has one.
    public static func name(of value: Int64, for type: ProgramType) -> String? {
        switch type {
        case .xdp: xdp[value]
        case .schedCls, .schedAct: trafficControl[value]
        case .skSkb, .skMsg, .skReuseport, .skLookup: socket[value]
        default: nil
        }
    }
}
