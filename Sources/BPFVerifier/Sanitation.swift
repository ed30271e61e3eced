/// Linux's limits on pointer arithmetic for unprivileged programs, which keep a
/// mispredicted branch from steering a pointer outside its object (Spectre v1:
/// `sanitize_ptr_alu`, `retrieve_ptr_limit`, `sanitize_check_bounds`).
extension Engine {
    static let forUnprivileged = "pointer arithmetic with it prohibited for !root"

    /// Before `ptr op= scalar` with a register source: the offset register must not have
    /// mixed-sign bounds, and only stack and map value pointers may move, within their object.
    func sanitizeRegisterOffset(_ pc: Int, _ op: ScalarOperation, dstReg: Int, ptrReg: Int, scalarReg: Int,
                                ptr: RegisterValue, scalar: Scalar) throws {
        let opName = op == .add ? "add" : "sub"
        let offsetIsNegative = scalar.smin < 0
        if !scalar.isConstant && offsetIsNegative != (scalar.smax < 0) {
            throw fail(.pointerArithmetic(pc: pc, register: scalarReg,
                                          reason: "has unknown scalar with mixed signed bounds, \(Self.forUnprivileged)"))
        }
        let maskToLeft = (op == .add && offsetIsNegative) || (op == .sub && !offsetIsNegative)
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
