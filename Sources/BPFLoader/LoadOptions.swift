import BPFRuntime

/// How a ``LoadedObject`` is made from an object.
public struct LoadOptions: Sendable {
    /// Run mode of every program; checked (the default) until a verifier exists.
    public var mode: ExecutionMode
    /// New contents of read-only global data (`.rodata*`, by section name), applied
    /// before the map is frozen, as a libbpf skeleton sets `const volatile` config.
    public var readOnlyData: [String: [UInt8]]
    /// Entries written after the maps are created, as user-space BPF_ANY updates.
    public var mapInitialEntries: [String: [(key: [UInt8], value: [UInt8])]]
    /// Instruction budget of one run.
    public var instructionBudget: UInt64

    public init(mode: ExecutionMode = .checked, readOnlyData: [String: [UInt8]] = [:],
                mapInitialEntries: [String: [(key: [UInt8], value: [UInt8])]] = [:],
                instructionBudget: UInt64 = Interpreter.defaultInstructionBudget) {
        self.mode = mode
        self.readOnlyData = readOnlyData
        self.mapInitialEntries = mapInitialEntries
        self.instructionBudget = instructionBudget
    }
}
