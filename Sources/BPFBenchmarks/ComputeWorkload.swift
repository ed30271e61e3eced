import BPFKit
import BPFToolchain
import Foundation

/// A workload written once in C and built twice: a BPF object and a native
/// shared library, with the packets it runs on.
public struct ComputeWorkload: Sendable {
    public var name: String
    public var summary: String
    public var source: String
    /// Inputs, by label (e.g. "64B", "1500B"); each is measured separately.
    public var packets: [(label: String, bytes: [UInt8])]

    public static let all: [ComputeWorkload] = {
        let kilobyte = (0..<1024).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let sortInput = (0..<256).map { UInt8(truncatingIfNeeded: ($0 &* 97) ^ 0x5a) }
        return [
            ComputeWorkload(name: "fnv1a", summary: "FNV-1a over 1 KiB, 10 passes", source: WorkloadSources.fnv1a,
                            packets: [("1KiB", kilobyte)]),
            ComputeWorkload(name: "crc32", summary: "table-free CRC-32 over 1 KiB", source: WorkloadSources.crc32,
                            packets: [("1KiB", kilobyte)]),
            ComputeWorkload(name: "sieve", summary: "primes below 10,000 in a global bitmap",
                            source: WorkloadSources.sieve, packets: [("64B", [UInt8](repeating: 0, count: 64))]),
            ComputeWorkload(name: "bsort", summary: "bubble sort of 64 u32 on the stack", source: WorkloadSources.bsort,
                            packets: [("256B", sortInput)]),
            ComputeWorkload(name: "xdp_parse", summary: "Ethernet/VLAN/IP/TCP/UDP parse of a packet",
                            source: WorkloadSources.xdpParse,
                            packets: [("64B", Packets.tcp(size: 64)), ("1500B", Packets.tcp(size: 1500))]),
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

/// A compute workload compiled both ways in a temporary folder.
public final class BuiltWorkload {
    public let workload: ComputeWorkload
    public let objectPath: String
    public let spec: ObjectSpec
    private let library: UnsafeMutableRawPointer
    public typealias NativeEntry = @convention(c) (UnsafePointer<UInt8>?, UnsafePointer<UInt8>?) -> UInt32
    public let native: NativeEntry

    public init(_ workload: ComputeWorkload, clang: Clang, directory: String) throws(BenchmarkFailure) {
        self.workload = workload
        let source = directory + "/\(workload.name).c"
        objectPath = directory + "/\(workload.name).bpf.o"
        let libraryPath = directory + "/lib\(workload.name).so"
        do {
            try (WorkloadSources.prelude + workload.source).write(toFile: source, atomically: true, encoding: .utf8)
        } catch {
            throw BenchmarkFailure(description: "cannot write \(source): \(error)")
        }
        do {
            // -fno-builtin on both sides: BPF cannot call memset, so clang must not turn
            // a clearing loop into one, and the native twin must run the same loop.
            try clang.compileBPF(source: source, output: objectPath, extraArguments: ["-fno-builtin"])
            try clang.compileSharedLibrary(source: source, output: libraryPath, extraArguments: ["-fno-builtin"])
        } catch {
            throw BenchmarkFailure(description: "\(workload.name): \(error)")
        }
        do {
            spec = try ObjectSpec(contentsOf: objectPath)
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
        dlclose(library)
    }

    /// The native result for `packet`, the reference every engine must match.
    public func nativeResult(_ packet: [UInt8]) -> UInt32 {
        packet.withUnsafeBufferPointer { buffer in
            native(buffer.baseAddress, buffer.baseAddress.map { $0 + buffer.count })
        }
    }
}
