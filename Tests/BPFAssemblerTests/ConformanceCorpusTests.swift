import BPFAssembler
import BPFInstructionSet
import Foundation
import Testing

@Suite("Conformance corpus")
struct ConformanceCorpusTests {
    @Test("every tests/*.data program assembles, matches its raw section, and survives a disassembly round trip",
          .enabled(if: Corpus.testsAvailable,
                   "conformance corpus not found at ../shared/conformance/tests (relative to the package root)"))
    func roundTrip() throws {
        let files = Corpus.files(in: Corpus.testsDirectory)
        #expect(files.count >= 300, "expected the full corpus (313 files), found \(files.count)")
        var withRaw = 0
        for file in files {
            let name = file.lastPathComponent
            let sections = Corpus.sections(of: try String(contentsOf: file, encoding: .utf8))
            guard let asm = sections["asm"] else {
                Issue.record("\(name): no -- asm section")
                continue
            }
            let slots: [Instruction]
            do {
                slots = try Assembler.assemble(asm.text)
            } catch {
                Issue.record("\(name): \(error)")
                continue
            }
            if let raw = sections["raw"] {
                withRaw += 1
                let expected = try Corpus.rawSlots(raw)
                #expect(slots == expected, "\(name): assembled slots differ from the -- raw section")
            }
            let decoded: [DecodedInstruction]
            do {
                decoded = try ProgramDecoder.decode(slots)
            } catch {
                Issue.record("\(name): assembled program does not decode: \(error)")
                continue
            }
            let listing = Disassembler.listing(decoded, syntax: .conformance)
            do {
                let again = try Assembler.assemble(listing)
                #expect(again == slots, "\(name): disassembly does not assemble back to the same slots:\n\(listing)")
            } catch {
                Issue.record("\(name): disassembly does not assemble: \(error)\n\(listing)")
            }
        }
        #expect(withRaw >= 1, "the corpus has a file with a -- raw section (lddw.data)")
    }

    /// The 1-based line, within an asm section, of its first instruction (in every
    /// invalid_* file the faulty instruction is the first one).
    static func firstInstructionLine(_ section: Corpus.Section) -> Int? {
        for (index, line) in section.lines.enumerated() {
            let code = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            if !code.trimmingCharacters(in: .whitespaces).isEmpty { return index + 1 }
        }
        return nil
    }

    @Test("every negative/invalid_*.data asm section is refused on the right line",
          .enabled(if: Corpus.negativeAvailable,
                   "conformance negatives not found at ../shared/conformance/negative (relative to the package root)"))
    func negatives() throws {
        let files = Corpus.files(in: Corpus.negativeDirectory) {
            $0.hasPrefix("invalid_") && $0 != "invalid_unknown_directive.data"
        }
        #expect(files.count >= 10, "expected the invalid_*.data files, found \(files.count)")
        for file in files {
            let name = file.lastPathComponent
            let sections = Corpus.sections(of: try String(contentsOf: file, encoding: .utf8))
            guard let asm = sections["asm"] else {
                Issue.record("\(name): no -- asm section")
                continue
            }
            let expectedLine = try #require(Self.firstInstructionLine(asm), "\(name): empty asm section")
            do {
                let slots = try Assembler.assemble(asm.text)
                Issue.record("\(name): assembled to \(slots.count) slots instead of failing")
            } catch {
                #expect(error.line == expectedLine, "\(name): \(error) should be reported on line \(expectedLine)")
            }
        }
    }
}
