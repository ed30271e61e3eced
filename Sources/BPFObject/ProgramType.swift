/// Linux program types (`BPF_PROG_TYPE_*`), with the kernel's numbers.
public enum ProgramType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case unspecified = 0
    case socketFilter, kprobe, schedCls, schedAct, tracepoint, xdp, perfEvent, cgroupSkb, cgroupSock
    case lwtIn, lwtOut, lwtXmit, sockOps, skSkb, cgroupDevice, skMsg, rawTracepoint, cgroupSockAddr
    case lwtSeg6local, lircMode2, skReuseport, flowDissector, cgroupSysctl, rawTracepointWritable
    case cgroupSockopt, tracing, structOps, ext, lsm, skLookup, syscall, netfilter

    /// The lower-case kernel name without the prefix (`socket_filter`, `sched_cls`, ...).
    public var name: String {
        switch self {
        case .unspecified: "unspec"
        case .socketFilter: "socket_filter"
        case .kprobe: "kprobe"
        case .schedCls: "sched_cls"
        case .schedAct: "sched_act"
        case .tracepoint: "tracepoint"
        case .xdp: "xdp"
        case .perfEvent: "perf_event"
        case .cgroupSkb: "cgroup_skb"
        case .cgroupSock: "cgroup_sock"
        case .lwtIn: "lwt_in"
        case .lwtOut: "lwt_out"
        case .lwtXmit: "lwt_xmit"
        case .sockOps: "sock_ops"
        case .skSkb: "sk_skb"
        case .cgroupDevice: "cgroup_device"
        case .skMsg: "sk_msg"
        case .rawTracepoint: "raw_tracepoint"
        case .cgroupSockAddr: "cgroup_sock_addr"
        case .lwtSeg6local: "lwt_seg6local"
        case .lircMode2: "lirc_mode2"
        case .skReuseport: "sk_reuseport"
        case .flowDissector: "flow_dissector"
        case .cgroupSysctl: "cgroup_sysctl"
        case .rawTracepointWritable: "raw_tracepoint_writable"
        case .cgroupSockopt: "cgroup_sockopt"
        case .tracing: "tracing"
        case .structOps: "struct_ops"
        case .ext: "ext"
        case .lsm: "lsm"
        case .skLookup: "sk_lookup"
        case .syscall: "syscall"
        case .netfilter: "netfilter"
        }
    }

    /// Looks a type up by its kernel name, with or without the `BPF_PROG_TYPE_` prefix, in any case.
    public init?(name: String) {
        var key = name.lowercased()
        if key.hasPrefix("bpf_prog_type_") { key.removeFirst("bpf_prog_type_".count) }
        guard let match = Self.allCases.first(where: { $0.name == key }) else { return nil }
        self = match
    }

    public var description: String { name }
}

/// Linux attach types (`enum bpf_attach_type`), with the kernel's numbers.
public enum AttachType: UInt32, Sendable, CaseIterable {
    case cgroupInetIngress = 0, cgroupInetEgress, cgroupInetSockCreate, cgroupSockOps
    case skSkbStreamParser, skSkbStreamVerdict, cgroupDevice, skMsgVerdict
    case cgroupInet4Bind, cgroupInet6Bind, cgroupInet4Connect, cgroupInet6Connect
    case cgroupInet4PostBind, cgroupInet6PostBind, cgroupUdp4Sendmsg, cgroupUdp6Sendmsg
    case lircMode2, flowDissector, cgroupSysctl, cgroupUdp4Recvmsg, cgroupUdp6Recvmsg
    case cgroupGetsockopt, cgroupSetsockopt, traceRawTp, traceFentry, traceFexit, modifyReturn
    case lsmMac, traceIter, cgroupInet4Getpeername, cgroupInet6Getpeername
    case cgroupInet4Getsockname, cgroupInet6Getsockname, xdpDevmap, cgroupInetSockRelease
    case xdpCpumap, skLookup, xdp, skSkbVerdict, skReuseportSelect, skReuseportSelectOrMigrate
    case perfEvent, traceKprobeMulti, lsmCgroup, structOps, netfilter, tcxIngress, tcxEgress
    case traceUprobeMulti, cgroupUnixConnect, cgroupUnixSendmsg, cgroupUnixRecvmsg
    case cgroupUnixGetpeername, cgroupUnixGetsockname, netkitPrimary, netkitPeer, traceKprobeSession
}

/// What a section name says about its programs (libbpf's section-name conventions).
public struct SectionDefinition: Sendable, Equatable {
    /// The matched libbpf pattern (`kprobe+`, `xdp`, ...), or `nil` when nothing matched.
    public var pattern: String?
    public var programType: ProgramType
    public var expectedAttachType: AttachType?
    /// The attach point after the prefix (`sys_execve` for `kprobe/sys_execve`), if any.
    public var attachTo: String?
    /// True if only a legacy (pre-libbpf-1.0) prefix match found the type.
    public var isLegacyMatch: Bool
    public var isSleepable: Bool

    /// Interprets `sectionName` with libbpf's table: exact names, `prefix+` patterns that
    /// accept `prefix` or `prefix/target`, then the legacy rule that any name starting with
    /// a known name gets its type (`socket1`, `xdp_prog`, `cgroup/sock1`).
    public init(sectionName: String) {
        pattern = nil
        programType = .unspecified
        expectedAttachType = nil
        attachTo = nil
        isLegacyMatch = false
        isSleepable = false
        for entry in sectionTable {
            if entry.takesTarget {
                if sectionName == entry.prefix || sectionName.hasPrefix(entry.prefix + "/") {
                    apply(entry)
                    let rest = sectionName.dropFirst(entry.prefix.count + 1)
                    attachTo = rest.isEmpty ? nil : String(rest)
                    return
                }
            } else if sectionName == entry.prefix {
                apply(entry)
                return
            }
        }
        // Legacy fallback: the longest known name that prefixes the section name.
        var best: SectionEntry?
        for entry in sectionTable where sectionName.hasPrefix(entry.prefix) {
            if best.map({ entry.prefix.count > $0.prefix.count }) ?? true { best = entry }
        }
        if let best {
            apply(best)
            isLegacyMatch = true
        }
    }

    private mutating func apply(_ entry: SectionEntry) {
        pattern = entry.takesTarget ? entry.prefix + "+" : entry.prefix
        programType = entry.type
        expectedAttachType = entry.attach
        isSleepable = entry.sleepable
    }
}

struct SectionEntry: Sendable {
    var prefix: String
    var takesTarget: Bool
    var type: ProgramType
    var attach: AttachType?
    var sleepable = false
}

private func exact(_ name: String, _ type: ProgramType, _ attach: AttachType? = nil, sleepable: Bool = false) -> SectionEntry {
    SectionEntry(prefix: name, takesTarget: false, type: type, attach: attach, sleepable: sleepable)
}

private func target(_ name: String, _ type: ProgramType, _ attach: AttachType? = nil, sleepable: Bool = false) -> SectionEntry {
    SectionEntry(prefix: name, takesTarget: true, type: type, attach: attach, sleepable: sleepable)
}

/// libbpf's section names, in its matching order.
let sectionTable: [SectionEntry] = [
    exact("socket", .socketFilter),
    exact("sk_reuseport/migrate", .skReuseport, .skReuseportSelectOrMigrate),
    exact("sk_reuseport", .skReuseport, .skReuseportSelect),
    target("kprobe", .kprobe),
    target("uprobe", .kprobe),
    target("uprobe.s", .kprobe, sleepable: true),
    target("kretprobe", .kprobe),
    target("uretprobe", .kprobe),
    target("uretprobe.s", .kprobe, sleepable: true),
    target("kprobe.multi", .kprobe, .traceKprobeMulti),
    target("kretprobe.multi", .kprobe, .traceKprobeMulti),
    target("kprobe.session", .kprobe, .traceKprobeSession),
    target("uprobe.multi", .kprobe, .traceUprobeMulti),
    target("uretprobe.multi", .kprobe, .traceUprobeMulti),
    target("uprobe.multi.s", .kprobe, .traceUprobeMulti, sleepable: true),
    target("uretprobe.multi.s", .kprobe, .traceUprobeMulti, sleepable: true),
    target("ksyscall", .kprobe),
    target("kretsyscall", .kprobe),
    target("usdt", .kprobe),
    target("usdt.s", .kprobe, sleepable: true),
    exact("tc/ingress", .schedCls, .tcxIngress),
    exact("tc/egress", .schedCls, .tcxEgress),
    exact("tcx/ingress", .schedCls, .tcxIngress),
    exact("tcx/egress", .schedCls, .tcxEgress),
    exact("tc", .schedCls),
    exact("classifier", .schedCls),
    exact("action", .schedAct),
    exact("netkit/primary", .schedCls, .netkitPrimary),
    exact("netkit/peer", .schedCls, .netkitPeer),
    target("tracepoint", .tracepoint),
    target("tp", .tracepoint),
    target("raw_tracepoint", .rawTracepoint),
    target("raw_tp", .rawTracepoint),
    target("raw_tracepoint.w", .rawTracepointWritable),
    target("raw_tp.w", .rawTracepointWritable),
    target("tp_btf", .tracing, .traceRawTp),
    target("fentry", .tracing, .traceFentry),
    target("fmod_ret", .tracing, .modifyReturn),
    target("fexit", .tracing, .traceFexit),
    target("fentry.s", .tracing, .traceFentry, sleepable: true),
    target("fmod_ret.s", .tracing, .modifyReturn, sleepable: true),
    target("fexit.s", .tracing, .traceFexit, sleepable: true),
    target("freplace", .ext),
    target("lsm", .lsm, .lsmMac),
    target("lsm.s", .lsm, .lsmMac, sleepable: true),
    target("lsm_cgroup", .lsm, .lsmCgroup),
    target("iter", .tracing, .traceIter),
    target("iter.s", .tracing, .traceIter, sleepable: true),
    exact("syscall", .syscall, sleepable: true),
    exact("xdp.frags/devmap", .xdp, .xdpDevmap),
    exact("xdp/devmap", .xdp, .xdpDevmap),
    exact("xdp.frags/cpumap", .xdp, .xdpCpumap),
    exact("xdp/cpumap", .xdp, .xdpCpumap),
    exact("xdp.frags", .xdp, .xdp),
    exact("xdp", .xdp, .xdp),
    exact("perf_event", .perfEvent),
    exact("lwt_in", .lwtIn),
    exact("lwt_out", .lwtOut),
    exact("lwt_xmit", .lwtXmit),
    exact("lwt_seg6local", .lwtSeg6local),
    exact("sockops", .sockOps, .cgroupSockOps),
    exact("sk_skb/stream_parser", .skSkb, .skSkbStreamParser),
    exact("sk_skb/stream_verdict", .skSkb, .skSkbStreamVerdict),
    exact("sk_skb/verdict", .skSkb, .skSkbVerdict),
    exact("sk_skb", .skSkb),
    exact("sk_msg", .skMsg, .skMsgVerdict),
    exact("lirc_mode2", .lircMode2, .lircMode2),
    exact("flow_dissector", .flowDissector, .flowDissector),
    exact("cgroup_skb/ingress", .cgroupSkb, .cgroupInetIngress),
    exact("cgroup_skb/egress", .cgroupSkb, .cgroupInetEgress),
    exact("cgroup/skb", .cgroupSkb),
    exact("cgroup/sock_create", .cgroupSock, .cgroupInetSockCreate),
    exact("cgroup/sock_release", .cgroupSock, .cgroupInetSockRelease),
    exact("cgroup/sock", .cgroupSock, .cgroupInetSockCreate),
    exact("cgroup/post_bind4", .cgroupSock, .cgroupInet4PostBind),
    exact("cgroup/post_bind6", .cgroupSock, .cgroupInet6PostBind),
    exact("cgroup/bind4", .cgroupSockAddr, .cgroupInet4Bind),
    exact("cgroup/bind6", .cgroupSockAddr, .cgroupInet6Bind),
    exact("cgroup/connect4", .cgroupSockAddr, .cgroupInet4Connect),
    exact("cgroup/connect6", .cgroupSockAddr, .cgroupInet6Connect),
    exact("cgroup/connect_unix", .cgroupSockAddr, .cgroupUnixConnect),
    exact("cgroup/sendmsg4", .cgroupSockAddr, .cgroupUdp4Sendmsg),
    exact("cgroup/sendmsg6", .cgroupSockAddr, .cgroupUdp6Sendmsg),
    exact("cgroup/sendmsg_unix", .cgroupSockAddr, .cgroupUnixSendmsg),
    exact("cgroup/recvmsg4", .cgroupSockAddr, .cgroupUdp4Recvmsg),
    exact("cgroup/recvmsg6", .cgroupSockAddr, .cgroupUdp6Recvmsg),
    exact("cgroup/recvmsg_unix", .cgroupSockAddr, .cgroupUnixRecvmsg),
    exact("cgroup/getpeername4", .cgroupSockAddr, .cgroupInet4Getpeername),
    exact("cgroup/getpeername6", .cgroupSockAddr, .cgroupInet6Getpeername),
    exact("cgroup/getpeername_unix", .cgroupSockAddr, .cgroupUnixGetpeername),
    exact("cgroup/getsockname4", .cgroupSockAddr, .cgroupInet4Getsockname),
    exact("cgroup/getsockname6", .cgroupSockAddr, .cgroupInet6Getsockname),
    exact("cgroup/getsockname_unix", .cgroupSockAddr, .cgroupUnixGetsockname),
    exact("cgroup/sysctl", .cgroupSysctl, .cgroupSysctl),
    exact("cgroup/getsockopt", .cgroupSockopt, .cgroupGetsockopt),
    exact("cgroup/setsockopt", .cgroupSockopt, .cgroupSetsockopt),
    exact("cgroup/dev", .cgroupDevice, .cgroupDevice),
    target("struct_ops", .structOps),
    target("struct_ops.s", .structOps, sleepable: true),
    exact("sk_lookup", .skLookup, .skLookup),
    exact("netfilter", .netfilter, .netfilter),
]
