import BPFObject

/// Whether a program may write a context field as well as read it.
public enum ContextAccess: Sendable, Hashable {
    case readOnly
    case readWrite
}

/// One field of a program type's context structure.
public struct ContextField: Sendable, Hashable {
    /// What a load from the field yields, as the verifier types it.
    public enum Kind: Sendable, Hashable {
        /// A plain number.
        case scalar
        /// `data`: start of packet data (direct packet access).
        case packetStart
        /// `data_end`: one past the packet's last byte.
        case packetEnd
        /// `data_meta`: start of the metadata area before `data`.
        case packetMeta
        /// `__sk_buff.sk`: a `struct bpf_sock *` (sock_common), or null.
        case socketPointer
        /// `__sk_buff.flow_keys`: the flow dissector's `struct bpf_flow_keys *`.
        case flowKeysPointer
    }

    /// The C member name (`mark`, `cb`, `data_end`).
    public var name: String
    /// Byte offset in the structure.
    public var offset: Int
    /// Size in bytes of the whole member (20 for `__u32 cb[5]`).
    public var size: Int
    /// Size of one element for arrays (4 for `cb`); equal to `size` otherwise.
    public var elementSize: Int
    public var kind: Kind
    /// Access for the program type the layout was looked up for.
    public var access: ContextAccess
    /// Every program type whose programs may write this field (empty if none may).
    public var writableBy: Set<ProgramType>

    public init(
        name: String, offset: Int, size: Int, elementSize: Int? = nil, kind: Kind = .scalar,
        access: ContextAccess = .readOnly, writableBy: Set<ProgramType> = []
    ) {
        self.name = name
        self.offset = offset
        self.size = size
        self.elementSize = elementSize ?? size
        self.kind = kind
        self.access = access
        self.writableBy = writableBy
    }

    /// The byte range the member occupies.
    public var range: Range<Int> { offset..<(offset + size) }
}

/// The context (`r1` at entry) a program type receives, as the verifier sees it: only the
/// fields that type may access appear, each with that type's access rights.
public struct ContextLayout: Sendable, Hashable {
    /// The C structure (`xdp_md`, `__sk_buff`, `pt_regs`).
    public var structName: String
    /// `sizeof` the structure; accesses at or beyond it are invalid.
    public var size: Int
    /// Accessible fields, ordered by offset.
    public var fields: [ContextField]

    public init(structName: String, size: Int, fields: [ContextField]) {
        self.structName = structName
        self.size = size
        self.fields = fields
    }

    /// The field named `name`, if accessible.
    public func field(named name: String) -> ContextField? {
        fields.first { $0.name == name }
    }

    /// The accessible field that contains byte `offset`, if any.
    public func field(containing offset: Int) -> ContextField? {
        fields.first { $0.range.contains(offset) }
    }

    /// The layout for `type`'s context, or `nil` where Linux passes no fixed structure
    /// (`struct_ops`, `ext`, `syscall`, `unspec` and the socket types not described here).
    public static func `for`(_ type: ProgramType) -> ContextLayout? {
        switch type {
        case .xdp: xdpMD
        case .socketFilter, .schedCls, .schedAct, .cgroupSkb, .lwtIn, .lwtOut, .lwtXmit, .lwtSeg6local,
             .skSkb, .flowDissector:
            skBuff(for: type)
        case .kprobe: ptRegs
        case .perfEvent: perfEventData
        case .tracepoint: tracepoint(size: tracepointMaximumSize)
        case .rawTracepoint, .rawTracepointWritable, .tracing: rawTracepointArguments
        default: nil
        }
    }

    // MARK: xdp_md

    /// `struct xdp_md`: all fields read-only.
    public static let xdpMD = ContextLayout(structName: "xdp_md", size: 24, fields: [
        ContextField(name: "data", offset: 0, size: 4, kind: .packetStart),
        ContextField(name: "data_end", offset: 4, size: 4, kind: .packetEnd),
        ContextField(name: "data_meta", offset: 8, size: 4, kind: .packetMeta),
        ContextField(name: "ingress_ifindex", offset: 12, size: 4),
        ContextField(name: "rx_queue_index", offset: 16, size: 4),
        ContextField(name: "egress_ifindex", offset: 20, size: 4),
    ])

    // MARK: __sk_buff

    /// Every member of UAPI `struct __sk_buff` (192 bytes), before per-type filtering.
    public static let skBuffFields: [ContextField] = [
        ContextField(name: "len", offset: 0, size: 4),
        ContextField(name: "pkt_type", offset: 4, size: 4),
        ContextField(name: "mark", offset: 8, size: 4),
        ContextField(name: "queue_mapping", offset: 12, size: 4),
        ContextField(name: "protocol", offset: 16, size: 4),
        ContextField(name: "vlan_present", offset: 20, size: 4),
        ContextField(name: "vlan_tci", offset: 24, size: 4),
        ContextField(name: "vlan_proto", offset: 28, size: 4),
        ContextField(name: "priority", offset: 32, size: 4),
        ContextField(name: "ingress_ifindex", offset: 36, size: 4),
        ContextField(name: "ifindex", offset: 40, size: 4),
        ContextField(name: "tc_index", offset: 44, size: 4),
        ContextField(name: "cb", offset: 48, size: 20, elementSize: 4),
        ContextField(name: "hash", offset: 68, size: 4),
        ContextField(name: "tc_classid", offset: 72, size: 4),
        ContextField(name: "data", offset: 76, size: 4, kind: .packetStart),
        ContextField(name: "data_end", offset: 80, size: 4, kind: .packetEnd),
        ContextField(name: "napi_id", offset: 84, size: 4),
        ContextField(name: "family", offset: 88, size: 4),
        ContextField(name: "remote_ip4", offset: 92, size: 4),
        ContextField(name: "local_ip4", offset: 96, size: 4),
        ContextField(name: "remote_ip6", offset: 100, size: 16, elementSize: 4),
        ContextField(name: "local_ip6", offset: 116, size: 16, elementSize: 4),
        ContextField(name: "remote_port", offset: 132, size: 4),
        ContextField(name: "local_port", offset: 136, size: 4),
        ContextField(name: "data_meta", offset: 140, size: 4, kind: .packetMeta),
        ContextField(name: "flow_keys", offset: 144, size: 8, kind: .flowKeysPointer),
        ContextField(name: "tstamp", offset: 152, size: 8),
        ContextField(name: "wire_len", offset: 160, size: 4),
        ContextField(name: "gso_segs", offset: 164, size: 4),
        ContextField(name: "sk", offset: 168, size: 8, kind: .socketPointer),
        ContextField(name: "gso_size", offset: 176, size: 4),
        ContextField(name: "tstamp_type", offset: 180, size: 1),
        ContextField(name: "hwtstamp", offset: 184, size: 8),
    ].map { field in
        var field = field
        field.writableBy = Set(SkBuffRules.types.filter { SkBuffRules.writable(for: $0).contains(field.name) })
        return field
    }

    /// `struct __sk_buff` as `type` sees it (the kernel's `*_is_valid_access` for that type).
    static func skBuff(for type: ProgramType) -> ContextLayout {
        let readable = SkBuffRules.readable(for: type)
        let writable = SkBuffRules.writable(for: type)
        let fields = skBuffFields.filter { readable.contains($0.name) }.map { field in
            var field = field
            field.access = writable.contains(field.name) ? .readWrite : .readOnly
            return field
        }
        return ContextLayout(structName: "__sk_buff", size: 192, fields: fields)
    }

    // MARK: Tracing

    /// x86-64 `struct pt_regs` (kprobe, uprobe): 21 read-only `unsigned long` registers.
    public static let ptRegs = ContextLayout(structName: "pt_regs", size: 168, fields: ptRegsFields)

    static let ptRegsFields: [ContextField] = [
        "r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx", "rsi", "rdi",
        "orig_rax", "rip", "cs", "eflags", "rsp", "ss",
    ].enumerated().map { ContextField(name: $0.element, offset: $0.offset * 8, size: 8) }

    /// `struct bpf_perf_event_data` (perf_event): the x86-64 registers, `sample_period`, `addr`; read-only.
    public static let perfEventData = ContextLayout(
        structName: "bpf_perf_event_data", size: 184,
        fields: ptRegsFields + [
            ContextField(name: "sample_period", offset: 168, size: 8),
            ContextField(name: "addr", offset: 176, size: 8),
        ])

    /// `PERF_MAX_TRACE_SIZE`: the kernel accepts tracepoint context reads below this offset
    /// (8192 in Linux 6.18: an 8-byte read at 8184 loads, one at 8192 is refused).
    public static let tracepointMaximumSize = 8192

    /// A tracepoint's record: opaque read-only bytes (the format comes from tracefs, not the ABI).
    public static func tracepoint(size: Int) -> ContextLayout {
        ContextLayout(structName: "tracepoint", size: size, fields: [
            ContextField(name: "data", offset: 0, size: size, elementSize: 1),
        ])
    }

    /// `struct bpf_raw_tracepoint_args { __u64 args[]; }` for up to `MAX_BPF_FUNC_ARGS` (12)
    /// arguments, read-only. Also used, permissively, for BTF `tracing` programs' argument arrays.
    public static let rawTracepointArguments = ContextLayout(structName: "bpf_raw_tracepoint_args", size: 96, fields: [
        ContextField(name: "args", offset: 0, size: 96, elementSize: 8),
    ])
}

/// Which `__sk_buff` members each program type may read and write (net/core/filter.c).
enum SkBuffRules {
    static let types: [ProgramType] = [
        .socketFilter, .schedCls, .schedAct, .cgroupSkb, .lwtIn, .lwtOut, .lwtXmit, .lwtSeg6local, .skSkb,
        .flowDissector,
    ]

    static let all: Set<String> = [
        "len", "pkt_type", "mark", "queue_mapping", "protocol", "vlan_present", "vlan_tci", "vlan_proto",
        "priority", "ingress_ifindex", "ifindex", "tc_index", "cb", "hash", "tc_classid", "data", "data_end",
        "napi_id", "family", "remote_ip4", "local_ip4", "remote_ip6", "local_ip6", "remote_port", "local_port",
        "data_meta", "flow_keys", "tstamp", "wire_len", "gso_segs", "sk", "gso_size", "tstamp_type", "hwtstamp",
    ]
    static let socketFields: Set<String> = [
        "family", "remote_ip4", "local_ip4", "remote_ip6", "local_ip6", "remote_port", "local_port",
    ]

    /// Members `type` may read. `flow_keys` belongs to the flow dissector and `tstamp_type` to tc alone.
    static func readable(for type: ProgramType) -> Set<String> {
        let common = all.subtracting(["flow_keys", "tstamp_type"])
        switch type {
        case .socketFilter:
            // No direct packet access.
            return common.subtracting(socketFields)
                .subtracting(["tc_classid", "data", "data_end", "data_meta", "tstamp", "wire_len", "hwtstamp"])
        case .schedCls, .schedAct:
            return common.subtracting(socketFields).union(["tstamp_type"])
        case .cgroupSkb:
            return common.subtracting(["tc_classid", "data_meta", "wire_len"])
        case .lwtIn, .lwtOut, .lwtXmit, .lwtSeg6local:
            return common.subtracting(socketFields)
                .subtracting(["tc_classid", "data_meta", "tstamp", "wire_len", "hwtstamp"])
        case .skSkb:
            return common.subtracting(["mark", "tc_classid", "data_meta", "tstamp", "wire_len", "hwtstamp"])
        case .flowDissector:
            return ["data", "data_end", "flow_keys"]
        default:
            return []
        }
    }

    /// Members `type` may write.
    static func writable(for type: ProgramType) -> Set<String> {
        switch type {
        case .socketFilter: ["cb"]
        case .schedCls, .schedAct:
            ["mark", "tc_index", "priority", "cb", "tc_classid", "tstamp", "queue_mapping", "tstamp_type"]
        case .cgroupSkb: ["mark", "priority", "cb", "tstamp"]
        case .lwtIn, .lwtOut, .lwtXmit, .lwtSeg6local: ["mark", "priority", "cb"]
        case .skSkb: ["tc_index", "priority"]
        default: []
        }
    }
}
