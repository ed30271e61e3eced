import BPFInstructionSet

/// Which stack slots of the current frame may still be read, at each instruction (the
/// stack side of Linux's liveness: `stacksafe` ignores slots the rest of the program never
/// reads). A backward data-flow over the function, conservative wherever the stack can be
/// reached other than through r10 with a constant offset: a load through any other
/// register, a call of another function, or a helper that takes a pointer may read any
/// slot. A slot is killed only by an aligned 8-byte store through r10.
enum StackLiveness {
    static let everySlot = UInt64.max

    /// Slot mask (bit i: bytes [-(i+1)*8, -i*8) of the frame) live before each slot. Nothing
    /// is live after `exit`, which has no successor: the frame ends there.
    static func compute(slots: [DecodedInstruction?], successors: (DecodedInstruction) -> [Int],
                        helperReadsMemory: (Int32) -> Bool) -> [UInt64] {
        ProgramStructure.backwardLiveness(slots: slots, successors: successors) { effect($0, helperReadsMemory: helperReadsMemory) }
    }

    /// The slots `d` may read, and the slots it overwrites whole.
    static func effect(_ d: DecodedInstruction, helperReadsMemory: (Int32) -> Bool) -> (use: UInt64, kill: UInt64) {
        let fromFramePointer = { (register: UInt8) in register == 10 }
        switch d.descriptor.form {
        case .loadMemory, .loadAcquire:
            guard fromFramePointer(d.source) else { return (everySlot, 0) }
            return (slots(offset: Int(d.offset), size: d.descriptor.accessSize), 0)
        case .atomic:
            guard fromFramePointer(d.destination) else { return (everySlot, 0) }
            return (slots(offset: Int(d.offset), size: d.descriptor.accessSize), 0)
        case .storeImmediate, .storeRegister, .storeRelease:
            guard fromFramePointer(d.destination), d.descriptor.accessSize == 8, d.offset % 8 == 0 else { return (0, 0) }
            return (0, slots(offset: Int(d.offset), size: 8))
        case .callHelper:
            return (helperReadsMemory(d.immediate) ? everySlot : 0, 0)
        case .callLocal, .callKernelFunction, .callRegister:
            // A callee may read this frame through a pointer it was given.
            return (everySlot, 0)
        default:
            return (0, 0)
        }
    }

    /// The slots covering `size` bytes at `offset` from r10 (none for offsets outside the frame).
    static func slots(offset: Int, size: Int) -> UInt64 {
        var mask: UInt64 = 0
        for byte in offset..<(offset + size) where byte < 0 && byte >= -512 {
            mask |= 1 << UInt64((-byte - 1) / 8)
        }
        return mask
    }
}
