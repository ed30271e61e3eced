/// A Linux map type, with the numbers of `enum bpf_map_type` in
/// `include/uapi/linux/bpf.h`.
public enum MapType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case unspecified = 0
    case hash = 1
    case array = 2
    case programArray = 3
    case perfEventArray = 4
    case perCPUHash = 5
    case perCPUArray = 6
    case stackTrace = 7
    case cgroupArray = 8
    case lruHash = 9
    case lruPerCPUHash = 10
    case lpmTrie = 11
    case arrayOfMaps = 12
    case hashOfMaps = 13
    case devmap = 14
    case sockmap = 15
    case cpumap = 16
    case xskmap = 17
    case sockhash = 18
    case cgroupStorage = 19
    case reuseportSockarray = 20
    case perCPUCgroupStorage = 21
    case queue = 22
    case stack = 23
    case skStorage = 24
    case devmapHash = 25
    case structOps = 26
    case ringBuffer = 27
    case inodeStorage = 28
    case taskStorage = 29
    case bloomFilter = 30
    case userRingBuffer = 31
    case cgrpStorage = 32
    case arena = 33

    /// True for array-of-maps and hash-of-maps, whose values are maps.
    public var isMapInMap: Bool { self == .arrayOfMaps || self == .hashOfMaps }

    /// The Linux name without the `BPF_MAP_TYPE_` prefix, lower-cased
    /// (as used by bpftool and libbpf), e.g. `lru_percpu_hash`.
    public var name: String {
        switch self {
        case .unspecified: "unspec"
        case .hash: "hash"
        case .array: "array"
        case .programArray: "prog_array"
        case .perfEventArray: "perf_event_array"
        case .perCPUHash: "percpu_hash"
        case .perCPUArray: "percpu_array"
        case .stackTrace: "stack_trace"
        case .cgroupArray: "cgroup_array"
        case .lruHash: "lru_hash"
        case .lruPerCPUHash: "lru_percpu_hash"
        case .lpmTrie: "lpm_trie"
        case .arrayOfMaps: "array_of_maps"
        case .hashOfMaps: "hash_of_maps"
        case .devmap: "devmap"
        case .sockmap: "sockmap"
        case .cpumap: "cpumap"
        case .xskmap: "xskmap"
        case .sockhash: "sockhash"
        case .cgroupStorage: "cgroup_storage"
        case .reuseportSockarray: "reuseport_sockarray"
        case .perCPUCgroupStorage: "percpu_cgroup_storage"
        case .queue: "queue"
        case .stack: "stack"
        case .skStorage: "sk_storage"
        case .devmapHash: "devmap_hash"
        case .structOps: "struct_ops"
        case .ringBuffer: "ringbuf"
        case .inodeStorage: "inode_storage"
        case .taskStorage: "task_storage"
        case .bloomFilter: "bloom_filter"
        case .userRingBuffer: "user_ringbuf"
        case .cgrpStorage: "cgrp_storage"
        case .arena: "arena"
        }
    }

    /// Parses a Linux map type name, with or without the `BPF_MAP_TYPE_`
    /// prefix, in any case (`"lru_hash"`, `"BPF_MAP_TYPE_LRU_HASH"`).
    public init?(name: String) {
        var lowered = name.lowercased()
        if lowered.hasPrefix("bpf_map_type_") { lowered.removeFirst("bpf_map_type_".count) }
        guard let match = MapType.allCases.first(where: { $0.name == lowered }) else { return nil }
        self = match
    }

    public var description: String { name }

    /// Whether each key holds one value per possible CPU.
    public var isPerCPU: Bool {
        switch self {
        case .perCPUHash, .perCPUArray, .lruPerCPUHash, .perCPUCgroupStorage: true
        default: false
        }
    }

    /// Whether BPFKit implements this map type in user space.
    public var isSupported: Bool {
        switch self {
        case .hash, .array, .programArray, .perfEventArray, .perCPUHash, .perCPUArray, .cgroupArray,
             .lruHash, .lruPerCPUHash, .lpmTrie, .arrayOfMaps, .hashOfMaps, .queue, .stack,
             .ringBuffer, .bloomFilter:
            true
        default:
            false
        }
    }
}
