import BPFTestSupport
import Testing
import Foundation
import BPFAssembler
import BPFInstructionSet
import BPFObject
import BPFRuntime
@testable import BPFVerifier

/// What the verifier accepts must run without a fault: random programs the verifier accepts run in
/// BPFRuntime's checked interpreter, which stops at any access outside the stack, the context and
/// the map values helpers hand out. Map lookups are a test helper that returns NULL or a 64-byte
/// value, so both sides of every NULL check are run.
///
/// `BPFKIT_SOUNDNESS_PROGRAMS` sets how many programs are generated (default 12,000).
@Suite struct SoundnessTests {
    static var programCount: Int {
        ProcessInfo.processInfo.environment["BPFKIT_SOUNDNESS_PROGRAMS"].flatMap(Int.init) ?? 12_000
    }
    static let contextSize = 192  // sizeof(struct __sk_buff)
    static let valueSize = 64
    static let runsPerProgram = 3

    /// The memory one run owns: the context and two map values. Freed when the run is over.
    final class RunState {
        let context: UnsafeMutableRawBufferPointer
        let values: [UnsafeMutableRawBufferPointer]
        var rng: SplitMix64
        var lookups = 0

        init(seed: UInt64) {
            rng = SplitMix64(seed: seed)
            context = .allocate(byteCount: SoundnessTests.contextSize, alignment: 8)
            values = (0..<2).map { _ in .allocate(byteCount: SoundnessTests.valueSize, alignment: 8) }
            for buffer in [context] + values {
                for i in 0..<buffer.count { buffer[i] = UInt8.random(in: 0...255, using: &rng) }
            }
        }

        deinit {
            context.deallocate()
            for value in values { value.deallocate() }
        }
    }

    /// bpf_map_lookup_elem (reads the 4-byte key, answers NULL or a value), ktime, prandom, CPU id.
    static let helpers = HelperRegistry([
        Helper(id: 1, name: "bpf_map_lookup_elem") { arguments, context throws(HelperError) in
            _ = try context.buffer(at: arguments.r2, count: 4, write: false)
            guard let state = context.userInfo as? RunState else { throw .fault("no run state") }
            state.lookups += 1
            if state.rng.next() % 3 == 0 { return 0 }
            let value = state.values[state.lookups % 2]
            context.grantAccess(to: MemoryRegion(value, isWritable: true, name: "map value"))
            return UInt64(UInt(bitPattern: value.baseAddress))
        },
        Helper(id: 5, name: "bpf_ktime_get_ns") { _, _ in 123_456_789 },
        Helper(id: 7, name: "bpf_get_prandom_u32") { _, context in
            (context.userInfo as? RunState).map { UInt64(UInt32(truncatingIfNeeded: $0.rng.next())) } ?? 4
        },
        Helper(id: 8, name: "bpf_get_smp_processor_id") { _, _ in 0 },
        // bpf_skb_load_bytes(ctx, offset, to, len): fills `to` (checked for writing) from a packet.
        Helper(id: 26, name: "bpf_skb_load_bytes") { arguments, context throws(HelperError) in
            let buffer = try context.buffer(at: arguments.r3, count: arguments.r4, write: true)
            for i in 0..<buffer.count { buffer[i] = UInt8(truncatingIfNeeded: i &+ Int(arguments.r2)) }
            return 0
        },
    ])

    @Test func acceptedProgramsRunWithoutFaults() throws {
        var options = RandomProgramGenerator.Options()
        options.hashOnly = true
        let verifier = Verifier(options: VerifierOptions(complexityLimit: 100_000))
        var accepted = 0, runs = 0
        var failures: [String] = []
        for i in 0..<Self.programCount {
            let seed = 0x50_0000 &+ UInt64(i)
            // Every third program is longer, so that more paths meet.
            options.blocks = i % 3 == 2 ? 6...12 : 2...6
            let program = RandomProgramGenerator.program(seed: seed, options: options)
            let instructions = try Assembler.assembleProgram(program.source).instructions
            let result = verifier.verify(VerifierInput(instructions: instructions, programType: .socketFilter,
                                                       maps: OracleMaps.descriptions))
            guard result.isAccepted else { continue }
            accepted += 1
            // The map handle `lddw` loads is never dereferenced by an accepted program.
            let executable = try ExecutableProgram(slots: instructions, helpers: Self.helpers) { _ in 0xA000_0000 }
            let interpreter = Interpreter(program: executable, mode: .checked)
            for run in 0..<Self.runsPerProgram {
                let state = RunState(seed: seed &* 31 &+ UInt64(run))
                runs += 1
                do {
                    _ = try interpreter.run(
                        arguments: HelperArguments(UInt64(UInt(bitPattern: state.context.baseAddress))),
                        regions: [MemoryRegion(state.context, isWritable: true, name: "ctx")], userInfo: state)
                } catch {
                    failures.append("seed \(seed), run \(run): \(error)\n\(program.source)")
                    break
                }
            }
        }
        print("soundness: \(Self.programCount) random programs, \(accepted) accepted by BPFKit, \(runs) checked runs, \(failures.count) faulted")
        for failure in failures.prefix(10) { print("FAULT in an accepted program, \(failure)") }
        #expect(failures.isEmpty, "\(failures.count) accepted programs faulted; first: \(failures.first ?? "")")
        #expect(accepted >= 1_500, "too few accepted programs (\(accepted)) for the property to mean much")
    }

    /// The harness notices a fault: a program the verifier refuses (a map value read past its end
    /// when the lookup succeeds) faults in the same setting.
    @Test func harnessDetectsFaults() throws {
        let source = Programs.lookup(OracleMaps.hash64) + "\njeq %r0, 0, +2\nldxdw %r0, [%r0+60]\nexit\nmov %r0, 0\nexit"
        let instructions = try Assembler.assembleProgram(source).instructions
        #expect(!Verifier().verify(VerifierInput(instructions: instructions, programType: .socketFilter,
                                                 maps: OracleMaps.descriptions)).isAccepted)
        let interpreter = Interpreter(program: try ExecutableProgram(slots: instructions, helpers: Self.helpers) { _ in 0xA000_0000 })
        var faults = 0
        for run in 0..<8 {
            let state = RunState(seed: UInt64(run))
            do {
                _ = try interpreter.run(arguments: HelperArguments(UInt64(UInt(bitPattern: state.context.baseAddress))),
                                        regions: [MemoryRegion(state.context, isWritable: true, name: "ctx")], userInfo: state)
            } catch {
                faults += 1
            }
        }
        #expect(faults > 0)
    }
}
