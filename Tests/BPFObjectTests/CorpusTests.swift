import BPFObject
import Testing

/// Loads every object of the shared corpus and compares with `verdicts.csv`.
@Suite struct CorpusTests {
    /// Rows with `loader_failure` whose cause lies in the kernel, not in the object file:
    /// a description layer must load them.
    static let kernelSideLoaderFailures: [String: String] = [
        "build/exposeptr2.o": "the kernel refused to create the map (EINVAL)",
        "cilium-examples/fentry_bpf_bpfel.o": "fentry needs the running kernel's BTF and attach permission",
        "cilium-examples/tcprtt_bpf_bpfel.o": "fentry needs the running kernel's BTF and attach permission",
    ]

    static func load(_ path: String) -> Result<ObjectSpec, ObjectLoadError> {
        Result { () throws(ObjectLoadError) in try ObjectSpec(contentsOf: Samples.root + "/" + path) }
    }

    @Test func everyVerdictRowMatchesTheDescribedObject() throws {
        guard Samples.isAvailable else {
            Issue.record("skipped: sample corpus not found at \(Samples.root)", severity: .warning)
            return
        }
        var cache: [String: Result<ObjectSpec, ObjectLoadError>] = [:]
        var checkedPrograms = 0
        var checkedSubprograms = 0
        var checkedTypes = 0
        var refused = 0
        let rows = try Samples.verdicts()
        #expect(rows.count > 200)
        for row in rows {
            let result = cache[row.file] ?? Self.load(row.file)
            cache[row.file] = result
            let spec: ObjectSpec
            switch result {
            case let .failure(error):
                #expect(row.verdict == "loader_failure", "\(row.file) failed to load: \(error)")
                #expect(error.description.contains(row.file), "error should name the file: \(error)")
                refused += 1
                continue
            case let .success(loaded):
                spec = loaded
            }
            if row.verdict == "loader_failure" {
                #expect(Self.kernelSideLoaderFailures[row.file] != nil, "\(row.file) loads but Linux's loader failed on it")
            }
            if row.verdict == "n/a_subprogram" {
                let subprogram = spec.subprograms.first { $0.sectionName == row.section && $0.name == row.function }
                    ?? spec.subprograms.first { $0.sectionName == row.section && row.function == row.section && $0.sectionOffset == 0 }
                #expect(subprogram != nil, "\(row.file): subprogram \(row.function) in \(row.section) is missing")
                if let subprogram, let count = row.instructionCount {
                    #expect(subprogram.instructionCount == count, "\(row.file) \(row.function)")
                }
                checkedSubprograms += 1
                continue
            }
            // Old objects without BTF are recorded under their section name.
            let inSection = spec.programs(inSection: row.section)
            let program = inSection.first { $0.name == row.function }
                ?? (row.function == row.section && inSection.count == 1 ? inSection.first : nil)
            guard let program else {
                Issue.record("\(row.file): program \(row.function) in section \(row.section) is missing; have \(spec.programs.map { "\($0.sectionName)/\($0.name)" })")
                continue
            }
            checkedPrograms += 1
            // `insns` counts the function's own slots, without appended subprograms.
            #expect(program.functionInstructionCount == row.instructionCount, "\(row.file) \(row.section)/\(row.function)")
            #expect(program.instructions.count >= program.functionInstructionCount)
            if program.type != .unspecified {
                #expect(program.type.name == row.programType, "\(row.file) \(row.section): \(program.type.name) vs \(row.programType)")
                checkedTypes += 1
            }
        }
        #expect(checkedPrograms > 200)
        #expect(checkedSubprograms == 3)
        #expect(refused == 3)
        #expect(checkedTypes > 150)
        print("corpus: \(checkedPrograms) programs, \(checkedSubprograms) subprograms, \(checkedTypes) types checked, \(refused) rows refused")
    }

    @Test func everyCorpusObjectIsDescribedOrRefusedWithAReason() throws {
        guard Samples.isAvailable else {
            Issue.record("skipped: sample corpus not found at \(Samples.root)", severity: .warning)
            return
        }
        var loaded = 0
        var programs = 0
        var maps = 0
        for path in Samples.objectPaths() {
            switch Self.load(path) {
            case let .success(spec):
                loaded += 1
                programs += spec.programs.count
                maps += spec.maps.count
                #expect(!spec.description.isEmpty)
                for program in spec.programs {
                    for relocation in program.relocations {
                        #expect(program.instructions.indices.contains(relocation.instructionIndex))
                        #expect(program.instructions[relocation.instructionIndex].opcode == 0x18)
                    }
                }
            case let .failure(error):
                // Only objects calling undefined (extern) functions are refused.
                guard case .externFunction = error else {
                    Issue.record("\(path): \(error)")
                    continue
                }
            }
        }
        print("corpus: \(loaded) objects described, \(programs) programs, \(maps) maps")
        #expect(loaded == Samples.objectPaths().count - 2)
    }

    /// Malformed objects: each is refused with an error naming the file, except those listed
    /// in verdicts.csv with a verifier verdict (their defect is in the code, found by a verifier)
    /// and fuzzer inputs whose mutations lie outside what this reader interprets.
    static let invalidButStructurallySound: [String: String] = [
        "invalid/invalid-lddw.o": "a truncated lddw: structurally sound ELF, rejected by the verifier",
        "invalid/ef2e42c0bfcf4dab6b9c3926759365b6dfa73634": "fuzzer input: only a section name and DWARF/line strings differ from a valid object",
        "invalid/dac31099c3bb5b6395908c82cc8540e77a6a1849": "fuzzer input: no defect in the ELF, symbols, relocations, maps or BTF this reader interprets",
        "invalid/timeout-29db93548c671165313b314d4f83a3eefa24df37": "fuzzer input that made a verifier time out; describing it must simply finish",
    ]

    @Test func invalidObjectsAreRefusedWithReadableErrors() throws {
        guard Samples.isAvailable else {
            Issue.record("skipped: sample corpus not found at \(Samples.root)", severity: .warning)
            return
        }
        let paths = Samples.invalidPaths()
        #expect(paths.count >= 10)
        for path in paths {
            switch Self.load(path) {
            case let .failure(error):
                #expect(Self.invalidButStructurallySound[path] == nil, "\(path) was expected to load")
                #expect(error.description.hasPrefix(Samples.root + "/" + path))
                #expect(error.description.hasSuffix("."))
            case .success:
                #expect(Self.invalidButStructurallySound[path] != nil, "\(path) should have been refused")
            }
        }
    }

    @Test func badSymbolSizeNamesTheSection() throws {
        guard Samples.isAvailable else { return }
        guard case let .failure(error) = Self.load("invalid/badsymsize.o") else {
            Issue.record("badsymsize.o loaded")
            return
        }
        #expect(error.description.contains(".symtab"))
    }

    @Test func externFunctionCallIsRefusedNamingSymbolAndSection() throws {
        guard Samples.isAvailable else { return }
        guard case let .failure(error) = Self.load("build/badrelo.o") else {
            Issue.record("badrelo.o loaded")
            return
        }
        #expect(error == .externFunction(file: Samples.root + "/build/badrelo.o", section: ".text", offset: 40, symbol: "ebpf_map_update_elem"))
        #expect(error.description.contains("extern function 'ebpf_map_update_elem'"))
    }
}
