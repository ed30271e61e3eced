/// A Linux map type (`BPF_MAP_TYPE_*` number). Unknown numbers are kept as they are.
public struct MapType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let unspecified = MapType(rawValue: 0)
    public static let hash = MapType(rawValue: 1)
    public static let array = MapType(rawValue: 2)
    public static let progArray = MapType(rawValue: 3)
    public static let perfEventArray = MapType(rawValue: 4)
    public static let percpuHash = MapType(rawValue: 5)
    public static let percpuArray = MapType(rawValue: 6)
    public static let stackTrace = MapType(rawValue: 7)
    public static let cgroupArray = MapType(rawValue: 8)
    public static let lruHash = MapType(rawValue: 9)
    public static let lruPercpuHash = MapType(rawValue: 10)
    public static let lpmTrie = MapType(rawValue: 11)
    public static let arrayOfMaps = MapType(rawValue: 12)
    public static let hashOfMaps = MapType(rawValue: 13)
    public static let devmap = MapType(rawValue: 14)
    public static let sockmap = MapType(rawValue: 15)
    public static let cpumap = MapType(rawValue: 16)
    public static let xskmap = MapType(rawValue: 17)
    public static let sockhash = MapType(rawValue: 18)
    public static let ringbuf = MapType(rawValue: 27)

    static let names = [
        "unspec", "hash", "array", "prog_array", "perf_event_array", "percpu_hash", "percpu_array",
        "stack_trace", "cgroup_array", "lru_hash", "lru_percpu_hash", "lpm_trie", "array_of_maps",
        "hash_of_maps", "devmap", "sockmap", "cpumap", "xskmap", "sockhash", "cgroup_storage",
        "reuseport_sockarray", "percpu_cgroup_storage", "queue", "stack", "sk_storage", "devmap_hash",
        "struct_ops", "ringbuf", "inode_storage", "task_storage", "bloom_filter", "user_ringbuf",
        "cgrp_storage", "arena",
    ]

    /// The kernel's lower-case name without the prefix (`hash`, `prog_array`, ...).
    public var name: String {
        Int(rawValue) < Self.names.count ? Self.names[Int(rawValue)] : "unknown(\(rawValue))"
    }

    /// Looks a type up by name, with or without the `BPF_MAP_TYPE_` prefix, in any case.
    public init?(name: String) {
        var key = name.lowercased()
        if key.hasPrefix("bpf_map_type_") { key.removeFirst("bpf_map_type_".count) }
        guard let index = Self.names.firstIndex(of: key) else { return nil }
        rawValue = UInt32(index)
    }

    /// True for array-of-maps and hash-of-maps.
    public var isMapInMap: Bool { self == .arrayOfMaps || self == .hashOfMaps }

    public var description: String { name }
}

/// How a map is pinned (`LIBBPF_PIN_*`).
public enum MapPinning: UInt32, Sendable {
    case none = 0
    case byName = 1
}

/// A static initial value of one slot of a prog-array or map-in-map.
public enum MapSlotValue: Sendable, Equatable, CustomStringConvertible {
    /// The program with this (function) name.
    case program(String)
    /// The map with this name.
    case map(String)

    public var description: String {
        switch self {
        case let .program(name): "program \(name)"
        case let .map(name): "map \(name)"
        }
    }
}

/// Describes one map of an object: what the loader must create, not a created map.
public struct MapSpec: Sendable, Equatable {
    /// The map's symbol name, or the section name for global-data maps (`.rodata`).
    public var name: String
    /// The ELF section that defined it (`.maps`, `maps`, `.data`, ...).
    public var sectionName: String
    public var type: MapType
    public var keySize: UInt32
    public var valueSize: UInt32
    public var maxEntries: UInt32
    public var flags: UInt32
    public var mapExtra: UInt64
    public var numaNode: UInt32
    public var pinning: MapPinning
    /// BTF type ids of key and value, when declared with `__type`.
    public var keyTypeID: UInt32?
    public var valueTypeID: UInt32?
    /// Static `.values = { ... }` initialisers: slot index to program or map.
    public var initialValues: [UInt32: MapSlotValue]
    /// For global-data maps: the section's bytes (zeros for `.bss`).
    public var initialData: [UInt8]?
    /// True for `.rodata*` maps, which the loader freezes after filling them.
    public var isReadOnly: Bool

    private var innerBox: Box?

    /// The inner map definition of a map-in-map.
    public var innerMap: MapSpec? {
        get { innerBox?.value }
        set { innerBox = newValue.map(Box.init) }
    }

    /// The numeric `BPF_MAP_TYPE_*` value.
    public var typeNumber: UInt32 { type.rawValue }
    /// The readable type name (`hash`, `array_of_maps`, ...).
    public var typeName: String { type.name }

    /// True for maps made from `.data`, `.rodata`, `.bss` sections.
    public var isGlobalData: Bool { initialData != nil }

    public init(
        name: String, sectionName: String, type: MapType, keySize: UInt32, valueSize: UInt32,
        maxEntries: UInt32, flags: UInt32 = 0, mapExtra: UInt64 = 0, numaNode: UInt32 = 0,
        pinning: MapPinning = .none, innerMap: MapSpec? = nil, initialValues: [UInt32: MapSlotValue] = [:],
        initialData: [UInt8]? = nil, isReadOnly: Bool = false
    ) {
        self.name = name
        self.sectionName = sectionName
        self.type = type
        self.keySize = keySize
        self.valueSize = valueSize
        self.maxEntries = maxEntries
        self.flags = flags
        self.mapExtra = mapExtra
        self.numaNode = numaNode
        self.pinning = pinning
        self.initialValues = initialValues
        self.initialData = initialData
        self.isReadOnly = isReadOnly
        self.innerBox = innerMap.map(Box.init)
    }

    /// `BPF_F_RDONLY_PROG`: programs may only read the map.
    public static let readOnlyProgramFlag: UInt32 = 0x80
    /// `BPF_F_MMAPABLE`: user space may mmap the array.
    public static let mmapableFlag: UInt32 = 0x400

    private final class Box: Sendable, Equatable {
        let value: MapSpec
        init(_ value: MapSpec) { self.value = value }
        static func == (lhs: Box, rhs: Box) -> Bool { lhs.value == rhs.value }
    }
}

extension MapSpec: CustomStringConvertible {
    public var description: String {
        var text = "\(name): \(type.name) (\(type.rawValue)) key \(keySize) value \(valueSize) max_entries \(maxEntries)"
        if flags != 0 { text += " flags 0x\(String(flags, radix: 16))" }
        if mapExtra != 0 { text += " map_extra \(mapExtra)" }
        if pinning != .none { text += " pinned by name" }
        if isReadOnly { text += " read-only" }
        if let inner = innerMap { text += " inner {\(inner.description)}" }
        if !initialValues.isEmpty {
            let slots = initialValues.keys.sorted().map { "[\($0)] = \(initialValues[$0].map(\.description) ?? "")" }
            text += " values {\(slots.joined(separator: ", "))}"
        }
        return text
    }
}
