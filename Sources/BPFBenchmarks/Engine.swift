import BPFKit

/// One of BPFKit's execution engines, as the suite drives it: given a freshly
/// loaded object (maps filled), the program's name and the verifier's result,
/// it prepares a run function, which runs the program over one packet and
/// returns r0. The suite times that function; native code and Linux are measured
/// by their own paths.
///
/// Adding an engine is one more entry in ``all``. The suite loads each engine's
/// objects with ``engine`` (the loader's choice of interpreter or JIT).
public struct BenchmarkEngine: Sendable {
    public typealias Run = (_ packet: [UInt8]) throws -> UInt64
    public typealias Prepare = @Sendable (_ object: LoadedObject, _ program: String,
                                          _ verification: VerificationResult) throws -> Run

    public var name: String
    /// What the loader runs this engine's objects on.
    public var engine: EngineChoice
    public var prepare: Prepare

    public init(name: String, engine: EngineChoice, prepare: @escaping Prepare) {
        self.name = name
        self.engine = engine
        self.prepare = prepare
    }

    /// Load options for this engine: verified programs trusted, others checked.
    func loadOptions(_ verification: VerificationResult) -> LoadOptions {
        LoadOptions(mode: verification.isAccepted ? .trusted : .checked, verifies: verification.isAccepted, engine: engine)
    }

    /// Runs packets through a reused ``PacketRunner`` (one per caller: runners are per thread).
    static let packetRunner: Prepare = { object, program, _ in
        let runner = try PacketRunner(collection: object, program: program)
        return { packet in try runner.returnValue(forPacket: packet).returnValue }
    }

    /// The interpreter through a reused ``PacketRunner``; the object's mode is
    /// trusted when BPFKit's verifier accepted the program, checked otherwise.
    public static let interpreter = BenchmarkEngine(name: "interpreter", engine: .interpreter, prepare: packetRunner)

    /// BPFJIT's x86-64 code (trusted when verified, checked otherwise), through a
    /// reused ``PacketRunner`` like the interpreter.
    public static let jit = BenchmarkEngine(name: "jit", engine: .jit, prepare: packetRunner)

    /// BPFKit's engines, in table order (the JIT on x86-64 hosts only).
    public static var all: [BenchmarkEngine] {
        #if arch(x86_64)
        [.interpreter, .jit]
        #else
        [.interpreter]
        #endif
    }

    /// Column order of the table and of each workload's `engines` in JSON.
    public static let tableOrder = ["interpreter-trusted", "interpreter-checked", "interpreter", "jit", "native", "linux"]
}
