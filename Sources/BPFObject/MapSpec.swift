import BPFMaps

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
