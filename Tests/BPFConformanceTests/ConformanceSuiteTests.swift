import BPFConformance
import BPFRuntime
import Foundation
import Testing
import BPFTestSupport

/// `../shared/conformance` next to the package, when it exists.
let conformanceFolder: String? = SharedMaterial.exists("conformance") ? SharedMaterial.conformance : nil

let skipMessage = "../shared/conformance is not present next to the package: the conformance corpus was not run"

/// The whole conformance corpus through every engine mode.
@Suite struct ConformanceSuiteTests {
    @Test(.enabled(if: conformanceFolder != nil, Comment(rawValue: skipMessage)), arguments: ExecutionMode.allCases)
    func everyPositiveTestPasses(mode: ExecutionMode) throws {
        let files = try ConformanceRunner.dataFiles(in: [conformanceFolder! + "/tests"])
        #expect(files.count == 313)
        let runner = ConformanceRunner(mode: mode)
        for file in files {
            let outcome = runner.run(file: file)
            #expect(outcome.status == .passed, "\(outcome.name) in \(mode) mode")
        }
    }

    @Test(.enabled(if: conformanceFolder != nil, Comment(rawValue: skipMessage)))
    func malformedEncodingsAndFilesAreRefusedWithAPlace() throws {
        let files = try ConformanceRunner.dataFiles(in: [conformanceFolder! + "/negative"])
        let refused = files.filter {
            let name = ($0 as NSString).lastPathComponent
            return name.hasPrefix("unused-") || name.hasPrefix("invalid_") || name.hasPrefix("empty")
        }
        #expect(refused.filter { $0.contains("unused-") }.count == 45)
        for file in refused {
            let name = (file as NSString).lastPathComponent
            do {
                let test = try ConformanceRunner.read(file: file)
                _ = try ConformanceRunner.program(of: test)
                Issue.record("\(name) was accepted")
            } catch let error as ProgramLoadFailure {
                // Encodings name the instruction index; assembly names the line; files name their section.
                let text = error.description
                #expect(text.contains("instruction ") || text.contains(".data:") || text.contains("section"),
                        "\(name): \(text)")
            } catch let error as ConformanceFileError {
                #expect(error.description.contains(".data:"), "\(name): \(error)")
            }
        }
    }

    @Test(.enabled(if: conformanceFolder != nil, Comment(rawValue: skipMessage)))
    func wrongUpperBitsOfR0AreAFailedComparison() throws {
        let outcome = ConformanceRunner().run(file: conformanceFolder! + "/negative/incorrect_return_value_high_bits.data")
        #expect(outcome.status == .failed("expected 0x8977665544332211, got 0x8877665544332211"))
    }

    @Test(.enabled(if: conformanceFolder != nil, Comment(rawValue: skipMessage)))
    func everyNegativeFileEndsWithoutACrashOrHang() throws {
        let runner = ConformanceRunner(mode: .checked, instructionBudget: 100_000)
        for file in try ConformanceRunner.dataFiles(in: [conformanceFolder! + "/negative"]) {
            let outcome = runner.run(file: file)
            #expect(outcome.name == (file as NSString).lastPathComponent)
        }
    }
}
