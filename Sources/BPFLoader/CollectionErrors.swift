import BPFMaps
import BPFObject
import BPFRuntime

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
    /// The program faulted (checked mode), ran out of budget, or a helper refused its arguments.
    case execution(program: String, error: ExecutionError)

    public var description: String {
        switch self {
        case .unknownProgram(let name): "there is no program named \(name)"
        case .wrongInput(let program, let type, let expected):
            "program \(program) is a \(type.name) program and takes \(expected)"
        case .invalidPacket(let program, let reason): "program \(program): \(reason)"
        case .lowMemoryUnavailable(let reason): "cannot place the context below 4 GiB: \(reason)"
        case .execution(let program, let error): "program \(program): \(error.description)"
        }
    }
}
