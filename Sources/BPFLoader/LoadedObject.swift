import BPFInstructionSet
import BPFJIT
import BPFMaps
import BPFObject
import BPFRuntime
import BPFVerifier

/// A program of a ``LoadedObject``: its description and its prepared code.
public final class LoadedProgram: Sendable {
    public let name: String
    public let type: ProgramType
    public let spec: ProgramSpec
    /// The prepared program; prog arrays hold these.
    public let executable: ExecutableProgram
    /// The instructions after relocation: map references as `lddw` with
    /// src 1 (map) or 2 (map value) and the map's index in ``LoadedObject/maps``.
    public let relocatedInstructions: [Instruction]
    /// The instructions BPFKit runs: ``relocatedInstructions`` with the verified
    /// 32-bit loads of packet-pointer context fields turned into 64-bit loads of
    /// the context's hidden pointer shadow (``ContextRewrite``). The same as
    /// ``relocatedInstructions`` for unverified programs.
    public let executableInstructions: [Instruction]
    /// True when packet-pointer loads were rewritten, so the program's frames need
    /// not lie below 4 GiB.
    let rewritesContext: Bool
    /// The verifier's verdict (always an acceptance: refused programs are not
    /// loaded); nil when the program was loaded without verification.
    public let verification: VerificationResult?
    /// The mode the program runs in: `.trusted` for a verified program unless
    /// ``LoadOptions/mode`` forces `.checked`; always `.checked` when unverified.
    public let mode: ExecutionMode
    /// The engine the program runs on: ``EngineChoice/interpreter`` or ``EngineChoice/jit``.
    public let engine: EngineChoice
    /// The program's machine code when ``engine`` is the JIT (shared by every run
    /// and thread, and found by tail calls through the executable).
    let native: JITProgram?

    init(spec: ProgramSpec, executable: ExecutableProgram, relocatedInstructions: [Instruction],
         executableInstructions: [Instruction], rewritesContext: Bool, verification: VerificationResult?, mode: ExecutionMode,
         native: JITProgram?) {
        self.name = spec.name
        self.type = spec.type
        self.spec = spec
        self.executable = executable
        self.relocatedInstructions = relocatedInstructions
        self.executableInstructions = executableInstructions
        self.rewritesContext = rewritesContext
        self.verification = verification
        self.mode = mode
        self.native = native
        self.engine = native == nil ? .interpreter : .jit
    }

    /// An engine for runs of this program: the shared machine code, or a new
    /// interpreter (one per thread: an interpreter owns its stack).
    func makeEngine(instructionBudget: UInt64) -> any ProgramEngine {
        native ?? Interpreter(program: executable, mode: mode, instructionBudget: instructionBudget)
    }
}

/// An object loaded for running ("describe first, load second"): every map
/// created from its ``MapSpec`` and filled, every relocation bound, every
/// chosen program verified (unless ``LoadOptions/verifies`` is false) and its
/// context accesses rewritten, helpers bound with Linux semantics, one
/// ``ExecutableProgram`` per program. Map
/// state carries over between runs. Runs may happen on several threads at once.
public final class LoadedObject: Sendable {
    public let spec: ObjectSpec
    public let options: LoadOptions
    /// The maps in the object's order (global-data maps by section name).
    public let maps: [(name: String, map: any BPFMap)]
    public let programs: [LoadedProgram]
    let handles: MapHandleTable
    private let mapIndex: [String: Int]
    private let programIndex: [String: Int]

    public init(spec: ObjectSpec, options: LoadOptions = LoadOptions()) throws(CollectionLoadError) {
        self.spec = spec
        self.options = options
        for name in options.readOnlyData.keys where spec.map(named: name)?.isReadOnly != true {
            throw .unknownMap(name: name, context: "readOnlyData")
        }
        for name in options.mapInitialEntries.keys where spec.map(named: name) == nil {
            throw .unknownMap(name: name, context: "mapInitialEntries")
        }

        // 1. Create every map; fill global data (.rodata with its override, then frozen).
        var created: [(name: String, map: any BPFMap)] = []
        for mapSpec in spec.maps {
            created.append((mapSpec.name, try Self.makeMap(mapSpec, readOnlyData: options.readOnlyData[mapSpec.name])))
        }
        maps = created
        var mapIndex: [String: Int] = [:]
        for (index, entry) in created.enumerated() { mapIndex[entry.name] = index }
        self.mapIndex = mapIndex
        let handles = MapHandleTable(maps: created)
        self.handles = handles

        // 2. Verify (unless told not to) and prepare the chosen programs against
        //    the maps and the helper registry.
        if let names = options.programNames {
            for name in names.sorted() where !spec.programs.contains(where: { $0.name == name }) {
                throw .unknownProgram(name: name)
            }
        }
        let registry = HelperLibrary.registry(handles: handles, ringBuffers: created.compactMap { $0.map as? RingBufferMap })
        // The verifier reads constant strings (formats) from read-only data as the programs
        // will see it: with the caller's overrides.
        var verifiedObject = spec
        for index in verifiedObject.maps.indices {
            if let bytes = options.readOnlyData[verifiedObject.maps[index].name] { verifiedObject.maps[index].initialData = bytes }
        }
        var loaded: [LoadedProgram] = []
        for programSpec in spec.programs where options.programNames?.contains(programSpec.name) ?? true {
            try Self.checkHelpers(programSpec, registry: registry)
            var verification: VerificationResult? = nil
            if options.verifies {
                let result = Verifier(options: options.verifierOptions)
                    .verify(VerifierInput(program: programSpec, object: verifiedObject))
                guard result.isAccepted else { throw .programRefused(program: programSpec.name, result: result) }
                verification = result
            }
            loaded.append(try Self.prepare(programSpec, maps: created, mapIndex: mapIndex, registry: registry,
                                           verification: verification, contexts: options.verifierOptions.contexts,
                                           mode: verification == nil ? .checked : options.mode,
                                           engine: options.engine.resolved(verified: verification != nil),
                                           instructionBudget: options.instructionBudget))
        }
        programs = loaded
        var programIndex: [String: Int] = [:]
        for (index, program) in loaded.enumerated() { programIndex[program.name] = index }
        self.programIndex = programIndex

        // 3. Static slots of prog arrays and maps of maps.
        for (position, mapSpec) in spec.maps.enumerated() where !mapSpec.initialValues.isEmpty {
            let map = created[position].map
            for (slot, value) in mapSpec.initialValues.sorted(by: { $0.key < $1.key }) {
                let object: any AnyObject & Sendable
                switch value {
                case .program(let name):
                    guard let index = programIndex[name] else {
                        // Described but not chosen by `programNames`: the slot stays empty.
                        if spec.programs.contains(where: { $0.name == name }) { continue }
                        throw .unknownSlotTarget(map: mapSpec.name, slot: slot, target: value.description)
                    }
                    object = loaded[index].executable
                case .map(let name):
                    guard let index = mapIndex[name] else {
                        throw .unknownSlotTarget(map: mapSpec.name, slot: slot, target: value.description)
                    }
                    object = created[index].map
                }
                do throws(MapError) {
                    if let array = map as? ObjectArrayMap {
                        try array.set(object, at: slot)
                    } else if let hash = map as? HashOfMapsMap, let inner = object as? any BPFMap {
                        try hash.set(inner, forKey: withUnsafeBytes(of: slot) { Array($0) })
                    } else {
                        throw .invalid(reason: "a \(map.definition.type.name) map has no static slots")
                    }
                } catch {
                    throw .invalidMapContent(map: mapSpec.name, reason: "slot \(slot) = \(value): \(error.description)")
                }
            }
        }

        // 4. Entries the host asked for, as user-space BPF_ANY updates.
        for (name, entries) in options.mapInitialEntries {
            let map = created[mapIndex[name]!].map
            for entry in entries {
                do throws(MapError) {
                    try map.update(key: entry.key, value: entry.value, flags: UpdateFlags.any)
                } catch {
                    throw .invalidMapContent(map: name, reason: "initial entry \(entry.key): \(error.description)")
                }
            }
        }
    }

    /// Reads and loads the object file at `path`.
    public convenience init(contentsOf path: String, options: LoadOptions = LoadOptions()) throws(CollectionLoadError) {
        let spec: ObjectSpec
        do {
            spec = try ObjectSpec(contentsOf: path)
        } catch {
            throw .invalidObject(path: path, reason: error.description)
        }
        try self.init(spec: spec, options: options)
    }

    /// The program whose function is named `name`.
    public func program(named name: String) -> LoadedProgram? {
        programIndex[name].map { programs[$0] }
    }

    /// The map named `name`; global-data maps by section name (`.data`, `.rodata`, `.bss`).
    public func map(named name: String) -> (any BPFMap)? {
        mapIndex[name].map { maps[$0].map }
    }

    // MARK: Loading steps

    static func definition(of spec: MapSpec) -> MapDefinition {
        MapDefinition(type: spec.type, keySize: spec.keySize, valueSize: spec.valueSize, maxEntries: spec.maxEntries,
                      flags: spec.flags, mapExtra: spec.mapExtra, innerMap: spec.innerMap.map(definition(of:)),
                      name: spec.name)
    }

    static func makeMap(_ spec: MapSpec, readOnlyData: [UInt8]?) throws(CollectionLoadError) -> any BPFMap {
        var definition = definition(of: spec)
        // libbpf: a perf event array without max_entries gets one slot per possible CPU.
        if spec.type == .perfEventArray && spec.maxEntries == 0 { definition.maxEntries = UInt32(PossibleCPUs.count) }
        // Frozen .rodata: user space may only read it (BPF_F_RDONLY) once loaded;
        // programs only read it (BPF_F_RDONLY_PROG, from the object).
        if spec.isReadOnly { definition.flags |= MapFlags.readOnly }
        let map: any BPFMap
        do throws(MapDefinitionError) {
            map = try MapFactory.make(definition)
        } catch {
            throw .invalidMap(map: spec.name, reason: "\(error.rule) (\(error.field))")
        }
        if var bytes = readOnlyData ?? spec.initialData {
            guard bytes.count == Int(spec.valueSize) else {
                throw .wrongDataSize(map: spec.name, expected: Int(spec.valueSize), given: bytes.count)
            }
            var key: UInt32 = 0
            // The program face writes before the freeze flags apply to user space.
            let code = bytes.withUnsafeMutableBytes { value in
                map.update(key: &key, value: value.baseAddress!, flags: UpdateFlags.any, cpu: 0)
            }
            if code != 0 {
                throw .invalidMapContent(map: spec.name, reason: "writing the section's \(bytes.count) bytes failed with errno \(-code)")
            }
        }
        return map
    }

    /// Refuses helpers BPFKit does not implement, with their Linux names (before
    /// verifying, so the reason is what BPFKit lacks rather than what the verifier lacks).
    static func checkHelpers(_ spec: ProgramSpec, registry: HelperRegistry) throws(CollectionLoadError) {
        let instructions = spec.instructions
        var slot = 0
        while slot < instructions.count {
            let instruction = instructions[slot]
            if instruction.opcode == 0x85 && instruction.source == 0 && registry[instruction.immediate] == nil {
                let id = instruction.immediate
                throw .unsupportedHelper(program: spec.name, instruction: slot, helper: LinuxHelper.name(of: id), id: id)
            }
            slot += instruction.opcode == 0x18 ? 2 : 1
        }
    }

    static func prepare(_ spec: ProgramSpec, maps: [(name: String, map: any BPFMap)], mapIndex: [String: Int],
                        registry: HelperRegistry, verification: VerificationResult?, contexts: any ContextCatalog,
                        mode: ExecutionMode, engine: EngineChoice, instructionBudget: UInt64) throws(CollectionLoadError) -> LoadedProgram {
        var instructions = spec.instructions
        for relocation in spec.relocations {
            let at = relocation.instructionIndex
            guard at + 1 < instructions.count, instructions[at].opcode == 0x18 else {
                throw .invalidProgram(program: spec.name, reason: "instruction \(at): relocation \(relocation.symbol) is not on an lddw")
            }
            switch relocation.target {
            case .map(let name):
                guard let index = mapIndex[name] else {
                    throw .unknownMapReference(program: spec.name, instruction: at, map: name, symbol: relocation.symbol)
                }
                instructions[at].source = 1  // BPF_PSEUDO_MAP_FD, imm = index in `maps`
                instructions[at].immediate = Int32(index)
                instructions[at + 1].immediate = 0
            case .mapValue(let name, let offset):
                guard let index = mapIndex[name] else {
                    throw .unknownMapReference(program: spec.name, instruction: at, map: name, symbol: relocation.symbol)
                }
                let definition = maps[index].map.definition
                guard definition.type == .array else {
                    throw .mapValueUnsupported(program: spec.name, instruction: at, map: name, type: definition.type)
                }
                guard offset < definition.valueSize else {
                    throw .mapValueOutOfRange(program: spec.name, instruction: at, map: name, offset: offset, valueSize: definition.valueSize)
                }
                instructions[at].source = 2  // BPF_PSEUDO_MAP_VALUE, imm = index, second imm = offset
                instructions[at].immediate = Int32(index)
                instructions[at + 1].immediate = Int32(bitPattern: offset)
            }
        }
        let resolve = { (decoded: DecodedInstruction) throws(LoadError) -> UInt64 in
            switch decoded.operation {
            case .loadMapFD:
                guard Int(decoded.immediate) < maps.count, decoded.immediate >= 0 else {
                    throw .unboundReference(index: decoded.index, reference: "map index \(decoded.immediate)")
                }
                return MapHandleTable.handle(of: maps[Int(decoded.immediate)].map)
            case .loadMapValue:
                guard Int(decoded.immediate) < maps.count, decoded.immediate >= 0,
                      let memory = maps[Int(decoded.immediate)].map.valueMemory else {
                    throw .unboundReference(index: decoded.index, reference: "map value of map index \(decoded.immediate)")
                }
                // Array value 0 starts the storage; `offset` < valueSize was checked above.
                return UInt64(UInt(bitPattern: memory.baseAddress)) + (decoded.wideImmediate >> 32)
            case .loadFunction:
                return UInt64(decoded.target ?? 0)
            default:
                throw .unboundReference(index: decoded.index, reference: "\(decoded.operation)")
            }
        }
        // Verified: rewrite packet-pointer context loads (the facts are per slot of
        // the same instructions, which relocation does not move).
        var executed = instructions
        var rewritesContext = false
        if let verified = verification?.program, verified.facts.count == instructions.count,
           ContextRewrite.applies(to: spec.type) {
            executed = ContextRewrite.rewrite(instructions, facts: verified.facts, programType: spec.type, contexts: contexts)
            rewritesContext = true
        }
        let executable: ExecutableProgram
        do throws(LoadError) {
            executable = try ExecutableProgram(slots: executed, helpers: registry, name: spec.name, resolve: resolve)
        } catch {
            throw .invalidProgram(program: spec.name, reason: error.description)
        }
        var native: JITProgram? = nil
        if engine == .jit {
            #if arch(x86_64)
            // The rewrite replaces one instruction by one, so the facts still describe `executed`.
            let compiler = JITCompiler(JITOptions(instructionBudget: instructionBudget))
            do throws(JITError) {
                native = try compiler.compile(executable, facts: verification?.program, mode: mode)
            } catch {
                throw .compilationFailed(program: spec.name, error: error)
            }
            #else
            throw .engineUnavailable(program: spec.name, engine: engine)
            #endif
        }
        return LoadedProgram(spec: spec, executable: executable, relocatedInstructions: instructions,
                             executableInstructions: executed, rewritesContext: rewritesContext,
                             verification: verification, mode: mode, native: native)
    }
}
