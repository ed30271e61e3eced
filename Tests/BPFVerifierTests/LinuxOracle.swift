import Foundation
import BPFInstructionSet
import BPFAssembler
import BPFObject
import BPFMaps
import BPFLinux
@testable import BPFVerifier

/// Linux's own verifier as the reference: programs are loaded with `BPF_PROG_LOAD` (as root,
/// privileged) against real maps shaped like ``OracleMaps/descriptions``.
enum LinuxOracle {
    /// What Linux decided about one program.
    struct Verdict: Sendable {
        var accepted: Bool
        var errno: Int32
        var log: String
    }

    /// Whether the kernel can be asked (false in containers without `bpf()`).
    static var isAvailable: Bool { BPFSyscall.isAvailable && kernelMaps != nil }

    /// The kernel maps, index for index the same as ``OracleMaps/descriptions``; nil when
    /// `bpf()` is refused or a map cannot be created.
    static let kernelMaps: [KernelMap]? = {
        guard BPFSyscall.isAvailable else { return nil }
        do {
            return try OracleMaps.descriptions.map { map throws(BPFSystemError) in
                try KernelMap(type: map.type.rawValue, keySize: map.keySize, valueSize: map.valueSize,
                              maxEntries: map.maxEntries, flags: map.isReadOnly ? MapSpec.readOnlyProgramFlag : 0,
                              name: map.name == ".rodata" ? "rodata" : map.name)
            }
        } catch {
            return nil
        }
    }()

    /// The slots with `lddw map:N` / `map_value:N+OFF` bound to the kernel maps' descriptors.
    static func kernelWords(_ instructions: [Instruction]) -> [UInt64]? {
        guard let maps = kernelMaps else { return nil }
        return instructions.map { slot in
            var instruction = slot
            // BPF_LD | BPF_IMM | BPF_DW with src 1 (BPF_PSEUDO_MAP_FD) or 2 (BPF_PSEUDO_MAP_VALUE).
            if instruction.opcode == 0x18, instruction.source == 1 || instruction.source == 2,
               maps.indices.contains(Int(instruction.immediate)) {
                instruction.immediate = maps[Int(instruction.immediate)].descriptor.rawValue
            }
            return instruction.rawValue
        }
    }

    /// Whether Linux's unprivileged verifier can be asked: `bpf()` works and the kernel lets
    /// callers without capabilities load programs (`kernel.unprivileged_bpf_disabled` is 0).
    static var isUnprivilegedAvailable: Bool { isAvailable && UnprivilegedCaller.isPermitted }

    /// Loads the program into Linux from a thread without capabilities, as an unprivileged
    /// user would; nil when the kernel cannot be asked that way.
    static func unprivilegedVerdict(of instructions: [Instruction], type: ProgramType) -> Verdict? {
        unprivilegedVerdicts(of: [(instructions, type)])?[0]
    }

    /// Linux's unprivileged verdicts on many programs, asked from one thread without capabilities.
    static func unprivilegedVerdicts(of programs: [([Instruction], ProgramType)], withLog: Bool = true) -> [Verdict]? {
        guard isUnprivilegedAvailable else { return nil }
        let verdicts = try? UnprivilegedCaller.run { programs.map { verdict(of: $0.0, type: $0.1, withLog: withLog) } }
        return verdicts.flatMap { $0.contains { $0 == nil } ? nil : $0.map { $0! } }
    }

    /// Loads the program into Linux; nil when the kernel cannot be asked.
    static func verdict(of instructions: [Instruction], type: ProgramType, withLog: Bool = true) -> Verdict? {
        guard let words = kernelWords(instructions) else { return nil }
        do {
            let program = try BPFSyscall.loadProgram(type: type.rawValue, instructions: words,
                                                     logLevel: withLog ? 1 : 0, logSize: withLog ? 1 << 22 : 0)
            return Verdict(accepted: true, errno: 0, log: program.log)
        } catch {
            // ENOSPC: the log did not fit, which fails the load whatever the verdict; ask again without one.
            if withLog, error.errno == 28, let verdict = verdict(of: instructions, type: type, withLog: false) {
                return Verdict(accepted: verdict.accepted, errno: verdict.errno, log: error.log ?? "")
            }
            return Verdict(accepted: false, errno: error.errno, log: error.log ?? "")
        }
    }

    /// The line of a refusal log that says why (the one before the "processed" summary), with
    /// register numbers and numbers in general blanked so that like reasons group together.
    static func reason(_ log: String) -> String {
        let lines = log.split(separator: "\n").map(String.init)
        let line = lines.last(where: { !$0.hasPrefix("processed ") && !$0.isEmpty }) ?? "(no log)"
        return String(line.map { $0.isNumber ? "#" : $0 })
    }

    /// The last lines of a verifier log (where Linux says why it refused).
    static func tail(_ log: String, lines: Int = 4) -> String {
        log.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }
}

/// The maps the new case table, the generator and the differential test use: `lddw map:N`
/// names `descriptions[N]`.
enum OracleMaps {
    static let hash16 = 0, array8 = 1, ringBuffer = 2, programs = 3, readOnly = 4, hash64 = 5, array64 = 6, sockets = 7
    static let descriptions: [VerifierMap] = [
        VerifierMap(name: "h16", type: .hash, keySize: 4, valueSize: 16, maxEntries: 8),
        VerifierMap(name: "a8", type: .array, keySize: 4, valueSize: 8, maxEntries: 4),
        VerifierMap(name: "rb", type: .ringBuffer, keySize: 0, valueSize: 0, maxEntries: 4096),
        VerifierMap(name: "progs", type: .programArray, keySize: 4, valueSize: 4, maxEntries: 4),
        VerifierMap(name: ".rodata", type: .array, keySize: 4, valueSize: 16, maxEntries: 1, isReadOnly: true),
        VerifierMap(name: "h64", type: .hash, keySize: 4, valueSize: 64, maxEntries: 8),
        VerifierMap(name: "a64", type: .array, keySize: 4, valueSize: 64, maxEntries: 4),
        VerifierMap(name: "sm", type: .sockmap, keySize: 4, valueSize: 8, maxEntries: 4),
    ]
}

/// Appends verdict disagreements with Linux to the shared notes file the verifier's owner reads.
enum DisagreementLog {
    static let path = "/work/notes/verifier-disagreements.md"
    private static let lock = NSLock()

    /// Appends one numbered entry unless an entry with the same program text is already there.
    /// `key`, when given, is a reason: only its first program is appended.
    static func append(title: String, source: String, type: ProgramType, linux: LinuxOracle.Verdict, bpfkit: String,
                       key: String? = nil) {
        guard FileManager.default.fileExists(atPath: "/work/notes") else { return }
        lock.lock(); defer { lock.unlock() }
        let existing = (try? String(contentsOfFile: path, encoding: .utf8)) ?? "# Verifier verdicts that differ from Linux 6.18\n\nAppended by the vtests helper (Tests/BPFVerifierTests). Under each entry the verifier owner notes `FIXED in <commit>` or `WONTFIX: reason`.\n"
        let block = "```\n\(source)\n```"
        if existing.contains(block) { return }
        if let key, existing.contains("Key: \(key)\n") { return }
        let number = existing.components(separatedBy: "\n## ").count
        let entry = """

        ## \(number). \(title)

        Program type: \(type.name). Maps: \(OracleMaps.descriptions.map { "\($0.name) (\($0.type), key \($0.keySize), value \($0.valueSize))" }.joined(separator: ", ")).

        \(block)

        Linux: \(linux.accepted ? "accepts" : "refuses (errno \(linux.errno))")
        ```
        \(LinuxOracle.tail(linux.log, lines: 6))
        ```
        BPFKit: \(bpfkit)
        \(key.map { "Key: \($0)\n" } ?? "")
        """
        try? (existing + entry).write(toFile: path, atomically: true, encoding: .utf8)
    }
}
