import BPFInstructionSet

/// Why a run stopped before `exit`. Every case names the instruction.
public enum ExecutionError: Error, Equatable, Sendable, CustomStringConvertible {
    case memoryFault(pc: Int, instruction: String, address: UInt64, size: Int, isWrite: Bool, reason: String)
    case instructionBudgetExhausted(pc: Int, budget: UInt64)
    case callDepthExceeded(pc: Int, instruction: String, limit: Int)
    case unknownHelper(pc: Int, instruction: String, id: UInt64)
    case helperFault(pc: Int, helper: String, message: String)
    case fellOffEnd(pc: Int)
    case noPacket(pc: Int, instruction: String)

    public var pc: Int {
        switch self {
        case .memoryFault(let pc, _, _, _, _, _), .instructionBudgetExhausted(let pc, _),
            .callDepthExceeded(let pc, _, _), .unknownHelper(let pc, _, _), .helperFault(let pc, _, _),
            .fellOffEnd(let pc), .noPacket(let pc, _):
            pc
        }
    }

    public var description: String {
        switch self {
        case .memoryFault(let pc, let instruction, let address, let size, let isWrite, let reason):
            "fault at pc \(pc) (\(instruction)): \(isWrite ? "write" : "read") of \(size) bytes at 0x\(hex(address)) \(reason)"
        case .instructionBudgetExhausted(let pc, let budget):
            "fault at pc \(pc): the program ran more than \(budget) instructions; it may loop forever (raise the budget if it should not)"
        case .callDepthExceeded(let pc, let instruction, let limit):
            "fault at pc \(pc) (\(instruction)): calls nest deeper than \(limit) frames"
        case .unknownHelper(let pc, let instruction, let id):
            "fault at pc \(pc) (\(instruction)): helper \(id) is not registered"
        case .helperFault(let pc, let helper, let message):
            "fault at pc \(pc) in helper \(helper): \(message)"
        case .fellOffEnd(let pc):
            "fault at pc \(pc): execution ran past the last instruction without exit"
        case .noPacket(let pc, let instruction):
            "fault at pc \(pc) (\(instruction)): legacy packet loads need a packet, and this run has none"
        }
    }
}

/// The outcome of a run that reached `exit`.
public struct ExecutionResult: Sendable, Equatable {
    /// r0 at the final exit.
    public var returnValue: UInt64
    public var instructionsExecuted: UInt64
    /// Lines written by trace helpers.
    public var trace: [String]

    public init(returnValue: UInt64, instructionsExecuted: UInt64, trace: [String]) {
        self.returnValue = returnValue
        self.instructionsExecuted = instructionsExecuted
        self.trace = trace
    }
}
