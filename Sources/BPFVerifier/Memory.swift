import BPFInstructionSet

extension Engine {
    static let maxPacketOffset: Int64 = 0xffff
    /// Packet pointer ranges meaning "at least one byte past data_end" and "at data_end or past".
    static let beyondPacketEnd: Int32 = -2, atPacketEnd: Int32 = -1
    /// `sizeof(struct bpf_map)` on x86-64 Linux 6.18 (approximately: the fields a program may read).
    static let bpfMapStructSize = 256

    func accessKind(_ k: RegisterKind) -> AccessKind? {
        switch k {
        case .context: .context
        case .stack: .stack
        case .mapValue: .mapValue
        case .packet, .packetMeta: .packet
        case .memory: .memory
        case .readOnlyMemory: .readOnlyMemory
        default: nil
        }
    }

    func recordAccess(_ pc: Int, _ kind: RegisterKind) throws {
        // Linux's reg_type_mismatch: context and socket loads are rewritten per kind.
        if let previous = accessKinds[pc], previous != kind,
           previous == .context || kind == .context || previous.isSocket || kind.isSocket {
            throw fail(.mixedPointerKinds(pc: pc))
        }
        accessKinds[pc] = kind
        facts[pc].access = accessKind(kind)
    }

    /// Linux's `check_mem_access`: checks an access of `size` bytes at `base + offset` and
    /// returns the loaded value (reads) after applying the write (writes).
    func access(_ state: inout AbstractState, pc: Int, baseReg: Int, offset: Int, size: Int, write: RegisterValue?,
                isAtomic: Bool = false) throws -> RegisterValue {
        let base = try readRegister(state, baseReg, pc)
        let isWrite = write != nil
        if base.kind == .scalar || base.kind == .notInitialized {
            throw fail(.invalidMemoryAccess(pc: pc, register: baseReg, kind: "scalar", reason: "r\(baseReg) is not a pointer"))
        }
        if base.mayBeNull { throw fail(.possiblyNull(pc: pc, register: baseReg, kind: base.kind.description)) }
        try recordAccess(pc, base.kind)
        if let w = write, w.isPointer, !privileged, base.kind != .stack {
            throw fail(.pointerLeak(pc: pc, register: baseReg, reason: "leaks addr into \(base.kind)"))
        }
        let unknown = RegisterValue.scalar(Scalar.unknown.truncated(toBytes: size))
        switch base.kind {
        case .context:
            if base.offset != 0 || !base.value.isConstant || base.value.constantValue != 0 {
                throw fail(.modifiedContextPointer(pc: pc, register: baseReg, offset: Int(base.offset)))
            }
            if isAtomic { throw fail(.invalidMemoryAccess(pc: pc, register: baseReg, kind: "ctx", reason: "atomic operations on ctx are not allowed")) }
            guard let field = options.contexts.access(input.programType, offset: offset, size: size, isWrite: isWrite) else {
                throw fail(.contextAccess(pc: pc, offset: offset, size: size))
            }
            if isWrite { return unknown }
            switch field {
            case .scalar: return unknown
            case .packetStart: return .pointer(.packet)
            case .packetEnd: return .pointer(.packetEnd)
            case .packetMeta: return .pointer(.packetMeta)
            case .socketOrNull(let kind): return socketFromContext(kind, pc: pc)
            }
        case .stack:
            return try stackAccess(&state, pc: pc, baseReg: baseReg, base: base, offset: offset, size: size, write: write)
        case .mapValue, .memory, .readOnlyMemory:
            let kindName = base.kind == .mapValue ? "map_value" : base.kind.description
            if isWrite && (base.readOnly || base.kind == .readOnlyMemory) {
                throw fail(.readOnlyWrite(pc: pc, register: baseReg, kind: kindName))
            }
            let limit = base.kind == .mapValue ? input.maps[Int(base.target)].valueSize : Int(base.range)
            try checkRegion(pc, baseReg, base, offset: offset, size: size, limit: limit, kind: kindName)
            if base.kind == .mapValue, !isWrite, base.readOnly, let data = mapConstant(base, offset: offset, size: size) {
                return .constant(data)
            }
            return unknown
        case .packet, .packetMeta:
            if isWrite && !packetWritable() {
                throw fail(.readOnlyWrite(pc: pc, register: baseReg, kind: "packet"))
            }
            if base.value.smin < 0 { throw fail(.negativeOffset(pc: pc, register: baseReg, kind: "packet")) }
            let off = Int(base.offset) + offset
            if off < 0 || off + size > Int(base.range) {
                throw fail(.packetRangeNotChecked(pc: pc, register: baseReg, offset: off, size: size, range: Int(base.range)))
            }
            if base.value.umax > UInt64(Engine.maxPacketOffset) || Int64(base.value.umax) + Int64(off) + Int64(size) > Engine.maxPacketOffset {
                throw fail(.outOfBounds(pc: pc, register: baseReg, kind: "packet", offset: Int64(off), size: size, limit: 0xffff))
            }
            return unknown
        case .packetEnd:
            throw fail(.invalidMemoryAccess(pc: pc, register: baseReg, kind: "pkt_end", reason: "the packet end cannot be dereferenced"))
        case .mapPointer:
            // Root may read `struct bpf_map` fields (check_ptr_to_map_access, typed by BTF in
            // Linux; numbers here). Nothing may write them.
            let fieldOffset = Int(base.offset) + offset
            if privileged && !isWrite && base.value.constantValue == 0 && fieldOffset >= 0 && fieldOffset + size <= Engine.bpfMapStructSize {
                return unknown
            }
            throw fail(.invalidMemoryAccess(pc: pc, register: baseReg, kind: "map_ptr",
                                            reason: isWrite ? "only read from bpf_map is supported" : "map pointers can only be read by privileged programs, within struct bpf_map"))
        case .function:
            throw fail(.invalidMemoryAccess(pc: pc, register: baseReg, kind: "func", reason: "function pointers cannot be dereferenced"))
        case .socketCommon, .socket, .tcpSocket:
            return try socketAccess(pc: pc, baseReg: baseReg, base: base, offset: offset, size: size, isWrite: isWrite,
                                    isAtomic: isAtomic)
        case .scalar, .notInitialized:
            fatalError()
        }
    }

    /// Constant bytes of a read-only global-data map are not known here (the object may be
    /// rewritten before loading), so reads yield unknown scalars.
    func mapConstant(_ base: RegisterValue, offset: Int, size: Int) -> UInt64? { nil }

    func packetWritable() -> Bool {
        switch input.programType {
        case .xdp, .schedCls, .schedAct, .lwtXmit, .skSkb, .skMsg, .lwtSeg6local, .sockOps: true
        default: false
        }
    }

    /// Bounds of a fixed-size region: map value, ring buffer memory.
    func checkRegion(_ pc: Int, _ reg: Int, _ base: RegisterValue, offset: Int, size: Int, limit: Int, kind: String) throws {
        let v = base.value
        let off = Int64(base.offset) + Int64(offset)
        if v.smin < 0 && !(v.isConstant) {
            throw fail(.negativeOffset(pc: pc, register: reg, kind: kind))
        }
        if v.umax >= UInt64(Engine.maxVarOffset) && !v.isConstant {
            throw fail(.unboundedOffset(pc: pc, register: reg, kind: kind))
        }
        let low = off + (v.isConstant ? Int64(bitPattern: v.bits.value) : v.smin)
        let high = off + (v.isConstant ? Int64(bitPattern: v.bits.value) : Int64(v.umax)) + Int64(size)
        if low < 0 || high > Int64(limit) {
            throw fail(.outOfBounds(pc: pc, register: reg, kind: kind, offset: low < 0 ? low : high - Int64(size), size: size, limit: limit))
        }
    }

    func stackAccess(_ state: inout AbstractState, pc: Int, baseReg: Int, base: RegisterValue, offset: Int, size: Int,
                     write: RegisterValue?) throws -> RegisterValue {
        let frameIndex = Int(base.target)
        let v = base.value
        let fixed = Int64(base.offset) + Int64(offset)
        if !v.isConstant && (v.smax >= Engine.maxVarOffset || v.smin <= -Engine.maxVarOffset) {
            throw fail(.outOfBounds(pc: pc, register: baseReg, kind: "stack", offset: fixed, size: size, limit: 512))
        }
        let low: Int64, high: Int64
        if let c = v.constantValue {
            low = fixed + Int64(bitPattern: c); high = low
        } else {
            low = fixed + v.smin; high = fixed + v.smax
        }
        if low == high && low % Int64(size) != 0 {
            throw fail(.invalidMemoryAccess(pc: pc, register: baseReg, kind: "fp", reason: "misaligned stack access off \(low) size \(size)"))
        }
        if low < -512 || high + Int64(size) > 0 {
            throw fail(.outOfBounds(pc: pc, register: baseReg, kind: "stack", offset: low < -512 ? low : high, size: size, limit: 512))
        }
        let entry = state.frames[frameIndex].functionEntry
        stackDepth[entry] = max(stackDepth[entry] ?? 0, Int(-low))
        state.frames[frameIndex].stackDepth = max(state.frames[frameIndex].stackDepth, Int(-low))
        if low != high {
            // Variable offset: every byte that may be touched.
            if let _ = write {
                for byteOffset in low..<(high + Int64(size)) { markByte(&state, frameIndex, byteOffset, .misc) }
                return .unknownScalar
            }
            for byteOffset in low..<(high + Int64(size)) {
                let (slot, index) = position(byteOffset)
                let s = state.frames[frameIndex].stack[slot]
                if s.byte(index) == .invalid && !privileged {
                    throw fail(.uninitializedStackRead(pc: pc, offset: Int(byteOffset), size: size))
                }
                if let spilled = s.spilled, spilled.isPointer, !privileged {
                    throw fail(.invalidSpillSize(pc: pc))
                }
            }
            return .scalar(Scalar.unknown.truncated(toBytes: size))
        }
        let (slot, index) = position(low)
        lastStackAccess = HistoryFlag.stack(frame: frameIndex, slot: slot)
        if let w = write {
            var s = state.frames[frameIndex].stack[slot]
            if w.kind == .scalar && index == 0 && privileged {
                // A register spill (Linux's save_register_state), also of the low 1, 2 or 4
                // bytes: the value is kept, and read back whole by a fill of the same size.
                // Linux tracks spilled scalars only for CAP_BPF: unprivileged stores leave
                // unknown (or zero) bytes.
                var v = w
                if size < 8 && v.value.umax >> UInt64(size * 8) != 0 { v.id = 0 }
                s.spilled = v
                for i in 0..<8 {
                    if i < size { s.setByte(i, .spill) }
                    else if s.byte(i) != .zero && s.byte(i) != .invalid { s.setByte(i, .misc) }
                }
            } else if w.isPointer && size == 8 {
                s = StackSlot(bytes: 0x0303030303030303, spilled: w)
            } else {
                if let spilled = s.spilled {
                    if spilled.isPointer && !privileged && size != 8 {
                        throw fail(.invalidMemoryAccess(pc: pc, register: baseReg, kind: "fp", reason: "attempt to corrupt spilled pointer on stack"))
                    }
                    s.spilled = nil
                    for i in 0..<8 where s.byte(i) != .invalid { s.setByte(i, .misc) }
                }
                let isZero = w.kind == .scalar && w.value.constantValue == 0
                if isZero { zeroStored = true }
                for i in index..<(index + size) { s.setByte(i, isZero ? .zero : .misc) }
            }
            state.frames[frameIndex].stack[slot] = s
            return w
        }
        let s = state.frames[frameIndex].stack[slot]
        if let spilled = s.spilled {
            var spillSize = 0
            while spillSize < 8 && s.byte(spillSize) == .spill { spillSize += 1 }
            if size == 8 && spillSize == 8 { return spilled }
            if spilled.isPointer { throw fail(.invalidSpillSize(pc: pc)) }
            if size <= spillSize && index == 0 {
                // A narrow fill of a spilled scalar: the whole spilled value, which the load
                // then truncates or sign-extends from its bounds, as Linux does (a sign-extending
                // fill sees the spilled register's range, not the low bytes' range).
                var v = spilled
                if v.value.umax >> UInt64(size * 8) != 0 { v.id = 0 }
                return v
            }
            lastStackAccess = 0
            var spills = 0, zeros = 0
            for i in index..<(index + size) {
                switch s.byte(i) {
                case .spill: spills += 1
                case .zero: zeros += 1
                case .misc: break
                case .invalid:
                    if !privileged { throw fail(.uninitializedStackRead(pc: pc, offset: Int(low), size: size)) }
                }
            }
            if (spills == size && spilled.value.constantValue == 0) || zeros == size { return .constant(0) }
            return .scalar(Scalar.unknown.truncated(toBytes: size))
        }
        lastStackAccess = 0
        var allZero = true
        for i in index..<(index + size) {
            let b = s.byte(i)
            if b == .invalid {
                if !privileged { throw fail(.uninitializedStackRead(pc: pc, offset: Int(low), size: size)) }
                allZero = false
            } else if b != .zero { allZero = false }
        }
        return allZero ? .constant(0) : .scalar(Scalar.unknown.truncated(toBytes: size))
    }

    func position(_ byteOffset: Int64) -> (slot: Int, index: Int) {
        let fromTop = Int(-byteOffset - 1)       // 0 for fp-1
        let slot = fromTop / 8
        let index = 7 - fromTop % 8             // byte index within the slot, 0 = lowest address
        return (slot, index)
    }

    func markByte(_ state: inout AbstractState, _ frame: Int, _ byteOffset: Int64, _ kind: StackByte) {
        let (slot, index) = position(byteOffset)
        var s = state.frames[frame].stack[slot]
        if s.spilled != nil {
            s.spilled = nil
            for i in 0..<8 { s.setByte(i, .misc) }
        }
        s.setByte(index, kind)
        state.frames[frame].stack[slot] = s
    }

    // MARK: Instructions

    func load(_ d: DecodedInstruction, _ state: inout AbstractState) throws {
        let pc = d.index
        let dst = Int(d.destination)
        try writeCheck(dst, pc)
        let size = d.descriptor.accessSize
        var value = try access(&state, pc: pc, baseReg: Int(d.source), offset: Int(d.offset), size: size, write: nil)
        switch d.operation {
        case .ldxsb, .ldxsh, .ldxsw:
            if value.kind == .scalar { value = .scalar(value.value.signExtended(fromBytes: size)) }
            else { value = .unknownScalar }
        default:
            if value.kind == .scalar && size < 8 { value = .scalar(value.value.truncated(toBytes: size)) }
        }
        if value.kind == .scalar && value.value.umax > UInt64(UInt32.max) { facts[pc].upperHalfZero = false }
        state[register: dst] = value
    }

    func store(_ d: DecodedInstruction, _ path: inout Path) throws {
        let pc = d.index
        let size = d.descriptor.accessSize
        var value: RegisterValue
        if d.descriptor.form == .storeImmediate {
            value = .constant(UInt64(bitPattern: Int64(d.immediate)))
            if size < 8 { value = .scalar(value.value.truncated(toBytes: size)) }
        } else {
            let srcReg = Int(d.source)
            value = try readRegister(path.state, srcReg, pc)
            let base = path.state[register: Int(d.destination)]
            if base.kind == .stack && value.kind == .scalar && privileged && value.value.umax >> UInt64(size * 8) == 0
                && base.value.isConstant && (Int64(base.offset) + Int64(d.offset) + Int64(bitPattern: base.value.bits.value)) % 8 == 0 {
                // The spilled copy and the register stay linked (assign_scalar_id_before_mov).
                let before = value
                value.prepareLinkedCopy(newID: newID)
                if value != before { path.state[register: srcReg] = value }
            }
            if size < 8 && value.kind == .scalar {
                let id = value.value.umax >> UInt64(size * 8) == 0 ? value.id : 0
                value = .scalar(value.value.truncated(toBytes: size))
                value.id = id
            }
            if size < 8 && value.isPointer {
                if base.kind == .stack {
                    throw fail(.invalidMemoryAccess(pc: pc, register: srcReg, kind: "fp",
                                                    reason: "invalid size of register spill: a pointer can only be spilled with an 8-byte store"))
                }
                if !privileged { throw fail(.pointerLeak(pc: pc, register: srcReg, reason: "partial copy of pointer")) }
                value = .scalar(Scalar.unknown.truncated(toBytes: size))
            }
        }
        zeroStored = false
        _ = try access(&path.state, pc: pc, baseReg: Int(d.destination), offset: Int(d.offset), size: size, write: value)
        if zeroStored && d.descriptor.form != .storeImmediate {
            // The zero written to the stack is known only if the register is precise.
            var request = PrecisionRequest(frame: path.state.frames.count - 1)
            request.add(register: Int(d.source))
            markPrecise(&path, request, skipFirst: true)
        }
    }

    func atomic(_ d: DecodedInstruction, _ state: inout AbstractState) throws {
        let pc = d.index
        let size = d.descriptor.accessSize
        let src = try readRegister(state, Int(d.source), pc)
        if src.isPointer && !privileged {
            throw fail(.pointerLeak(pc: pc, register: Int(d.source), reason: "leaks addr into mem"))
        }
        let isCmpxchg = d.operation == .atomicCmpxchg32 || d.operation == .atomicCmpxchg64
        if isCmpxchg { _ = try readRegister(state, 0, pc) }
        let base = try readRegister(state, Int(d.destination), pc)
        if base.kind == .packet || base.kind == .packetMeta || base.kind == .context {
            throw fail(.invalidMemoryAccess(pc: pc, register: Int(d.destination), kind: base.kind.description,
                                            reason: "BPF_ATOMIC stores into R\(d.destination) \(base.kind) is not allowed"))
        }
        if !privileged, base.kind == .stack, base.value.isConstant {
            // Linux (check_stack_read_fixed_off for an atomic): the slot's old value is used as
            // a number, which would leak a spilled pointer.
            let low = Int64(base.offset) + Int64(bitPattern: base.value.bits.value) + Int64(d.offset)
            if low >= -512, low < 0, let spilled = state.frames[Int(base.target)].stack[position(low).slot].spilled,
               spilled.isPointer {
                throw fail(.pointerLeak(pc: pc, register: Int(d.destination), reason: "leaking pointer from stack off \(low)"))
            }
        }
        // As Linux: the fetch register receives what a load would (a spilled constant stays
        // known), then the slot is overwritten with unknown data (no longer a spill).
        let loaded = try access(&state, pc: pc, baseReg: Int(d.destination), offset: Int(d.offset), size: size, write: nil, isAtomic: true)
        _ = try access(&state, pc: pc, baseReg: Int(d.destination), offset: Int(d.offset), size: size,
                       write: .scalar(Scalar.unknown.truncated(toBytes: size)), isAtomic: true)
        if base.kind == .stack, base.value.isConstant {
            let low = Int64(base.offset) + Int64(bitPattern: base.value.bits.value) + Int64(d.offset)
            let (slot, index) = position(low)
            var s = state.frames[Int(base.target)].stack[slot]
            if s.spilled != nil {
                s.spilled = nil
                for i in 0..<8 where s.byte(i) != .invalid { s.setByte(i, .misc) }
            }
            for i in index..<min(8, index + size) { s.setByte(i, .misc) }
            state.frames[Int(base.target)].stack[slot] = s
        }
        var result = RegisterValue.scalar(Scalar.unknown.truncated(toBytes: size))
        if loaded.kind == .scalar { result = .scalar(loaded.value.truncated(toBytes: size)) }
        else if loaded.isPointer && size == 8 { result = loaded }
        if isCmpxchg { state[register: 0] = result }
        else if d.instruction.immediate & 1 != 0 { try writeCheck(Int(d.source), pc); state[register: Int(d.source)] = result }
    }

    func legacyPacketLoad(_ d: DecodedInstruction, _ state: inout AbstractState) throws {
        let pc = d.index
        switch input.programType {
        case .socketFilter, .schedCls, .schedAct: break
        default:
            throw fail(.unsupportedInstruction(pc: pc, what: "BPF_LD_[ABS|IND] in this program type"))
        }
        if input.programType == .socketFilter || true {
            let ctx = try readRegister(state, 6, pc)
            guard ctx.kind == .context else {
                throw fail(.invalidMemoryAccess(pc: pc, register: 6, kind: ctx.kind.description,
                                                reason: "BPF_LD_[ABS|IND] uses skb (r6) as the implicit context"))
            }
        }
        if d.descriptor.form == .packetIndirect {
            let src = try readRegister(state, Int(d.source), pc)
            if src.isPointer { throw fail(.pointerArithmetic(pc: pc, register: Int(d.source), reason: "pointer used as packet offset")) }
        }
        if !state.references.isEmpty {
            let r = state.references[0]
            throw fail(.unreleasedReference(pc: pc, acquiredAt: r.pc, helper: r.helper))
        }
        for r in 1...5 { state[register: r] = .uninitialized }
        state[register: 0] = .scalar(Scalar.unknown.truncated(toBytes: d.descriptor.accessSize))
    }
}
