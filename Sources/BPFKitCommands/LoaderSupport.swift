import BPFKit

extension LoadOptions {
    /// The options `bpfkit run` loads with: every program verified (the privileged
    /// profile) and run trusted; `--no-verify` loads without verifying and runs checked.
    static func forCommand(verifies: Bool, readOnlyData: [String: [UInt8]],
                           mapInitialEntries: [String: [(key: [UInt8], value: [UInt8])]]) -> LoadOptions {
        LoadOptions(mode: .trusted, verifies: verifies, readOnlyData: readOnlyData, mapInitialEntries: mapInitialEntries)
    }
}

/// A verifier refusal met while loading: the one-line message and the full explanation.
struct RefusalReport {
    var message: String
    var explanation: String

    init?(_ error: CollectionLoadError) {
        guard case .programRefused(let program, let result) = error else { return nil }
        message = error.description
        if let refusal = result.refusal {
            explanation = "program \(program) refused by the verifier (processed \(result.instructionsProcessed) insns):\n"
                + refusal.explanation.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n")
        } else {
            explanation = "\(program): \(result.summary)"
        }
    }
}
