/// What a register holds, as Linux's `enum bpf_reg_type` distinguishes it.
public enum RegisterKind: UInt8, Sendable, Hashable, CustomStringConvertible {
    case notInitialized
    case scalar
    case context
    case stack
    case mapPointer
    case mapValue
    case packet
    case packetMeta
    case packetEnd
    /// Memory of a known size returned by a helper (ring buffer reservations).
    case memory
    /// Read-only memory of a known size.
    case readOnlyMemory
    case function
    /// `PTR_TO_SOCK_COMMON`: a `struct bpf_sock` of which only the fields of
    /// `struct sock_common` may be read (`__sk_buff.sk`, bpf_skc_lookup_tcp).
    case socketCommon
    /// `PTR_TO_SOCKET`: a full `struct bpf_sock` (bpf_sk_lookup_tcp, bpf_sk_fullsock).
    case socket
    /// `PTR_TO_TCP_SOCK`: a `struct bpf_tcp_sock` (bpf_tcp_sock).
    case tcpSocket

    public var isPointer: Bool { self != .notInitialized && self != .scalar }
    public var isPacket: Bool { self == .packet || self == .packetMeta }
    /// The socket pointer kinds (Linux's `type_is_sk_pointer`).
    public var isSocket: Bool { self == .socketCommon || self == .socket || self == .tcpSocket }

    public var description: String {
        switch self {
        case .notInitialized: "?"
        case .scalar: "scalar"
        case .context: "ctx"
        case .stack: "fp"
        case .mapPointer: "map_ptr"
        case .mapValue: "map_value"
        case .packet: "pkt"
        case .packetMeta: "pkt_meta"
        case .packetEnd: "pkt_end"
        case .memory: "mem"
        case .readOnlyMemory: "rdonly_mem"
        case .function: "func"
        case .socketCommon: "sock_common"
        case .socket: "sock"
        case .tcpSocket: "tcp_sock"
        }
    }
}

/// The abstract value of one register (or spilled stack slot).
public struct RegisterValue: Hashable, Sendable, CustomStringConvertible {
    public var kind: RegisterKind
    /// For pointers that may still be NULL (`map_value_or_null`, `mem_or_null`).
    public var mayBeNull: Bool = false
    /// Fixed offset added to a pointer (`reg->off`).
    public var offset: Int32 = 0
    /// The scalar's value, or a pointer's variable offset.
    public var value: Scalar = .constant(0)
    /// Shared by copies of a nullable pointer, of a packet pointer, or of a scalar (linked registers).
    public var id: UInt32 = 0
    /// The acquired reference this pointer holds (ring buffer reservation, socket);
    /// Linux's `ref_obj_id`. Pointers derived from a referenced socket (bpf_sk_fullsock,
    /// bpf_tcp_sock) carry the same reference.
    public var referenceID: UInt32 = 0
    /// Map index for map pointers and map values; frame number for stack pointers;
    /// subprogram entry for function pointers.
    public var target: Int32 = 0
    /// Proven packet range (`reg->range`), or the size of `.memory` regions.
    public var range: Int32 = 0
    /// Writes through this pointer are forbidden (read-only map values).
    public var readOnly: Bool = false
    /// Scalars: some decision of the program depends on the exact value (Linux's
    /// `reg->precise`, set by backtracking). States compare imprecise scalars as equal.
    /// Not part of equality.
    public var precise: Bool = false

    public static func == (a: RegisterValue, b: RegisterValue) -> Bool {
        a.kind == b.kind && a.mayBeNull == b.mayBeNull && a.offset == b.offset && a.value == b.value && a.id == b.id
            && a.referenceID == b.referenceID && a.target == b.target && a.range == b.range && a.readOnly == b.readOnly
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(kind); hasher.combine(offset); hasher.combine(value); hasher.combine(id); hasher.combine(target)
    }

    public static let uninitialized = RegisterValue(kind: .notInitialized)
    public static let unknownScalar = RegisterValue(kind: .scalar, value: .unknown)
    public static func scalar(_ s: Scalar) -> RegisterValue { RegisterValue(kind: .scalar, value: s) }
    public static func constant(_ v: UInt64) -> RegisterValue { RegisterValue(kind: .scalar, value: .constant(v)) }
    public static func pointer(_ kind: RegisterKind, target: Int32 = 0, offset: Int32 = 0) -> RegisterValue {
        RegisterValue(kind: kind, offset: offset, target: target)
    }

    public init(kind: RegisterKind, mayBeNull: Bool = false, offset: Int32 = 0, value: Scalar = .constant(0),
                id: UInt32 = 0, referenceID: UInt32 = 0, target: Int32 = 0, range: Int32 = 0, readOnly: Bool = false) {
        self.kind = kind; self.mayBeNull = mayBeNull; self.offset = offset; self.value = value
        self.id = id; self.referenceID = referenceID; self.target = target; self.range = range; self.readOnly = readOnly
    }

    public var isScalar: Bool { kind == .scalar }
    public var isPointer: Bool { kind.isPointer }
    public var isInitialized: Bool { kind != .notInitialized }

    public var description: String {
        switch kind {
        case .notInitialized: return "?"
        case .scalar:
            // A link with a constant added shows as Linux shows it: the link's id and the constant.
            return value.description + (id == 0 ? "" : hasAddedConstant ? "#\(linkID)\(offset < 0 ? "" : "+")\(offset)" : "#\(id)")
        default:
            var name = kind.description
            if mayBeNull { name += "_or_null" }
            var parts: [String] = []
            if id != 0 { parts.append("id=\(id)") }
            if referenceID != 0 { parts.append("ref_obj_id=\(referenceID)") }
            if offset != 0 { parts.append("off=\(offset)") }
            if kind.isPacket { parts.append("r=\(range)") }
            if kind == .memory || kind == .readOnlyMemory { parts.append("sz=\(range)") }
            if kind == .mapValue || kind == .mapPointer { parts.append("map=\(target)") }
            if kind == .stack && target != 0 { parts.append("frame=\(target)") }
            if !value.isConstant || value.constantValue != 0 { parts.append("var=\(value)") }
            return name + "(" + parts.joined(separator: ",") + ")"
        }
    }
}

/// The state of one byte of the stack.
public enum StackByte: UInt8, Sendable, Hashable {
    case invalid = 0, misc, zero, spill
}

/// One 8-byte stack slot: per-byte kinds, and the spilled register when its lowest byte
/// is `spill` (a spill of 1, 2, 4 or 8 bytes at the slot's start; the spill bytes count up from 0).
public struct StackSlot: Hashable, Sendable {
    /// Eight `StackByte` raw values, byte i (at slot offset i) in bits 8i..8i+7.
    public var bytes: UInt64 = 0
    public var spilled: RegisterValue? = nil

    public static let empty = StackSlot()

    public func byte(_ i: Int) -> StackByte { StackByte(rawValue: UInt8(truncatingIfNeeded: bytes >> UInt64(i * 8)))! }
    public mutating func setByte(_ i: Int, _ kind: StackByte) {
        let shift = UInt64(i * 8)
        bytes = (bytes & ~(0xff << shift)) | (UInt64(kind.rawValue) << shift)
    }
    public var isSpill: Bool { spilled != nil }
    public var isEmpty: Bool { bytes == 0 && spilled == nil }

    public var description: String {
        if let spilled { return spilled.description }
        let chars: [Character] = (0..<8).reversed().map { i in
            switch byte(i) { case .invalid: "?"; case .misc: "m"; case .zero: "0"; case .spill: "r" }
        }
        return String(chars)
    }
}

/// A frame's 64 stack slots, stored only up to the deepest slot written: most functions
/// use a few slots, and every checkpoint keeps a copy of every frame. Slots beyond the
/// stored ones read as empty; equality and hashing ignore trailing empty slots.
public struct StackSlots: Hashable, Sendable {
    public static let count = 64
    private var slots: [StackSlot] = []

    public init() {}

    public subscript(index: Int) -> StackSlot {
        get { index < slots.count ? slots[index] : .empty }
        set {
            if index >= slots.count {
                if newValue.isEmpty { return }
                slots.append(contentsOf: repeatElement(.empty, count: index + 1 - slots.count))
            }
            slots[index] = newValue
        }
        _modify {
            if index >= slots.count {
                slots.append(contentsOf: repeatElement(.empty, count: index + 1 - slots.count))
            }
            yield &slots[index]
        }
    }

    /// The slots that may hold something (the rest are empty).
    public var storedCount: Int { slots.count }

    public static func == (a: StackSlots, b: StackSlots) -> Bool {
        for i in 0..<max(a.slots.count, b.slots.count) where a[i] != b[i] { return false }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        var end = slots.count
        while end > 0 && slots[end - 1].isEmpty { end -= 1 }
        for i in 0..<end { hasher.combine(slots[i]) }
    }
}

/// One call frame: its registers and its 512-byte stack.
public struct Frame: Hashable, Sendable {
    public var registers: [RegisterValue]
    /// Slot i covers bytes [-(i+1)*8, -i*8) below the frame pointer.
    public var stack = StackSlots()
    /// The call instruction that created the frame (-1 for the main frame).
    public var callSite: Int
    /// Entry instruction of the function this frame runs.
    public var functionEntry: Int
    /// Deepest byte of the stack this frame touched.
    public var stackDepth: Int = 0
    /// Times this frame's bpf_loop callback has been entered on this path since the call was
    /// last left (Linux's `callback_depth`): at most the loop count, then the call returns.
    public var callbackDepth: Int = 0

    public init(frameNumber: Int, callSite: Int, functionEntry: Int) {
        registers = Array(repeating: .uninitialized, count: 11)
        registers[10] = .pointer(.stack, target: Int32(frameNumber))
        self.callSite = callSite
        self.functionEntry = functionEntry
    }
}

/// A reference that must be released on every path (ring buffer reservation, socket, spin lock).
public struct AcquiredReference: Hashable, Sendable {
    public var id: UInt32
    /// The instruction that acquired it.
    public var pc: Int
    public var helper: String
}

/// A bpf_spin_lock taken by `bpf_spin_lock` and not yet released: Linux names it by
/// its map and by the id of the map value pointer it was taken through (two lookups
/// give two ids, so unlocking through the other pointer is refused).
public struct HeldLock: Hashable, Sendable {
    /// The map (index in the input's maps).
    public var map: Int32
    /// The id of the map value pointer (0 for `lddw map_value` pointers).
    public var id: UInt32
    /// The `call bpf_spin_lock` instruction.
    public var pc: Int
}

/// The abstract machine state on one path.
public struct AbstractState: Hashable, Sendable {
    public var frames: [Frame]
    public var references: [AcquiredReference] = []
    /// The bpf_spin_lock this path holds (Linux allows one at a time).
    public var heldLock: HeldLock?
    /// `may_goto` budget is modelled by Linux as a stack counter; we only track depth of use.
    public var mayGotoDepth: Int = 0

    public var current: Frame {
        get { frames[frames.count - 1] }
        _modify { yield &frames[frames.count - 1] }
    }

    public subscript(register r: Int) -> RegisterValue {
        get { frames[frames.count - 1].registers[r] }
        set { frames[frames.count - 1].registers[r] = newValue }
    }

    /// Applies `body` to every register and spilled register of every frame.
    public mutating func forEachRegister(_ body: (inout RegisterValue) -> Void) {
        for f in frames.indices {
            for r in 0..<11 { body(&frames[f].registers[r]) }
            for s in 0..<frames[f].stack.storedCount where frames[f].stack[s].spilled != nil {
                body(&frames[f].stack[s].spilled!)
            }
        }
    }
}
