import BPFObject
import BPFInstructionSet
import BPFABI

/// An argument of a global (non-static) function as Linux types it from BTF
/// (`btf_prepare_func_args`).
public enum GlobalFunctionArgument: Sendable, Hashable {
    /// An integer or enum: any scalar.
    case scalar
    /// A pointer to the program type's context structure.
    case context
    /// A pointer to `size` bytes of memory, or NULL (Linux's PTR_TO_MEM | PTR_MAYBE_NULL).
    case memory(size: Int)
    /// A type Linux refuses for a global function's argument.
    case unsupported(String)
}

/// A global function: Linux verifies it once on its own, from its BTF prototype, and
/// its callers only check the arguments they pass.
public struct GlobalFunctionSignature: Sendable, Hashable {
    public var name: String
    public var arguments: [GlobalFunctionArgument]

    public init(name: String, arguments: [GlobalFunctionArgument]) {
        self.name = name
        self.arguments = arguments
    }
}

extension VerifierInput {
    /// The input for a program of an object, with its global functions typed from the
    /// object's BTF (as Linux verifies them: separately, from their prototypes).
    public init(program: ProgramSpec, object: ObjectSpec) {
        self.init(program: program, maps: object.maps)
        guard let btf = object.btf else { return }
        describeMapValues(object.maps, btf: btf)
        for info in program.functionInfo where info.instructionIndex > 0 {
            guard let function = btf.type(id: info.typeID), function.kind == .function, function.vlen == 1,
                  let prototype = btf.type(id: function.sizeOrType), prototype.kind == .functionPrototype else { continue }
            let contextName = ContextLayout.for(program.type)?.structName
            let arguments = prototype.parameters.map { parameter -> GlobalFunctionArgument in
                guard let type = btf.resolved(parameter.type) else { return .unsupported("void") }
                switch type.kind {
                case .integer, .enumeration, .enumeration64: return .scalar
                case .pointer:
                    guard let target = btf.resolved(type.sizeOrType) else {
                        return .unsupported("arg \(parameter.name): reference type('void') size cannot be determined")
                    }
                    if target.kind == .structure, let contextName, target.name == contextName { return .context }
                    guard let size = btf.size(of: type.sizeOrType) else {
                        return .unsupported("arg \(parameter.name): reference type size cannot be determined")
                    }
                    return .memory(size: size)
                default:
                    return .unsupported("arg \(parameter.name) of kind \(type.kind.name) is not supported")
                }
            }
            globalFunctions[info.instructionIndex] = GlobalFunctionSignature(name: info.name, arguments: arguments)
        }
    }
}

extension Engine {
    /// A call of a global function: check the arguments against its prototype; the
    /// callee is verified on its own, and returns an unknown scalar.
    func callGlobal(_ d: DecodedInstruction, _ path: inout Path, signature: GlobalFunctionSignature, entry: Int) throws {
        let pc = d.index
        for (index, argument) in signature.arguments.enumerated() where index < 5 {
            let r = index + 1
            let v = try readRegister(path.state, r, pc)
            func argError(_ reason: String) -> Failure {
                fail(.helperArgument(pc: pc, helper: signature.name, argument: r, reason: reason))
            }
            switch argument {
            case .scalar:
                guard v.kind == .scalar else { throw argError("R\(r) is not a scalar") }
            case .context:
                guard v.kind == .context else { throw argError("arg#\(index) expects pointer to ctx") }
                if v.offset != 0 || v.value.constantValue != 0 {
                    throw fail(.modifiedContextPointer(pc: pc, register: r, offset: Int(v.offset)))
                }
            case .memory(let size):
                if v.kind == .scalar && v.value.constantValue == 0 { break }
                var state = path.state
                try helperMemory(&state, pc: pc, reg: r, size: size, sizeRange: nil, write: false, helper: signature.name)
                try helperMemory(&state, pc: pc, reg: r, size: size, sizeRange: nil, write: true, helper: signature.name)
            case .unsupported(let reason):
                throw fail(.unsupportedInstruction(pc: entry, what: "global function \(signature.name): \(reason)"))
            }
        }
        if !globalsToVerify.contains(entry) { globalsToVerify.append(entry) }
        callEdges.insert([path.state.current.functionEntry, entry])
        for r in 1...5 { path.state[register: r] = .uninitialized }
        path.state[register: 0] = .unknownScalar
        path.pc = pc + 1
    }

    /// The state a global function starts in: its arguments typed from its prototype.
    func globalEntryState(_ entry: Int, _ signature: GlobalFunctionSignature) throws -> AbstractState {
        var state = AbstractState(frames: [Frame(frameNumber: 0, callSite: -1, functionEntry: entry)])
        for (index, argument) in signature.arguments.enumerated() where index < 5 {
            switch argument {
            case .scalar: state[register: index + 1] = .unknownScalar
            case .context: state[register: index + 1] = .pointer(.context)
            case .memory(let size):
                state[register: index + 1] = RegisterValue(kind: .memory, mayBeNull: true, id: newID(), range: Int32(size))
                nullableOrigins[state[register: index + 1].id] = ("the start of global function \(signature.name), whose pointer arguments may be NULL", entry)
            case .unsupported(let reason):
                throw fail(.unsupportedInstruction(pc: entry, what: "global function \(signature.name): \(reason)"))
            }
        }
        return state
    }
}
