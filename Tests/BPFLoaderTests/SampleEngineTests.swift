import BPFInstructionSet
import BPFLoader
import BPFMaps
import BPFObject
import BPFRuntime
import Foundation
import Testing
import BPFTestSupport

/// The real programs of `../shared/samples` on both engines: every program BPFKit
/// verifies compiles on the JIT, and packet programs give the same results and
/// map contents on the JIT as on the interpreter.
@Suite("Sample objects on both engines")
struct SampleEngineTests {
    static let root = SharedMaterial.samples

    static func objectPaths() -> [String] {
        ["build", "linux", "cilium-examples", "suricata", "ovs", "prototype-kernel"].flatMap { directory in
            let names = (try? FileManager.default.contentsOfDirectory(atPath: root + "/" + directory)) ?? []
            return names.filter { $0.hasSuffix(".o") }.sorted().map { root + "/" + directory + "/" + $0 }
        }
    }

    /// Calls of helpers whose results differ from run to run (clocks, random numbers).
    static func isNondeterministicCall(_ instruction: Instruction) -> Bool {
        instruction.opcode == 0x85 && instruction.source == 0 && [5, 7, 118, 125, 160].contains(instruction.immediate)
    }

    @Test func verifiedSamplesRunAlikeOnBothEngines() throws {
        let paths = Self.objectPaths()
        guard !paths.isEmpty else {
            Issue.record("skipped: no sample objects at \(Self.root)", severity: .warning)
            return
        }
        let packets = ContextRewriteTests.packets + PacketSequenceTests.packets
        var compiled = 0, compared = 0
        for path in paths {
            guard let spec = try? ObjectSpec(contentsOf: path) else { continue }
            for programSpec in spec.programs {
                // One program at a time: objects may mix accepted and refused programs.
                var options = LoadOptions(programNames: [programSpec.name])
                options.engine = .interpreter
                guard let interpreted = try? LoadedObject(spec: spec, options: options) else { continue }
                options.engine = .jit
                let native: LoadedObject
                do {
                    native = try LoadedObject(spec: spec, options: options)
                } catch {
                    Issue.record("\(path) \(programSpec.name): accepted but not compiled: \(error)")
                    continue
                }
                compiled += 1
                guard EngineAgreementTests.isPacketProgram(programSpec.type),
                      !programSpec.instructions.contains(where: Self.isNondeterministicCall) else { continue }
                compared += 1
                for (index, packet) in packets.enumerated() {
                    let place = "\(path) \(programSpec.name), packet \(index)"
                    let expected = Result { try interpreted.run(program: programSpec.name, packet: packet) }
                    let actual = Result { try native.run(program: programSpec.name, packet: packet) }
                    switch (expected, actual) {
                    case (.success(let e), .success(let a)):
                        #expect(a.returnValue == e.returnValue && a.packetAfter == e.packetAfter && a.redirect == e.redirect,
                                "\(place): interpreter \(e.returnValue), JIT \(a.returnValue)")
                    case (.failure(let e), .failure(let a)):
                        #expect("\(a)" == "\(e)", "\(place)")
                    default:
                        Issue.record("\(place): interpreter \(expected), JIT \(actual)")
                    }
                }
                for ((name, expected), (_, actual)) in zip(interpreted.maps, native.maps) {
                    #expect(try EngineAgreementTests.contents(of: actual).sorted(by: EngineAgreementTests.lexicographic)
                            == EngineAgreementTests.contents(of: expected).sorted(by: EngineAgreementTests.lexicographic),
                            "\(path) \(programSpec.name): map \(name)")
                }
            }
        }
        #expect(compiled > 50, "most accepted sample programs load (\(compiled) compiled, \(compared) run)")
        print("samples on both engines: \(compiled) programs compiled, \(compared) packet programs compared")
    }
}
