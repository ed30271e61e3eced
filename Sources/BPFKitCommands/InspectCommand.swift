import ArgumentParser
import BPFKit
import Foundation

/// `bpfkit inspect FILE.o`: what an object holds, as the loader will see it.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "List an object's programs, maps, global data, relocations, license and debug info.",
        discussion: "Nothing is loaded or verified; see the README for the --json shape."
    )

    @Argument(help: "A BPF ELF object (.o); C sources are compiled first.")
    var file: String

    @Option(name: .customShort("I"), help: "Include directory for compiling C (repeatable).")
    var includeDirectories: [String] = []

    @Flag(help: "Print one JSON object on one line.")
    var json = false

    func run() throws {
        let spec: ObjectSpec
        do {
            if ObjectInput.kind(of: file) == .c {
                spec = try ObjectInput.load(path: file, type: nil, maps: [], includeDirectories: includeDirectories).spec
            } else {
                spec = try ObjectInput.describe(objectAt: file, shownAs: file)
            }
        } catch {
            if json {
                print(JSON.object([("error", .string(error.description))]).text)
            } else {
                standardError("error: \(error.description)")
            }
            throw ExitCode(2)
        }
        if json {
            print(Self.json(spec).text)
        } else {
            print(Self.text(spec))
        }
    }

    /// Helper names called by `instructions`, in order of first call (`#id` when unknown).
    static func helpers(_ instructions: [Instruction]) -> [String] {
        var names: [String] = []
        var slot = 0
        while slot < instructions.count {
            let instruction = instructions[slot]
            if instruction.opcode == 0x85 && instruction.source == 0 {
                let name = HelperTable.prototype(id: instruction.immediate).map(\.cName) ?? "#\(instruction.immediate)"
                if !names.contains(name) { names.append(name) }
            }
            slot += instruction.opcode == 0x18 ? 2 : 1
        }
        return names
    }

    static func kfuncCount(_ instructions: [Instruction]) -> Int {
        instructions.filter { $0.opcode == 0x85 && $0.source == 2 }.count
    }

    static func mapJSON(_ map: MapSpec) -> JSON {
        .object([
            ("name", .string(map.name)), ("type", .string(map.type.name)),
            ("keySize", .unsigned(UInt64(map.keySize))), ("valueSize", .unsigned(UInt64(map.valueSize))),
            ("maxEntries", .unsigned(UInt64(map.maxEntries))), ("flags", .unsigned(UInt64(map.flags))),
            ("innerMap", map.innerMap.map(mapJSON) ?? .null),
        ])
    }

    static func json(_ spec: ObjectSpec) -> JSON {
        let programs = spec.programs.map { program -> JSON in
            .object([
                ("name", .string(program.name)), ("section", .string(program.sectionName)),
                ("type", .string(program.type.name)),
                ("attachType", program.expectedAttachType.map { .string("\($0)") } ?? .null),
                ("attachTo", program.attachTo.map(JSON.string) ?? .null),
                ("instructions", .unsigned(UInt64(program.instructions.count))),
                ("helpers", .array(helpers(program.instructions).map(JSON.string))),
                ("subprograms", .array(program.subprograms.map { .string($0.name) })),
                ("relocations", .unsigned(UInt64(program.relocations.count))),
            ])
        }
        let globalData = spec.maps.filter(\.isGlobalData).map { map -> JSON in
            .object([("name", .string(map.name)), ("size", .unsigned(UInt64(map.valueSize))), ("readOnly", .bool(map.isReadOnly))])
        }
        return .object([
            ("file", .string(spec.name)),
            ("license", spec.license.map(JSON.string) ?? .null),
            ("kernelVersion", spec.kernelVersion.map { .unsigned(UInt64($0)) } ?? .null),
            ("btf", .bool(spec.btf != nil)),
            ("lineInfo", .bool(spec.programs.contains { !$0.lineInfo.isEmpty })),
            ("relocations", .unsigned(UInt64(spec.programs.reduce(0) { $0 + $1.relocations.count }))),
            ("programs", .array(programs)),
            ("maps", .array(spec.maps.filter { !$0.isGlobalData }.map(mapJSON))),
            ("globalData", .array(globalData)),
        ])
    }

    static func text(_ spec: ObjectSpec) -> String {
        var lines = ["\(spec.name)"]
        lines.append("  license: \(spec.license ?? "(none)")")
        if let version = spec.kernelVersion { lines.append("  kernel version: 0x\(String(version, radix: 16))") }
        let hasLines = spec.programs.contains { !$0.lineInfo.isEmpty }
        lines.append("  BTF: \(spec.btf != nil ? "yes" : "no"), line info: \(hasLines ? "yes" : "no")")
        lines.append("  relocations: \(spec.programs.reduce(0) { $0 + $1.relocations.count })")
        lines.append("  programs (\(spec.programs.count)):")
        for program in spec.programs {
            var line = "    \(program.name) [\(program.sectionName)] \(program.type.name)"
            if let attach = program.expectedAttachType { line += ", attach \(attach)" }
            if let target = program.attachTo { line += " to \(target)" }
            line += ", \(program.instructions.count) insns, \(program.relocations.count) relocations"
            lines.append(line)
            let used = helpers(program.instructions)
            if !used.isEmpty { lines.append("      helpers: " + used.joined(separator: ", ")) }
            if !program.subprograms.isEmpty { lines.append("      calls: " + program.subprograms.map(\.name).joined(separator: ", ")) }
        }
        let maps = spec.maps.filter { !$0.isGlobalData }
        lines.append("  maps (\(maps.count)):")
        for map in maps {
            var line = "    \(map.name): \(map.type.name), key \(map.keySize), value \(map.valueSize), max_entries \(map.maxEntries)"
            if map.flags != 0 { line += ", flags 0x\(String(map.flags, radix: 16))" }
            if let inner = map.innerMap { line += ", inner \(inner.type.name) (key \(inner.keySize), value \(inner.valueSize), max_entries \(inner.maxEntries))" }
            lines.append(line)
        }
        let data = spec.maps.filter(\.isGlobalData)
        if !data.isEmpty {
            lines.append("  global data:")
            for map in data { lines.append("    \(map.name): \(map.valueSize) bytes\(map.isReadOnly ? ", read-only" : "")") }
        }
        return lines.joined(separator: "\n")
    }
}
