import BPFKit
import Foundation

/// A program read from a file the commands accept: a conformance `.data` file,
/// assembly text (`.s`, `.asm`) or raw instructions (`.bin`).
struct ProgramInput {
    var name: String
    var instructions: [Instruction]
    /// The `-- mem` section of a `.data` file.
    var memory: [UInt8]?

    /// An error that names the file (and line, where the input has lines).
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func load(path: String) throws(Failure) -> ProgramInput {
        let name = (path as NSString).lastPathComponent
        let data = try readFile(path)
        switch (path as NSString).pathExtension.lowercased() {
        case "data":
            let test: ConformanceTest
            do {
                guard let text = String(data: Data(data), encoding: .utf8) else { throw Failure(description: "\(path): not UTF-8 text") }
                test = try ConformanceTest(parsing: text, name: path)
            } catch let error as Failure {
                throw error
            } catch {
                throw Failure(description: "\(error)")
            }
            do {
                return ProgramInput(name: name, instructions: try ConformanceRunner.instructions(of: test), memory: test.memory)
            } catch {
                throw Failure(description: error.description)
            }
        case "s", "asm":
            guard let text = String(data: Data(data), encoding: .utf8) else { throw Failure(description: "\(path): not UTF-8 text") }
            do {
                return ProgramInput(name: name, instructions: try Assembler.assemble(text), memory: nil)
            } catch {
                throw Failure(description: error.located(in: path))
            }
        case "bin":
            do {
                return ProgramInput(name: name, instructions: try Instruction.decodeSlots(data), memory: nil)
            } catch {
                throw Failure(description: "\(path): \(error.description)")
            }
        default:
            throw Failure(description: "\(path): unknown kind of file; expected .data, .s, .asm or .bin")
        }
    }

    static func readFile(_ path: String) throws(Failure) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Failure(description: "\(path): no such file or not readable")
        }
        return [UInt8](data)
    }

    /// Parses hex bytes, ignoring spaces: "aa bb 11" or "aabb11".
    /// `option` names the source in errors.
    static func parseHex(_ text: String, option: String = "--mem-hex") throws(Failure) -> [UInt8] {
        let digits = text.filter { !$0.isWhitespace }
        guard digits.count % 2 == 0 else {
            throw Failure(description: "\(option): an odd number of hex digits (\(digits.count))")
        }
        var bytes: [UInt8] = []
        var index = digits.startIndex
        while index < digits.endIndex {
            let next = digits.index(index, offsetBy: 2)
            guard let byte = UInt8(digits[index..<next], radix: 16) else {
                throw Failure(description: "\(option): '\(digits[index..<next])' at digit \(digits.distance(from: digits.startIndex, to: index)) is not a hex byte")
            }
            bytes.append(byte)
            index = next
        }
        return bytes
    }
}
