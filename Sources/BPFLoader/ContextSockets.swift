import BPFObject
import BPFVerifier

/// Socket-pointer fields of a context (`__sk_buff.sk`, `bpf_sock_ops.sk`). User space
/// has no kernel sockets, so BPFKit's contexts hold NULL there: the verifier makes a
/// program check the pointer before reading through it, and NULL is never read through.
/// A packet run's context starts zeroed; a context the host supplies as bytes has these
/// fields cleared, so no host value becomes a pointer a verified program dereferences.
enum ContextSockets {
    /// Offsets of the 8-byte fields the verifier types as socket pointers, below `size`.
    static func offsets(of type: ProgramType, size: Int, contexts: any ContextCatalog) -> [Int] {
        stride(from: 0, to: size - 7, by: 8).filter { offset in
            if case .socketOrNull = contexts.access(type, offset: offset, size: 8, isWrite: false) { return true }
            return false
        }
    }

    /// Writes NULL into every socket-pointer field of `context`.
    static func clear(_ context: UnsafeMutableRawBufferPointer, type: ProgramType, contexts: any ContextCatalog) {
        for offset in offsets(of: type, size: context.count, contexts: contexts) {
            // Safety: offsets(of:size:) keeps offset + 8 within the buffer.
            context.storeBytes(of: UInt64(0), toByteOffset: offset, as: UInt64.self)
        }
    }
}
