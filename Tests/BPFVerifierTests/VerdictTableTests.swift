import Testing
import Foundation
import BPFAssembler
import BPFObject
@testable import BPFVerifier

/// The verdict table: BPFKit must give each program the expected verdict, and (when `bpf()` works)
/// Linux must agree that the privileged cases are accepted or refused as the table says.
@Suite struct VerdictTableTests {
    /// Low enough that the refused unbounded loops end quickly in a debug build, high enough for
    /// every accepted program of the table.
    static let complexityLimit = 20_000

    /// Cases where Linux accepts and BPFKit still refuses (over-strict, never unsafe).
    static let openDisagreements: [String: String] = [:]

    @Test(arguments: verdictCases)
    func bpfkitVerdict(_ c: VerdictCase) throws {
        let program = try Assembler.assembleProgram(c.source)
        let input = VerifierInput(instructions: program.instructions, programType: c.type, maps: OracleMaps.descriptions)
        let result = Verifier(options: VerifierOptions(profile: c.profile, complexityLimit: Self.complexityLimit)).verify(input)
        let got = result.refusal?.error.kind ?? "ok"
        if let gap = Self.openDisagreements[c.name] {
            // Recorded as known: the test fails once the verifier is fixed, so the entry goes.
            withKnownIssue(Comment(rawValue: gap)) {
                #expect(got == c.expected, "\(c.name): \(result.summary)")
            }
        } else {
            #expect(got == c.expected, "\(c.name): \(result.summary)\n\(result.refusal?.explanation ?? "")")
        }
        // A verdict (not just a kind) that differs from Linux's goes to the verifier's owner.
        if (got == "ok") != (c.expected == "ok"), c.profile == .privileged,
           let linux = LinuxOracle.verdict(of: program.instructions, type: c.type),
           linux.accepted == (c.expected == "ok") {
            DisagreementLog.append(title: "table case \"\(c.name)\"", source: c.source, type: c.type, linux: linux,
                                   bpfkit: result.summary)
        }
    }

    @Test(arguments: verdictCases.filter { $0.profile == .privileged })
    func linuxAgreesWithTheTable(_ c: VerdictCase) throws {
        let program = try Assembler.assembleProgram(c.source)
        guard let quick = LinuxOracle.verdict(of: program.instructions, type: c.type, withLog: false) else {
            print("skipping Linux check of \(c.name): bpf() is not available")
            return
        }
        if quick.accepted != (c.expected == "ok") {
            let linux = LinuxOracle.verdict(of: program.instructions, type: c.type) ?? quick
            Issue.record("\(c.name): Linux \(linux.accepted ? "accepts" : "refuses (errno \(linux.errno))"), the table says \(c.expected)\n\(LinuxOracle.tail(linux.log))")
        }
    }

    /// The unprivileged cases of both tables against Linux's unprivileged verifier (a thread
    /// without capabilities). Linux refuses such loads while `kernel.unprivileged_bpf_disabled`
    /// is not 0, its default on most distributions; the test then says so and checks nothing.
    @Test func linuxAgreesWithTheUnprivilegedCases() throws {
        let unprivileged = verdictCases.filter { $0.profile == .unprivileged }.map { ($0.name, $0.source, $0.type, $0.expected) }
            + cases.filter { $0.profile == .unprivileged && !$0.functionInfo }.map { ($0.name, $0.source, $0.type, $0.expected) }
        guard LinuxOracle.isUnprivilegedAvailable else {
            print("skipping the Linux check of \(unprivileged.count) unprivileged cases: bpf() is refused to unprivileged callers (set kernel.unprivileged_bpf_disabled=0 to run it)")
            return
        }
        var compared = 0
        for (name, source, type, expected) in unprivileged {
            let program = try Assembler.assembleProgram(source)
            let linux = try #require(LinuxOracle.unprivilegedVerdict(of: program.instructions, type: type))
            compared += 1
            #expect(linux.accepted == (expected == "ok"),
                    "\(name): unprivileged Linux \(linux.accepted ? "accepts" : "refuses (errno \(linux.errno))"), the table says \(expected)\n\(LinuxOracle.tail(linux.log))")
        }
        #expect(compared == unprivileged.count)
    }

    /// The older table (CaseTableTests) against Linux too: its maps are the first five of
    /// `OracleMaps.descriptions`, shape for shape. Cases that need BTF function info are left out
    /// (the oracle loads bare instructions).
    @Test(arguments: cases.filter { $0.profile == .privileged && !$0.functionInfo })
    func linuxAgreesWithTheOlderTable(_ c: Case) throws {
        let program = try Assembler.assembleProgram(c.source)
        guard let quick = LinuxOracle.verdict(of: program.instructions, type: c.type, withLog: false) else { return }
        if quick.accepted != (c.expected == "ok") {
            let linux = LinuxOracle.verdict(of: program.instructions, type: c.type) ?? quick
            Issue.record("\(c.name): Linux \(linux.accepted ? "accepts" : "refuses (errno \(linux.errno))"), CaseTableTests says \(c.expected)\n\(LinuxOracle.tail(linux.log))")
            let result = Verifier(options: VerifierOptions(profile: c.profile, complexityLimit: Self.complexityLimit))
                .verify(VerifierInput(instructions: program.instructions, programType: c.type, maps: OracleMaps.descriptions))
            if result.isAccepted != linux.accepted {
                DisagreementLog.append(title: "CaseTableTests case \"\(c.name)\" (its expectation differs from Linux too)", source: c.source,
                                       type: c.type, linux: linux, bpfkit: result.summary)
            }
        }
    }

    @Test func tableSize() {
        #expect(verdictCases.count + cases.count >= 300, "\(verdictCases.count) new + \(cases.count) existing cases")
        print("verdict table: \(verdictCases.count) cases here, \(cases.count) in CaseTableTests")
    }
}
