import BPFObject

extension HelperTable {
    /// True if a program of `type` may call helper `id`, following the broad structure of the
    /// kernel's per-type `get_func_proto` (Linux 6.18): a base set for every type plus the
    /// tracing, socket-buffer, traffic-control, XDP, socket and cgroup families.
    ///
    /// Where the kernel's rules depend on more than the program type (attach type, privileges,
    /// sleepability, the BTF of the attach target), this table is permissive: `ext` (freplace)
    /// may call every helper, `struct_ops` and `lsm` get the tracing set, and privileged-only
    /// base helpers (spin locks, timers, `trace_printk`, the `probe_read_*` family) are allowed.
    public static func isAvailable(_ id: Int32, to type: ProgramType) -> Bool {
        guard let helper = prototype(id: id) else { return false }
        return availableNames(to: type).contains(helper.name)
    }

    /// Every helper a program of `type` may call, ordered by ID.
    public static func helpers(availableTo type: ProgramType) -> [HelperPrototype] {
        let names = availableNames(to: type)
        return all.filter { names.contains($0.name) }
    }

    static func availableNames(to type: ProgramType) -> Set<String> {
        if let cached = availability[type] { return cached }
        return []
    }

    private static let availability: [ProgramType: Set<String>] = {
        var table: [ProgramType: Set<String>] = [:]
        for type in ProgramType.allCases { table[type] = HelperSets.names(for: type) }
        return table
    }()
}

/// The helper families the kernel's `*_func_proto` functions hand out, by name.
enum HelperSets {
    /// `bpf_base_func_proto`, including the parts behind `bpf_capable()`/`perfmon_capable()`.
    static let base: Set<String> = [
        "map_lookup_elem", "map_update_elem", "map_delete_elem", "map_push_elem", "map_pop_elem",
        "map_peek_elem", "map_lookup_percpu_elem", "get_prandom_u32", "get_smp_processor_id",
        "get_numa_node_id", "tail_call", "ktime_get_ns", "ktime_get_boot_ns", "ktime_get_coarse_ns",
        "ktime_get_tai_ns", "ringbuf_output", "ringbuf_reserve", "ringbuf_submit", "ringbuf_discard",
        "ringbuf_query", "ringbuf_reserve_dynptr", "ringbuf_submit_dynptr", "ringbuf_discard_dynptr",
        "user_ringbuf_drain", "for_each_map_elem", "loop", "strncmp", "strtol", "strtoul",
        "spin_lock", "spin_unlock", "jiffies64", "per_cpu_ptr", "this_cpu_ptr", "timer_init",
        "timer_set_callback", "timer_start", "timer_cancel", "trace_printk", "trace_vprintk", "snprintf",
        "snprintf_btf", "kptr_xchg", "dynptr_from_mem", "dynptr_read", "dynptr_write", "dynptr_data",
        "get_current_task", "get_current_task_btf", "task_pt_regs", "probe_read_user", "probe_read_user_str",
        "probe_read_kernel", "probe_read_kernel_str", "cgrp_storage_get", "cgrp_storage_delete",
    ]

    /// `bpf_tracing_func_proto` and the kprobe/tracepoint/perf-event/tracing additions.
    static let tracing: Set<String> = [
        "probe_read", "probe_read_str", "probe_write_user", "get_current_pid_tgid", "get_current_uid_gid",
        "get_current_comm", "get_current_cgroup_id", "get_current_ancestor_cgroup_id", "perf_event_read",
        "perf_event_read_value", "current_task_under_cgroup", "send_signal", "send_signal_thread",
        "get_ns_current_pid_tgid", "get_task_stack", "copy_from_user", "copy_from_user_task",
        "task_storage_get", "task_storage_delete", "get_func_ip", "get_attach_cookie", "get_branch_snapshot",
        "find_vma", "get_stackid", "get_stack", "perf_event_output", "override_return", "read_branch_records",
        "perf_prog_read_value", "get_func_arg", "get_func_ret", "get_func_arg_cnt", "d_path", "seq_printf",
        "seq_write", "seq_printf_btf", "skb_output", "xdp_output", "sk_storage_get", "sk_storage_delete",
        "sock_from_file", "skc_to_tcp6_sock", "skc_to_tcp_sock", "skc_to_tcp_timewait_sock",
        "skc_to_tcp_request_sock", "skc_to_udp6_sock", "skc_to_unix_sock", "skc_to_mptcp_sock",
        "get_cgroup_classid",
    ]

    /// What `lsm` adds to the tracing set.
    static let lsm: Set<String> = [
        "inode_storage_get", "inode_storage_delete", "bprm_opts_set", "ima_inode_hash", "ima_file_hash",
        "get_retval", "set_retval",
    ]

    /// `syscall` programs.
    static let syscall: Set<String> = ["sys_bpf", "btf_find_by_name_kind", "sys_close", "kallsyms_lookup_name"]

    /// `bpf_sk_base_func_proto`: socket casts available to networking programs.
    static let socketBase: Set<String> = [
        "skc_to_tcp6_sock", "skc_to_tcp_sock", "skc_to_tcp_timewait_sock", "skc_to_tcp_request_sock",
        "skc_to_udp6_sock", "skc_to_unix_sock", "skc_to_mptcp_sock", "ktime_get_coarse_ns",
    ]

    /// `sk_filter_func_proto` (socket_filter): read-only packet access through helpers.
    static let socketFilter: Set<String> = [
        "skb_load_bytes", "skb_load_bytes_relative", "get_socket_cookie", "get_socket_uid", "perf_event_output",
    ]

    /// Socket lookups shared by tc, XDP, cgroup_skb and sock_addr programs.
    static let socketLookup: Set<String> = [
        "sk_lookup_tcp", "sk_lookup_udp", "sk_release", "skc_lookup_tcp",
    ]

    /// `tc_cls_act_func_proto` (sched_cls, sched_act).
    static let trafficControl: Set<String> = socketFilter.union(socketLookup).union([
        "skb_store_bytes", "skb_pull_data", "csum_diff", "csum_update", "csum_level", "set_hash_invalid",
        "l3_csum_replace", "l4_csum_replace", "clone_redirect", "get_cgroup_classid", "skb_vlan_push",
        "skb_vlan_pop", "skb_change_proto", "skb_change_type", "skb_adjust_room", "skb_change_tail",
        "skb_change_head", "skb_get_tunnel_key", "skb_set_tunnel_key", "skb_get_tunnel_opt",
        "skb_set_tunnel_opt", "redirect", "redirect_neigh", "redirect_peer", "get_route_realm",
        "get_hash_recalc", "set_hash", "skb_under_cgroup", "fib_lookup", "check_mtu", "sk_fullsock",
        "sk_storage_get", "sk_storage_delete", "skb_get_xfrm_state", "skb_cgroup_classid", "skb_cgroup_id",
        "skb_ancestor_cgroup_id", "tcp_sock", "get_listener_sock", "tcp_check_syncookie", "skb_ecn_set_ce",
        "tcp_gen_syncookie", "sk_assign", "skb_set_tstamp", "tcp_raw_gen_syncookie_ipv4",
        "tcp_raw_gen_syncookie_ipv6", "tcp_raw_check_syncookie_ipv4", "tcp_raw_check_syncookie_ipv6",
    ])

    /// `xdp_func_proto`.
    static let xdp: Set<String> = socketLookup.union([
        "perf_event_output", "csum_diff", "xdp_adjust_head", "xdp_adjust_meta", "xdp_adjust_tail", "redirect",
        "redirect_map", "fib_lookup", "check_mtu", "tcp_check_syncookie", "tcp_gen_syncookie",
        "xdp_get_buff_len", "xdp_load_bytes", "xdp_store_bytes", "tcp_raw_gen_syncookie_ipv4",
        "tcp_raw_gen_syncookie_ipv6", "tcp_raw_check_syncookie_ipv4", "tcp_raw_check_syncookie_ipv6",
    ])

    /// `cgroup_common_func_proto` and `cgroup_current_func_proto`.
    static let cgroupCommon: Set<String> = [
        "get_local_storage", "get_retval", "set_retval", "get_current_uid_gid", "get_current_pid_tgid",
        "get_current_comm", "get_current_cgroup_id", "get_current_ancestor_cgroup_id", "get_cgroup_classid",
        "perf_event_output",
    ]

    /// `cg_skb_func_proto`.
    static let cgroupSkb: Set<String> = socketFilter.union(socketLookup).union(cgroupCommon).union([
        "sk_fullsock", "sk_storage_get", "sk_storage_delete", "skb_cgroup_id", "skb_ancestor_cgroup_id",
        "sk_cgroup_id", "sk_ancestor_cgroup_id", "tcp_sock", "get_listener_sock", "skb_ecn_set_ce",
    ])

    /// `lwt_out_func_proto`, and what `lwt_in`, `lwt_xmit` and `lwt_seg6local` add.
    static let lwtOut: Set<String> = [
        "skb_load_bytes", "skb_pull_data", "csum_diff", "get_cgroup_classid", "get_route_realm",
        "get_hash_recalc", "perf_event_output", "skb_under_cgroup",
    ]
    static let lwtIn: Set<String> = lwtOut.union(["lwt_push_encap"])
    static let lwtXmit: Set<String> = lwtOut.union([
        "skb_get_tunnel_key", "skb_set_tunnel_key", "skb_get_tunnel_opt", "skb_set_tunnel_opt", "redirect",
        "clone_redirect", "skb_change_tail", "skb_change_head", "skb_store_bytes", "csum_update", "csum_level",
        "l3_csum_replace", "l4_csum_replace", "set_hash_invalid", "lwt_push_encap",
    ])
    static let lwtSeg6local: Set<String> = lwtOut.union(["lwt_seg6_store_bytes", "lwt_seg6_action", "lwt_seg6_adjust_srh"])

    /// `sk_skb_func_proto`.
    static let skSkb: Set<String> = socketLookup.union([
        "skb_store_bytes", "skb_load_bytes", "skb_pull_data", "skb_change_tail", "skb_change_head",
        "skb_adjust_room", "get_socket_cookie", "get_socket_uid", "sk_redirect_map", "sk_redirect_hash",
        "perf_event_output",
    ])

    /// `sock_ops_func_proto`.
    static let sockOps: Set<String> = [
        "setsockopt", "getsockopt", "sock_ops_cb_flags_set", "sock_map_update", "sock_hash_update",
        "get_socket_cookie", "get_local_storage", "perf_event_output", "sk_storage_get", "sk_storage_delete",
        "get_netns_cookie", "tcp_sock", "load_hdr_opt", "store_hdr_opt", "reserve_hdr_opt",
    ]

    /// `sk_msg_func_proto`.
    static let skMsg: Set<String> = [
        "msg_redirect_map", "msg_redirect_hash", "msg_apply_bytes", "msg_cork_bytes", "msg_pull_data",
        "msg_push_data", "msg_pop_data", "perf_event_output", "get_current_uid_gid", "get_current_pid_tgid",
        "get_current_cgroup_id", "get_current_ancestor_cgroup_id", "sk_storage_get", "sk_storage_delete",
        "get_netns_cookie", "get_cgroup_classid",
    ]

    /// `sock_filter_func_proto` (cgroup_sock).
    static let cgroupSock: Set<String> = cgroupCommon.union([
        "get_socket_cookie", "get_netns_cookie", "sk_storage_get", "ktime_get_coarse_ns",
    ])

    /// `sock_addr_func_proto` (cgroup_sock_addr).
    static let cgroupSockAddr: Set<String> = cgroupCommon.union(socketLookup).union([
        "bind", "get_socket_cookie", "get_netns_cookie", "sk_storage_get", "sk_storage_delete", "setsockopt",
        "getsockopt",
    ])

    /// `cg_sockopt_func_proto`.
    static let cgroupSockopt: Set<String> = cgroupCommon.union([
        "get_netns_cookie", "sk_storage_get", "sk_storage_delete", "setsockopt", "getsockopt", "tcp_sock",
    ])

    /// `sysctl_func_proto`.
    static let cgroupSysctl: Set<String> = cgroupCommon.union([
        "sysctl_get_name", "sysctl_get_current_value", "sysctl_get_new_value", "sysctl_set_new_value",
    ])

    static func names(for type: ProgramType) -> Set<String> {
        switch type {
        case .unspecified: []
        case .kprobe, .tracepoint, .rawTracepoint, .rawTracepointWritable, .perfEvent, .tracing, .structOps:
            base.union(tracing)
        case .lsm: base.union(tracing).union(lsm)
        case .ext: Set(HelperTable.all.map(\.name))
        case .syscall: base.union(tracing).union(syscall)
        case .socketFilter: base.union(socketBase).union(socketFilter)
        case .schedCls, .schedAct: base.union(socketBase).union(trafficControl)
        case .xdp: base.union(socketBase).union(xdp)
        case .cgroupSkb: base.union(socketBase).union(cgroupSkb)
        case .lwtIn: base.union(socketBase).union(lwtIn)
        case .lwtOut: base.union(socketBase).union(lwtOut)
        case .lwtXmit: base.union(socketBase).union(lwtXmit)
        case .lwtSeg6local: base.union(socketBase).union(lwtSeg6local)
        case .skSkb: base.union(socketBase).union(skSkb)
        case .sockOps: base.union(socketBase).union(sockOps)
        case .skMsg: base.union(socketBase).union(skMsg)
        case .cgroupSock: base.union(socketBase).union(cgroupSock)
        case .cgroupSockAddr: base.union(socketBase).union(cgroupSockAddr)
        case .cgroupSockopt: base.union(socketBase).union(cgroupSockopt)
        case .cgroupSysctl: base.union(cgroupSysctl)
        case .cgroupDevice: base.union(cgroupCommon)
        case .flowDissector: base.union(socketBase).union(["skb_load_bytes"])
        case .skReuseport:
            base.union(socketBase).union([
                "sk_select_reuseport", "skb_load_bytes", "skb_load_bytes_relative", "get_socket_cookie",
            ])
        case .skLookup: base.union(socketBase).union(["sk_assign", "sk_release"])
        case .lircMode2: base.union(["rc_repeat", "rc_keydown", "rc_pointer_rel"])
        case .netfilter: base
        }
    }
}
