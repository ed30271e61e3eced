#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The consumer side of a Linux ring buffer map, mapped as libbpf maps it: the
/// consumer-position page read-write at offset 0, then the producer-position page
/// and the data pages (mapped twice by the kernel, so a record crossing the end is
/// contiguous) read-only.
///
/// The benchmark drains the kernel's ring through this mapping between
/// BPF_PROG_TEST_RUN calls rather than recreating the map with room for every
/// event: a ring big enough for a whole calibrated round (tens of thousands of runs
/// × 4.5 KiB) would be gigabytes, and recreating it means reloading the program.
/// Draining is what a real consumer does, and it happens outside the kernel's
/// timed loop.
final class LinuxRingBuffer {
    private let consumerPage: UnsafeMutableRawPointer
    private let producerPages: UnsafeMutableRawPointer
    private let pageSize: Int
    private let size: Int

    static let busyBit: UInt32 = 1 << 31
    static let discardBit: UInt32 = 1 << 30
    static let headerSize = 8

    init(descriptor: Int32, size: Int) throws(BenchmarkFailure) {
        pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        self.size = size
        let consumer = mmap(nil, pageSize, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0)
        guard let consumer, consumer != MAP_FAILED else {
            throw BenchmarkFailure(description: "cannot map the ring buffer's consumer page: errno \(errno)")
        }
        let producer = mmap(nil, pageSize + 2 * size, PROT_READ, MAP_SHARED, descriptor, off_t(pageSize))
        guard let producer, producer != MAP_FAILED else {
            munmap(consumer, pageSize)
            throw BenchmarkFailure(description: "cannot map the ring buffer's data pages: errno \(errno)")
        }
        consumerPage = consumer
        producerPages = producer
    }

    deinit {
        // Both mappings were made in init with these lengths and are owned here only.
        munmap(consumerPage, pageSize)
        munmap(producerPages, pageSize + 2 * size)
    }

    /// Consumes every committed record and returns how many were submitted (not discarded).
    ///
    /// Called only between BPF_PROG_TEST_RUN calls: the kernel's producer finished
    /// before the syscall returned, so plain loads see every record it wrote.
    func drain() -> Int {
        var consumer = consumerPage.load(as: UInt64.self)
        let producer = producerPages.load(as: UInt64.self)
        var submitted = 0
        while consumer < producer {
            // offset < size and a record is at most size bytes: inside the double mapping.
            let header = producerPages + pageSize + Int(consumer & UInt64(size - 1))
            let word = header.load(as: UInt32.self)
            if word & Self.busyBit != 0 { break }
            let length = Int(word & ~(Self.busyBit | Self.discardBit))
            if word & Self.discardBit == 0 { submitted += 1 }
            consumer += UInt64((length + Self.headerSize + 7) & ~7)
        }
        consumerPage.storeBytes(of: consumer, as: UInt64.self)
        return submitted
    }
}
