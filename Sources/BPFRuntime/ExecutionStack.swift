import BPFInstructionSet

/// A saved caller frame of a bpf-to-bpf call.
struct CallFrame {
    var returnSlot: Int
    var r6: UInt64, r7: UInt64, r8: UInt64, r9: UInt64
    var framePointer: UInt64
    /// The caller's code; differs from the callee's after a tail call in a subprogram.
    var code: UnsafeMutablePointer<Slot>
    var program: Unmanaged<ExecutableProgram>
}

/// The raw memory one run needs: registers, the stack of every frame, saved frames.
/// Owned by the interpreter, reused across runs, freed with it.
struct ExecutionStack: ~Copyable {
    /// 16 registers: r0-r10 and padding so that any 4-bit register field indexes safely.
    let registers: UnsafeMutablePointer<UInt64>
    let frames: UnsafeMutablePointer<CallFrame>
    let stack: UnsafeMutableRawPointer
    static let stackBytes = Registers.stackSize * Registers.maxCallDepth

    init() {
        registers = .allocate(capacity: 16)
        registers.initialize(repeating: 0, count: 16)
        frames = .allocate(capacity: Registers.maxCallDepth)
        stack = .allocate(byteCount: Self.stackBytes, alignment: 16)
        stack.initializeMemory(as: UInt8.self, repeating: 0, count: Self.stackBytes)
    }

    /// One past the highest stack byte: frame 0's r10.
    var top: UInt64 { UInt64(UInt(bitPattern: stack)) + UInt64(Self.stackBytes) }

    deinit {
        registers.deallocate()
        frames.deallocate()
        stack.deallocate()
    }
}
