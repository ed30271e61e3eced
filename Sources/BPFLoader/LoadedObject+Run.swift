import BPFMaps
import BPFObject
import BPFRuntime

extension LoadedObject {
    /// Runs the program named `name` over one packet, with the context Linux's
    /// BPF_PROG_TEST_RUN builds for its type: `xdp_md` for XDP; `__sk_buff`
    /// from the Ethernet header for sched_cls/sched_act; `__sk_buff` after
    /// eth_type_trans (data at the network header) for socket_filter and cgroup_skb.
    public func run(program name: String, packet: [UInt8], context: PacketContext = PacketContext()) throws(CollectionRunError) -> PacketRunResult {
        guard let program = program(named: name) else { throw .unknownProgram(name: name) }
        let frame = try PacketFrame(programType: program.type, packet: packet, context: context, programName: name,
                                    rewritesContext: program.rewritesContext)
        var legacyPacket: UnsafeRawBufferPointer? = nil
        if case .socketBuffer = frame.kind { legacyPacket = frame.legacyPacket }
        let result = try execute(program, argument: frame.contextAddress, regions: frame.regions(),
                                 legacyPacket: legacyPacket, userInfo: frame)
        return PacketRunResult(returnValue: result.returnValue, packetAfter: frame.packetAfter(),
                               contextAfter: frame.contextAfter(), trace: result.trace, redirect: frame.redirect,
                               instructionsExecuted: result.instructionsExecuted)
    }

    /// Runs a program whose context is plain bytes the host supplies: `struct
    /// pt_regs` for kprobes, the tracepoint record for tracepoints, the `u64`
    /// argument array for raw tracepoints (read-only to the program), or any
    /// other type's context as given.
    public func run(program name: String, context bytes: [UInt8]) throws(CollectionRunError) -> RunResult {
        guard let program = program(named: name) else { throw .unknownProgram(name: name) }
        switch program.type {
        case .xdp, .schedCls, .schedAct, .socketFilter, .cgroupSkb:
            throw .wrongInput(program: name, type: program.type, expected: "a packet (use run(program:packet:))")
        default:
            break
        }
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 8), alignment: 16)
        defer { storage.deallocate() }
        // Safety: `storage` has room for `bytes` and lives until after the run.
        storage.initializeMemory(as: UInt8.self, repeating: 0)
        bytes.withUnsafeBytes { storage.baseAddress!.copyMemory(from: $0.baseAddress ?? UnsafeRawPointer(storage.baseAddress!), byteCount: bytes.count) }
        ContextSockets.clear(UnsafeMutableRawBufferPointer(start: storage.baseAddress, count: bytes.count), type: program.type,
                             contexts: options.verifierOptions.contexts)
        let region = MemoryRegion(UnsafeRawBufferPointer(start: storage.baseAddress, count: bytes.count), name: "context")
        let result = try execute(program, argument: UInt64(UInt(bitPattern: storage.baseAddress)),
                                 regions: bytes.isEmpty ? [] : [region], legacyPacket: nil, userInfo: HelperScratch())
        return RunResult(returnValue: result.returnValue, trace: result.trace, instructionsExecuted: result.instructionsExecuted)
    }

    private func execute(_ program: LoadedProgram, argument: UInt64, regions: [MemoryRegion],
                         legacyPacket: UnsafeRawBufferPointer?, userInfo: AnyObject?) throws(CollectionRunError) -> ExecutionResult {
        try execute(program, on: program.makeEngine(instructionBudget: options.instructionBudget),
                    argument: argument, regions: regions, legacyPacket: legacyPacket, userInfo: userInfo)
    }

    func execute(_ program: LoadedProgram, on engine: any ProgramEngine, argument: UInt64, regions: [MemoryRegion],
                 legacyPacket: UnsafeRawBufferPointer?, userInfo: AnyObject?) throws(CollectionRunError) -> ExecutionResult {
        let allRegions = program.mode == .checked ? regions + handles.regions : regions
        do throws(ExecutionError) {
            return try engine.run(arguments: HelperArguments(argument), regions: allRegions, packet: legacyPacket, userInfo: userInfo)
        } catch {
            throw .execution(program: program.name, error: error)
        }
    }
}

/// Runs one packet program over many packets, reusing one frame and one
/// engine: what a packet hook or a benchmark calls per packet. Map state is
/// the collection's, shared with every other runner. Not thread-safe: one runner
/// per thread.
public final class PacketRunner {
    public let collection: LoadedObject
    public let program: LoadedProgram
    private let frame: PacketFrame
    private let engine: any ProgramEngine

    /// A runner for packets of up to `capacity` bytes (XDP frames hold at most 3,520).
    public init(collection: LoadedObject, program name: String, capacity: Int = 9216) throws(CollectionRunError) {
        guard let program = collection.program(named: name) else { throw .unknownProgram(name: name) }
        self.collection = collection
        self.program = program
        frame = try PacketFrame(programType: program.type, capacity: capacity, programName: name,
                                rewritesContext: program.rewritesContext)
        engine = program.makeEngine(instructionBudget: collection.options.instructionBudget)
    }

    /// Runs the program over `packet`; the same result as `LoadedObject.run(program:packet:context:)`.
    public func run(packet: [UInt8], context: PacketContext = PacketContext()) throws(CollectionRunError) -> PacketRunResult {
        let result = try execute(packet: packet, context: context)
        return PacketRunResult(returnValue: result.returnValue, packetAfter: frame.packetAfter(),
                               contextAfter: frame.contextAfter(), trace: result.trace, redirect: frame.redirect,
                               instructionsExecuted: result.instructionsExecuted)
    }

    /// Runs the program over `packet` and returns only r0 and the instruction count.
    public func returnValue(forPacket packet: [UInt8], context: PacketContext = PacketContext())
        throws(CollectionRunError) -> (returnValue: UInt64, instructionsExecuted: UInt64) {
        let result = try execute(packet: packet, context: context)
        return (result.returnValue, result.instructionsExecuted)
    }

    private func execute(packet: [UInt8], context: PacketContext) throws(CollectionRunError) -> ExecutionResult {
        try frame.load(packet: packet, context: context, programName: program.name)
        var legacyPacket: UnsafeRawBufferPointer? = nil
        if case .socketBuffer = frame.kind { legacyPacket = frame.legacyPacket }
        // Trusted runs check nothing, so they need no regions.
        let regions = program.mode == .checked ? frame.regions() : []
        return try collection.execute(program, on: engine, argument: frame.contextAddress, regions: regions,
                                      legacyPacket: legacyPacket, userInfo: frame)
    }
}
