import BPFAssembler
import BPFInstructionSet
@testable import BPFRuntime
import Testing

/// Assembles `source`, runs it once over `memory` (r1 = base, r2 = length) and returns r0.
func run(_ source: String, memory: [UInt8] = [], mode: ExecutionMode = .checked,
         helpers: HelperRegistry = HelperRegistry()) throws -> UInt64 {
    try execute(source, memory: memory, mode: mode, helpers: helpers).returnValue
}

func execute(_ source: String, memory: [UInt8] = [], mode: ExecutionMode = .checked,
             helpers: HelperRegistry = HelperRegistry(), budget: UInt64 = 1_000_000) throws -> ExecutionResult {
    let program = try ExecutableProgram(slots: Assembler.assemble(source), helpers: helpers)
    let interpreter = Interpreter(program: program, mode: mode, instructionBudget: budget)
    var bytes = memory
    return try bytes.withUnsafeMutableBytes { buffer in try interpreter.run(memory: buffer) }
}

/// The error a run stops with, or nil when it reaches exit.
func fault(_ source: String, memory: [UInt8] = [], helpers: HelperRegistry = HelperRegistry(),
           budget: UInt64 = 1_000_000) throws -> ExecutionError? {
    do {
        _ = try execute(source, memory: memory, mode: .checked, helpers: helpers, budget: budget)
        return nil
    } catch let error as ExecutionError {
        return error
    }
}
