/// BPFToolchain: finds clang and compiles C into BPF objects (with BPFKit's own
/// libbpf-compatible headers) or into native shared libraries.
import Foundation

/// Why a compilation did not produce an object: clang is missing, or it refused
/// the source (its own message is kept whole).
public enum ToolchainError: Error, Sendable, CustomStringConvertible {
    case clangNotFound(searched: [String])
    case compilationFailed(source: String, command: String, message: String)
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case .clangNotFound(let searched):
            "clang was not found (looked at $BPFKIT_CLANG, \(searched.joined(separator: ", ")) and $PATH); install clang or set BPFKIT_CLANG"
        case .compilationFailed(let source, let command, let message):
            "clang could not compile \(source):\n\(message.isEmpty ? "(no message)" : message)\ncommand: \(command)"
        case .cannotWrite(let path, let reason):
            "cannot write \(path): \(reason)"
        }
    }
}

/// The clang this machine has, and the two kinds of compilation BPFKit needs.
public struct Clang: Sendable {
    public let path: String

    /// Well-known places, tried after `$BPFKIT_CLANG` and before `$PATH`.
    public static let knownLocations = ["/opt/swift/usr/bin/clang", "/usr/bin/clang", "/usr/local/bin/clang"]

    public init(path: String) {
        self.path = path
    }

    /// The first usable clang.
    public static func locate() throws(ToolchainError) -> Clang {
        let environment = ProcessInfo.processInfo.environment
        var candidates: [String] = []
        if let explicit = environment["BPFKIT_CLANG"], !explicit.isEmpty { candidates.append(explicit) }
        candidates += knownLocations
        for directory in (environment["PATH"] ?? "").split(separator: ":") {
            candidates.append(directory + "/clang")
        }
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate) {
            return Clang(path: candidate)
        }
        throw .clangNotFound(searched: knownLocations)
    }

    /// Compiles `source` to a BPF object (`-target bpf -O2 -g`), with `includeDirectories`
    /// searched first and the system's multiarch include folder added for `<asm/types.h>`.
    public func compileBPF(source: String, output: String, includeDirectories: [String] = [],
                           extraArguments: [String] = []) throws(ToolchainError) {
        var arguments = ["-target", "bpf", "-O2", "-g", "-c", source, "-o", output]
        arguments += includeDirectories.flatMap { ["-I", $0] }
        arguments += Self.systemIncludeDirectories().flatMap { ["-idirafter", $0] }
        arguments += extraArguments
        try run(arguments, source: source)
    }

    /// Compiles `source` natively (`-O2 -shared -fPIC`) into a shared library.
    public func compileSharedLibrary(source: String, output: String, extraArguments: [String] = []) throws(ToolchainError) {
        try run(["-O2", "-shared", "-fPIC", source, "-o", output] + extraArguments, source: source)
    }

    /// The multiarch include folders that exist (`/usr/include/x86_64-linux-gnu`, …):
    /// `-target bpf` does not search them, but `<linux/types.h>` needs `<asm/types.h>`.
    public static func systemIncludeDirectories() -> [String] {
        ["/usr/include/x86_64-linux-gnu", "/usr/include/aarch64-linux-gnu"].filter {
            FileManager.default.fileExists(atPath: $0 + "/asm/types.h")
        }
    }

    private func run(_ arguments: [String], source: String) throws(ToolchainError) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = errors
        let command = ([path] + arguments).joined(separator: " ")
        do {
            try process.run()
        } catch {
            throw .compilationFailed(source: source, command: command, message: "\(error)")
        }
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw .compilationFailed(source: source, command: command,
                                     message: message.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }
}
