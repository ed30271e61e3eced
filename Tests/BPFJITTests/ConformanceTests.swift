import BPFConformance
import BPFJIT
import BPFRuntime
import Foundation
import Testing
import BPFTestSupport

/// `../shared/conformance` next to the package, when it exists.
let conformanceFolder: String? = SharedMaterial.exists("conformance") ? SharedMaterial.conformance : nil

let skipMessage = "../shared/conformance is not present next to the package: the conformance corpus was not run on the JIT"

/// The whole conformance corpus on JIT'd code, trusted and checked.
@Suite struct ConformanceTests {
    @Test(.enabled(if: conformanceFolder != nil, Comment(rawValue: skipMessage)), arguments: ExecutionMode.allCases)
    func everyTestPassesOnTheJIT(mode: ExecutionMode) throws {
        let files = try ConformanceRunner.dataFiles(in: [conformanceFolder! + "/tests"])
        #expect(files.count == 313)
        let runner = ConformanceRunner(mode: mode) { program, mode, budget in
            try JITCompiler(JITOptions(instructionBudget: budget)).compile(program, mode: mode)
        }
        for file in files {
            let outcome = runner.run(file: file)
            #expect(outcome.status == .passed, "\(outcome.name) on the JIT in \(mode) mode")
        }
    }

    @Test(.enabled(if: conformanceFolder != nil, Comment(rawValue: skipMessage)))
    func negativeFilesEndWithoutACrashOrHangInCheckedMode() throws {
        let runner = ConformanceRunner(mode: .checked, instructionBudget: 100_000) { program, mode, budget in
            try JITCompiler(JITOptions(instructionBudget: budget)).compile(program, mode: mode)
        }
        let interpreter = ConformanceRunner(mode: .checked, instructionBudget: 100_000)
        for file in try ConformanceRunner.dataFiles(in: [conformanceFolder! + "/negative"]) {
            let jit = runner.run(file: file)
            let interpreted = interpreter.run(file: file)
            // Same verdict (messages may quote addresses, which differ between engines).
            #expect(verdict(jit.status) == verdict(interpreted.status), "\(jit.name): \(jit.status) vs \(interpreted.status)")
        }
    }
}

func verdict(_ status: ConformanceOutcome.Status) -> String {
    switch status {
    case .passed: "passed"
    case .failed: "failed"
    case .skipped: "skipped"
    }
}
