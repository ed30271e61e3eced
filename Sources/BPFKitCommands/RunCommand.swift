import ArgumentParser
import BPFKit
import Foundation

/// `bpfkit run FILE`: runs a program — a bare instruction list over memory (the
/// conformance suite's model), or a program of an object with its maps, over
/// packets or a context as Linux's BPF_PROG_TEST_RUN would.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a program (C, object, assembly, raw instructions or .data) and print the result.",
        discussion: """
            Without --type, --program, --data-hex, --pcap, --ctx-hex, --maps, --maps-init, --repeat \
            or --no-verify, a .data, .s/.asm or .bin file runs once over the memory given with \
            --mem-hex or --mem (r1 = memory, r2 = its length) in checked mode, and prints r0; with \
            --json: {"accepted": true, "error": null, "r0": "0x…", "instructionsExecuted": N}.

            Otherwise the program is loaded as Linux loads it: C is compiled with clang and \
            BPFKit's headers, objects keep their maps and sections, assembly gets the maps of \
            --maps and the type of --type. The verifier checks it (unless --no-verify); it runs \
            once per packet (--data-hex, repeatable, then the packets of --pcap) with the context \
            test_run builds, or once over --ctx-hex for non-packet types. Map state carries over \
            from packet to packet. Printed: the return value (the action by name), trace lines, \
            and every map's contents. See the README for the --json shape.
            """
    )

    @Argument(help: "The program: C (.c), an object (.o), assembly (.s, .asm), raw instructions (.bin) or a conformance .data file.")
    var file: String

    @Option(name: .customLong("mem-hex"), help: "Memory for a bare program, as hex bytes.")
    var memoryHex: String?

    @Option(name: .customLong("mem"), help: "Memory for a bare program, read from a file.")
    var memoryPath: String?

    @Option(help: "Stop the program after this many instructions.")
    var budget: UInt64 = Interpreter.defaultInstructionBudget

    @Option(help: "The program of an object to run, by function name (default: the first).")
    var program: String?

    @Option(help: "Program type of assembly or raw instructions: xdp, sched_cls, socket_filter, cgroup_skb, kprobe, tracepoint, raw_tracepoint, ...")
    var type: String?

    @Option(name: .customLong("data-hex"), help: "A packet, as hex bytes (repeat for several packets).")
    var packets: [String] = []

    @Option(help: "Packets from a pcap or pcapng file (after any --data-hex packets).")
    var pcap: String?

    @Option(name: .customLong("ctx-hex"), help: "The context bytes of a non-packet program (kprobe's pt_regs, a tracepoint record, ...).")
    var contextHex: String?

    @Option(help: "Assembly maps: a JSON list of map descriptions, bound to map:0, map:1, ...")
    var maps: String?

    @Option(name: .customLong("maps-init"), help: "Entries to write into an object's maps after load: JSON {\"name\": [{\"key\": hex, \"value\": hex}]}.")
    var mapsInit: String?

    @Option(name: .customLong("repeat"), help: "Run each packet this many times, reporting the last run.")
    var repetitions: Int = 1

    @Option(name: .customShort("I"), help: "Include directory for compiling C (repeatable).")
    var includeDirectories: [String] = []

    @Option(help: "The engine: automatic (the JIT for verified programs on x86-64, else the interpreter), interpreter or jit.")
    var engine: EngineChoice = .automatic

    @Flag(name: .customLong("no-verify"), help: "Do not verify; run in checked mode (every memory access checked).")
    var noVerify = false

    @Flag(help: "Print one JSON object on one line.")
    var json = false

    func validate() throws {
        if memoryHex != nil && memoryPath != nil {
            throw ValidationError("give the memory either with --mem-hex or with --mem, not both")
        }
        if repetitions < 1 { throw ValidationError("--repeat must be at least 1") }
        if let type, ProgramType.parse(type) == nil {
            throw ValidationError("unknown program type '\(type)' (try xdp, sched_cls, socket_filter, cgroup_skb, kprobe, tracepoint, raw_tracepoint)")
        }
        if !isBare && (memoryHex != nil || memoryPath != nil) {
            throw ValidationError("--mem-hex and --mem are for bare programs; give packets with --data-hex or --pcap, a context with --ctx-hex")
        }
    }

    /// Today's behaviour: a bare instruction list over memory, no loader.
    private var isBare: Bool {
        ObjectInput.kind(of: file) == .instructions && program == nil && type == nil && packets.isEmpty && pcap == nil
            && contextHex == nil && maps == nil && mapsInit == nil && repetitions == 1 && !noVerify
    }

    func run() throws {
        if isBare { try runBare() } else { try runLoaded() }
    }

    // MARK: Bare programs

    private func runBare() throws {
        let program: ExecutableProgram
        var memory: [UInt8]
        do {
            let input = try ProgramInput.load(path: file)
            if let memoryHex {
                memory = try ProgramInput.parseHex(memoryHex)
            } else if let memoryPath {
                memory = try ProgramInput.readFile(memoryPath)
            } else {
                memory = input.memory ?? []
            }
            do {
                program = try ExecutableProgram(slots: input.instructions, helpers: ConformanceRunner.helpers,
                                                name: input.name)
            } catch {
                throw ProgramInput.Failure(description: "\(file): \(error.description)")
            }
        } catch {
            report(.object([("accepted", .bool(false)), ("error", .string("\(error)"))]),
                   plain: "error: \(error)")
            throw ExitCode(2)
        }

        // Bare programs are not verified: checked mode, on the interpreter unless --engine jit.
        let runner: any ProgramEngine
        if engine == .jit {
            do throws(JITError) {
                runner = try JITCompiler(JITOptions(instructionBudget: budget)).compile(program, mode: .checked)
            } catch {
                report(.object([("accepted", .bool(false)), ("error", .string("\(file): \(error)"))]),
                       plain: "error: \(file): \(error)")
                throw ExitCode(2)
            }
        } else {
            runner = Interpreter(program: program, mode: .checked, instructionBudget: budget)
        }
        let result = memory.withUnsafeMutableBytes { buffer in
            Result { () throws(ExecutionError) -> ExecutionResult in try runner.run(memory: buffer) }
        }
        switch result {
        case .success(let outcome):
            let r0 = "0x" + hex(outcome.returnValue, width: 16)
            report(.object([("accepted", .bool(true)), ("error", .null), ("r0", .string(r0)),
                            ("instructionsExecuted", .unsigned(outcome.instructionsExecuted))]),
                   plain: r0)
        case .failure(let error):
            report(.object([("accepted", .bool(true)), ("error", .string("\(error)")), ("r0", .null)]),
                   plain: "error: \(error)")
            throw ExitCode(1)
        }
    }

    private func report(_ value: JSON, plain: String) {
        if json {
            print(value.text)
        } else if plain.hasPrefix("error: ") {
            standardError(plain)
        } else {
            print(plain)
        }
    }

    // MARK: Loaded programs

    /// One packet's (or the context's) outcome: the last of its repetitions.
    private struct Outcome {
        var returnValue: UInt64
        var packetAfter: [UInt8]?
        var trace: [String]
        var instructionsExecuted: UInt64
    }

    private func refuse(_ message: String, explanation: String? = nil) throws -> Never {
        if json {
            print(JSON.object([("accepted", .bool(false)), ("error", .string(message))]).text)
        } else {
            standardError("error: " + (explanation ?? message))
        }
        throw ExitCode(2)
    }

    private func runLoaded() throws {
        // 1. Describe, load and verify.
        let loaded: LoadedObject
        let entry: LoadedProgram
        var inputs: [[UInt8]] = []
        do {
            let programType = type.flatMap(ProgramType.parse)
            var mapSpecs: [MapSpec] = []
            var initial: [String: [MapEntry]] = [:]
            if let maps {
                guard ObjectInput.kind(of: file) == .instructions else {
                    throw ProgramInput.Failure(description: "--maps describes maps for assembly or raw instructions; an object's maps come from the object (use --maps-init to fill them)")
                }
                (mapSpecs, initial) = try MapFiles.readSpecs(path: maps)
            }
            let input = try ObjectInput.load(path: file, type: programType, maps: mapSpecs, includeDirectories: includeDirectories)
            if let mapsInit {
                for (name, entries) in try MapFiles.readInitialEntries(path: mapsInit) {
                    initial[name, default: []] += entries
                }
            }
            let chosen = try input.program(named: program)
            var options = try loadOptions(spec: input.spec, initial: initial)
            options.instructionBudget = budget
            do {
                loaded = try LoadedObject(spec: input.spec, options: options)
            } catch {
                try handleLoadError(error, input: input)
            }
            guard let found = loaded.program(named: chosen.name) else {
                throw ProgramInput.Failure(description: "\(file): program \(chosen.name) was not loaded")
            }
            entry = found
            for (index, text) in packets.enumerated() {
                inputs.append(try ProgramInput.parseHex(text, option: packets.count > 1 ? "--data-hex #\(index + 1)" : "--data-hex"))
            }
            if let pcap {
                do {
                    inputs += try CaptureFile(contentsOf: pcap).packets.map(\.ethernetFrame)
                } catch {
                    throw ProgramInput.Failure(description: error.description)
                }
            }
        } catch let error as ProgramInput.Failure {
            try refuse(error.description)
        }

        // 2. Run.
        var outcomes: [Outcome] = []
        var failure: String? = nil
        do {
            if entry.type.takesPacket {
                guard contextHex == nil else {
                    throw ProgramInput.Failure(description: "--ctx-hex: \(entry.type.name) programs take packets (--data-hex, --pcap)")
                }
                guard !inputs.isEmpty else {
                    throw ProgramInput.Failure(description: "\(entry.name) is a \(entry.type.name) program: give packets with --data-hex or --pcap")
                }
                let runner = try PacketRunner(collection: loaded, program: entry.name,
                                              capacity: max(9216, inputs.map(\.count).max() ?? 0))
                for packet in inputs {
                    var trace: [String] = []
                    var last: PacketRunResult? = nil
                    for _ in 0..<repetitions {
                        let result = try runner.run(packet: packet)
                        trace += result.trace
                        last = result
                    }
                    outcomes.append(Outcome(returnValue: last!.returnValue, packetAfter: last!.packetAfter, trace: trace,
                                            instructionsExecuted: last!.instructionsExecuted))
                }
            } else {
                guard inputs.isEmpty else {
                    throw ProgramInput.Failure(description: "\(entry.name) is a \(entry.type.name) program and takes a context (--ctx-hex), not packets")
                }
                let context = try contextHex.map { text throws(ProgramInput.Failure) in try ProgramInput.parseHex(text, option: "--ctx-hex") }
                    ?? [UInt8](repeating: 0, count: ContextLayout.for(entry.type)?.size ?? 0)
                var trace: [String] = []
                var last: RunResult? = nil
                for _ in 0..<repetitions {
                    let result = try loaded.run(program: entry.name, context: context)
                    trace += result.trace
                    last = result
                }
                outcomes.append(Outcome(returnValue: last!.returnValue, packetAfter: nil, trace: trace,
                                        instructionsExecuted: last!.instructionsExecuted))
            }
        } catch let error as ProgramInput.Failure {
            try refuse(error.description)
        } catch {
            failure = "\(error)"
        }

        // 3. Report, maps last (reading ring buffers and queues consumes them).
        let maps = dumpMaps(loaded)
        if json {
            var members: [(String, JSON)] = [("accepted", .bool(true)), ("error", failure.map(JSON.string) ?? .null)]
            if failure == nil, let last = outcomes.last {
                members.append(("r0", .string("0x" + hex(last.returnValue, width: 16))))
            } else {
                members.append(("r0", .null))
            }
            // The trusted JIT counts nothing (as Linux's JIT): null rather than a false 0.
            let counts = !(entry.engine == .jit && entry.mode == .trusted)
            members.append(("instructionsExecuted", counts ? .unsigned(outcomes.reduce(0) { $0 + $1.instructionsExecuted }) : .null))
            members.append(("results", .array(outcomes.map { outcome in
                var result: [(String, JSON)] = [("retval", .unsigned(UInt64(UInt32(truncatingIfNeeded: outcome.returnValue)))),
                                                ("action", action(outcome.returnValue, entry.type).map(JSON.string) ?? .null)]
                if let after = outcome.packetAfter { result.append(("data_out_hex", .string(MapDump.hex(after)))) }
                result.append(("trace", .array(outcome.trace.map(JSON.string))))
                return .object(result)
            })))
            if outcomes.count == 1, inputs.count == 1, let after = outcomes[0].packetAfter {
                members.append(("data_out_hex", .string(MapDump.hex(after))))
            }
            members.append(("maps", .object(maps.map { ($0.name, $0.entries.map(MapDump.json) ?? .string("cannot read: \($0.error!)")) })))
            print(JSON.object(members).text)
        } else {
            for (index, outcome) in outcomes.enumerated() {
                let r0 = "0x" + hex(outcome.returnValue, width: 16)
                var line = outcomes.count > 1 || entry.type.takesPacket ? "packet \(index): " : ""
                if let name = action(outcome.returnValue, entry.type) { line += "\(name) (r0 = \(r0))" } else { line += r0 }
                print(line)
                for text in outcome.trace { print("  trace: \(text)") }
                if let after = outcome.packetAfter, index < inputs.count, after != inputs[index] {
                    print("  data_out: \(MapDump.hex(after))")
                }
            }
            for map in maps {
                let definition = loaded.map(named: map.name)?.definition
                print("map \(map.name) (\(definition?.type.name ?? "?")):")
                if let entries = map.entries {
                    for line in MapDump.lines(entries) { print(line) }
                } else {
                    print("  cannot read: \(map.error!)")
                }
            }
            if let failure { standardError("error: \(failure)") }
        }
        if failure != nil { throw ExitCode(1) }
    }

    private func action(_ returnValue: UInt64, _ type: ProgramType) -> String? {
        ReturnValueNames.name(of: Int64(Int32(truncatingIfNeeded: returnValue)), for: type)
    }

    private func dumpMaps(_ loaded: LoadedObject) -> [(name: String, entries: [MapDump.Entry]?, error: String?)] {
        var names: [ObjectIdentifier: String] = [:]
        for program in loaded.programs { names[ObjectIdentifier(program.executable)] = program.name }
        for map in loaded.maps { names[ObjectIdentifier(map.map)] = map.name }
        return loaded.maps.map { map in
            switch MapDump.entries(of: map.map, names: names) {
            case .success(let entries): (map.name, entries, nil)
            case .failure(let error): (map.name, nil, error.description)
            }
        }
    }

    /// Load options: --maps-init/--maps entries (.rodata ones before the freeze), verification.
    private func loadOptions(spec: ObjectSpec, initial: [String: [MapEntry]]) throws(ProgramInput.Failure) -> LoadOptions {
        var readOnly: [String: [UInt8]] = [:]
        var entries: [String: [(key: [UInt8], value: [UInt8])]] = [:]
        for (name, list) in initial.sorted(by: { $0.key < $1.key }) {
            guard let map = spec.map(named: name) else {
                throw ProgramInput.Failure(description: "--maps-init: \(spec.name) has no map named \(name) (maps: \(spec.maps.map(\.name).joined(separator: ", ")))")
            }
            let definition = MapDefinition(type: map.type, keySize: map.keySize, valueSize: map.valueSize,
                                           maxEntries: map.maxEntries, flags: map.flags, name: map.name)
            if map.isReadOnly {
                guard list.count == 1, list[0].key == [0, 0, 0, 0] else {
                    throw ProgramInput.Failure(description: "--maps-init: \(name) is global data: give one entry with key 00000000 and the whole section as value")
                }
                readOnly[name] = try MapFiles.userValue(list[0], definition: definition, map: name)
            } else {
                for entry in list {
                    entries[name, default: []].append((entry.key, try MapFiles.userValue(entry, definition: definition, map: name)))
                }
            }
        }
        return LoadOptions.forCommand(verifies: !noVerify, engine: engine, readOnlyData: readOnly, mapInitialEntries: entries)
    }

    private func handleLoadError(_ error: CollectionLoadError, input: ObjectInput) throws -> Never {
        if let refusal = RefusalReport(error, file: file, lineOfSlot: input.lineOfSlot) {
            try refuse(refusal.message, explanation: refusal.explanation)
        }
        try refuse(error.description)
    }
}

func standardError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

extension ProgramType {
    /// Types whose context Linux's test_run builds around a packet.
    var takesPacket: Bool {
        switch self {
        case .xdp, .schedCls, .schedAct, .socketFilter, .cgroupSkb: true
        default: false
        }
    }
}
