import BPFInstructionSet
import BPFObject

/// Why an object could not be loaded into the kernel: the map or program it was
/// at, and what the kernel said (with the verifier log for programs).
public struct KernelLoadError: Error, Sendable, CustomStringConvertible {
    public var place: String
    public var underlying: BPFSystemError

    public var description: String { "\(place): \(underlying)" }

    /// One line: the place, the failed call and the verifier's last words.
    public var summary: String {
        let lines = (underlying.log ?? "").split(separator: "\n").map(String.init)
            .filter { !$0.isEmpty && !$0.hasPrefix("processed ") && !$0.hasPrefix("verification time") && !$0.hasPrefix("stack depth") }
        let reason = lines.last.map { ": \($0)" } ?? ""
        return "\(place): \(underlying.command.name) failed: \(underlying.errnoName)\(reason)"
    }
}

/// An `ObjectSpec` loaded into the running kernel, as libbpf would load it:
/// every map created (global data filled with its section), every `lddw` map
/// reference bound to the map's descriptor. Programs are loaded on demand, since
/// one refused program must not hide the others. The kernel is BPFKit's
/// reference: tests and benchmarks compare against what it decides and computes.
public final class KernelCollection {
    public let spec: ObjectSpec
    public let maps: [String: KernelMap]
    private var loaded: [String: KernelProgram] = [:]

    /// Creates the maps. `rodata` replaces the initial contents of `.rodata`
    /// (a skeleton's `const volatile` configuration).
    public init(spec: ObjectSpec, rodata: [UInt8]? = nil) throws(KernelLoadError) {
        self.spec = spec
        var maps: [String: KernelMap] = [:]
        for mapSpec in spec.maps {
            maps[mapSpec.name] = try Self.create(mapSpec)
            if let data = (mapSpec.name == ".rodata" ? rodata : nil) ?? mapSpec.initialData, !data.isEmpty {
                do {
                    try maps[mapSpec.name]!.update(key: [0, 0, 0, 0], value: data)
                } catch {
                    throw KernelLoadError(place: "map \(mapSpec.name)", underlying: error)
                }
            }
        }
        self.maps = maps
    }

    private static func create(_ spec: MapSpec) throws(KernelLoadError) -> KernelMap {
        do {
            let inner = try spec.innerMap.map { inner throws(KernelLoadError) in try create(inner) }
            return try KernelMap(type: spec.type.rawValue, keySize: Int(spec.keySize), valueSize: Int(spec.valueSize),
                                 maxEntries: Int(spec.maxEntries), flags: spec.flags, innerMap: inner,
                                 mapExtra: spec.mapExtra, name: spec.name)
        } catch let error as KernelLoadError {
            throw error
        } catch let error as BPFSystemError {
            throw KernelLoadError(place: "map \(spec.name)", underlying: error)
        } catch {
            preconditionFailure("unexpected error \(error)")
        }
    }

    /// The program's instructions with every map reference bound to a descriptor.
    public func relocatedInstructions(of program: ProgramSpec) throws(KernelLoadError) -> [Instruction] {
        var instructions = program.instructions
        for relocation in program.relocations {
            let index = relocation.instructionIndex
            func missing(_ what: String) -> KernelLoadError {
                KernelLoadError(place: "program \(program.name), instruction \(index): \(what)",
                                underlying: BPFSystemError(command: .programLoad, errno: 22))  // EINVAL
            }
            guard index + 1 < instructions.count else { throw missing("the relocated lddw runs past the program") }
            switch relocation.target {
            case .map(let name):
                guard let map = maps[name] else { throw missing("map '\(name)' does not exist") }
                instructions[index].source = 1  // BPF_PSEUDO_MAP_FD
                instructions[index].immediate = map.descriptor.rawValue
                instructions[index + 1].immediate = 0
            case .mapValue(let name, let offset):
                guard let map = maps[name] else { throw missing("map '\(name)' does not exist") }
                instructions[index].source = 2  // BPF_PSEUDO_MAP_VALUE
                instructions[index].immediate = map.descriptor.rawValue
                instructions[index + 1].immediate = Int32(bitPattern: offset)
            }
        }
        return instructions
    }

    /// Loads (once) the program called `name`. The first attempt asks for no log.
    /// A refused program is loaded again with a 64 MiB log: Linux 6.18 refuses some
    /// programs with EFAULT when no log is attached and accepts them with one, and
    /// a long log that overflows its buffer fails an accepted program with ENOSPC.
    /// The error carries the log's end, where the reason is.
    public func program(named name: String) throws(KernelLoadError) -> KernelProgram {
        if let program = loaded[name] { return program }
        guard let spec = spec.program(named: name) else {
            throw KernelLoadError(place: "program \(name)", underlying: BPFSystemError(command: .programLoad, errno: 2))
        }
        let instructions = try relocatedInstructions(of: spec).map(\.rawValue)
        func load(logLevel: UInt32) throws(BPFSystemError) -> KernelProgram {
            try BPFSyscall.loadProgram(
                type: spec.type.rawValue, instructions: instructions,
                license: spec.license.isEmpty ? "GPL" : spec.license, logLevel: logLevel, logSize: 64 << 20,
                expectedAttachType: spec.expectedAttachType?.rawValue ?? 0, name: spec.name)
        }
        do {
            let program = try load(logLevel: 0)
            loaded[name] = program
            return program
        } catch {
            do {
                let program = try load(logLevel: 1)
                loaded[name] = program
                return program
            } catch let withLog {
                throw KernelLoadError(place: "program \(name)", underlying: withLog)
            }
        }
    }
}
