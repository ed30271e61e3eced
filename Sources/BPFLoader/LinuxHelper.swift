// Linux's helper names by ID (`__BPF_FUNC_MAPPER` in include/uapi/linux/bpf.h).
//
// TEMPORARY: the `abi` branch's `HelperTable` is the single source of truth for
// helper IDs, names and prototypes; when it lands this table is deleted and
// `LinuxHelper.name(of:)` asks `HelperTable` instead. Kept in this one place so
// the switch is a one-file change.

/// Helper IDs BPFKit implements, with Linux's numbers.
enum LinuxHelper {
    static let mapLookupElem: Int32 = 1
    static let mapUpdateElem: Int32 = 2
    static let mapDeleteElem: Int32 = 3
    static let probeRead: Int32 = 4
    static let ktimeGetNs: Int32 = 5
    static let tracePrintk: Int32 = 6
    static let getPrandomU32: Int32 = 7
    static let getSmpProcessorID: Int32 = 8
    static let skbStoreBytes: Int32 = 9
    static let l3CsumReplace: Int32 = 10
    static let l4CsumReplace: Int32 = 11
    static let tailCall: Int32 = 12
    static let getCurrentPidTgid: Int32 = 14
    static let getCurrentUidGid: Int32 = 15
    static let getCurrentComm: Int32 = 16
    static let redirect: Int32 = 23
    static let perfEventOutput: Int32 = 25
    static let skbLoadBytes: Int32 = 26
    static let csumDiff: Int32 = 28
    static let getNumaNodeID: Int32 = 42
    static let xdpAdjustHead: Int32 = 44
    static let probeReadStr: Int32 = 45
    static let redirectMap: Int32 = 51
    static let xdpAdjustMeta: Int32 = 54
    static let xdpAdjustTail: Int32 = 65
    static let skbLoadBytesRelative: Int32 = 68
    static let mapPushElem: Int32 = 87
    static let mapPopElem: Int32 = 88
    static let mapPeekElem: Int32 = 89
    static let spinLock: Int32 = 93
    static let spinUnlock: Int32 = 94
    static let probeReadUser: Int32 = 112
    static let probeReadKernel: Int32 = 113
    static let probeReadUserStr: Int32 = 114
    static let probeReadKernelStr: Int32 = 115
    static let jiffies64: Int32 = 118
    static let ktimeGetBootNs: Int32 = 125
    static let ringbufOutput: Int32 = 130
    static let ringbufReserve: Int32 = 131
    static let ringbufSubmit: Int32 = 132
    static let ringbufDiscard: Int32 = 133
    static let ringbufQuery: Int32 = 134
    static let ktimeGetCoarseNs: Int32 = 160
    static let snprintf: Int32 = 165
    static let getFuncIP: Int32 = 173
    static let getAttachCookie: Int32 = 174
    static let loop: Int32 = 181
    static let strncmp: Int32 = 182

    /// `bpf_<name>` for a Linux helper ID, or `helper #<id>` outside Linux's table.
    static func name(of id: Int32) -> String {
        guard id > 0, Int(id) < names.count else { return "helper #\(id)" }
        return "bpf_" + names[Int(id)]
    }

    static let names: [String] = [
        "unspec",
        "map_lookup_elem",
        "map_update_elem",
        "map_delete_elem",
        "probe_read",
        "ktime_get_ns",
        "trace_printk",
        "get_prandom_u32",
        "get_smp_processor_id",
        "skb_store_bytes",
        "l3_csum_replace",
        "l4_csum_replace",
        "tail_call",
        "clone_redirect",
        "get_current_pid_tgid",
        "get_current_uid_gid",
        "get_current_comm",
        "get_cgroup_classid",
        "skb_vlan_push",
        "skb_vlan_pop",
        "skb_get_tunnel_key",
        "skb_set_tunnel_key",
        "perf_event_read",
        "redirect",
        "get_route_realm",
        "perf_event_output",
        "skb_load_bytes",
        "get_stackid",
        "csum_diff",
        "skb_get_tunnel_opt",
        "skb_set_tunnel_opt",
        "skb_change_proto",
        "skb_change_type",
        "skb_under_cgroup",
        "get_hash_recalc",
        "get_current_task",
        "probe_write_user",
        "current_task_under_cgroup",
        "skb_change_tail",
        "skb_pull_data",
        "csum_update",
        "set_hash_invalid",
        "get_numa_node_id",
        "skb_change_head",
        "xdp_adjust_head",
        "probe_read_str",
        "get_socket_cookie",
        "get_socket_uid",
        "set_hash",
        "setsockopt",
        "skb_adjust_room",
        "redirect_map",
        "sk_redirect_map",
        "sock_map_update",
        "xdp_adjust_meta",
        "perf_event_read_value",
        "perf_prog_read_value",
        "getsockopt",
        "override_return",
        "sock_ops_cb_flags_set",
        "msg_redirect_map",
        "msg_apply_bytes",
        "msg_cork_bytes",
        "msg_pull_data",
        "bind",
        "xdp_adjust_tail",
        "skb_get_xfrm_state",
        "get_stack",
        "skb_load_bytes_relative",
        "fib_lookup",
        "sock_hash_update",
        "msg_redirect_hash",
        "sk_redirect_hash",
        "lwt_push_encap",
        "lwt_seg6_store_bytes",
        "lwt_seg6_adjust_srh",
        "lwt_seg6_action",
        "rc_repeat",
        "rc_keydown",
        "skb_cgroup_id",
        "get_current_cgroup_id",
        "get_local_storage",
        "sk_select_reuseport",
        "skb_ancestor_cgroup_id",
        "sk_lookup_tcp",
        "sk_lookup_udp",
        "sk_release",
        "map_push_elem",
        "map_pop_elem",
        "map_peek_elem",
        "msg_push_data",
        "msg_pop_data",
        "rc_pointer_rel",
        "spin_lock",
        "spin_unlock",
        "sk_fullsock",
        "tcp_sock",
        "skb_ecn_set_ce",
        "get_listener_sock",
        "skc_lookup_tcp",
        "tcp_check_syncookie",
        "sysctl_get_name",
        "sysctl_get_current_value",
        "sysctl_get_new_value",
        "sysctl_set_new_value",
        "strtol",
        "strtoul",
        "sk_storage_get",
        "sk_storage_delete",
        "send_signal",
        "tcp_gen_syncookie",
        "skb_output",
        "probe_read_user",
        "probe_read_kernel",
        "probe_read_user_str",
        "probe_read_kernel_str",
        "tcp_send_ack",
        "send_signal_thread",
        "jiffies64",
        "read_branch_records",
        "get_ns_current_pid_tgid",
        "xdp_output",
        "get_netns_cookie",
        "get_current_ancestor_cgroup_id",
        "sk_assign",
        "ktime_get_boot_ns",
        "seq_printf",
        "seq_write",
        "sk_cgroup_id",
        "sk_ancestor_cgroup_id",
        "ringbuf_output",
        "ringbuf_reserve",
        "ringbuf_submit",
        "ringbuf_discard",
        "ringbuf_query",
        "csum_level",
        "skc_to_tcp6_sock",
        "skc_to_tcp_sock",
        "skc_to_tcp_timewait_sock",
        "skc_to_tcp_request_sock",
        "skc_to_udp6_sock",
        "get_task_stack",
        "load_hdr_opt",
        "store_hdr_opt",
        "reserve_hdr_opt",
        "inode_storage_get",
        "inode_storage_delete",
        "d_path",
        "copy_from_user",
        "snprintf_btf",
        "seq_printf_btf",
        "skb_cgroup_classid",
        "redirect_neigh",
        "per_cpu_ptr",
        "this_cpu_ptr",
        "redirect_peer",
        "task_storage_get",
        "task_storage_delete",
        "get_current_task_btf",
        "bprm_opts_set",
        "ktime_get_coarse_ns",
        "ima_inode_hash",
        "sock_from_file",
        "check_mtu",
        "for_each_map_elem",
        "snprintf",
        "sys_bpf",
        "btf_find_by_name_kind",
        "sys_close",
        "timer_init",
        "timer_set_callback",
        "timer_start",
        "timer_cancel",
        "get_func_ip",
        "get_attach_cookie",
        "task_pt_regs",
        "get_branch_snapshot",
        "trace_vprintk",
        "skc_to_unix_sock",
        "kallsyms_lookup_name",
        "find_vma",
        "loop",
        "strncmp",
        "get_func_arg",
        "get_func_ret",
        "get_func_arg_cnt",
        "get_retval",
        "set_retval",
        "xdp_get_buff_len",
        "xdp_load_bytes",
        "xdp_store_bytes",
        "copy_from_user_task",
        "skb_set_tstamp",
        "ima_file_hash",
        "kptr_xchg",
        "map_lookup_percpu_elem",
        "skc_to_mptcp_sock",
        "dynptr_from_mem",
        "ringbuf_reserve_dynptr",
        "ringbuf_submit_dynptr",
        "ringbuf_discard_dynptr",
        "dynptr_read",
        "dynptr_write",
        "dynptr_data",
        "tcp_raw_gen_syncookie_ipv4",
        "tcp_raw_gen_syncookie_ipv6",
        "tcp_raw_check_syncookie_ipv4",
        "tcp_raw_check_syncookie_ipv6",
        "ktime_get_tai_ns",
        "user_ringbuf_drain"
    ]
}
