import BPFJIT
import BPFMaps
import BPFObject
import BPFRuntime
import BPFVerifier

/// Why an ``ObjectSpec`` could not become a ``LoadedObject``. Every case names
/// the map, or the program and instruction, it is about.
public enum CollectionLoadError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The object file could not be read or described.
    case invalidObject(path: String, reason: String)
    /// BPFMaps refused the map's definition (unsupported type, Linux's creation rules).
    case invalidMap(map: String, reason: String)
    /// A static initial value or a configured entry could not be stored in a map.
    case invalidMapContent(map: String, reason: String)
    /// A `.values` slot or inner map names a program or map the object lacks.
    case unknownSlotTarget(map: String, slot: UInt32, target: String)
    /// `LoadOptions` names a map that does not exist.
    case unknownMap(name: String, context: String)
    /// `.rodata` override of the wrong size.
    case wrongDataSize(map: String, expected: Int, given: Int)
    /// An `lddw` refers to a map the object does not define.
    case unknownMapReference(program: String, instruction: Int, map: String, symbol: String)
    /// A map-value reference lies outside the map's value.
    case mapValueOutOfRange(program: String, instruction: Int, map: String, offset: UInt32, valueSize: UInt32)
    /// A map-value reference to a map that has no direct value address (not an array).
    case mapValueUnsupported(program: String, instruction: Int, map: String, type: MapType)
    /// The program calls a helper BPFKit does not implement.
    case unsupportedHelper(program: String, instruction: Int, helper: String, id: Int32)
    /// The runtime refused the program (invalid instruction, kfunc call, ...).
    case invalidProgram(program: String, reason: String)
    /// The program's type has no context BPFKit can build.
    case unsupportedProgramType(program: String, type: ProgramType)
    /// The verifier refused the program; `result` explains why (``VerificationResult/refusal``).
    case programRefused(program: String, result: VerificationResult)
    /// ``LoadOptions/programNames`` names a program the object does not define.
    case unknownProgram(name: String)
    /// The JIT could not compile the program.
    case compilationFailed(program: String, error: JITError)
    /// The chosen engine does not exist on this machine (the JIT outside x86-64).
    case engineUnavailable(program: String, engine: EngineChoice)

    public var description: String {
        switch self {
        case .invalidObject(let path, let reason): "\(path): \(reason)"
        case .invalidMap(let map, let reason): "map \(map): \(reason)"
        case .invalidMapContent(let map, let reason): "map \(map): \(reason)"
        case .unknownSlotTarget(let map, let slot, let target):
            "map \(map): slot \(slot) refers to \(target), which the object does not define"
        case .unknownMap(let name, let context): "\(context): there is no map named \(name)"
        case .wrongDataSize(let map, let expected, let given):
            "map \(map): new contents are \(given) bytes but the section is \(expected) bytes"
        case .unknownMapReference(let program, let instruction, let map, let symbol):
            "program \(program), instruction \(instruction): \(symbol) refers to map \(map), which the object does not define"
        case .mapValueOutOfRange(let program, let instruction, let map, let offset, let valueSize):
            "program \(program), instruction \(instruction): offset \(offset) lies outside the \(valueSize)-byte value of map \(map)"
        case .mapValueUnsupported(let program, let instruction, let map, let type):
            "program \(program), instruction \(instruction): map \(map) is a \(type.name) map, whose value has no fixed address"
        case .unsupportedHelper(let program, let instruction, let helper, let id):
            "program \(program), instruction \(instruction): calls helper \(helper) (#\(id)), which BPFKit does not implement"
        case .invalidProgram(let program, let reason): "program \(program): \(reason)"
        case .unsupportedProgramType(let program, let type):
            "program \(program): \(type.name) programs cannot be run by BPFKit yet"
        case .programRefused(let program, let result):
            "\(program): \(result.summary)"
        case .compilationFailed(let program, let error):
            "program \(program): the JIT could not compile it: \(error)"
        case .engineUnavailable(let program, let engine):
            "program \(program): the \(engine.rawValue) engine is not available on this machine"
        case .unknownProgram(let name): "programNames: the object has no program named \(name)"
        }
    }
}

extension CollectionLoadError {
    /// Cases are equal when their associated values are; two refusals are equal
    /// when they name the same program and the verifier's summaries agree.
    public static func == (lhs: Self, rhs: Self) -> Bool {
        switch (lhs, rhs) {
        case let (.invalidObject(a1, b1), .invalidObject(a2, b2)): a1 == a2 && b1 == b2
        case let (.invalidMap(a1, b1), .invalidMap(a2, b2)): a1 == a2 && b1 == b2
        case let (.invalidMapContent(a1, b1), .invalidMapContent(a2, b2)): a1 == a2 && b1 == b2
        case let (.unknownSlotTarget(a1, b1, c1), .unknownSlotTarget(a2, b2, c2)): a1 == a2 && b1 == b2 && c1 == c2
        case let (.unknownMap(a1, b1), .unknownMap(a2, b2)): a1 == a2 && b1 == b2
        case let (.wrongDataSize(a1, b1, c1), .wrongDataSize(a2, b2, c2)): a1 == a2 && b1 == b2 && c1 == c2
        case let (.unknownMapReference(a1, b1, c1, d1), .unknownMapReference(a2, b2, c2, d2)):
            a1 == a2 && b1 == b2 && c1 == c2 && d1 == d2
        case let (.mapValueOutOfRange(a1, b1, c1, d1, e1), .mapValueOutOfRange(a2, b2, c2, d2, e2)):
            a1 == a2 && b1 == b2 && c1 == c2 && d1 == d2 && e1 == e2
        case let (.mapValueUnsupported(a1, b1, c1, d1), .mapValueUnsupported(a2, b2, c2, d2)):
            a1 == a2 && b1 == b2 && c1 == c2 && d1 == d2
        case let (.unsupportedHelper(a1, b1, c1, d1), .unsupportedHelper(a2, b2, c2, d2)):
            a1 == a2 && b1 == b2 && c1 == c2 && d1 == d2
        case let (.invalidProgram(a1, b1), .invalidProgram(a2, b2)): a1 == a2 && b1 == b2
        case let (.unsupportedProgramType(a1, b1), .unsupportedProgramType(a2, b2)): a1 == a2 && b1 == b2
        case let (.programRefused(a1, b1), .programRefused(a2, b2)): a1 == a2 && b1.summary == b2.summary
        case let (.unknownProgram(a1), .unknownProgram(a2)): a1 == a2
        case let (.compilationFailed(a1, b1), .compilationFailed(a2, b2)): a1 == a2 && b1 == b2
        case let (.engineUnavailable(a1, b1), .engineUnavailable(a2, b2)): a1 == a2 && b1 == b2
        default: false
        }
    }
}

/// Why a run could not start or did not reach `exit`.
public enum CollectionRunError: Error, Equatable, Sendable, CustomStringConvertible {
    case unknownProgram(name: String)
    /// The program's type takes a different kind of input (a packet vs. raw context bytes).
    case wrongInput(program: String, type: ProgramType, expected: String)
    /// The packet is too short or too long for the program type (as Linux's test_run refuses it).
    case invalidPacket(program: String, reason: String)
    /// Memory below 4 GiB for the context could not be mapped.
    case lowMemoryUnavailable(reason: String)
    /// Memory for the packet frame could not be mapped.
    case frameUnavailable(reason: String)
    /// The program faulted (checked mode), ran out of budget, or a helper refused its arguments.
    case execution(program: String, error: ExecutionError)

    public var description: String {
        switch self {
        case .unknownProgram(let name): "there is no program named \(name)"
        case .wrongInput(let program, let type, let expected):
            "program \(program) is a \(type.name) program and takes \(expected)"
        case .invalidPacket(let program, let reason): "program \(program): \(reason)"
        case .lowMemoryUnavailable(let reason): "cannot place the context below 4 GiB: \(reason)"
        case .frameUnavailable(let reason): "cannot map the packet frame: \(reason)"
        case .execution(let program, let error): "program \(program): \(error.description)"
        }
    }
}
