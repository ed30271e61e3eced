#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Zeroed, page-aligned memory below 4 GiB, owned by exactly one value and
/// unmapped in `deinit`.
///
/// Why: clang reads `ctx->data`, `ctx->data_end` and `ctx->data_meta` of
/// `xdp_md` and `__sk_buff` with 32-bit loads. Linux rewrites those accesses
/// using the verifier's knowledge of which register holds the context. BPFKit
/// has no verifier yet, so the packet and the context live in the low 4 GiB and
/// the 32-bit fields hold the real addresses. When the verifier exists, its
/// context-access rewrite replaces this type; it is only used by ``PacketFrame``.
struct LowMemory: ~Copyable {
    let base: UnsafeMutableRawPointer
    let byteCount: Int

    /// Maps `byteCount` bytes (rounded up to pages) below 4 GiB.
    init(byteCount: Int) throws(CollectionRunError) {
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let length = max((byteCount + pageSize - 1) / pageSize * pageSize, pageSize)
        self.byteCount = length
        #if arch(x86_64)
        let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT
        let mapped = mmap(nil, length, PROT_READ | PROT_WRITE, flags, -1, 0)
        guard let mapped, mapped != MAP_FAILED else {
            throw .lowMemoryUnavailable(reason: "mmap(MAP_32BIT) of \(length) bytes failed with errno \(errno)")
        }
        // MAP_32BIT places the mapping in the first 2 GiB; check rather than trust.
        guard UInt(bitPattern: mapped) + UInt(length) <= UInt(UInt32.max) else {
            munmap(mapped, length)
            throw .lowMemoryUnavailable(reason: "the kernel placed a MAP_32BIT mapping above 4 GiB")
        }
        // Safety: a fresh anonymous mapping of `length` bytes, zero-filled by the
        // kernel, readable and writable, owned by this value until `deinit`.
        base = mapped
        #else
        throw .lowMemoryUnavailable(reason: "this platform has no MAP_32BIT; packet contexts need the verifier's context rewrite")
        #endif
    }

    /// The 32-bit address of `offset` bytes into the mapping (fits: checked in init).
    func address(_ offset: Int) -> UInt64 { UInt64(UInt(bitPattern: base) + UInt(offset)) }

    deinit {
        // Safety: `base`/`byteCount` are exactly the mapping made in `init`, unmapped once.
        munmap(base, byteCount)
    }
}
