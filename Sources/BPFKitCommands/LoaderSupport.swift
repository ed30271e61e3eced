import ArgumentParser
import BPFKit

extension LoadOptions {
    /// The options `bpfkit run` loads with: every program verified (the privileged
    /// profile) and run trusted; `--no-verify` loads without verifying and runs checked.
    static func forCommand(verifies: Bool, engine: EngineChoice = .automatic, readOnlyData: [String: [UInt8]],
                           mapInitialEntries: [String: [(key: [UInt8], value: [UInt8])]]) -> LoadOptions {
        LoadOptions(mode: .trusted, verifies: verifies, readOnlyData: readOnlyData, mapInitialEntries: mapInitialEntries,
                    engine: engine)
    }
}

extension EngineChoice: ExpressibleByArgument {}

/// A verifier refusal met while loading: the one-line message and the full explanation.
struct RefusalReport {
    var message: String
    var explanation: String

    /// `lineOfSlot`: for assembly, the source line of every slot (the refusal names the line).
    init?(_ error: CollectionLoadError, file: String, lineOfSlot: [Int]?) {
        guard case .programRefused(let program, let result) = error else { return nil }
        message = error.description
        guard let refusal = result.refusal else {
            explanation = message
            return
        }
        var text = refusal.explanation
        if refusal.sourceLine == nil, let lines = lineOfSlot, refusal.pc >= 0, refusal.pc < lines.count {
            // Assembly has no line info in the program: name the line of the slot as C refusals do.
            var place = "instruction \(refusal.pc)"
            if !refusal.instructionText.isEmpty { place += " (\(refusal.instructionText))" }
            place += " at \(file):\(lines[refusal.pc])"
            message = "\(program): refused: \(place): \(refusal.message) (processed \(result.instructionsProcessed) insns)"
            text += "\n  at \(file):\(lines[refusal.pc])"
        }
        explanation = "program \(program) refused by the verifier (processed \(result.instructionsProcessed) insns):\n"
            + text.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n")
    }
}
