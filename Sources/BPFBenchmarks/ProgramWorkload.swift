import BPFKit
import BPFToolchain
import Foundation

/// A benchmark program written once in C: an XDP program over the packet, and for
/// compute workloads the same body built natively, with the packets it runs on.
public struct ProgramWorkload: Sendable {
    /// What the program exercises, which decides its reference and its per-round care.
    public enum Kind: Sendable {
        /// Pure computation over the packet: compared with its native twin.
        case compute
        /// 64 hash-map lookups and updates per run: no native twin, compared with Linux.
        case hashMap
        /// 64 per-CPU array counter increments per run.
        case perCPUArray
        /// 64 ring-buffer reserve/submit of 64-byte events per run; drained between batches.
        case ringBuffer
    }

    public var name: String
    public var summary: String
    public var kind: Kind
    /// The C source after its prelude (``WorkloadSources/computePrelude`` or ``WorkloadSources/mapPrelude``).
    public var source: String
    /// Inputs, by label (e.g. "64B", "1500B"); each is measured separately.
    public var packets: [(label: String, bytes: [UInt8])]

    public var hasNativeTwin: Bool { kind == .compute }

    /// Events one run writes to the ring buffer (ring-buffer workloads).
    static let eventsPerRun = 64
    /// Bytes one event takes in a ring buffer: its 64 bytes and Linux's 8-byte header.
    static let eventRecordBytes = 64 + 8
    /// The ring buffer's size in the source (8 MiB).
    static let ringBufferBytes = 8 << 20

    /// At most this many runs between two drains: the ring buffer must never fill,
    /// or reservations would fail and the run would measure the failure path.
    var runsBetweenDrains: Int {
        kind == .ringBuffer ? Self.ringBufferBytes / (Self.eventsPerRun * Self.eventRecordBytes) - 1 : Int.max
    }

    public static let all: [ProgramWorkload] = {
        let kilobyte = (0..<1024).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let sortInput = (0..<256).map { UInt8(truncatingIfNeeded: ($0 &* 97) ^ 0x5a) }
        let frame = Packets.tcp(size: 64)
        return [
            ProgramWorkload(name: "fnv1a", summary: "FNV-1a over 1 KiB, 10 passes", kind: .compute,
                            source: WorkloadSources.fnv1a, packets: [("1KiB", kilobyte)]),
            ProgramWorkload(name: "crc32", summary: "table CRC-32 over 1 KiB", kind: .compute,
                            source: WorkloadSources.crc32, packets: [("1KiB", kilobyte)]),
            ProgramWorkload(name: "sieve", summary: "primes below 10,000 in a global bitmap", kind: .compute,
                            source: WorkloadSources.sieve, packets: [("64B", [UInt8](repeating: 0, count: 64))]),
            ProgramWorkload(name: "bsort", summary: "bubble sort of 64 u32 on the stack", kind: .compute,
                            source: WorkloadSources.bsort, packets: [("256B", sortInput)]),
            ProgramWorkload(name: "xdp_parse", summary: "Ethernet/VLAN/IP/TCP/UDP parse of a packet", kind: .compute,
                            source: WorkloadSources.xdpParse,
                            packets: [("64B", Packets.tcp(size: 64)), ("1500B", Packets.tcp(size: 1500))]),
            ProgramWorkload(name: "map_hash", summary: "64 lookups + updates in a hash map", kind: .hashMap,
                            source: WorkloadSources.mapHash, packets: [("64B", frame)]),
            ProgramWorkload(name: "map_array_percpu", summary: "64 per-CPU array counter increments",
                            kind: .perCPUArray, source: WorkloadSources.mapArrayPerCPU, packets: [("64B", frame)]),
            ProgramWorkload(name: "ringbuf", summary: "64 ring-buffer reserve/submit of 64-byte events",
                            kind: .ringBuffer, source: WorkloadSources.ringBuffer, packets: [("64B", frame)]),
        ]
    }()
}

/// Realistic test frames.
public enum Packets {
    /// An Ethernet + VLAN + IPv4 + TCP frame of `size` bytes to port 8080.
    public static func tcp(size: Int) -> [UInt8] {
        var frame: [UInt8] = [0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x81, 0x00, 0x00, 0x64, 0x08, 0x00]
        let ipLength = size - frame.count
        frame += [0x45, 0, UInt8(ipLength >> 8), UInt8(ipLength & 0xff), 0, 1, 0x40, 0, 64, 6, 0, 0,
                  10, 0, 0, 1, 10, 0, 0, 2]
        frame += [0xc3, 0x50, 0x1f, 0x90] + [UInt8](repeating: 0, count: 16)
        while frame.count < size { frame.append(UInt8(truncatingIfNeeded: frame.count)) }
        return Array(frame.prefix(size))
    }
}

/// Compiles a BPF C source (with BPFKit's libbpf-compatible headers) in `directory`.
func compileBPFObject(name: String, source: String, clang: Clang, directory: String) throws(BenchmarkFailure) -> String {
    let sourcePath = directory + "/\(name).c"
    let objectPath = directory + "/\(name).bpf.o"
    do {
        try source.write(toFile: sourcePath, atomically: true, encoding: .utf8)
        try CHeaders.write(to: directory + "/include")
    } catch {
        throw BenchmarkFailure(description: "cannot write \(sourcePath): \(error)")
    }
    do {
        // -fno-builtin: BPF cannot call memset, so clang must not turn a clearing loop into one.
        try clang.compileBPF(source: sourcePath, output: objectPath, includeDirectories: [directory + "/include"],
                             extraArguments: ["-fno-builtin"])
    } catch {
        throw BenchmarkFailure(description: "\(name): \(error)")
    }
    return objectPath
}

/// A workload compiled in a temporary folder: the BPF object and, for compute
/// workloads, the native shared library.
public final class BuiltWorkload {
    public let workload: ProgramWorkload
    public let objectPath: String
    public let spec: ObjectSpec
    private let library: UnsafeMutableRawPointer?
    public typealias NativeEntry = @convention(c) (UnsafePointer<UInt8>?, UnsafePointer<UInt8>?) -> UInt32
    public let native: NativeEntry?

    public init(_ workload: ProgramWorkload, clang: Clang, directory: String) throws(BenchmarkFailure) {
        self.workload = workload
        let prelude = workload.hasNativeTwin ? WorkloadSources.computePrelude : WorkloadSources.mapPrelude
        objectPath = try compileBPFObject(name: workload.name, source: prelude + workload.source, clang: clang,
                                          directory: directory)
        do {
            spec = try ObjectSpec(contentsOf: objectPath)
        } catch {
            throw BenchmarkFailure(description: "\(workload.name): \(error)")
        }
        guard workload.hasNativeTwin else {
            library = nil
            native = nil
            return
        }
        let source = directory + "/\(workload.name).c"
        let libraryPath = directory + "/lib\(workload.name).so"
        do {
            // -fno-builtin as for BPF, so the native twin runs the same loops.
            try clang.compileSharedLibrary(source: source, output: libraryPath, extraArguments: ["-fno-builtin"])
        } catch {
            throw BenchmarkFailure(description: "\(workload.name): \(error)")
        }
        guard let handle = dlopen(libraryPath, RTLD_NOW | RTLD_LOCAL),
              let symbol = dlsym(handle, "bench_\(workload.name)") else {
            throw BenchmarkFailure(description: "\(workload.name): cannot load \(libraryPath): \(dlerror().map { String(cString: $0) } ?? "unknown reason")")
        }
        library = handle
        native = unsafeBitCast(symbol, to: NativeEntry.self)
    }

    deinit {
        if let library { dlclose(library) }
    }

    /// The native result for `packet`, the reference every engine must match (nil without a native twin).
    public func nativeResult(_ packet: [UInt8]) -> UInt32? {
        guard let native else { return nil }
        return packet.withUnsafeBufferPointer { buffer in
            native(buffer.baseAddress, buffer.baseAddress.map { $0 + buffer.count })
        }
    }
}
