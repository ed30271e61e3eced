import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A zero-initialised, 16-byte-aligned raw allocation owned by exactly one
/// value and freed in `deinit`. Map element storage lives here, so pointers
/// into it stay valid for the owning map's lifetime.
// Sendable: the bytes are shared map memory by design; every map that owns
// a RawStorage serialises writers with its locks/atomics, as Linux does.
struct RawStorage: ~Copyable, @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let byteCount: Int

    init(byteCount: Int) {
        self.byteCount = byteCount
        // At least one byte so `base` is never a zero-size allocation.
        base = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: 16)
        // Zeroing the whole allocation makes every byte initialised memory.
        base.initializeMemory(as: UInt8.self, repeating: 0, count: max(byteCount, 1))
    }

    deinit {
        // `base` came from `allocate` above and no one else frees it.
        base.deallocate()
    }
}

/// A fixed number of spin locks over `Atomic<UInt32>`, owned by one value.
/// Used as per-bucket locks: critical sections are a few memory operations
/// long, never block and never allocate.
// Sendable: the lock words are only touched through atomic operations.
struct SpinLocks: ~Copyable, @unchecked Sendable {
    private let words: UnsafeMutablePointer<Atomic<UInt32>>
    let count: Int

    init(count: Int) {
        self.count = max(count, 1)
        words = .allocate(capacity: self.count)
        for index in 0..<self.count {
            // Each slot is initialised exactly once before any use.
            (words + index).initialize(to: Atomic(0))
        }
    }

    deinit {
        // All slots were initialised in `init`; deinitialise then free them.
        words.deinitialize(count: count)
        words.deallocate()
    }

    /// Acquires lock `index`, spinning (then yielding) while it is held.
    @inline(__always)
    func lock(_ index: Int) {
        // `index` is within 0..<count by the callers' masking.
        let word = words + index
        var spins = 0
        while !word.pointee.compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged {
            spins += 1
            if spins > 64 { sched_yield() }
        }
    }

    /// Releases lock `index`, which the caller holds.
    @inline(__always)
    func unlock(_ index: Int) {
        (words + index).pointee.store(0, ordering: .releasing)
    }

    @inline(__always)
    func withLock<R>(_ index: Int, _ body: () throws -> R) rethrows -> R {
        lock(index)
        defer { unlock(index) }
        return try body()
    }
}

/// Atomic access to 32- and 64-bit words inside raw map memory.
/// `Atomic<T>` has the size and alignment of `T`, so viewing an aligned,
/// initialised word through it is valid; all concurrent accesses to these
/// words go through these helpers.
enum RawAtomic {
    @inline(__always)
    static func load32(_ pointer: UnsafeMutableRawPointer) -> UInt32 {
        pointer.assumingMemoryBound(to: Atomic<UInt32>.self).pointee.load(ordering: .acquiring)
    }

    @inline(__always)
    static func store32(_ pointer: UnsafeMutableRawPointer, _ value: UInt32) {
        pointer.assumingMemoryBound(to: Atomic<UInt32>.self).pointee.store(value, ordering: .releasing)
    }

    @inline(__always)
    static func load64(_ pointer: UnsafeMutableRawPointer) -> UInt64 {
        pointer.assumingMemoryBound(to: Atomic<UInt64>.self).pointee.load(ordering: .acquiring)
    }

    @inline(__always)
    static func store64(_ pointer: UnsafeMutableRawPointer, _ value: UInt64) {
        pointer.assumingMemoryBound(to: Atomic<UInt64>.self).pointee.store(value, ordering: .releasing)
    }

    @inline(__always)
    static func storeRelaxed64(_ pointer: UnsafeMutableRawPointer, _ value: UInt64) {
        pointer.assumingMemoryBound(to: Atomic<UInt64>.self).pointee.store(value, ordering: .relaxed)
    }

    @inline(__always)
    static func loadRelaxed64(_ pointer: UnsafeMutableRawPointer) -> UInt64 {
        pointer.assumingMemoryBound(to: Atomic<UInt64>.self).pointee.load(ordering: .relaxed)
    }
}

/// The possible CPUs of this machine, as Linux sizes per-CPU maps.
public enum PossibleCPUs {
    /// Highest index in /sys/devices/system/cpu/possible plus one (e.g. "0-3" → 4);
    /// falls back to the configured processor count.
    public static let count: Int = {
        if let file = fopen("/sys/devices/system/cpu/possible", "r") {
            defer { fclose(file) }
            var buffer = [CChar](repeating: 0, count: 256)
            if fgets(&buffer, Int32(buffer.count), file) != nil {
                let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if let highest = parseHighestIndex(text) { return highest + 1 }
            }
        }
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_CONF))))
    }()

    /// Parses a Linux CPU list such as "0-3,8-11" and returns its highest index.
    static func parseHighestIndex(_ text: String) -> Int? {
        var highest: Int?
        for part in text.split(whereSeparator: { $0 == "," || $0 == "\n" || $0 == " " }) {
            guard let last = part.split(separator: "-").last, let value = Int(last) else { return nil }
            highest = max(highest ?? value, value)
        }
        return highest
    }
}

/// A fast keyed hash over bytes (a wyhash-style multiply-xor mix).
enum KeyHash {
    @inline(__always)
    static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let product = a.multipliedFullWidth(by: b)
        return product.high ^ product.low
    }

    @inline(__always)
    static func hash(_ key: UnsafeRawPointer, count: Int, seed: UInt64) -> UInt64 {
        var state = seed ^ 0xa076_1d64_78bd_642f
        var offset = 0
        // Every load stays within key[0..<count]: the loop reads full 8-byte
        // words while 8 bytes remain, then the tail byte by byte.
        while count - offset >= 8 {
            let word = key.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            state = mix(state ^ word, 0xe703_7ed1_a0b4_28db)
            offset += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while offset < count {
            tail |= UInt64(key.load(fromByteOffset: offset, as: UInt8.self)) << shift
            shift += 8
            offset += 1
        }
        return mix(state ^ tail ^ UInt64(count), 0x8ebc_6af0_9c88_c6e3)
    }
}

@inline(__always)
func roundUp8(_ value: Int) -> Int { (value + 7) & ~7 }
