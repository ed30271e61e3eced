import ArgumentParser
import BPFKit
import Foundation

/// `bpfkit verify FILE`: runs BPFKit's verifier over every program of a file and
/// says which it accepts and, for refusals, why.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify the programs of a C source, object or assembly file as Linux would.",
        discussion: """
            Prints one summary line per program; for a refusal the full explanation (place, \
            source line, registers, path, hint) and, at --log-level 1 or more, the verifier's log. \
            The exit status is non-zero when any program is refused. With --json one line: \
            {"accepted": BOOL, "programs": [{"name", "accepted", "instructionsProcessed", \
            "statesExplored", "error": null | {"pc", "instruction", "line", "message", "hint"}}]}.
            """
    )

    @Argument(help: "The program: C (.c, compiled with clang), an object (.o), assembly (.s, .asm) or raw instructions (.bin).")
    var file: String

    @Option(help: "Verify only this program (by function name).")
    var program: String?

    @Option(help: "Program type of assembly or raw instructions (xdp, sched_cls, socket_filter, kprobe, ...).")
    var type: String?

    @Option(help: "Assembly maps: a JSON list of map descriptions, bound to map:0, map:1, ... (as for run).")
    var maps: String?

    @Option(help: "Whose rules: privileged (root with CAP_BPF, the default) or unprivileged.")
    var profile: String = "privileged"

    @Option(name: .customLong("log-level"), help: "0: verdict only; 1: the failing path; 2: every state.")
    var logLevel: Int = 0

    @Option(name: .customShort("I"), help: "Include directory for compiling C (repeatable).")
    var includeDirectories: [String] = []

    @Flag(help: "Print one JSON object on one line.")
    var json = false

    func validate() throws {
        guard ["privileged", "unprivileged"].contains(profile) else {
            throw ValidationError("--profile is privileged or unprivileged, not '\(profile)'")
        }
        guard (0...2).contains(logLevel) else { throw ValidationError("--log-level is 0, 1 or 2") }
        if let type, ProgramType.parse(type) == nil { throw ValidationError("unknown program type '\(type)'") }
    }

    func run() throws {
        let input: ObjectInput
        let programs: [ProgramSpec]
        do {
            let mapSpecs = try maps.map { path throws(ProgramInput.Failure) in try MapFiles.readSpecs(path: path).maps } ?? []
            if maps != nil && ObjectInput.kind(of: file) != .instructions {
                throw ProgramInput.Failure(description: "--maps describes maps for assembly or raw instructions; an object's maps come from the object")
            }
            input = try ObjectInput.load(path: file, type: type.flatMap(ProgramType.parse), maps: mapSpecs,
                                         includeDirectories: includeDirectories)
            programs = program == nil || input.kind == .instructions ? input.spec.programs : [try input.program(named: program)]
        } catch let error as ProgramInput.Failure {
            if json {
                print(JSON.object([("accepted", .bool(false)), ("error", .string(error.description)), ("programs", .array([]))]).text)
            } else {
                standardError("error: \(error.description)")
            }
            throw ExitCode(2)
        }

        let options = VerifierOptions(profile: profile == "unprivileged" ? .unprivileged : .privileged, logLevel: logLevel)
        let verifier = Verifier(options: options)
        var reports: [JSON] = []
        var allAccepted = true
        for spec in programs {
            let result = verifier.verify(VerifierInput(program: spec, object: input.spec))
            allAccepted = allAccepted && result.isAccepted
            var error = JSON.null
            if let refusal = result.refusal {
                error = .object([("pc", .number(Int64(refusal.pc))), ("instruction", .string(refusal.instructionText)),
                                 ("line", line(of: refusal, input: input).map { .number(Int64($0)) } ?? .null),
                                 ("message", .string(refusal.message)), ("hint", .string(refusal.hint))])
            }
            reports.append(.object([
                ("name", .string(spec.name)), ("accepted", .bool(result.isAccepted)),
                ("instructionsProcessed", .number(Int64(result.instructionsProcessed))),
                ("statesExplored", .number(Int64(result.statesExplored))), ("error", error),
            ]))
            if !json {
                print("\(spec.name): \(result.summary)")
                if let refusal = result.refusal {
                    var explanation = refusal.explanation
                    if refusal.sourceLine == nil, let line = line(of: refusal, input: input) {
                        explanation += "\n  at \(file):\(line)"
                    }
                    print(explanation.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n"))
                }
                // The log of an accepted program too: at level 2 it shows every state explored.
                if logLevel >= 1 && !result.log.isEmpty {
                    print("  log:")
                    print(result.log.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }.joined(separator: "\n"))
                }
            }
        }
        if json {
            print(JSON.object([("accepted", .bool(allAccepted)), ("programs", .array(reports))]).text)
        }
        if !allAccepted { throw ExitCode(1) }
    }

    /// The source line of a refusal: from BTF line info (C), or the assembly line of the slot.
    private func line(of refusal: VerifierRefusal, input: ObjectInput) -> Int? {
        if let line = refusal.sourceLine { return Int(line.line) }
        if let lines = input.lineOfSlot, refusal.pc >= 0, refusal.pc < lines.count { return lines[refusal.pc] }
        return nil
    }
}
