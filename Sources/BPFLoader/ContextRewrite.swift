import BPFInstructionSet
import BPFObject
import BPFVerifier

/// The hidden part of a packet context: the real 64-bit `data`, `data_end` and
/// `data_meta` pointers, behind the context struct the program may address
/// (the verifier bounds context accesses to the struct, so programs reach the
/// shadow only through rewritten loads).
enum ContextShadow {
    /// Offset of the shadow from the context's start: past `__sk_buff` (192
    /// bytes, the larger context), 8-byte aligned, inside the frame's context area.
    static let offset = 192
    static let data = offset
    static let dataEnd = offset + 8
    static let dataMeta = offset + 16
    static let size = 24

    /// The shadow slot holding the pointer a context field of kind `field` names.
    static func slot(for field: ContextAccess) -> Int? {
        switch field {
        case .packetStart: data
        case .packetEnd: dataEnd
        case .packetMeta: dataMeta
        default: nil
        }
    }
}

/// Linux's `convert_ctx_accesses` for the fields whose meaning differs between
/// the program's view and BPFKit's memory: a 32-bit load of a packet-pointer
/// field (`xdp_md` and `__sk_buff` `data`, `data_end`, `data_meta`) becomes a
/// 64-bit load of the real pointer from the ``ContextShadow``, with the same
/// destination and base register. Only instructions the verifier proved to
/// access the context on every path (`facts[pc].access == .context`) are
/// rewritten; the context pointer's offset is then 0 (the verifier refuses a
/// moved context pointer), so the instruction's offset is the field's. One
/// instruction replaces one, so jumps and calls need no fixing.
///
/// Unverified programs are not rewritten: nothing proves which loads read the
/// context, so they run in checked mode on a frame below 4 GiB instead (see
/// ``FrameMemory``).
public enum ContextRewrite {
    /// Whether programs of `type` have 32-bit packet-pointer fields to rewrite
    /// (the packet program types BPFKit builds contexts for).
    static func applies(to type: ProgramType) -> Bool {
        switch type {
        case .xdp, .schedCls, .schedAct, .socketFilter, .cgroupSkb: true
        default: false
        }
    }

    /// `instructions` (relocated, one entry per slot) with every verified 32-bit
    /// context load of a packet-pointer field turned into a 64-bit shadow load.
    public static func rewrite(_ instructions: [Instruction], facts: [InstructionFacts], programType: ProgramType,
                               contexts: any ContextCatalog) -> [Instruction] {
        guard applies(to: programType) else { return instructions }
        var rewritten = instructions
        let loadWord: UInt8 = 0x61  // BPF_LDX | BPF_MEM | BPF_W
        let loadDoubleWord: UInt8 = 0x79  // BPF_LDX | BPF_MEM | BPF_DW
        var pc = 0
        while pc < instructions.count {
            let instruction = instructions[pc]
            if instruction.opcode == loadWord, pc < facts.count, facts[pc].reached, facts[pc].access == .context,
               let field = contexts.access(programType, offset: Int(instruction.offset), size: 4, isWrite: false),
               let slot = ContextShadow.slot(for: field) {
                rewritten[pc].opcode = loadDoubleWord
                rewritten[pc].offset = Int16(slot)
            }
            pc += instruction.opcode == 0x18 ? 2 : 1
        }
        return rewritten
    }
}
