import Foundation
import Testing

/// Runs the `bpfkit` executable that `swift build` put next to the test bundle.
struct Tool {
    static let url: URL? = {
        let directory = Bundle.main.bundleURL
        for candidate in [directory.appendingPathComponent("bpfkit"),
                          directory.deletingLastPathComponent().appendingPathComponent("bpfkit")]
        where FileManager.default.isExecutableFile(atPath: candidate.path) {
            return candidate
        }
        return nil
    }()

    struct Output {
        var status: Int32
        var standardOutput: Data
        var text: String { String(decoding: standardOutput, as: UTF8.self) }
        var standardError: String
    }

    static func run(_ arguments: [String]) throws -> Output {
        let process = Process()
        process.executableURL = try #require(url, "the bpfkit executable was not built next to the tests")
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(status: process.terminationStatus, standardOutput: data,
                      standardError: String(decoding: errors, as: UTF8.self))
    }
}

/// A temporary folder with files, removed when the test ends.
final class Scratch {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("bpfkit-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func file(_ name: String, _ contents: String) throws -> String {
        let path = url.appendingPathComponent(name).path
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
    func data(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = url.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }
    struct Failure: Error, CustomStringConvertible { var description: String }
    deinit { try? FileManager.default.removeItem(at: url) }
}

@Suite struct CommandLineTests {
    @Test func runPrintsTheDocumentedJSONAfterARun() throws {
        let scratch = try Scratch()
        let source = try scratch.file("sum.s", "ldxb %r0, [%r1+0]\nldxb %r2, [%r1+1]\nadd %r0, %r2\nexit\n")
        let output = try Tool.run(["run", source, "--mem-hex", "05 25", "--json"])
        #expect(output.status == 0)
        #expect(output.text == #"{"accepted": true, "error": null, "r0": "0x000000000000002a", "instructionsExecuted": 4}"# + "\n")
        let plain = try Tool.run(["run", source, "--mem-hex", "0102"])
        #expect(plain.text == "0x0000000000000003\n")
    }

    @Test func runReportsARuntimeFaultWithThePlace() throws {
        let scratch = try Scratch()
        let source = try scratch.file("oob.s", "ldxdw %r0, [%r1+8]\nexit\n")
        let output = try Tool.run(["run", source, "--mem-hex", "0011223344556677", "--json"])
        #expect(output.status != 0)
        let object = try #require(try JSONSerialization.jsonObject(with: output.standardOutput) as? [String: Any])
        #expect(object["accepted"] as? Bool == true)
        #expect(object["r0"] is NSNull)
        #expect((object["error"] as? String)?.hasPrefix("fault at pc 0 (ldxdw %r0, [%r1+8])") == true)
    }

    @Test func runRefusesABadProgramNamingTheLine() throws {
        let scratch = try Scratch()
        let source = try scratch.file("bad.s", "mov %r0, 1\nor %r0, %r50\nexit\n")
        let output = try Tool.run(["run", source, "--json"])
        #expect(output.status != 0)
        let object = try #require(try JSONSerialization.jsonObject(with: output.standardOutput) as? [String: Any])
        #expect(object["accepted"] as? Bool == false)
        #expect((object["error"] as? String)?.contains("bad.s:2:9:") == true)
        #expect(object.count == 2)
    }

    @Test func assembleThenRunAndDisassembleRawInstructions() throws {
        let scratch = try Scratch()
        let source = try scratch.file("p.s", "mov32 %r0, 7\nlddw %r1, 0x100000000\nadd %r0, %r1\nexit\n")
        let binary = scratch.url.appendingPathComponent("p.bin").path
        #expect(try Tool.run(["asm", source, "-o", binary]).status == 0)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: binary))
        #expect(bytes.count == 5 * 8)
        #expect(Array(bytes.prefix(8)) == [0xb4, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00])
        #expect(try Tool.run(["run", binary]).text == "0x0000000100000007\n")
        let listing = try Tool.run(["disasm", binary])
        #expect(listing.text == "mov32 %r0, 7\nlddw %r1, 0x100000000\nadd %r0, %r1\nexit\n")
        let c = try Tool.run(["disasm", binary, "--syntax", "c"])
        #expect(c.text.contains("0: w0 = 7"))
        #expect(c.text.contains("1: r1 = 0x100000000 ll"))
        #expect(c.text.contains("3: r0 += r1"))
    }

    @Test func disasmRefusesAMalformedEncodingNamingTheIndex() throws {
        let scratch = try Scratch()
        let path = scratch.url.appendingPathComponent("bad.bin").path
        // mov r0, 0 ; exit with a non-zero immediate
        try Data([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 1, 0, 0, 0]).write(to: URL(fileURLWithPath: path))
        let output = try Tool.run(["disasm", path])
        #expect(output.status != 0)
        #expect(output.standardError.contains("instruction 1 (exit): the immediate field must be zero"))
    }

    @Test func conformanceCountsAndListsFailures() throws {
        let scratch = try Scratch()
        _ = try scratch.file("good.data", "-- asm\nmov %r0, 2\nexit\n-- result\n0x2\n")
        _ = try scratch.file("bad.data", "-- asm\nmov %r0, 3\nexit\n-- result\n0x2\n")
        let output = try Tool.run(["conformance", scratch.url.path])
        #expect(output.status != 0)
        let lines = output.text.split(separator: "\n")
        #expect(lines.last == "1 passed, 1 failed")
        #expect(lines.contains { $0.hasPrefix("FAIL bad.data: expected 0x0000000000000002, got 0x0000000000000003") })
    }
}
