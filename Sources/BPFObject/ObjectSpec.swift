import BPFInstructionSet
import Foundation

/// Describes a clang-compiled BPF ELF object: its programs, maps, license, kernel
/// version, BTF and line info. Nothing is created or loaded; a loader binds it later.
public struct ObjectSpec: Sendable, Equatable {
    /// The name used in errors and descriptions (usually the file path).
    public var name: String
    /// Programs in section order, then symbol order.
    public var programs: [ProgramSpec]
    /// Functions that are only called (`.text` functions when other programs exist).
    public var subprograms: [SubprogramSpec]
    /// Legacy `maps`, BTF `.maps`, then global-data maps, each in definition order.
    public var maps: [MapSpec]
    /// The `license` section's string, if present.
    public var license: String?
    /// The `version` section's value, if present.
    public var kernelVersion: UInt32?
    /// The parsed `.BTF` section, if present.
    public var btf: BTF?

    /// Reads and describes the object at `path`.
    public init(contentsOf path: String) throws(ObjectLoadError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "the file is not readable" : "no such file"
            throw .unreadableFile(path: path, reason: reason)
        }
        try self.init(bytes: [UInt8](data), name: path)
    }

    /// Describes the object held in `bytes`; `name` labels errors.
    public init(bytes: [UInt8], name: String) throws(ObjectLoadError) {
        var builder = try ObjectBuilder(elf: ELFFile(bytes: bytes, name: name))
        self = try builder.build()
    }

    init(name: String, programs: [ProgramSpec], subprograms: [SubprogramSpec], maps: [MapSpec],
         license: String?, kernelVersion: UInt32?, btf: BTF?) {
        self.name = name
        self.programs = programs
        self.subprograms = subprograms
        self.maps = maps
        self.license = license
        self.kernelVersion = kernelVersion
        self.btf = btf
    }

    /// The program whose function is named `name` (or, failing that, whose section is).
    public func program(named name: String) -> ProgramSpec? {
        programs.first { $0.name == name } ?? programs.first { $0.sectionName == name }
    }

    /// The programs defined in section `sectionName`.
    public func programs(inSection sectionName: String) -> [ProgramSpec] {
        programs.filter { $0.sectionName == sectionName }
    }

    /// The map named `name`.
    public func map(named name: String) -> MapSpec? {
        maps.first { $0.name == name }
    }
}

extension ObjectSpec: CustomStringConvertible {
    /// A multi-line summary: license, version, maps, programs with their relocations.
    public var description: String {
        var lines = ["object \(name)"]
        if let license { lines.append("  license: \(license)") }
        if let kernelVersion { lines.append("  kernel version: 0x\(String(kernelVersion, radix: 16))") }
        if let btf { lines.append("  BTF: \(btf.types.count) types") }
        lines.append("  maps (\(maps.count)):")
        for map in maps { lines.append("    \(map.description)") }
        lines.append("  programs (\(programs.count)):")
        for program in programs {
            var line = "    \(program.name) [\(program.sectionName)] type \(program.type.name)"
            if let attach = program.expectedAttachType { line += " attach \(attach)" }
            if let target = program.attachTo { line += " to \(target)" }
            line += ", \(program.instructions.count) insns"
            if !program.subprograms.isEmpty {
                line += " (calls \(program.subprograms.map(\.name).joined(separator: ", ")))"
            }
            lines.append(line)
            for relocation in program.relocations {
                switch relocation.target {
                case let .map(map):
                    lines.append("      insn \(relocation.instructionIndex): map \(map)")
                case let .mapValue(map, offset):
                    lines.append("      insn \(relocation.instructionIndex): \(map)+\(offset) (\(relocation.symbol))")
                }
            }
        }
        if !subprograms.isEmpty {
            lines.append("  subprograms: " + subprograms.map { "\($0.name) [\($0.sectionName)] \($0.instructionCount) insns" }.joined(separator: ", "))
        }
        return lines.joined(separator: "\n")
    }
}
