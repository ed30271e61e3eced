import BPFABI

// BPFABI's `HelperTable` is the single source of truth for helper IDs, names
// and prototypes; BPFKit's helper bodies are keyed by the IDs looked up here.

/// IDs of the helpers BPFKit implements, from the helper table.
enum LinuxHelper {
    static let mapLookupElem = id("map_lookup_elem")
    static let mapUpdateElem = id("map_update_elem")
    static let mapDeleteElem = id("map_delete_elem")
    static let probeRead = id("probe_read")
    static let ktimeGetNs = id("ktime_get_ns")
    static let tracePrintk = id("trace_printk")
    static let getPrandomU32 = id("get_prandom_u32")
    static let getSmpProcessorID = id("get_smp_processor_id")
    static let skbStoreBytes = id("skb_store_bytes")
    static let l3CsumReplace = id("l3_csum_replace")
    static let l4CsumReplace = id("l4_csum_replace")
    static let tailCall = id("tail_call")
    static let getCurrentPidTgid = id("get_current_pid_tgid")
    static let getCurrentUidGid = id("get_current_uid_gid")
    static let getCurrentComm = id("get_current_comm")
    static let skbVlanPush = id("skb_vlan_push")
    static let skbVlanPop = id("skb_vlan_pop")
    static let redirect = id("redirect")
    static let perfEventOutput = id("perf_event_output")
    static let skbLoadBytes = id("skb_load_bytes")
    static let csumDiff = id("csum_diff")
    static let getNumaNodeID = id("get_numa_node_id")
    static let xdpAdjustHead = id("xdp_adjust_head")
    static let probeReadStr = id("probe_read_str")
    static let redirectMap = id("redirect_map")
    static let xdpAdjustMeta = id("xdp_adjust_meta")
    static let xdpAdjustTail = id("xdp_adjust_tail")
    static let skbLoadBytesRelative = id("skb_load_bytes_relative")
    static let mapPushElem = id("map_push_elem")
    static let mapPopElem = id("map_pop_elem")
    static let mapPeekElem = id("map_peek_elem")
    static let spinLock = id("spin_lock")
    static let spinUnlock = id("spin_unlock")
    static let probeReadUser = id("probe_read_user")
    static let probeReadKernel = id("probe_read_kernel")
    static let probeReadUserStr = id("probe_read_user_str")
    static let probeReadKernelStr = id("probe_read_kernel_str")
    static let jiffies64 = id("jiffies64")
    static let ktimeGetBootNs = id("ktime_get_boot_ns")
    static let ringbufOutput = id("ringbuf_output")
    static let ringbufReserve = id("ringbuf_reserve")
    static let ringbufSubmit = id("ringbuf_submit")
    static let ringbufDiscard = id("ringbuf_discard")
    static let ringbufQuery = id("ringbuf_query")
    static let ktimeGetCoarseNs = id("ktime_get_coarse_ns")
    static let snprintf = id("snprintf")
    static let getFuncIP = id("get_func_ip")
    static let getAttachCookie = id("get_attach_cookie")
    static let loop = id("loop")
    static let forEachMapElem = id("for_each_map_elem")
    static let strncmp = id("strncmp")

    /// The table's ID of helper `name`; a missing name is a programming error.
    static func id(_ name: String) -> Int32 {
        guard let prototype = HelperTable.prototype(named: name) else {
            preconditionFailure("helper \(name) is not in BPFABI's HelperTable")
        }
        return prototype.id
    }

    /// `bpf_<name>` for a Linux helper ID, or `helper #<id>` outside Linux's table.
    static func name(of id: Int32) -> String {
        HelperTable.prototype(id: id)?.cName ?? "helper #\(id)"
    }
}
