import BPFInstructionSet
import Foundation
import BPFTestSupport

/// Reads the BPF conformance suite's `.data` files, which live next to the package
/// (`../shared/conformance` relative to the package root).
enum Corpus {
    static let testsDirectory = SharedMaterial.url("conformance/tests")
    static let negativeDirectory = SharedMaterial.url("conformance/negative")

    static var testsAvailable: Bool { exists(testsDirectory) }
    static var negativeAvailable: Bool { exists(negativeDirectory) }

    static func exists(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// The `.data` files of a directory whose name satisfies `filter`, sorted by name.
    static func files(in directory: URL, where filter: (String) -> Bool = { _ in true }) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".data") && filter($0) }.sorted()
            .map { directory.appendingPathComponent($0) }
    }

    /// One `-- name` section of a data file.
    struct Section {
        var lines: [String]
        var text: String { lines.joined(separator: "\n") }
    }

    /// Sections by name; a section runs from its `-- name` line to the next line starting with `-- `.
    static func sections(of text: String) -> [String: Section] {
        var result: [String: Section] = [:]
        var current: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("-- ") {
                let name = String(line.dropFirst(3)).trimmingCharacters(in: .whitespaces)
                current = name
                if result[name] == nil { result[name] = Section(lines: []) }
                continue
            }
            if let current { result[current]!.lines.append(String(line)) }
        }
        return result
    }

    /// A `-- raw` section: either `0x…` tokens, one 64-bit little-endian word per slot,
    /// or lines of hex bytes in memory order. Comments start with `#`.
    static func rawSlots(_ section: Section) throws -> [Instruction] {
        var words: [Instruction] = []
        var bytes: [UInt8] = []
        for line in section.lines {
            let content = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            for token in content.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," }) {
                if token.hasPrefix("0x") {
                    guard let word = UInt64(token.dropFirst(2), radix: 16) else { throw RawError.badToken(String(token)) }
                    words.append(Instruction(rawValue: word))
                } else {
                    guard token.count == 2, let byte = UInt8(token, radix: 16) else {
                        throw RawError.badToken(String(token))
                    }
                    bytes.append(byte)
                }
            }
        }
        guard words.isEmpty || bytes.isEmpty else { throw RawError.mixed }
        return words.isEmpty ? try Instruction.decodeSlots(bytes) : words
    }

    enum RawError: Error { case badToken(String), mixed }
}
