/// `BPF_MAP_CREATE` flags (`map_flags`), with the values of the Linux UAPI header.
public enum MapFlags {
    /// BPF_F_NO_PREALLOC: allocate hash elements on demand (required by LPM tries).
    public static let noPreallocate: UInt32 = 1 << 0
    /// BPF_F_NO_COMMON_LRU: one LRU list per CPU.
    public static let noCommonLRU: UInt32 = 1 << 1
    /// BPF_F_NUMA_NODE: honour `numa_node`.
    public static let numaNode: UInt32 = 1 << 2
    /// BPF_F_RDONLY: user space may only read.
    public static let readOnly: UInt32 = 1 << 3
    /// BPF_F_WRONLY: user space may only write.
    public static let writeOnly: UInt32 = 1 << 4
    /// BPF_F_STACK_BUILD_ID: stack trace maps store build id + offset.
    public static let stackBuildID: UInt32 = 1 << 5
    /// BPF_F_ZERO_SEED: zero hash seed (deterministic hashing, for testing).
    public static let zeroSeed: UInt32 = 1 << 6
    /// BPF_F_RDONLY_PROG: programs may only read.
    public static let readOnlyProgram: UInt32 = 1 << 7
    /// BPF_F_WRONLY_PROG: programs may only write.
    public static let writeOnlyProgram: UInt32 = 1 << 8
    /// BPF_F_CLONE: clone socket storage for accepted sockets.
    public static let clone: UInt32 = 1 << 9
    /// BPF_F_MMAPABLE: the array may be memory-mapped.
    public static let mmapable: UInt32 = 1 << 10
    /// BPF_F_PRESERVE_ELEMS: keep perf event array entries when the map's fd closes.
    public static let preserveElements: UInt32 = 1 << 11
    /// BPF_F_INNER_MAP: inner maps of this template may differ in max_entries.
    public static let innerMap: UInt32 = 1 << 12

    /// The four access-control flags.
    public static let accessMask: UInt32 = readOnly | writeOnly | readOnlyProgram | writeOnlyProgram
}

/// `BPF_MAP_UPDATE_ELEM` flags, with the values of the Linux UAPI header.
public enum UpdateFlags {
    /// BPF_ANY: create a new element or update an existing one.
    public static let any: UInt64 = 0
    /// BPF_NOEXIST: create a new element only if it does not exist.
    public static let noExist: UInt64 = 1
    /// BPF_EXIST: update an existing element only.
    public static let exist: UInt64 = 2
    /// BPF_F_LOCK: update under the value's `bpf_spin_lock` (needs BTF; unsupported here).
    public static let lock: UInt64 = 4
}

/// Ring buffer flags and query selectors, with the values of the Linux UAPI header.
public enum RingBufferFlags {
    /// BPF_RB_NO_WAKEUP: do not notify the consumer.
    public static let noWakeup: UInt64 = 1 << 0
    /// BPF_RB_FORCE_WAKEUP: always notify the consumer.
    public static let forceWakeup: UInt64 = 1 << 1
    /// BPF_RB_AVAIL_DATA: bytes not yet consumed.
    public static let availableData: UInt64 = 0
    /// BPF_RB_RING_SIZE: the data area size.
    public static let ringSize: UInt64 = 1
    /// BPF_RB_CONS_POS: the consumer position.
    public static let consumerPosition: UInt64 = 2
    /// BPF_RB_PROD_POS: the producer position.
    public static let producerPosition: UInt64 = 3
    /// BPF_RINGBUF_BUSY_BIT in a record header's length word.
    public static let busyBit: UInt32 = 1 << 31
    /// BPF_RINGBUF_DISCARD_BIT in a record header's length word.
    public static let discardBit: UInt32 = 1 << 30
    /// BPF_RINGBUF_HDR_SZ.
    public static let headerSize = 8
}

/// `bpf_perf_event_output` flags.
public enum PerfEventFlags {
    /// BPF_F_INDEX_MASK: the low 32 bits select the array index.
    public static let indexMask: UInt64 = 0xffff_ffff
    /// BPF_F_CURRENT_CPU: use the executing CPU's index.
    public static let currentCPU: UInt64 = 0xffff_ffff
}
