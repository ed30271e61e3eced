import BPFAssembler
import BPFInstructionSet
import BPFRuntime
import Foundation

/// The result of one conformance test.
public struct ConformanceOutcome: Sendable, Equatable {
    public enum Status: Sendable, Equatable {
        case passed
        case failed(String)
        case skipped(String)
    }

    public var name: String
    public var status: Status
}

/// Why a program could not be made runnable (assembly, decoding or binding).
public struct ProgramLoadFailure: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// Runs conformance tests through an engine (the interpreter unless told otherwise) in a given mode.
public struct ConformanceRunner: Sendable {
    /// Makes the engine that runs a test's program (mode and instruction budget given);
    /// a thrown error counts as the program being refused.
    public typealias EngineFactory = @Sendable (ExecutableProgram, ExecutionMode, UInt64) throws -> any ProgramEngine

    public var mode: ExecutionMode
    public var instructionBudget: UInt64
    /// nil: the interpreter.
    public var makeEngine: EngineFactory?

    public init(mode: ExecutionMode = .checked, instructionBudget: UInt64 = 10_000_000, engine: EngineFactory? = nil) {
        self.mode = mode
        self.instructionBudget = instructionBudget
        self.makeEngine = engine
    }

    /// The helpers the conformance suite's programs call. The suite follows uBPF's
    /// convention for helper 5: it returns its argument, and ends the program with
    /// r0 = 0 when that argument is 0 (`call_unwind_fail` checks it does not).
    public static let helpers = HelperRegistry([
        Helper(id: 5, name: "unwind") { arguments, _ throws(HelperError) in
            if arguments.r1 == 0 { throw .exitProgram(returnValue: 0) }
            return arguments.r1
        },
    ])

    /// The test's program slots: its assembly when it has some, its raw section otherwise.
    public static func instructions(of test: ConformanceTest) throws(ProgramLoadFailure) -> [Instruction] {
        if let assembly = test.assembly {
            do {
                return try Assembler.assemble(assembly)
            } catch {
                throw ProgramLoadFailure(description: error.located(in: test.name, firstLine: test.assemblyFirstLine))
            }
        }
        if let raw = test.raw { return raw }
        throw ProgramLoadFailure(description: "\(test.name): the file has neither an '-- asm' nor a '-- raw' section")
    }

    /// Assembles or decodes the test's program and binds the suite's helpers.
    public static func program(of test: ConformanceTest, helpers: HelperRegistry = ConformanceRunner.helpers)
        throws(ProgramLoadFailure) -> ExecutableProgram {
        let slots = try instructions(of: test)
        do {
            return try ExecutableProgram(slots: slots, helpers: helpers, name: test.name)
        } catch {
            throw ProgramLoadFailure(description: "\(test.name): \(error.description)")
        }
    }

    public func run(_ test: ConformanceTest) -> ConformanceOutcome {
        let program: ExecutableProgram
        do {
            program = try Self.program(of: test)
        } catch {
            if test.expectedError != nil { return ConformanceOutcome(name: test.name, status: .passed) }
            return ConformanceOutcome(name: test.name, status: .failed("refused: \(error.description)"))
        }
        let engine: any ProgramEngine
        if let makeEngine {
            do {
                engine = try makeEngine(program, mode, instructionBudget)
            } catch {
                if test.expectedError != nil { return ConformanceOutcome(name: test.name, status: .passed) }
                return ConformanceOutcome(name: test.name, status: .failed("refused: \(error)"))
            }
        } else {
            engine = Interpreter(program: program, mode: mode, instructionBudget: instructionBudget)
        }
        var memory = test.memory
        let result = memory.withUnsafeMutableBytes { buffer in
            Result { () throws(ExecutionError) -> ExecutionResult in try engine.run(memory: buffer) }
        }
        switch (result, test.expectedError, test.expectedResult) {
        case (.failure, .some, _):
            return ConformanceOutcome(name: test.name, status: .passed)
        case (.failure(let error), nil, _):
            return ConformanceOutcome(name: test.name, status: .failed(error.description))
        case (.success(let value), .some, _):
            return ConformanceOutcome(name: test.name, status: .failed(
                "expected an error, but the program returned 0x\(hex(value.returnValue, width: 16))"))
        case (.success(let value), nil, .some(let expected)):
            if value.returnValue == expected { return ConformanceOutcome(name: test.name, status: .passed) }
            return ConformanceOutcome(name: test.name, status: .failed(
                "expected 0x\(hex(expected, width: 16)), got 0x\(hex(value.returnValue, width: 16))"))
        case (.success, nil, nil):
            return ConformanceOutcome(name: test.name, status: .skipped("the file has no '-- result' to compare"))
        }
    }

    /// Reads and runs one `.data` file.
    public func run(file path: String) -> ConformanceOutcome {
        let name = (path as NSString).lastPathComponent
        do {
            return run(try Self.read(file: path))
        } catch {
            return ConformanceOutcome(name: name, status: .failed(error.description))
        }
    }

    public static func read(file path: String) throws(ConformanceFileError) -> ConformanceTest {
        let name = (path as NSString).lastPathComponent
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .unreadable(file: path, reason: "no such file or not readable")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw .unreadable(file: path, reason: "not UTF-8 text")
        }
        return try ConformanceTest(parsing: text, name: name)
    }

    /// The `.data` files named by `paths` (files as given, folders searched, not
    /// recursively), sorted by name within each folder.
    public static func dataFiles(in paths: [String]) throws(ConformanceFileError) -> [String] {
        var files: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw .unreadable(file: path, reason: "no such file or folder")
            }
            if isDirectory.boolValue {
                let entries = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                files += entries.filter { $0.hasSuffix(".data") }.sorted().map { (path as NSString).appendingPathComponent($0) }
            } else {
                files.append(path)
            }
        }
        return files
    }
}
