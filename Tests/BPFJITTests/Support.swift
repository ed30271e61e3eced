import BPFAssembler
import BPFInstructionSet
import BPFJIT
import BPFRuntime
import Testing

/// A program assembled from `source` and bound to `helpers`.
func executable(_ source: String, helpers: HelperRegistry = HelperRegistry(), name: String = "test") throws -> ExecutableProgram {
    try ExecutableProgram(slots: Assembler.assemble(source), helpers: helpers, name: name)
}

/// Runs `program` with r1/r2 pointing at a copy of `memory` (when given) on `engine`,
/// returning r0 or the error, and the memory afterwards.
func outcome(of engine: any ProgramEngine, memory: [UInt8]? = nil) -> (result: Result<UInt64, ExecutionError>, memory: [UInt8]) {
    var bytes = memory ?? []
    let result = bytes.withUnsafeMutableBytes { buffer in
        Result { () throws(ExecutionError) -> UInt64 in
            if memory == nil {
                return try engine.run(arguments: HelperArguments(), regions: [], packet: nil, userInfo: nil).returnValue
            }
            return try engine.run(memory: buffer).returnValue
        }
    }
    return (result, bytes)
}

/// r0 of `source` on the JIT in `mode` (and checks the interpreter agrees).
func jitRun(_ source: String, mode: ExecutionMode = .checked, helpers: HelperRegistry = HelperRegistry(),
            memory: [UInt8]? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws -> UInt64 {
    let program = try executable(source, helpers: helpers)
    let jit = try JITCompiler().compile(program, mode: mode)
    let native = outcome(of: jit, memory: memory)
    let interpreted = outcome(of: Interpreter(program: program, mode: mode), memory: memory)
    #expect(sameOutcome(native.result, interpreted.result), "JIT \(native.result) vs interpreter \(interpreted.result)",
            sourceLocation: sourceLocation)
    #expect(native.memory == interpreted.memory, sourceLocation: sourceLocation)
    return try native.result.get()
}

/// The error of `source` on the JIT in `mode`, nil if it ran to `exit`.
func jitFault(_ source: String, mode: ExecutionMode = .checked, helpers: HelperRegistry = HelperRegistry(),
              memory: [UInt8]? = nil) throws -> ExecutionError? {
    let program = try executable(source, helpers: helpers)
    let jit = try JITCompiler().compile(program, mode: mode)
    if case .failure(let error) = outcome(of: jit, memory: memory).result { return error }
    return nil
}

/// Equal results, or errors of the same kind at the same pc (addresses of the stack differ
/// between engines, since each has its own).
func sameOutcome(_ a: Result<UInt64, ExecutionError>, _ b: Result<UInt64, ExecutionError>) -> Bool {
    switch (a, b) {
    case (.success(let x), .success(let y)): return x == y
    case (.failure(let x), .failure(let y)): return sameError(x, y)
    default: return false
    }
}

func sameError(_ x: ExecutionError, _ y: ExecutionError) -> Bool {
    switch (x, y) {
    case (.memoryFault(let pc1, let text1, _, let size1, let write1, let reason1),
          .memoryFault(let pc2, let text2, _, let size2, let write2, let reason2)):
        return pc1 == pc2 && text1 == text2 && size1 == size2 && write1 == write2 && reason1 == reason2
    default:
        return x == y
    }
}

final class Counter: @unchecked Sendable { var value = 0 }
final class Box<T>: @unchecked Sendable { var value: T? }
