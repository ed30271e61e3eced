/// The block of memory JIT'd code reaches through r12 while a program runs: where to
/// unwind to, why the run stopped, the stack bounds, the helper call in progress,
/// checked-mode regions, the packet. One block per run, reused across runs.
/// Offsets below 128 are reached with an 8-bit displacement (the hot fields).
enum Context {
    static let savedStackPointer: Int32 = 0
    static let status: Int32 = 8
    static let trapPC: Int32 = 16
    static let trapAddress: Int32 = 24
    static let trapInfo: Int32 = 32
    /// The stack top minus 1, 2, 4 and 8: the highest address an access of that size may start at.
    static func stackTopMinus(_ size: Int) -> Int32 {
        switch size { case 1: 40; case 2: 48; case 4: 56; default: 64 }
    }
    /// The lowest r10 from which a bpf-to-bpf call still fits in the call depth limit.
    static let lowestCallingFramePointer: Int32 = 72
    static let callSite: Int32 = 80
    static let callerFramePointer: Int32 = 88
    static let mayGotoLeft: Int32 = 96
    static let instructionCount: Int32 = 104
    static let regionTable: Int32 = 112
    static let regionCount: Int32 = 120
    static let entryTarget: Int32 = 128
    static let entryFramePointer: Int32 = 136
    static func argument(_ k: Int) -> Int32 { 144 + Int32(k) * 8 }
    static let tailCallTarget: Int32 = 184
    static let helperID: Int32 = 192
    static let packet: Int32 = 200
    static let packetLength: Int32 = 208
    static let hasPacket: Int32 = 216
    static let instructionBudget: Int32 = 224
    static let runState: Int32 = 232
    static let stackTop: Int32 = 240
    static let size = 256
}

/// Why JIT'd code returned to the host (the `status` field).
enum RunStatus: UInt64 {
    case running = 0
    /// A helper ended the program (`HelperError.exitProgram`); rax holds r0.
    case exitRequested = 1
    case memoryFault = 2
    case misaligned = 3
    case budget = 4
    case callDepth = 5
    case unknownHelper = 6
    case helperFault = 7
    case fellOffEnd = 8
    case noPacket = 9
    /// A helper asked for a tail call; the JIT'd code jumps to `tailCallTarget`.
    case tailCall = 10
}

/// What the helper trampoline needs to know of one `call` instruction. Lives in memory
/// owned by the compiled code; the code stores the record's address in the context
/// before calling the trampoline.
struct CallSiteRecord {
    var unit: UnsafeRawPointer?
    var slot: Int
    /// Index into the unit's helpers, or -1 for `callx` (the helper ID is in the context).
    var helperIndex: Int
}
