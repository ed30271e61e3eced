import BPFObject

/// The verifier's own helper prototypes and context layouts (x86-64, Linux 6.18),
/// used until BPFABI's tables are merged.
public struct BuiltinABI: HelperCatalog, ContextCatalog {
    public init() {}

    static let prototypes: [Int32: HelperPrototype] = {
        typealias P = HelperPrototype
        let mem = HelperArgument.readableMemory(nullable: false)
        let size = HelperArgument.size(zeroAllowed: false)
        let size0 = HelperArgument.size(zeroAllowed: true)
        let list: [HelperPrototype] = [
            P(1, "bpf_map_lookup_elem", [.mapPointer, .mapKey], .mapValueOrNull),
            P(2, "bpf_map_update_elem", [.mapPointer, .mapKey, .mapValue, .scalar]),
            P(3, "bpf_map_delete_elem", [.mapPointer, .mapKey]),
            P(4, "bpf_probe_read", [.writableMemory, size0, .anything]),
            P(5, "bpf_ktime_get_ns", []),
            P(6, "bpf_trace_printk", [mem, size]),
            P(7, "bpf_get_prandom_u32", []),
            P(8, "bpf_get_smp_processor_id", []),
            P(9, "bpf_skb_store_bytes", [.context, .scalar, mem, size, .scalar]),
            P(10, "bpf_l3_csum_replace", [.context, .scalar, .scalar, .scalar, .scalar]),
            P(11, "bpf_l4_csum_replace", [.context, .scalar, .scalar, .scalar, .scalar]),
            P(12, "bpf_tail_call", [.context, .mapPointer, .scalar], .void, mapTypes: [.programArray]),
            P(13, "bpf_clone_redirect", [.context, .scalar, .scalar]),
            P(14, "bpf_get_current_pid_tgid", []),
            P(15, "bpf_get_current_uid_gid", []),
            P(16, "bpf_get_current_comm", [.writableMemory, size]),
            P(17, "bpf_get_cgroup_classid", [.context]),
            P(18, "bpf_skb_vlan_push", [.context, .scalar, .scalar]),
            P(19, "bpf_skb_vlan_pop", [.context]),
            P(20, "bpf_skb_get_tunnel_key", [.context, .writableMemory, size, .scalar]),
            P(21, "bpf_skb_set_tunnel_key", [.context, mem, size, .scalar]),
            P(22, "bpf_perf_event_read", [.mapPointer, .scalar], mapTypes: [.perfEventArray]),
            P(23, "bpf_redirect", [.scalar, .scalar]),
            P(24, "bpf_get_route_realm", [.context]),
            P(25, "bpf_perf_event_output", [.context, .mapPointer, .scalar, mem, size0], mapTypes: [.perfEventArray]),
            P(26, "bpf_skb_load_bytes", [.context, .scalar, .writableMemory, size]),
            P(27, "bpf_get_stackid", [.context, .mapPointer, .scalar], mapTypes: [.stackTrace]),
            P(28, "bpf_csum_diff", [.readableMemory(nullable: true), size0, .readableMemory(nullable: true), size0, .scalar]),
            P(29, "bpf_skb_get_tunnel_opt", [.context, .writableMemory, size]),
            P(30, "bpf_skb_set_tunnel_opt", [.context, mem, size]),
            P(31, "bpf_skb_change_proto", [.context, .scalar, .scalar]),
            P(32, "bpf_skb_change_type", [.context, .scalar]),
            P(33, "bpf_skb_under_cgroup", [.context, .mapPointer, .scalar]),
            P(34, "bpf_get_hash_recalc", [.context]),
            P(35, "bpf_get_current_task", []),
            P(36, "bpf_probe_write_user", [.anything, mem, size]),
            P(37, "bpf_current_task_under_cgroup", [.mapPointer, .scalar]),
            P(38, "bpf_skb_change_tail", [.context, .scalar, .scalar]),
            P(39, "bpf_skb_pull_data", [.context, .scalar]),
            P(40, "bpf_csum_update", [.context, .scalar]),
            P(41, "bpf_set_hash_invalid", [.context]),
            P(42, "bpf_get_numa_node_id", []),
            P(43, "bpf_skb_change_head", [.context, .scalar, .scalar]),
            P(44, "bpf_xdp_adjust_head", [.context, .scalar]),
            P(45, "bpf_probe_read_str", [.writableMemory, size0, .anything]),
            P(46, "bpf_get_socket_cookie", [.context]),
            P(47, "bpf_get_socket_uid", [.context]),
            P(48, "bpf_set_hash", [.context, .scalar]),
            P(49, "bpf_setsockopt", [.context, .scalar, .scalar, mem, size]),
            P(50, "bpf_skb_adjust_room", [.context, .scalar, .scalar, .scalar]),
            P(51, "bpf_redirect_map", [.mapPointer, .scalar, .scalar], mapTypes: [.devMap]),
            P(52, "bpf_sk_redirect_map", [.context, .mapPointer, .scalar, .scalar], mapTypes: [.sockMap]),
            P(53, "bpf_sock_map_update", [.context, .mapPointer, .mapKey, .scalar], mapTypes: [.sockMap]),
            P(54, "bpf_xdp_adjust_meta", [.context, .scalar]),
            P(55, "bpf_perf_event_read_value", [.mapPointer, .scalar, .writableMemory, size], mapTypes: [.perfEventArray]),
            P(56, "bpf_perf_prog_read_value", [.context, .writableMemory, size]),
            P(57, "bpf_getsockopt", [.context, .scalar, .scalar, .writableMemory, size]),
            P(58, "bpf_override_return", [.context, .scalar]),
            P(59, "bpf_sock_ops_cb_flags_set", [.context, .scalar]),
            P(65, "bpf_xdp_adjust_tail", [.context, .scalar]),
            P(67, "bpf_get_stack", [.context, .writableMemory, size0, .scalar]),
            P(68, "bpf_skb_load_bytes_relative", [.context, .scalar, .writableMemory, size, .scalar]),
            P(69, "bpf_fib_lookup", [.context, .writableMemory, size, .scalar]),
            P(80, "bpf_get_current_cgroup_id", []),
            P(87, "bpf_map_push_elem", [.mapPointer, .mapValue, .scalar], mapTypes: [.queueOrStack]),
            P(88, "bpf_map_pop_elem", [.mapPointer, .uninitializedMapValue], mapTypes: [.queueOrStack]),
            P(89, "bpf_map_peek_elem", [.mapPointer, .uninitializedMapValue], mapTypes: [.queueOrStack]),
            P(112, "bpf_probe_read_user", [.writableMemory, size0, .anything]),
            P(113, "bpf_probe_read_kernel", [.writableMemory, size0, .anything]),
            P(114, "bpf_probe_read_user_str", [.writableMemory, size0, .anything]),
            P(115, "bpf_probe_read_kernel_str", [.writableMemory, size0, .anything]),
            P(125, "bpf_ktime_get_boot_ns", []),
            P(130, "bpf_ringbuf_output", [.mapPointer, mem, size0, .scalar], mapTypes: [.ringBuffer]),
            P(131, "bpf_ringbuf_reserve", [.mapPointer, .allocationSize, .scalar], .ringBufferMemoryOrNull, mapTypes: [.ringBuffer]),
            P(132, "bpf_ringbuf_submit", [.releasedRingBufferMemory, .scalar], .void),
            P(133, "bpf_ringbuf_discard", [.releasedRingBufferMemory, .scalar], .void),
            P(134, "bpf_ringbuf_query", [.mapPointer, .scalar], mapTypes: [.ringBuffer]),
            P(160, "bpf_ktime_get_coarse_ns", []),
            P(181, "bpf_loop", [.scalar, .callback, .stackOrNull, .scalar]),
            P(190, "bpf_ktime_get_tai_ns", []),
        ]
        return Dictionary(uniqueKeysWithValues: list.map { ($0.id, $0) })
    }()

    public func prototype(of id: Int32) -> HelperPrototype? { Self.prototypes[id] }

    static let base: Set<Int32> = [1, 2, 3, 5, 6, 7, 8, 12, 42, 87, 88, 89, 113, 115, 125, 130, 131, 132, 133, 134, 160, 181, 190]
    static let tracing: Set<Int32> = base.union([4, 14, 15, 16, 22, 25, 27, 35, 37, 45, 55, 67, 80, 112, 114])
    static let socketFilter: Set<Int32> = base.union([25, 26, 46, 47, 68])
    static let tc: Set<Int32> = base.union([9, 10, 11, 13, 17, 18, 19, 20, 21, 23, 24, 25, 26, 28, 29, 30, 31, 32, 33, 34,
                                            38, 39, 40, 41, 43, 46, 47, 48, 50, 51, 68, 69, 80])
    static let xdp: Set<Int32> = base.union([23, 25, 28, 44, 51, 54, 65, 69])
    static let sockOps: Set<Int32> = base.union([46, 49, 57, 59, 25])
    static let cgroupSkb: Set<Int32> = base.union([26, 46, 47, 68, 25, 80])

    public func isAvailable(_ id: Int32, to type: ProgramType) -> Bool {
        switch type {
        case .kprobe, .tracepoint, .perfEvent, .rawTracepoint, .rawTracepointWritable, .tracing, .lsm, .syscall:
            // bpf_probe_write_user (36) is refused under lockdown and bpf_override_return (58)
            // needs CONFIG_BPF_KPROBE_OVERRIDE: the reference kernel offers neither.
            if type == .perfEvent && id == 56 { return true }
            return Self.tracing.contains(id)
        case .socketFilter: return Self.socketFilter.contains(id)
        case .schedCls, .schedAct, .lwtIn, .lwtOut, .lwtXmit, .lwtSeg6local:
            return Self.tc.contains(id)
        case .xdp: return Self.xdp.contains(id)
        case .sockOps: return Self.sockOps.contains(id)
        case .cgroupSkb: return Self.cgroupSkb.contains(id)
        default: return Self.base.contains(id) || Self.prototypes[id] != nil
        }
    }

    // MARK: Context layouts

    /// __sk_buff field offsets of `data`, `data_end`, `data_meta`.
    static let skbData = 76, skbDataEnd = 80, skbDataMeta = 140

    public func access(_ type: ProgramType, offset: Int, size: Int, isWrite: Bool) -> ContextField? {
        guard offset >= 0, size > 0, offset % size == 0 else { return nil }
        switch type {
        case .socketFilter, .schedCls, .schedAct, .cgroupSkb, .lwtIn, .lwtOut, .lwtXmit, .lwtSeg6local, .skSkb:
            return skbAccess(type, offset: offset, size: size, isWrite: isWrite)
        case .xdp:
            guard !isWrite, size == 4, offset + size <= 24 else { return nil }
            switch offset { case 0: return .packetStart; case 4: return .packetEnd; case 8: return .packetMeta; default: return .scalar }
        case .kprobe:
            guard !isWrite, offset + size <= 168 else { return nil }
            return .scalar
        case .tracepoint, .rawTracepointWritable:
            guard !isWrite, offset + size <= 8192 else { return nil }
            return .scalar
        case .rawTracepoint, .tracing, .lsm:
            guard !isWrite, offset + size <= 96 else { return nil }
            return .scalar
        case .perfEvent:
            guard !isWrite, offset + size <= 184 else { return nil }
            if offset >= 168 && size != 8 && size != 4 { return nil }
            return .scalar
        case .sockOps:
            return sockOpsAccess(offset: offset, size: size, isWrite: isWrite)
        case .cgroupSock:
            guard offset + size <= 80 else { return nil }
            if isWrite { return (size == 4 && [0, 16, 20].contains(offset)) ? .scalar : nil }
            return .scalar
        default:
            guard !isWrite, offset + size <= 8192 else { return nil }
            return .scalar
        }
    }

    func skbAccess(_ type: ProgramType, offset: Int, size: Int, isWrite: Bool) -> ContextField? {
        guard offset + size <= 192 else { return nil }
        let cb = 48..<68
        let familyToLocalPort = 88..<140
        let fieldStart = offset & ~3
        // Fields a program type may not touch at all.
        switch type {
        case .socketFilter:
            if [72, 76, 80, 140].contains(fieldStart) || familyToLocalPort.contains(offset) || (152..<160).contains(offset)
                || fieldStart == 160 || (184..<192).contains(offset) { return nil }
            if isWrite && !cb.contains(offset) { return nil }
        case .schedCls, .schedAct:
            if familyToLocalPort.contains(offset) { return nil }
            if isWrite {
                let writable = [8, 44, 32, 72, 12]
                guard cb.contains(offset) || writable.contains(fieldStart) || (152..<160).contains(offset) else { return nil }
            }
        case .cgroupSkb:
            if [72, 140].contains(fieldStart) || fieldStart == 160 { return nil }
            if isWrite && !(cb.contains(offset) || [8, 32].contains(fieldStart) || (152..<160).contains(offset)) { return nil }
        default:
            if [72, 140].contains(fieldStart) || familyToLocalPort.contains(offset) { return nil }
            if isWrite && !cb.contains(offset) { return nil }
        }
        switch offset {
        case 144..<152: return nil // flow_keys
        case 152..<160, 184..<192: return size == 8 ? .scalar : nil
        case 168..<176: return nil // sk: a socket pointer, not modelled
        case 180..<184: return nil
        case Self.skbData: return size == 4 ? .packetStart : nil
        case Self.skbDataEnd: return size == 4 ? .packetEnd : nil
        case Self.skbDataMeta: return size == 4 ? .packetMeta : nil
        case 92..<132: return size == 4 ? .scalar : nil
        default:
            if cb.contains(offset) { return offset + size <= 68 ? .scalar : nil }
            if isWrite { return size == 4 ? .scalar : nil }
            return size <= 4 ? .scalar : nil
        }
    }

    func sockOpsAccess(offset: Int, size: Int, isWrite: Bool) -> ContextField? {
        guard offset + size <= 224 else { return nil }
        if isWrite { return (size == 4 && (offset == 4 || offset == 164)) ? .scalar : nil }
        switch offset {
        case 168, 176, 216: return size == 8 ? .scalar : nil
        case 184: return nil // sk: socket pointer, not modelled
        case 192: return size == 8 ? .packetStart : nil
        case 200: return size == 8 ? .packetEnd : nil
        default: return size == 4 ? .scalar : nil
        }
    }

    public func returnRange(_ type: ProgramType) -> ClosedRange<Int64>? {
        switch type {
        case .cgroupSkb, .cgroupSock, .sockOps, .cgroupDevice, .cgroupSysctl, .cgroupSockopt, .netfilter: 0...1
        case .cgroupSockAddr: 0...1
        case .skLookup: 0...1
        default: nil
        }
    }
}
