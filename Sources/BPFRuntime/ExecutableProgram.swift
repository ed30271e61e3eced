import BPFInstructionSet

/// How the engines treat memory accesses.
public enum ExecutionMode: String, Sendable, CaseIterable {
    /// Every load and store is checked against the stack and the regions the program
    /// may touch; a bad access stops the program with an error. For unverified programs.
    case checked
    /// No per-access checks. Only for programs a verifier has proven safe.
    case trusted
}

/// Why a decoded program cannot be prepared for execution.
public enum LoadError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidInstruction(InstructionError)
    case unknownHelper(index: Int, id: Int32)
    case unboundReference(index: Int, reference: String)
    case unsupported(index: Int, feature: String)

    public var description: String {
        switch self {
        case .invalidInstruction(let error): error.description
        case .unknownHelper(let index, let id):
            "instruction \(index): calls helper \(id), which is not available to this program"
        case .unboundReference(let index, let reference):
            "instruction \(index): \(reference) is not bound; give the program its maps before loading it"
        case .unsupported(let index, let feature):
            "instruction \(index): \(feature) is not supported"
        }
    }
}

/// One pre-decoded instruction as the interpreter reads it: the operation, its
/// registers, the memory offset or the resolved branch target, and the immediate
/// already widened (sign-extended; the full constant for `lddw`; the helper's
/// table index for helper calls; the target slot for `call local`).
struct Slot: BitwiseCopyable {
    var operation: Operation
    var destination: UInt8
    var source: UInt8
    var reserved: UInt8 = 0
    /// Memory offset, or for branches the absolute target slot.
    var offset: Int32
    var immediate: Int64
}

/// Kernel-function call slots never come from a loaded program (they are refused);
/// the interpreter uses them as sentinels with these immediates.
enum Sentinel {
    static let fellOffEnd: Int64 = -1
    static let secondSlotOfWideInstruction: Int64 = -2
}

/// The slots of a program, owned: allocated once, freed with the value.
struct SlotBuffer: ~Copyable {
    let base: UnsafeMutablePointer<Slot>
    let count: Int

    init(_ slots: [Slot]) {
        count = slots.count
        base = .allocate(capacity: slots.count)
        // Unsafe 1: `base` was just allocated for exactly `slots.count` slots.
        _ = UnsafeMutableBufferPointer(start: base, count: count).initialize(from: slots)
    }

    deinit {
        base.deallocate()
    }
}

/// A decoded program prepared for the interpreter: branch targets resolved,
/// `lddw` constants folded, helper calls bound to the registry. Immutable once
/// made, so one program can run on many threads at once.
public final class ExecutableProgram: @unchecked Sendable {
    // @unchecked: `code` is written only in `init` and read-only afterwards.
    public let name: String
    public let instructions: [DecodedInstruction]
    public let helpers: HelperRegistry
    let code: SlotBuffer
    /// Helpers called by `call imm`, indexed by the slot's immediate.
    let boundHelpers: [Helper]
    /// Index into `instructions` for each slot (-1 for the second slot of an `lddw`).
    private let instructionIndexOfSlot: [Int]
    /// Native code engines made from this program (the JIT's machine code), so tail calls find it.
    public let attachedCode = AttachedCode()

    /// Prepares `instructions`. `resolve` supplies the 64-bit value of `lddw`
    /// pseudo references (maps, map values, BTF ids); without it they are refused.
    public init(
        _ instructions: [DecodedInstruction], helpers: HelperRegistry = HelperRegistry(), name: String = "program",
        resolve: ((DecodedInstruction) throws(LoadError) -> UInt64)? = nil
    ) throws(LoadError) {
        self.name = name
        self.instructions = instructions
        self.helpers = helpers
        let slotCount = (instructions.last.map { $0.index + $0.slotCount }) ?? 0
        var slots = [Slot](repeating: Slot(operation: .callKernelFunction, destination: 0, source: 0, offset: 0,
                                           immediate: Sentinel.secondSlotOfWideInstruction),
                           count: slotCount + 1)
        var indexOfSlot = [Int](repeating: -1, count: slotCount + 1)
        var bound: [Helper] = []
        var boundIndex: [Int32: Int] = [:]
        for (position, decoded) in instructions.enumerated() {
            indexOfSlot[decoded.index] = position
            var slot = Slot(operation: decoded.operation, destination: decoded.destination, source: decoded.source,
                            offset: Int32(decoded.offset), immediate: Int64(decoded.immediate))
            if let target = decoded.target { slot.offset = Int32(target) }
            switch decoded.operation {
            case .loadImm64:
                slot.immediate = Int64(bitPattern: decoded.wideImmediate)
            case .loadMapFD, .loadMapValue, .loadBTFID, .loadMapIndex, .loadMapIndexValue, .loadFunction:
                guard let resolve else {
                    throw .unboundReference(index: decoded.index,
                                            reference: Disassembler.text(of: decoded, syntax: .conformance))
                }
                slot.immediate = Int64(bitPattern: try resolve(decoded))
            case .callHelper:
                guard let helper = helpers[decoded.immediate] else {
                    throw .unknownHelper(index: decoded.index, id: decoded.immediate)
                }
                if let existing = boundIndex[helper.id] {
                    slot.immediate = Int64(existing)
                } else {
                    boundIndex[helper.id] = bound.count
                    slot.immediate = Int64(bound.count)
                    bound.append(helper)
                }
            case .callLocal:
                slot.immediate = Int64(decoded.target!)
            case .callKernelFunction:
                throw .unsupported(index: decoded.index, feature: "calling kernel function \(decoded.immediate) (kfunc)")
            default:
                break
            }
            slots[decoded.index] = slot
        }
        slots[slotCount] = Slot(operation: .callKernelFunction, destination: 0, source: 0, offset: 0,
                                immediate: Sentinel.fellOffEnd)
        self.boundHelpers = bound
        self.instructionIndexOfSlot = indexOfSlot
        self.code = SlotBuffer(slots)
    }

    /// Decodes and prepares raw slots in one step.
    public convenience init(slots: [Instruction], helpers: HelperRegistry = HelperRegistry(), name: String = "program",
                            resolve: ((DecodedInstruction) throws(LoadError) -> UInt64)? = nil) throws(LoadError) {
        let decoded: [DecodedInstruction]
        do {
            decoded = try ProgramDecoder.decode(slots)
        } catch {
            throw .invalidInstruction(error)
        }
        try self.init(decoded, helpers: helpers, name: name, resolve: resolve)
    }

    /// Number of 8-byte slots.
    public var slotCount: Int { code.count - 1 }

    /// The instruction at a slot, for messages.
    public func instruction(atSlot slot: Int) -> DecodedInstruction? {
        guard slot >= 0, slot < instructionIndexOfSlot.count else { return nil }
        let index = instructionIndexOfSlot[slot]
        return index >= 0 ? instructions[index] : nil
    }
}
