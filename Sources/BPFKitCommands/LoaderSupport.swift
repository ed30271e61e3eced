import BPFKit

extension LoadOptions {
    /// The options `bpfkit run` loads with: verified programs run trusted; `--no-verify` runs checked.
    static func forCommand(verifies: Bool, readOnlyData: [String: [UInt8]],
                           mapInitialEntries: [String: [(key: [UInt8], value: [UInt8])]]) -> LoadOptions {
        LoadOptions(mode: .checked, readOnlyData: readOnlyData, mapInitialEntries: mapInitialEntries)
    }
}

/// A verifier refusal met while loading: the one-line message and the full explanation.
struct RefusalReport {
    var message: String
    var explanation: String

    init?(_ error: CollectionLoadError) {
        return nil
    }
}
