/// A correction of what the signature rules derive, taken from the kernel's `struct bpf_func_proto`.
struct HelperOverride {
    var arguments: [HelperArgumentKind]?
    var returnKind: HelperReturnKind?

    init(_ arguments: [HelperArgumentKind]? = nil, returns returnKind: HelperReturnKind? = nil) {
        self.arguments = arguments
        self.returnKind = returnKind
    }
}

extension HelperTable {
    /// Helpers whose kernel prototype differs from what the signature rules give (or that
    /// are worth pinning down explicitly). Linux 6.18 prototypes; flags folded as in `HelperArgumentKind`.
    static let overrides: [String: HelperOverride] = [
        // Maps (kernel/bpf/helpers.c).
        "map_lookup_elem": HelperOverride([.constMapPointer, .mapKey], returns: .mapValueOrNull),
        "map_update_elem": HelperOverride([.constMapPointer, .mapKey, .mapValue, .anything], returns: .integer),
        "map_delete_elem": HelperOverride([.constMapPointer, .mapKey], returns: .integer),
        "map_push_elem": HelperOverride([.constMapPointer, .mapValue, .anything], returns: .integer),
        "map_pop_elem": HelperOverride([.constMapPointer, .uninitializedMapValue], returns: .integer),
        "map_peek_elem": HelperOverride([.constMapPointer, .uninitializedMapValue], returns: .integer),
        "map_lookup_percpu_elem": HelperOverride([.constMapPointer, .mapKey, .anything], returns: .mapValueOrNull),
        "get_local_storage": HelperOverride([.constMapPointer, .anything], returns: .mapValue),
        "sk_storage_get": HelperOverride([.constMapPointer, .socket, .mapValueOrNull, .anything], returns: .mapValueOrNull),
        "sk_storage_delete": HelperOverride([.constMapPointer, .socket], returns: .integer),
        "inode_storage_get": HelperOverride([.constMapPointer, .btfPointer, .mapValueOrNull, .anything], returns: .mapValueOrNull),
        "task_storage_get": HelperOverride([.constMapPointer, .btfPointer, .mapValueOrNull, .anything], returns: .mapValueOrNull),
        "cgrp_storage_get": HelperOverride([.constMapPointer, .btfPointer, .mapValueOrNull, .anything], returns: .mapValueOrNull),
        "tail_call": HelperOverride([.context, .constMapPointer, .anything], returns: .void),
        "for_each_map_elem": HelperOverride([.constMapPointer, .callback, .stackOrNull, .anything], returns: .integer),
        "loop": HelperOverride([.anything, .callback, .stackOrNull, .anything], returns: .integer),

        // Time, CPU, randomness, current task.
        "ktime_get_ns": HelperOverride([], returns: .integer),
        "ktime_get_boot_ns": HelperOverride([], returns: .integer),
        "ktime_get_coarse_ns": HelperOverride([], returns: .integer),
        "ktime_get_tai_ns": HelperOverride([], returns: .integer),
        "jiffies64": HelperOverride([], returns: .integer),
        "get_prandom_u32": HelperOverride([], returns: .integer),
        "get_smp_processor_id": HelperOverride([], returns: .integer),
        "get_numa_node_id": HelperOverride([], returns: .integer),
        "get_current_pid_tgid": HelperOverride([], returns: .integer),
        "get_current_uid_gid": HelperOverride([], returns: .integer),
        "get_current_comm": HelperOverride([.uninitializedMemory, .constSize(of: 0)], returns: .integer),
        "get_current_task_btf": HelperOverride([], returns: .btfPointer),

        // Printing and strings. trace_printk's kernel proto declares only fmt and its size;
        // r3-r5 carry the format arguments and are not checked (ARG_DONTCARE).
        "trace_printk": HelperOverride([.readableMemory, .constSize(of: 0)], returns: .integer),
        "trace_vprintk": HelperOverride([.readableMemory, .constSize(of: 0), .readableMemoryOrNull, .constSizeOrZero(of: 2)], returns: .integer),
        "snprintf": HelperOverride([.writableMemoryOrNull, .constSizeOrZero(of: 0), .constString, .readableMemoryOrNull, .constSizeOrZero(of: 3)], returns: .integer),
        "strncmp": HelperOverride([.readableMemory, .constSize(of: 0), .constString], returns: .integer),
        "strtol": HelperOverride([.readableMemory, .constSize(of: 0), .anything, .longResult], returns: .integer),
        "strtoul": HelperOverride([.readableMemory, .constSize(of: 0), .anything, .longResult], returns: .integer),

        // Probing memory.
        "probe_read": HelperOverride([.uninitializedMemory, .constSizeOrZero(of: 0), .anything], returns: .integer),
        "probe_read_str": HelperOverride([.uninitializedMemory, .constSizeOrZero(of: 0), .anything], returns: .integer),
        "probe_read_user": HelperOverride([.uninitializedMemory, .constSizeOrZero(of: 0), .anything], returns: .integer),
        "probe_read_user_str": HelperOverride([.uninitializedMemory, .constSizeOrZero(of: 0), .anything], returns: .integer),
        "probe_read_kernel": HelperOverride([.uninitializedMemory, .constSizeOrZero(of: 0), .anything], returns: .integer),
        "probe_read_kernel_str": HelperOverride([.uninitializedMemory, .constSizeOrZero(of: 0), .anything], returns: .integer),
        "probe_write_user": HelperOverride([.anything, .readableMemory, .constSize(of: 1)], returns: .integer),
        "copy_from_user": HelperOverride([.uninitializedMemory, .constSizeOrZero(of: 0), .anything], returns: .integer),

        // Ring buffer and perf events.
        "ringbuf_output": HelperOverride([.constMapPointer, .readableMemory, .constSizeOrZero(of: 1), .anything], returns: .integer),
        "ringbuf_reserve": HelperOverride([.constMapPointer, .constAllocationSizeOrZero, .anything], returns: .ringbufMemoryOrNull(sizeArgument: 1)),
        "ringbuf_submit": HelperOverride([.ringbufMemory, .anything], returns: .void),
        "ringbuf_discard": HelperOverride([.ringbufMemory, .anything], returns: .void),
        "ringbuf_query": HelperOverride([.constMapPointer, .anything], returns: .integer),
        "perf_event_output": HelperOverride([.context, .constMapPointer, .anything, .readableMemory, .constSizeOrZero(of: 3)], returns: .integer),
        "perf_event_read": HelperOverride([.constMapPointer, .anything], returns: .integer),
        "get_stackid": HelperOverride([.context, .constMapPointer, .anything], returns: .integer),
        "get_stack": HelperOverride([.context, .uninitializedMemory, .constSizeOrZero(of: 1), .anything], returns: .integer),

        // Tracing context.
        "get_func_ip": HelperOverride([.context], returns: .integer),
        "get_attach_cookie": HelperOverride([.context], returns: .integer),
        "get_func_arg": HelperOverride([.context, .anything, .longResult], returns: .integer),
        "get_func_ret": HelperOverride([.context, .longResult], returns: .integer),
        "get_func_arg_cnt": HelperOverride([.context], returns: .integer),
        "override_return": HelperOverride([.context, .anything], returns: .integer),

        // Locks and callbacks.
        "spin_lock": HelperOverride([.spinLock], returns: .void),
        "spin_unlock": HelperOverride([.spinLock], returns: .void),
        "timer_set_callback": HelperOverride([.timer, .callback], returns: .integer),
        "find_vma": HelperOverride([.btfPointer, .anything, .callback, .stackOrNull, .anything], returns: .integer),
        "user_ringbuf_drain": HelperOverride([.constMapPointer, .callback, .stackOrNull, .anything], returns: .integer),

        // Packets (net/core/filter.c).
        "csum_diff": HelperOverride([.readableMemoryOrNull, .constSizeOrZero(of: 0), .readableMemoryOrNull, .constSizeOrZero(of: 2), .anything], returns: .integer),
        "xdp_adjust_head": HelperOverride([.context, .anything], returns: .integer),
        "xdp_adjust_tail": HelperOverride([.context, .anything], returns: .integer),
        "xdp_adjust_meta": HelperOverride([.context, .anything], returns: .integer),
        "skb_load_bytes": HelperOverride([.context, .anything, .uninitializedMemory, .constSize(of: 2)], returns: .integer),
        "skb_load_bytes_relative": HelperOverride([.context, .anything, .uninitializedMemory, .constSize(of: 2), .anything], returns: .integer),
        "skb_store_bytes": HelperOverride([.context, .anything, .readableMemory, .constSize(of: 2), .anything], returns: .integer),
        "skb_vlan_push": HelperOverride([.context, .anything, .anything], returns: .integer),
        "skb_vlan_pop": HelperOverride([.context], returns: .integer),
        "l3_csum_replace": HelperOverride([.context, .anything, .anything, .anything, .anything], returns: .integer),
        "l4_csum_replace": HelperOverride([.context, .anything, .anything, .anything, .anything], returns: .integer),
        "redirect": HelperOverride([.anything, .anything], returns: .integer),
        "redirect_map": HelperOverride([.constMapPointer, .anything, .anything], returns: .integer),
        "clone_redirect": HelperOverride([.context, .anything, .anything], returns: .integer),
        "skb_get_tunnel_key": HelperOverride([.context, .uninitializedMemory, .constSize(of: 1), .anything], returns: .integer),
        "skb_get_tunnel_opt": HelperOverride([.context, .uninitializedMemory, .constSize(of: 1)], returns: .integer),
        "fib_lookup": HelperOverride([.context, .writableMemory, .constSize(of: 1), .anything], returns: .integer),
        "sk_lookup_tcp": HelperOverride([.context, .readableMemory, .constSize(of: 1), .anything, .anything], returns: .socketOrNull),
        "sk_lookup_udp": HelperOverride([.context, .readableMemory, .constSize(of: 1), .anything, .anything], returns: .socketOrNull),
        "skc_lookup_tcp": HelperOverride([.context, .readableMemory, .constSize(of: 1), .anything, .anything], returns: .socketOrNull),
        "sk_release": HelperOverride([.socket], returns: .integer),
        "get_socket_cookie": HelperOverride([.context], returns: .integer),
        "get_socket_uid": HelperOverride([.context], returns: .integer),
        "sk_fullsock": HelperOverride([.socket], returns: .socketOrNull),
        "tcp_sock": HelperOverride([.socket], returns: .socketOrNull),
        "get_listener_sock": HelperOverride([.socket], returns: .socketOrNull),

        // Pointer exchange and per-CPU data.
        "kptr_xchg": HelperOverride([.btfPointer, .btfPointer], returns: .btfPointerOrNull),
        "per_cpu_ptr": HelperOverride([.btfPointer, .anything], returns: .memoryOrNull),
        "this_cpu_ptr": HelperOverride([.btfPointer], returns: .memoryOrNull),
        "dynptr_data": HelperOverride([.dynptr, .anything, .constAllocationSizeOrZero], returns: .memoryOrNull),
    ]

    /// Helpers whose kernel prototype sets `gpl_only` (the tracing, printing and timer families).
    static let gplOnlyHelpers: Set<String> = [
        "probe_read", "probe_read_str", "probe_read_user", "probe_read_user_str", "probe_read_kernel",
        "probe_read_kernel_str", "probe_write_user", "trace_printk", "trace_vprintk", "get_current_task",
        "perf_event_read", "perf_event_read_value", "perf_event_output", "skb_output", "xdp_output",
        "get_stackid", "get_stack", "override_return", "seq_printf", "seq_write", "read_branch_records",
        "get_branch_snapshot", "copy_from_user_task", "timer_init", "timer_set_callback", "timer_start",
        "timer_cancel",
    ]
}
