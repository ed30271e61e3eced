import BPFInstructionSet
import BPFMaps
import BPFObject

/// bpf_spin_lock and bpf_spin_unlock as Linux 6.18 checks them (`process_spin_lock`,
/// `check_map_prog_compatibility`, the lock rules of `do_check`): a lock lives in a map
/// value whose BTF type says where; one lock is held at a time; while it is held the
/// program calls no helper but bpf_spin_unlock, no global function, and neither exits
/// nor uses legacy packet loads; loads and stores never touch the lock itself.
extension Engine {
    /// The argument of bpf_spin_lock (`lock: true`) or bpf_spin_unlock: a map value
    /// pointer at the map's lock. Takes or releases `state.heldLock`.
    func spinLockArgument(_ state: inout AbstractState, pc: Int, helper: String, register r: Int, lock: Bool) throws {
        let v = try readRegister(state, r, pc)
        guard v.kind == .mapValue, !v.mayBeNull else {
            throw fail(.helperArgument(pc: pc, helper: helper, argument: r,
                                       reason: "R\(r) type=\(v.kind)\(v.mayBeNull ? "_or_null" : "") expected=map_value"))
        }
        guard let variable = v.value.constantValue else {
            throw fail(.spinLock(pc: pc, register: r,
                                 problem: .variableOffset))
        }
        let map = input.maps[Int(v.target)]
        guard map.hasBTF else { throw fail(.spinLock(pc: pc, register: r, problem: .mapWithoutBTF(map: map.name))) }
        guard let lockOffset = map.spinLockOffset else {
            throw fail(.spinLock(pc: pc, register: r, problem: .mapWithoutLock(map: map.name)))
        }
        let offset = Int64(v.offset) + Int64(bitPattern: variable)
        guard offset == Int64(lockOffset) else {
            throw fail(.spinLock(pc: pc, register: r, problem: .wrongOffset(offset: offset, lockOffset: lockOffset)))
        }
        if lock {
            if let held = state.heldLock {
                throw fail(.spinLock(pc: pc, register: r, problem: .secondLock(heldSince: held.pc)))
            }
            state.heldLock = HeldLock(map: v.target, id: v.id, pc: pc)
        } else {
            guard let held = state.heldLock else {
                throw fail(.spinLock(pc: pc, register: r, problem: .unlockWithoutLock))
            }
            guard held.map == v.target, held.id == v.id else {
                throw fail(.spinLock(pc: pc, register: r, problem: .unlockOfDifferentLock(lockedAt: held.pc)))
            }
            state.heldLock = nil
        }
    }

    /// The rules one instruction must follow because of spin locks, checked before it
    /// runs: what a held lock forbids, maps with locks in program types that may not use
    /// them, and loads or stores that touch a lock.
    func checkSpinLockRules(_ d: DecodedInstruction, _ state: AbstractState) throws {
        let pc = d.index
        if let held = state.heldLock {
            switch d.descriptor.form {
            case .callHelper where d.immediate != LinuxHelperID.spinUnlock:
                throw fail(.lockHeld(pc: pc, lockedAt: held.pc, what: .helperCall))
            case .callLocal where input.globalFunctions[d.target ?? -1] != nil:
                throw fail(.lockHeld(pc: pc, lockedAt: held.pc, what: .globalFunctionCall))
            case .callKernelFunction, .callRegister:
                throw fail(.lockHeld(pc: pc, lockedAt: held.pc, what: .helperCall))
            case .exit where state.frames.count == 1:
                throw fail(.lockHeld(pc: pc, lockedAt: held.pc, what: .exit))
            case .packetAbsolute, .packetIndirect:
                throw fail(.lockHeld(pc: pc, lockedAt: held.pc, what: .legacyPacketLoad))
            default:
                break
            }
        }
        switch d.descriptor.form {
        case .loadImmediate64:
            let index: Int?
            if let reference = input.mapReferences[pc] {
                index = reference.map
            } else {
                switch d.operation {
                case .loadMapFD, .loadMapIndex, .loadMapValue, .loadMapIndexValue: index = Int(d.immediate)
                default: index = nil
                }
            }
            if let index, input.maps.indices.contains(index), input.maps[index].spinLockOffset != nil {
                try checkSpinLockProgramType(pc: pc, map: input.maps[index])
            }
        case .loadMemory, .loadAcquire:
            try checkLockNotTouched(state, pc: pc, register: Int(d.source), offset: Int(d.offset), size: d.descriptor.accessSize)
        case .storeImmediate, .storeRegister, .storeRelease, .atomic:
            try checkLockNotTouched(state, pc: pc, register: Int(d.destination), offset: Int(d.offset), size: d.descriptor.accessSize)
        default:
            break
        }
    }

    /// `check_map_prog_compatibility`: socket filters and tracing programs may not use
    /// a map whose values hold a lock, even without taking it.
    func checkSpinLockProgramType(pc: Int, map: VerifierMap) throws {
        switch input.programType {
        case .socketFilter:
            throw fail(.spinLockInProgramType(pc: pc, map: map.name, programType: input.programType.name, tracing: false))
        case .kprobe, .tracepoint, .perfEvent, .rawTracepoint, .rawTracepointWritable:
            throw fail(.spinLockInProgramType(pc: pc, map: map.name, programType: input.programType.name, tracing: true))
        default:
            break
        }
    }

    /// `check_map_access`: an access of `size` bytes at `offset` from the map value in
    /// `register` (any part of its variable range) must not overlap the lock.
    func checkLockNotTouched(_ state: AbstractState, pc: Int, register: Int, offset: Int, size: Int) throws {
        guard register <= 10, state[register: register].kind == .mapValue else { return }
        let base = state[register: register]
        guard !base.mayBeNull, input.maps.indices.contains(Int(base.target)),
              let lock = input.maps[Int(base.target)].spinLockOffset else { return }
        try checkLockNotTouched(base, pc: pc, register: register, offset: offset, size: size, lock: lock)
    }

    func checkLockNotTouched(_ base: RegisterValue, pc: Int, register: Int, offset: Int, size: Int, lock: Int) throws {
        let fixed = Int64(base.offset) + Int64(offset)
        let low = fixed + base.value.smin
        let high = fixed + Int64(bitPattern: min(base.value.umax, UInt64(Int64.max / 2))) + Int64(size)
        if low < Int64(lock + Engine.spinLockSize) && Int64(lock) < high {
            throw fail(.spinLockAccessed(pc: pc, register: register))
        }
    }

    /// Helpers of this file Linux offers only with CAP_BPF (bpf_spin_lock/unlock) or
    /// CAP_PERFMON (bpf_snprintf) (`bpf_base_func_proto`); bpf_strncmp is offered to all.
    static let needsCapabilities: Set<Int32> = [LinuxHelperID.spinLock, LinuxHelperID.spinUnlock, LinuxHelperID.snprintf]

    /// `sizeof(struct bpf_spin_lock)`.
    static let spinLockSize = 4
}

/// Helper numbers the lock rules name.
enum LinuxHelperID {
    static let spinLock: Int32 = 93
    static let spinUnlock: Int32 = 94
    static let snprintf: Int32 = 165
}

extension VerifierMap {
    /// Map types whose values may hold a bpf_spin_lock (Linux's `map_check_btf`); Linux
    /// refuses the BTF of any other map with a lock, and the map is then created without it.
    static func allowsSpinLock(_ type: MapType) -> Bool {
        switch type {
        case .hash, .array, .cgroupStorage, .skStorage, .inodeStorage, .taskStorage, .cgrpStorage: true
        default: false
        }
    }

    /// Fills `hasBTF` and `spinLockOffset` from the object's BTF, as Linux reads the value
    /// type when the map is created: one lock (top level or in a nested struct) is allowed,
    /// in the map types that allow it; otherwise the map is created without BTF, as libbpf
    /// retries it.
    mutating func describeValue(from spec: MapSpec, btf: BTF) {
        guard let typeID = spec.valueTypeID, btf.type(id: typeID) != nil else { return }
        var offsets: [Int] = []
        BTFLocks.collect(btf, typeID: typeID, base: 0, depth: 0, into: &offsets)
        if offsets.isEmpty {
            hasBTF = true
        } else if offsets.count == 1 && Self.allowsSpinLock(type) {
            hasBTF = true
            spinLockOffset = offsets[0]
        } else {
            hasBTF = false
            spinLockOffset = nil
        }
    }
}

/// Finds `struct bpf_spin_lock` fields in a BTF type.
enum BTFLocks {
    static func hasStructWithTwoLocks(_ btf: BTF) -> Bool {
        guard let lock = btf.firstType(named: "bpf_spin_lock", kind: .structure) else { return false }
        // Locks per struct or union, each type counted once (nested members reuse the count).
        var counts: [UInt32: Int] = [lock.id: 1]
        func count(_ id: UInt32, depth: Int) -> Int {
            guard depth < 16, let type = btf.resolved(id) else { return 0 }
            guard type.kind == .structure || type.kind == .union else { return 0 }
            if let known = counts[type.id] { return known }
            counts[type.id] = 0  // a cycle through pointers is impossible; through members, guard anyway
            let total = type.members.reduce(0) { $0 + count($1.type, depth: depth + 1) }
            counts[type.id] = total
            return total
        }
        for type in btf.types where (type.kind == .structure || type.kind == .union) && type.id != lock.id {
            if count(type.id, depth: 0) > 1 { return true }
        }
        return false
    }

    static func collect(_ btf: BTF, typeID: UInt32, base: Int, depth: Int, into offsets: inout [Int]) {
        guard depth < 16, let type = btf.resolved(typeID) else { return }
        switch type.kind {
        case .structure, .union:
            for member in type.members {
                let bits = type.kindFlag ? member.offset & 0xff_ffff : member.offset
                guard bits % 8 == 0, let memberType = btf.resolved(member.type) else { continue }
                let offset = base + Int(bits / 8)
                if memberType.kind == .structure && memberType.name == "bpf_spin_lock" {
                    offsets.append(offset)
                } else if memberType.kind == .structure || memberType.kind == .union {
                    collect(btf, typeID: memberType.id, base: offset, depth: depth + 1, into: &offsets)
                }
            }
        case .dataSection:
            for variable in type.sectionVariables {
                guard let declared = btf.type(id: variable.type), let varType = btf.resolved(declared.sizeOrType) else { continue }
                let offset = base + Int(variable.offset)
                if varType.kind == .structure && varType.name == "bpf_spin_lock" {
                    offsets.append(offset)
                } else if varType.kind == .structure || varType.kind == .union {
                    collect(btf, typeID: varType.id, base: offset, depth: depth + 1, into: &offsets)
                }
            }
        default:
            break
        }
    }
}

extension VerifierInput {
    /// Reads each map's value type from the object's BTF (where its spin lock is).
    /// Linux refuses a whole BTF blob in which a struct holds two locks (E2BIG), and
    /// libbpf then creates every map without BTF.
    mutating func describeMapValues(_ specs: [MapSpec], btf: BTF) {
        guard !BTFLocks.hasStructWithTwoLocks(btf) else { return }
        for index in maps.indices {
            if let spec = specs.first(where: { $0.name == maps[index].name }) {
                maps[index].describeValue(from: spec, btf: btf)
            } else if let spec = specs.first(where: { $0.innerMap?.name == maps[index].name })?.innerMap {
                maps[index].describeValue(from: spec, btf: btf)
            }
        }
    }
}

extension VerifierInput {
    /// The maps, when one of them holds a spin lock (state comparison then compares the
    /// ids of their value pointers); empty otherwise.
    var mapsWithSpinLocks: [VerifierMap] {
        maps.contains(where: { $0.spinLockOffset != nil }) ? maps : []
    }
}
