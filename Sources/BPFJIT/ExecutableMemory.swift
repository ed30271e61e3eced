#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Machine code in its own mapping: written while the pages are read-write, then
/// switched to read-execute with `mprotect` before anything runs it (never writable and
/// executable at once). Unmapped when the value is destroyed.
struct ExecutableMemory: ~Copyable {
    let base: UnsafeMutableRawPointer
    let size: Int
    let codeSize: Int

    init(code: [UInt8]) throws(JITError) {
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let size = max(pageSize, (code.count + pageSize - 1) / pageSize * pageSize)
        guard let mapping = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              mapping != MAP_FAILED else {
            throw .memory("mmap of \(size) bytes failed (errno \(errno))")
        }
        // Unsafe: the mapping is `size` >= code.count bytes and writable until mprotect.
        code.withUnsafeBytes { mapping.copyMemory(from: $0.baseAddress!, byteCount: code.count) }
        guard mprotect(mapping, size, PROT_READ | PROT_EXEC) == 0 else {
            let error = errno
            munmap(mapping, size)
            throw .memory("mprotect to read-execute failed (errno \(error))")
        }
        self.base = mapping
        self.size = size
        self.codeSize = code.count
    }

    /// The code as bytes (for listings).
    var bytes: [UInt8] {
        Array(UnsafeRawBufferPointer(start: base, count: codeSize))
    }

    deinit {
        munmap(base, size)
    }
}
