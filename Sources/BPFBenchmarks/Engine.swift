import BPFKit

/// One of BPFKit's execution engines, as the suite drives it: given a freshly
/// loaded object (maps filled), the program's name and the verifier's result,
/// it prepares a run function, which runs the program over one packet and
/// returns r0. The suite times that function; native code and Linux are measured
/// by their own paths.
///
/// Adding an engine is one more entry in ``all``, e.g. the JIT:
/// `ProgramEngine(name: "jit") { object, program, verification in … return { packet in … } }`.
public struct ProgramEngine: Sendable {
    public typealias Run = (_ packet: [UInt8]) throws -> UInt64
    public typealias Prepare = @Sendable (_ object: LoadedObject, _ program: String,
                                          _ verification: VerificationResult) throws -> Run

    public var name: String
    public var prepare: Prepare

    public init(name: String, prepare: @escaping Prepare) {
        self.name = name
        self.prepare = prepare
    }

    /// The interpreter through a reused ``PacketRunner``; the object's mode is
    /// trusted when BPFKit's verifier accepted the program, checked otherwise.
    public static let interpreter = ProgramEngine(name: "interpreter") { object, program, _ in
        let runner = try PacketRunner(collection: object, program: program)
        return { packet in try runner.returnValue(forPacket: packet).returnValue }
    }

    /// BPFKit's engines, in table order.
    public static let all: [ProgramEngine] = [.interpreter]

    /// Column order of the table and of each workload's `engines` in JSON.
    public static let tableOrder = ["interpreter-trusted", "interpreter-checked", "interpreter", "jit", "native", "linux"]
}
