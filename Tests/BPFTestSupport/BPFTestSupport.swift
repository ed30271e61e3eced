import Foundation

/// BPFTestSupport: what several test targets share — where the material next to the
/// package lives, and a seeded random generator. Only test targets depend on it.

/// The material in `../shared` next to the package (the conformance suite, the samples).
public enum SharedMaterial {
    /// The package root: three levels up from this file (Tests/BPFTestSupport/<file>).
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `../shared/<relative>` from the package root, standardised.
    public static func url(_ relative: String) -> URL {
        packageRoot.appendingPathComponent("../shared").appendingPathComponent(relative).standardizedFileURL
    }

    /// The path of `../shared/<relative>`.
    public static func path(_ relative: String) -> String { url(relative).path }

    /// True when `../shared/<relative>` exists.
    public static func exists(_ relative: String) -> Bool { FileManager.default.fileExists(atPath: path(relative)) }

    /// `../shared/samples`.
    public static var samples: String { path("samples") }
    /// `../shared/conformance`.
    public static var conformance: String { path("conformance") }
}

/// SplitMix64: a small seeded generator, so a failing random case can be made again from its seed.
public struct SplitMix64: RandomNumberGenerator {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
