#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Zeroed, page-aligned memory for one packet frame (context, packet and the
/// context's hidden pointer shadow), owned by exactly one value and unmapped in
/// `deinit`.
///
/// Why two placements: clang reads `ctx->data`, `ctx->data_end` and
/// `ctx->data_meta` of `xdp_md` and `__sk_buff` with 32-bit loads. For a
/// verified program the loader rewrites those loads, as Linux does, into 64-bit
/// loads of the real pointers from the context's shadow (``ContextRewrite``), so
/// its frame may lie anywhere. An unverified program is not rewritten (nothing
/// proves which register holds the context), so its frame lies below 4 GiB
/// (`MAP_32BIT`) and the 32-bit fields hold the real addresses.
struct FrameMemory: ~Copyable {
    let base: UnsafeMutableRawPointer
    let byteCount: Int
    /// True when every address of the mapping fits in 32 bits.
    let isBelow4GiB: Bool

    /// Maps `byteCount` bytes (rounded up to pages), below 4 GiB if `below4GiB`.
    init(byteCount: Int, below4GiB: Bool) throws(CollectionRunError) {
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let length = max((byteCount + pageSize - 1) / pageSize * pageSize, pageSize)
        self.byteCount = length
        var flags = MAP_PRIVATE | MAP_ANONYMOUS
        if below4GiB {
            #if arch(x86_64)
            flags |= MAP_32BIT
            #else
            throw .lowMemoryUnavailable(reason: "this platform has no MAP_32BIT; unverified packet programs need it (verify the program instead)")
            #endif
        }
        let mapped = mmap(nil, length, PROT_READ | PROT_WRITE, flags, -1, 0)
        guard let mapped, mapped != MAP_FAILED else {
            if below4GiB {
                throw .lowMemoryUnavailable(reason: "mmap(MAP_32BIT) of \(length) bytes failed with errno \(errno)")
            }
            throw .frameUnavailable(reason: "mmap of \(length) bytes failed with errno \(errno)")
        }
        // MAP_32BIT places the mapping in the first 2 GiB; check rather than trust.
        let fits = UInt(bitPattern: mapped) + UInt(length) <= UInt(UInt32.max)
        if below4GiB && !fits {
            munmap(mapped, length)
            throw .lowMemoryUnavailable(reason: "the kernel placed a MAP_32BIT mapping above 4 GiB")
        }
        // Safety: a fresh anonymous mapping of `length` bytes, zero-filled by the
        // kernel, readable and writable, owned by this value until `deinit`.
        base = mapped
        isBelow4GiB = fits
    }

    /// The address of `offset` bytes into the mapping.
    func address(_ offset: Int) -> UInt64 { UInt64(UInt(bitPattern: base) + UInt(offset)) }

    deinit {
        // Safety: `base`/`byteCount` are exactly the mapping made in `init`, unmapped once.
        munmap(base, byteCount)
    }
}
