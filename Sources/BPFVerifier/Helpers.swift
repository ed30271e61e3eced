import BPFInstructionSet
import BPFMaps

extension Engine {
    func callHelper(_ d: DecodedInstruction, _ path: inout Path) throws -> Bool {
        let pc = d.index
        let id = d.immediate
        guard let proto = options.helpers.prototype(of: id) else { throw fail(.unknownHelper(pc: pc, id: id)) }
        guard options.helpers.isAvailable(id, to: input.programType) else {
            throw fail(.helperUnavailable(pc: pc, id: id, name: proto.name, programType: input.programType.name))
        }
        if !privileged && Engine.needsCapabilities.contains(id) {
            throw fail(.helperUnavailable(pc: pc, id: id, name: proto.name, programType: input.programType.name + " (unprivileged)"))
        }
        var state = path.state
        var map: VerifierMap?
        var memoryArgument: (reg: Int, write: Bool, nullable: Bool)?
        var releasedReference: UInt32 = 0
        var callback: Int?
        var allocationSize: Int32 = 0
        var constantString: [UInt8]?
        func argError(_ i: Int, _ reason: String) -> Failure {
            fail(.helperArgument(pc: pc, helper: proto.name, argument: i, reason: reason))
        }
        for (index, kind) in proto.arguments.enumerated() {
            let r = index + 1
            let v = try readRegister(state, r, pc)
            switch kind {
            case .anything, .scalar:
                if v.isPointer && !privileged { throw fail(.pointerLeak(pc: pc, register: r, reason: "leaks addr into helper function")) }
            case .mapPointer:
                guard v.kind == .mapPointer else { throw argError(r, "expected a map pointer (lddw map), got \(v)") }
                let m = input.maps[Int(v.target)]
                if !proto.mapTypes.isEmpty && !proto.mapTypes.contains(where: { family($0, matches: m.type) }) {
                    throw argError(r, id == 12 ? "expected prog array map for tail call" : "map \(m.name) of type \(m.type) cannot be used with \(proto.name)")
                }
                map = m
            case .mapKey, .mapValue, .uninitializedMapValue:
                guard let m = map else { throw argError(r, "the map argument must come first") }
                let size = kind == .mapKey ? m.keySize : m.valueSize
                if size == 0 { throw argError(r, "invalid zero-sized read: map \(m.name) has no \(kind == .mapKey ? "keys" : "values")") }
                try helperMemory(&state, pc: pc, reg: r, size: size, sizeRange: nil, write: kind == .uninitializedMapValue,
                                 helper: proto.name)
            case .readableMemory(let nullable):
                memoryArgument = (r, false, nullable)
            case .writableMemory:
                memoryArgument = (r, true, false)
            case .writableMemoryOrNull:
                memoryArgument = (r, true, true)
            case .writableLong:
                try helperMemory(&state, pc: pc, reg: r, size: 8, sizeRange: nil, write: true, helper: proto.name)
            case .size(let zeroAllowed):
                guard v.kind == .scalar else { throw argError(r, "the size must be a scalar") }
                var request = PrecisionRequest(frame: state.frames.count - 1)
                request.add(register: r)
                markPrecise(&path, request, skipFirst: true)
                let s = v.value
                if s.smin < 0 { throw argError(r, "R\(r) min value is negative, either use unsigned or 'var &= const'") }
                if s.umin == 0 && !zeroAllowed && s.umax == 0 { throw argError(r, "invalid zero-sized read") }
                if s.umin == 0 && !zeroAllowed { throw argError(r, "R\(r) invalid zero-sized read: u64=[\(s.umin),\(s.umax)]") }
                if s.umax >= UInt64(Engine.maxVarOffset) { throw argError(r, "R\(r) unbounded memory access, use 'var &= const' or 'if (var < const)'") }
                if let m = memoryArgument {
                    let memory = try readRegister(state, m.reg, pc)
                    if m.nullable && memory.kind == .scalar && memory.value.constantValue == 0 {
                        // NULL: allowed for nullable memory with a size that can only be zero
                        // (check_helper_mem_access: "zero-byte read from NULL").
                        if s.umax > 0 {
                            throw argError(m.reg, "R\(m.reg) type=scalar expected=fp: NULL needs a size of 0")
                        }
                    } else if s.umax > 0 {
                        try helperMemory(&state, pc: pc, reg: m.reg, size: Int(s.umax), sizeRange: nil, write: m.write, helper: proto.name)
                    }
                }
                memoryArgument = nil
            case .context:
                guard v.kind == .context else { throw argError(r, "expected the context pointer (r1 at entry), got \(v)") }
                if v.offset != 0 || v.value.constantValue != 0 {
                    throw fail(.modifiedContextPointer(pc: pc, register: r, offset: Int(v.offset)))
                }
            case .allocationSize:
                guard v.kind == .scalar, let c = v.value.constantValue else { throw argError(r, "R\(r) is not a known constant") }
                var request = PrecisionRequest(frame: state.frames.count - 1)
                request.add(register: r)
                markPrecise(&path, request, skipFirst: true)
                guard c < UInt64(Int32.max) else { throw argError(r, "the size is too large") }
                allocationSize = Int32(c)
            case .releasedRingBufferMemory:
                guard v.kind == .memory, v.referenceID != 0, !v.mayBeNull else {
                    throw fail(.invalidRelease(pc: pc, register: r))
                }
                if v.offset != 0 || v.value.constantValue != 0 {
                    throw argError(r, "R\(r) must have zero offset when passed to release func")
                }
                releasedReference = v.referenceID
            case .callback:
                guard v.kind == .function else { throw argError(r, "expected a function pointer (lddw func)") }
                callback = Int(v.target)
            case .stackOrNull:
                if !(v.kind == .stack || (v.kind == .scalar && v.value.constantValue == 0)) {
                    throw argError(r, "expected a pointer to the stack or NULL")
                }
            case .socket:
                if let reference = try socketArgument(state, pc: pc, helper: id, name: proto.name, register: r) {
                    releasedReference = reference
                }
            case .spinLock:
                try spinLockArgument(&state, pc: pc, helper: proto.name, register: r, lock: id == LinuxHelperID.spinLock)
            case .constantString:
                constantString = try self.constantString(state, pc: pc, register: r)
            case .unchecked(let kind):
                throw argError(r, "BPFKit's verifier does not check \(kind) arguments yet, so it cannot prove this call safe")
            }
        }
        if id == LinuxHelperID.snprintf, let format = constantString {
            try checkSnprintf(state, pc: pc, format: format)
        }
        if releasedReference != 0 {
            guard state.references.contains(where: { $0.id == releasedReference }) else {
                throw fail(.invalidRelease(pc: pc, register: 1))
            }
            state.references.removeAll { $0.id == releasedReference }
            state.forEachRegister { reg in
                if reg.referenceID == releasedReference { reg = privileged ? .unknownScalar : .uninitialized }
            }
        }
        if id == 12 && !input.hasFunctionInfo && state.current.functionEntry != 0 {
            throw fail(.helperArgument(pc: pc, helper: proto.name, argument: 1,
                                       reason: "tail_call is not allowed in subprograms without BTF function info; compile with -g"))
        }
        if id == 12, let reference = state.references.first {
            throw fail(.unreleasedReference(pc: pc, acquiredAt: reference.pc, helper: reference.helper))
        }
        // bpf_loop runs its callback at most nr_loops times: Linux counts the entries on a path
        // (callback_depth, with r1 precise) and stops exploring the callback at the count.
        var runsCallback = true
        if callback != nil && id == 181 {
            var request = PrecisionRequest(frame: state.frames.count - 1)
            request.add(register: 1)
            markPrecise(&path, request, skipFirst: true)
            let count = state[register: 1].kind == .scalar ? state[register: 1].value.umax : .max
            runsCallback = UInt64(state.current.callbackDepth) < count
        }
        if let callback, runsCallback {
            // As Linux (push_callback_call): one path runs the callback in a frame of its
            // own and comes back to this call, which then may run it again, until the
            // states at the call converge; this path goes on as if the helper returned.
            var calleeState = state
            calleeState.current.callbackDepth += 1
            try callLocal(d, &calleeState, returnTo: pc, entry: callback, callback: true)
            let caller = state
            switch id {
            case 164:  // for_each_map_elem: (map, key, value, ctx)
                guard let m = map, let index = input.maps.firstIndex(of: m) else { throw argError(1, "expected a map") }
                calleeState[register: 1] = caller[register: 1]
                calleeState[register: 2] = RegisterValue(kind: .readOnlyMemory, range: Int32(m.keySize))
                calleeState[register: 3] = mapValuePointer(index, offset: 0, pc: pc)
                calleeState[register: 4] = caller[register: 3]
            case 180:  // find_vma: (task, vma, ctx); BTF pointers are not modelled
                calleeState[register: 1] = .unknownScalar
                calleeState[register: 2] = .unknownScalar
                calleeState[register: 3] = caller[register: 4]
            case 181:  // loop: (index, ctx)
                calleeState[register: 1] = .unknownScalar
                calleeState[register: 2] = caller[register: 3]
            default:   // user_ringbuf_drain and others: (dynptr, ctx)
                calleeState[register: 1] = .unknownScalar
                calleeState[register: 2] = caller[register: 3]
            }
            try fork(path, to: callback, state: calleeState, decision: UInt32(pc) << 2 | 1)
        }
        if callback != nil { state.current.callbackDepth = 0 }
        let lookupCannotFail = id == 1 && map != nil && constantKeyInRange(&path, state, map!)
        for r in 1...5 { state[register: r] = .uninitialized }
        if Engine.changesPacketData.contains(id) {
            // The packet may have moved: every packet pointer is stale (clear_all_pkt_pointers).
            state.forEachRegister { reg in
                if reg.kind.isPacket || reg.kind == .packetEnd { reg = privileged ? .unknownScalar : .uninitialized }
            }
        }
        switch proto.returns {
        case .integer:
            state[register: 0] = .unknownScalar
            if id == 8 {
                // bpf_get_smp_processor_id: below the number of possible CPUs.
                state[register: 0] = .scalar(.range(0, UInt64(max(options.possibleCPUs, 1) - 1)))
            }
        case .void:
            state[register: 0] = .uninitialized
        case .mapValueOrNull:
            guard let m = map, let index = input.maps.firstIndex(of: m) else { throw fail(.unknownHelper(pc: pc, id: id)) }
            if m.type == .sockmap || m.type == .sockhash {
                state[register: 0] = socketFromMap(&state, pc: pc, name: proto.name)
                break
            }
            var v = mapValuePointer(index, offset: 0, pc: pc)
            v.mayBeNull = !lookupCannotFail
            v.id = newID()
            nullableOrigins[v.id] = (proto.name, pc)
            if m.type == .arrayOfMaps || m.type == .hashOfMaps {
                // The value is the inner map: a map pointer or NULL.
                guard let inner = m.innerMap else {
                    throw fail(.helperArgument(pc: pc, helper: proto.name, argument: 1, reason: "map-in-map \(m.name) has no inner map description"))
                }
                v = RegisterValue(kind: .mapPointer, mayBeNull: true, id: v.id, target: Int32(inner))
            }
            state[register: 0] = v
        case .ringBufferMemoryOrNull:
            let reference = newID()
            state.references.append(AcquiredReference(id: reference, pc: pc, helper: proto.name))
            state[register: 0] = RegisterValue(kind: .memory, mayBeNull: true, id: reference, referenceID: reference,
                                               range: allocationSize)
            nullableOrigins[state[register: 0].id] = (proto.name, pc)
        case .socketOrNull:
            state[register: 0] = socketResult(&state, pc: pc, helper: id, name: proto.name, argument: path.state[register: 1])
        }
        path.state = state
        path.pc = pc + 1
        return false
    }

    /// Helpers after which packet pointers are invalid (Linux's `bpf_helper_changes_pkt_data`).
    static let changesPacketData: Set<Int32> = [9, 10, 11, 13, 18, 19, 31, 38, 39, 43, 44, 50, 54, 63, 65, 73, 74, 75, 76, 90, 91]

    /// Linux 6.14+: an array lookup with a constant key below max_entries cannot fail,
    /// so its result is not nullable (the key must be a constant on the stack).
    func constantKeyInRange(_ path: inout Path, _ state: AbstractState, _ map: VerifierMap) -> Bool {
        guard privileged, map.type == .array || map.type == .perCPUArray else { return false }
        let key = state[register: 2]
        guard key.kind == .stack, key.value.isConstant else { return false }
        let offset = Int64(key.offset) + Int64(bitPattern: key.value.bits.value)
        guard offset < 0, offset >= -512 else { return false }
        let frame = Int(key.target)
        let (slot, index) = position(offset)
        let s = state.frames[frame].stack[slot]
        var zeros = 0
        var i = index
        while i < 8 && s.byte(i) == .zero { zeros += 1; i += 1 }
        if zeros >= map.keySize { return 0 < map.maxEntries }
        guard index == 0, let spilled = s.spilled, spilled.kind == .scalar, let value = spilled.value.constantValue else { return false }
        var spillSize = 0
        while spillSize < 8 && s.byte(spillSize) == .spill { spillSize += 1 }
        guard spillSize == map.keySize else { return false }
        var request = PrecisionRequest(frame: frame)
        request.slots[frame] |= 1 << UInt64(slot)
        request.frame = state.frames.count - 1
        markPrecise(&path, request, skipFirst: true)
        return value < UInt64(map.maxEntries)
    }

    func family(_ f: MapTypeName, matches t: MapType) -> Bool {
        switch f {
        case .programArray: t == .programArray
        case .ringBuffer: t == .ringBuffer
        case .perfEventArray: t == .perfEventArray
        case .stackTrace: t == .stackTrace
        case .queueOrStack: t == .queue || t == .stack || t == .bloomFilter
        case .sockMap: t == .sockmap || t == .sockhash
        case .devMap: t == .devmap || t == .devmapHash || t == .cpumap || t == .xskmap
        case .socketStorage: t == .skStorage
        }
    }

    /// `check_helper_mem_access`: `size` bytes at the pointer in `reg`, read (initialised)
    /// or written (then initialised).
    func helperMemory(_ state: inout AbstractState, pc: Int, reg: Int, size: Int, sizeRange: ClosedRange<Int>?,
                      write: Bool, helper: String) throws {
        let v = try readRegister(state, reg, pc)
        if v.mayBeNull { throw fail(.possiblyNull(pc: pc, register: reg, kind: v.kind.description)) }
        switch v.kind {
        case .stack:
            let frame = Int(v.target)
            if v.value.smax >= Engine.maxVarOffset || v.value.smin <= -Engine.maxVarOffset {
                throw fail(.outOfBounds(pc: pc, register: reg, kind: "stack (\(write ? "write" : "read") by \(helper))",
                                        offset: Int64(v.offset), size: size, limit: 512))
            }
            let low = Int64(v.offset) + v.value.smin
            let high = Int64(v.offset) + v.value.smax + Int64(size)
            if v.value.smin == .min || low < -512 || high > 0 {
                let off = Int64(v.offset) + (v.value.isConstant ? Int64(bitPattern: v.value.bits.value) : 0)
                throw fail(.outOfBounds(pc: pc, register: reg, kind: "stack (\(write ? "write" : "read") by \(helper))",
                                        offset: off, size: size, limit: 512))
            }
            let entry = state.frames[frame].functionEntry
            stackDepth[entry] = max(stackDepth[entry] ?? 0, Int(-low))
            state.frames[frame].stackDepth = max(state.frames[frame].stackDepth, Int(-low))
            if write {
                for b in low..<high { markByte(&state, frame, b, .misc) }
            } else {
                for b in low..<high {
                    let (slot, index) = position(b)
                    let s = state.frames[frame].stack[slot]
                    if s.spilled == nil && s.byte(index) == .invalid && !privileged {
                        throw fail(.uninitializedStackRead(pc: pc, offset: Int(b), size: size))
                    }
                }
            }
        case .mapValue, .memory, .readOnlyMemory:
            let kind = v.kind == .mapValue ? "map_value" : v.kind.description
            if write && (v.readOnly || v.kind == .readOnlyMemory) { throw fail(.readOnlyWrite(pc: pc, register: reg, kind: kind)) }
            let limit = v.kind == .mapValue ? input.maps[Int(v.target)].valueSize : Int(v.range)
            try checkRegion(pc, reg, v, offset: 0, size: size, limit: limit, kind: kind)
            if v.kind == .mapValue, let lock = input.maps[Int(v.target)].spinLockOffset {
                try checkLockNotTouched(v, pc: pc, register: reg, offset: 0, size: size, lock: lock)
            }
        case .packet, .packetMeta:
            if v.value.smin < 0 { throw fail(.negativeOffset(pc: pc, register: reg, kind: "packet")) }
            if Int(v.offset) + size > Int(v.range) || v.offset < 0 {
                throw fail(.packetRangeNotChecked(pc: pc, register: reg, offset: Int(v.offset), size: size, range: Int(v.range)))
            }
        case .context:
            throw fail(.helperArgument(pc: pc, helper: helper, argument: reg, reason: "the context cannot be passed as memory"))
        default:
            throw fail(.helperArgument(pc: pc, helper: helper, argument: reg,
                                       reason: "R\(reg) type=\(v.kind) expected=fp, pkt, pkt_meta, map_value, mem"))
        }
    }
}
