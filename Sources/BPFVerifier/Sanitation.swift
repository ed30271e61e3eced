/// Linux's limits on pointer arithmetic for unprivileged programs, which keep a
/// mispredicted branch from steering a pointer outside its object (Spectre v1:
/// `sanitize_ptr_alu`, `retrieve_ptr_limit`, `sanitize_check_bounds`).
extension Engine {
    static let forUnprivileged = "pointer arithmetic with it prohibited for !root"

    /// What Linux records about a register-source `add`/`sub` (`insn_aux_data.alu_state` and
    /// `alu_limit`): every path through the instruction must agree, or masking the offset
    /// for one path would be wrong for another.
    struct ALUSanitation: Equatable {
        static let sanitizeSource: UInt8 = 1, sanitizeDestination: UInt8 = 2, negativeValue: UInt8 = 4
        static let nonPointer: UInt8 = 8, immediate: UInt8 = 16
        var state: UInt8
        var limit: Int64
    }

    /// Records the instruction's sanitation state; refuses when another path recorded a different one.
    func recordSanitation(_ pc: Int, _ op: ScalarOperation, dstReg: Int, _ record: ALUSanitation) throws {
        if let previous = aluSanitation[pc], previous != record {
            throw fail(.pointerArithmetic(pc: pc, register: dstReg,
                                          reason: "tried to \(op == .add ? "add" : "sub") from different maps, paths or scalars, \(Self.forUnprivileged)"))
        }
        aluSanitation[pc] = record
    }

    /// Before `ptr op= scalar` with a register source: the offset register must not have
    /// mixed-sign bounds, and only stack and map value pointers may move, within their object.
    /// Returns what the commit after the move needs.
    func sanitizeRegisterOffset(_ pc: Int, _ op: ScalarOperation, dstReg: Int, ptrReg: Int, scalarReg: Int,
                                ptr: RegisterValue, scalar: Scalar) throws -> (maskToLeft: Bool, record: ALUSanitation) {
        let offsetIsNegative = scalar.smin < 0
        if !scalar.isConstant && offsetIsNegative != (scalar.smax < 0) {
            throw fail(.pointerArithmetic(pc: pc, register: scalarReg,
                                          reason: "has unknown scalar with mixed signed bounds, \(Self.forUnprivileged)"))
        }
        let maskToLeft = (op == .add && offsetIsNegative) || (op == .sub && !offsetIsNegative)
        let limit = try pointerLimit(pc, op, dstReg: dstReg, ptrReg: ptrReg, ptr, maskToLeft: maskToLeft)
        var state = ptrReg == dstReg ? ALUSanitation.sanitizeSource : ALUSanitation.sanitizeDestination
        if offsetIsNegative { state |= ALUSanitation.negativeValue }
        if scalar.isConstant { state |= ALUSanitation.immediate }
        return (maskToLeft, ALUSanitation(state: state, limit: limit))
    }

    /// After the move: the window narrows to how far the pointer moved (Linux's commit phase).
    func commitSanitation(_ pc: Int, _ op: ScalarOperation, dstReg: Int, result: RegisterValue,
                          maskToLeft: Bool, before: ALUSanitation) throws {
        let limit = try pointerLimit(pc, op, dstReg: dstReg, ptrReg: dstReg, result, maskToLeft: maskToLeft)
        try recordSanitation(pc, op, dstReg: dstReg, ALUSanitation(state: before.state, limit: abs(before.limit - limit)))
    }

    /// Linux's `retrieve_ptr_limit`: how far the pointer may move in the masked direction.
    func pointerLimit(_ pc: Int, _ op: ScalarOperation, dstReg: Int, ptrReg: Int, _ ptr: RegisterValue,
                      maskToLeft: Bool) throws -> Int64 {
        let opName = op == .add ? "add" : "sub"
        let limit: Int64, maximum: Int64
        switch ptr.kind {
        case .stack:
            maximum = 512 + (maskToLeft ? 1 : 0)
            limit = -(Int64(bitPattern: ptr.value.bits.value) + Int64(ptr.offset))
        case .mapValue:
            maximum = Int64(input.maps[Int(ptr.target)].valueSize)
            limit = (maskToLeft ? ptr.value.smin : Int64(clamping: ptr.value.umax)) + Int64(ptr.offset)
        default:
            throw fail(.pointerArithmetic(pc: pc, register: ptrReg,
                                          reason: "has pointer with unsupported alu operation, \(Self.forUnprivileged)"))
        }
        if limit >= maximum {
            throw fail(.pointerArithmetic(pc: pc, register: dstReg, reason: "tried to \(opName) beyond pointer bounds, \(Self.forUnprivileged)"))
        }
        return limit
    }

    /// After the arithmetic: a stack pointer stays a constant offset inside the frame, a map
    /// value pointer inside the value.
    func sanitizeResult(_ pc: Int, dstReg: Int, _ result: RegisterValue) throws {
        switch result.kind {
        case .stack:
            guard let variable = result.value.constantValue else {
                throw fail(.pointerArithmetic(pc: pc, register: dstReg, reason: "variable stack access prohibited for !root"))
            }
            let offset = Int64(result.offset) &+ Int64(bitPattern: variable)
            if offset >= 0 || offset < -512 {
                throw fail(.pointerArithmetic(pc: pc, register: dstReg,
                                              reason: "stack pointer arithmetic goes out of range, prohibited for !root; off=\(offset)"))
            }
        case .mapValue:
            let size = Int64(input.maps[Int(result.target)].valueSize)
            let low = result.value.smin &+ Int64(result.offset)
            let high = Int64(clamping: result.value.umax) &+ Int64(result.offset)
            if result.value.smin < 0 || low < 0 || high >= size {
                throw fail(.pointerArithmetic(pc: pc, register: dstReg,
                                              reason: "pointer arithmetic of map value goes out of range, prohibited for !root"))
            }
        default:
            break
        }
    }
}
