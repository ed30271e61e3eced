import BPFKit
import Foundation

/// A program file as the loader-based commands (`run`, `verify`, `inspect`) see it:
/// an object described by BPFObject, whatever the file held — C source (compiled
/// with BPFKit's headers), an ELF object, or assembly/raw instructions made into a
/// one-program object with the maps of a `--maps` file.
struct ObjectInput {
    enum Kind: Equatable { case c, object, instructions }

    var spec: ObjectSpec
    var kind: Kind
    /// Assembly only: the source line of every slot, for refusals.
    var lineOfSlot: [Int]?

    /// The kind of `path`, from its extension.
    static func kind(of path: String) -> Kind? {
        switch (path as NSString).pathExtension.lowercased() {
        case "c": .c
        case "o": .object
        case "s", "asm", "bin", "data": .instructions
        default: startsLikeELF(path) ? .object : nil
        }
    }

    /// True when the file begins with ELF's magic bytes (objects named without `.o`).
    static func startsLikeELF(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: 4)) == Data([0x7f, 0x45, 0x4c, 0x46])
    }

    /// Reads `path`; `type` and `maps` apply to assembly and raw instructions only.
    static func load(path: String, type: ProgramType?, maps: [MapSpec], includeDirectories: [String] = [])
        throws(ProgramInput.Failure) -> ObjectInput {
        guard let kind = kind(of: path) else {
            throw ProgramInput.Failure(description: "\(path): unknown kind of file; expected .c, .o (or any ELF object), .s, .asm, .bin or .data")
        }
        switch kind {
        case .c:
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("bpfkit-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: scratch) }
            let output = scratch.appendingPathComponent(((path as NSString).lastPathComponent as NSString).deletingPathExtension + ".o").path
            do {
                try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
            } catch {
                throw ProgramInput.Failure(description: "cannot create \(scratch.path): \(error.localizedDescription)")
            }
            try compileC(source: path, output: output, includeDirectories: includeDirectories)
            return ObjectInput(spec: overriding(try describe(objectAt: output, shownAs: path), type: type), kind: .c, lineOfSlot: nil)
        case .object:
            return ObjectInput(spec: overriding(try describe(objectAt: path, shownAs: path), type: type), kind: .object, lineOfSlot: nil)
        case .instructions:
            guard let type else {
                throw ProgramInput.Failure(description: "\(path): give the program type with --type (xdp, sched_cls, socket_filter, kprobe, ...)")
            }
            var lines: [Int]? = nil
            let instructions: [Instruction]
            let ext = (path as NSString).pathExtension.lowercased()
            if ext == "s" || ext == "asm" {
                let bytes = try ProgramInput.readFile(path)
                guard let text = String(bytes: bytes, encoding: .utf8) else { throw ProgramInput.Failure(description: "\(path): not UTF-8 text") }
                do {
                    let assembled = try Assembler.assembleProgram(text)
                    instructions = assembled.instructions
                    lines = assembled.lineOfSlot
                } catch {
                    throw ProgramInput.Failure(description: error.located(in: path))
                }
            } else {
                instructions = try ProgramInput.load(path: path).instructions
            }
            let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
            switch ObjectSpec.single(name: name, type: type, instructions: instructions, maps: maps) {
            case .success(let spec): return ObjectInput(spec: spec, kind: .instructions, lineOfSlot: lines)
            case .failure(let error):
                let line = lines.flatMap { error.instruction < $0.count ? ":\($0[error.instruction])" : nil } ?? ""
                throw ProgramInput.Failure(description: "\(path)\(line): \(error.description)")
            }
        }
    }

    /// `--type` given for an object: every program gets that type instead of its section's
    /// (for sections libbpf does not know, or to run a program as another type).
    private static func overriding(_ spec: ObjectSpec, type: ProgramType?) -> ObjectSpec {
        guard let type else { return spec }
        var spec = spec
        for index in spec.programs.indices { spec.programs[index].type = type }
        return spec
    }

    static func describe(objectAt path: String, shownAs name: String) throws(ProgramInput.Failure) -> ObjectSpec {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ProgramInput.Failure(description: "\(name): no such file or not readable")
        }
        do {
            return try ObjectSpec(bytes: [UInt8](data), name: name)
        } catch {
            throw ProgramInput.Failure(description: error.description)
        }
    }

    /// Compiles C to a BPF object with clang and BPFKit's libbpf-compatible headers.
    static func compileC(source: String, output: String, includeDirectories: [String]) throws(ProgramInput.Failure) {
        guard FileManager.default.fileExists(atPath: source) else {
            throw ProgramInput.Failure(description: "\(source): no such file")
        }
        do {
            let clang = try Clang.locate()
            try clang.compileBPF(source: source, output: output,
                                 includeDirectories: includeDirectories + [try headerDirectory()])
        } catch let error as ToolchainError {
            throw ProgramInput.Failure(description: error.description)
        } catch {
            throw ProgramInput.Failure(description: "\(error)")
        }
    }

    /// BPFKit's headers (`bpf/bpf_helpers.h`, ...) in a temporary folder named after their
    /// contents, so every `bpfkit` process of this version shares one copy. A new copy is
    /// written beside it and renamed into place, so concurrent processes never see half a folder.
    static func headerDirectory() throws(ProgramInput.Failure) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a over every path and text
        for file in CHeaders.files {
            for byte in file.path.utf8 + [0] + file.contents.utf8 + [0] { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        }
        let temporary = FileManager.default.temporaryDirectory
        let directory = temporary.appendingPathComponent("bpfkit-headers-\(String(hash, radix: 16))").path
        if FileManager.default.fileExists(atPath: directory + "/bpf/bpf_helpers.h") { return directory }
        let fresh = temporary.appendingPathComponent("bpfkit-headers-\(UUID().uuidString)").path
        do {
            try CHeaders.write(to: fresh)
        } catch {
            throw ProgramInput.Failure(description: "cannot write BPFKit's headers to \(fresh): \(error.localizedDescription)")
        }
        if rename(fresh, directory) != 0 {
            // Another process put its copy in place first (or the rename is impossible): use whichever exists.
            try? FileManager.default.removeItem(atPath: fresh)
            if !FileManager.default.fileExists(atPath: directory + "/bpf/bpf_helpers.h") {
                throw ProgramInput.Failure(description: "cannot place BPFKit's headers at \(directory)")
            }
        }
        return directory
    }

    /// The program named `name`, or the object's first program.
    func program(named name: String?) throws(ProgramInput.Failure) -> ProgramSpec {
        if let name {
            if let program = spec.program(named: name) { return program }
            throw ProgramInput.Failure(description: "\(spec.name): no program named \(name) (programs: \(spec.programs.map(\.name).joined(separator: ", ")))")
        }
        guard let first = spec.programs.first else {
            throw ProgramInput.Failure(description: "\(spec.name): the object defines no programs")
        }
        return first
    }
}

extension ProgramType {
    /// Parses `--type`: kernel names (`sched_cls`) and libbpf section names (`tc`, `classifier`, `socket`).
    static func parse(_ text: String) -> ProgramType? {
        if let type = ProgramType(name: text) { return type }
        let section = SectionDefinition(sectionName: text)
        return section.pattern != nil && !section.isLegacyMatch ? section.programType : nil
    }
}
