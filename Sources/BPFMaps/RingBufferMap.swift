import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// BPF_MAP_TYPE_RINGBUF: a multi-producer, single-consumer byte ring of
/// `max_entries` bytes (a power of two, a multiple of the page size).
///
/// Records are 8-byte aligned and start with Linux's 8-byte header: the
/// sample length in the low 30 bits, BPF_RINGBUF_BUSY_BIT while reserved,
/// BPF_RINGBUF_DISCARD_BIT when discarded, then a page offset. Positions
/// grow monotonically; the offset of a position is `position & (size - 1)`.
/// Linux maps the data pages twice so a record crossing the end stays
/// contiguous; here the data area is followed by `size` bytes of slack that a
/// crossing record runs into, and the consumer reads it from there.
/// Wake-ups go through a non-blocking pipe that `poll(timeout:_:)` waits on,
/// as epoll on a ring buffer fd would.
public final class RingBufferMap: BPFMap {
    public let definition: MapDefinition
    /// The data area size in bytes.
    public let size: Int
    let mask: UInt64
    let data: RawStorage
    let producerPosition = Atomic<UInt64>(0)
    let consumerPosition = Atomic<UInt64>(0)
    let producerLock = SpinLocks(count: 1)
    let consumerLock = SpinLocks(count: 1)
    /// Read and write ends of the notification pipe.
    let readDescriptor: Int32
    let writeDescriptor: Int32
    let wakeups = Atomic<Int>(0)

    /// Linux's RINGBUF_MAX_RECORD_SZ.
    static let maxRecordSize = Int(UInt32.max / 4)

    public init(_ definition: MapDefinition) throws(MapDefinitionError) {
        try definition.validate()
        guard definition.type == .ringBuffer else {
            throw MapDefinitionError(field: "type", rule: "RingBufferMap implements ringbuf maps only.")
        }
        self.definition = definition
        size = Int(definition.maxEntries)
        mask = UInt64(size - 1)
        data = RawStorage(byteCount: 2 * size)
        var ends: [Int32] = [-1, -1]
        if pipe(&ends) == 0 {
            for end in ends {
                _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
                _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            }
        }
        readDescriptor = ends[0]
        writeDescriptor = ends[1]
    }

    deinit {
        // The pipe was created in init and is owned by this map only.
        if readDescriptor >= 0 { close(readDescriptor) }
        if writeDescriptor >= 0 { close(writeDescriptor) }
    }

    /// How many consumer notifications producers have sent so far.
    public var notificationCount: Int { wakeups.load(ordering: .relaxed) }

    // MARK: Program face

    /// bpf_ringbuf_reserve: a pointer to `size` writable bytes, or nil when
    /// the record does not fit in the space the consumer has released.
    public func reserve(size sampleSize: Int) -> UnsafeMutableRawPointer? {
        guard sampleSize >= 0, sampleSize <= Self.maxRecordSize else { return nil }
        let length = roundUp8(sampleSize + RingBufferFlags.headerSize)
        guard length <= size else { return nil }
        let consumer = consumerPosition.load(ordering: .acquiring)
        producerLock.lock(0)
        let producer = producerPosition.load(ordering: .relaxed)
        let next = producer + UInt64(length)
        guard next - consumer <= mask else {
            producerLock.unlock(0)
            return nil
        }
        // offset < size and length <= size, so the record lies in the 2*size area.
        let offset = Int(producer & mask)
        let header = data.base + offset
        RawAtomic.store32(header, UInt32(sampleSize) | RingBufferFlags.busyBit)
        header.storeBytes(of: UInt32(offset / Int(MapDefinition.pageSize)), toByteOffset: 4, as: UInt32.self)
        producerPosition.store(next, ordering: .releasing)
        producerLock.unlock(0)
        return header + RingBufferFlags.headerSize
    }

    /// The record header of a sample pointer this ring handed out, or nil.
    @inline(__always)
    func header(of sample: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer? {
        let offset = sample - data.base - RingBufferFlags.headerSize
        guard offset >= 0, offset < size, offset % 8 == 0 else { return nil }
        return data.base + offset
    }

    func commit(_ sample: UnsafeMutableRawPointer, flags: UInt64, discard: Bool) {
        guard let header = header(of: sample) else { return }
        let length = RawAtomic.load32(header) & ~(RingBufferFlags.busyBit | RingBufferFlags.discardBit)
        RawAtomic.store32(header, length | (discard ? RingBufferFlags.discardBit : 0))
        // Linux notifies when forced, or by default when the consumer has caught up to this record.
        let recordOffset = UInt64(header - data.base)
        let consumerOffset = consumerPosition.load(ordering: .acquiring) & mask
        if flags & RingBufferFlags.forceWakeup != 0
            || (flags & RingBufferFlags.noWakeup == 0 && consumerOffset == recordOffset) {
            notify()
        }
    }

    /// bpf_ringbuf_submit.
    public func submit(_ sample: UnsafeMutableRawPointer, flags: UInt64) { commit(sample, flags: flags, discard: false) }
    /// bpf_ringbuf_discard.
    public func discard(_ sample: UnsafeMutableRawPointer, flags: UInt64) { commit(sample, flags: flags, discard: true) }

    /// bpf_ringbuf_output: copies `size` bytes as one record; -EAGAIN when full.
    public func output(data source: UnsafeRawPointer, size sampleSize: Int, flags: UInt64) -> Int32 {
        if flags & ~(RingBufferFlags.noWakeup | RingBufferFlags.forceWakeup) != 0 { return -LinuxErrno.EINVAL }
        guard let sample = reserve(size: sampleSize) else { return -11 /* EAGAIN */ }
        // `sample` has `sampleSize` writable bytes; `source` has as many readable.
        sample.copyMemory(from: source, byteCount: sampleSize)
        submit(sample, flags: flags)
        return 0
    }

    /// bpf_ringbuf_query with BPF_RB_AVAIL_DATA, RING_SIZE, CONS_POS or PROD_POS; 0 otherwise.
    public func query(flags: UInt64) -> UInt64 {
        switch flags {
        case RingBufferFlags.availableData:
            return producerPosition.load(ordering: .acquiring) &- consumerPosition.load(ordering: .acquiring)
        case RingBufferFlags.ringSize: return UInt64(size)
        case RingBufferFlags.consumerPosition: return consumerPosition.load(ordering: .acquiring)
        case RingBufferFlags.producerPosition: return producerPosition.load(ordering: .acquiring)
        default: return 0
        }
    }

    func notify() {
        wakeups.add(1, ordering: .relaxed)
        var one: UInt8 = 1
        // A full pipe already signals readiness, so a failed write is harmless.
        _ = write(writeDescriptor, &one, 1)
    }

    // MARK: Consumer

    /// Hands every committed, non-discarded record to `handler` in order,
    /// stopping at the first record still being written; releases the space.
    /// Returns the number of records handed over.
    @discardableResult
    public func consume(_ handler: (UnsafeRawBufferPointer) -> Void) -> Int {
        consumerLock.lock(0)
        defer { consumerLock.unlock(0) }
        var consumer = consumerPosition.load(ordering: .relaxed)
        var delivered = 0
        while true {
            let producer = producerPosition.load(ordering: .acquiring)
            if consumer >= producer { break }
            let header = data.base + Int(consumer & mask)
            let word = RawAtomic.load32(header)
            if word & RingBufferFlags.busyBit != 0 { break }
            let length = Int(word & ~(RingBufferFlags.busyBit | RingBufferFlags.discardBit))
            if word & RingBufferFlags.discardBit == 0 {
                // The record lies inside the 2*size area (see `reserve`), committed
                // (busy bit clear, read with acquire) and not yet released.
                handler(UnsafeRawBufferPointer(start: header + RingBufferFlags.headerSize, count: length))
                delivered += 1
            }
            consumer += UInt64(roundUp8(length + RingBufferFlags.headerSize))
            consumerPosition.store(consumer, ordering: .releasing)
        }
        return delivered
    }

    /// Copies out and consumes every available record.
    public func drain() -> [[UInt8]] {
        var records: [[UInt8]] = []
        consume { records.append(Array($0)) }
        return records
    }

    /// Consumes available records; if there are none, waits up to `timeout`
    /// milliseconds (-1: forever) for a notification, then consumes again.
    @discardableResult
    public func poll(timeout milliseconds: Int32, _ handler: (UnsafeRawBufferPointer) -> Void) -> Int {
        let count = consume(handler)
        if count > 0 { return count }
        var descriptor = pollfd(fd: readDescriptor, events: Int16(POLLIN), revents: 0)
        var ready: Int32
        repeat { ready = Glibc.poll(&descriptor, 1, milliseconds) } while ready < 0 && errno == EINTR
        if ready > 0 {
            var scratch = [UInt8](repeating: 0, count: 256)
            while read(readDescriptor, &scratch, scratch.count) > 0 {}
        }
        return consume(handler)
    }

    // MARK: User-space face: ring buffers have no keyed elements.

    public func lookup(key: [UInt8]) throws(MapError) -> [UInt8]? { throw .notSupported(operation: "lookup", mapType: .ringBuffer) }
    public func update(key: [UInt8], value: [UInt8], flags: UInt64 = 0) throws(MapError) { throw .notSupported(operation: "update", mapType: .ringBuffer) }
    public func delete(key: [UInt8]) throws(MapError) { throw .notSupported(operation: "delete", mapType: .ringBuffer) }
    public func nextKey(after key: [UInt8]?) throws(MapError) -> [UInt8]? { throw .notSupported(operation: "get_next_key", mapType: .ringBuffer) }
}
