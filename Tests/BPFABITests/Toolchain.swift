import Foundation

/// Runs clang and llvm-objdump for the tests that check the ABI tables against the compiler.
enum Toolchain {
    static let clang = "/opt/swift/usr/bin/clang"
    static let objdump = "/opt/swift/usr/bin/llvm-objdump"
    static var isClangAvailable: Bool { FileManager.default.isExecutableFile(atPath: clang) }
    static var isObjdumpAvailable: Bool { FileManager.default.isExecutableFile(atPath: objdump) }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs `executable` and returns its standard output; throws with standard error on failure.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Drain stderr concurrently so a chatty compiler cannot block on a full pipe.
        let errorData = LockedData()
        let reader = Thread { errorData.set(errors.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !errorData.isSet { usleep(1000) }
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(executable) failed: " + String(decoding: errorData.value, as: UTF8.self))
        }
        return String(decoding: outputData, as: UTF8.self)
    }

    /// A fresh temporary directory; the caller removes it.
    static func temporaryDirectory(_ prefix: String) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }
}

final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data: Data?
    func set(_ value: Data) { lock.lock(); data = value; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return data != nil }
    var value: Data { lock.lock(); defer { lock.unlock() }; return data ?? Data() }
}
