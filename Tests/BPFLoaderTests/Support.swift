import BPFToolchain
import BPFABI
import BPFLinux
import BPFLoader
import BPFMaps
import BPFObject
import Foundation
import Testing

/// Compiles C fixtures with clang for BPF and loads them as collections.
enum Fixture {
    static let clang = "/opt/swift/usr/bin/clang"
    static var isClangAvailable: Bool { FileManager.default.isExecutableFile(atPath: clang) }

    struct CompileError: Error, CustomStringConvertible { var description: String }

    /// What every fixture includes: UAPI headers and BPFABI's libbpf-compatible helper headers.
    static let prelude = """
        #include <linux/bpf.h>
        #include <linux/if_ether.h>
        #include <linux/ip.h>
        #include <linux/ipv6.h>
        #include <linux/in.h>
        #include <linux/tcp.h>
        #include <linux/udp.h>
        #include <bpf/bpf_helpers.h>
        #include <bpf/bpf_endian.h>
        char _license[] SEC("license") = "GPL";

        """

    /// BPFABI's headers, written once per test process.
    static func headerDirectory() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bpfloader-headers-\(getpid())").path
        if !FileManager.default.fileExists(atPath: directory + "/bpf/bpf_helpers.h") {
            try CHeaders.write(to: directory)
        }
        return directory
    }

    /// Compiles `source` (after the prelude) with `clang -target bpf -O2 -g -c`.
    static func compile(_ source: String, name: String) throws -> ObjectSpec {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bpfloader-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent(name + ".c")
        let output = directory.appendingPathComponent(name + ".o")
        try (prelude + source).write(to: input, atomically: true, encoding: .utf8)
        try Clang(path: clang).compileBPF(source: input.path, output: output.path, includeDirectories: [try headerDirectory()])
        return try ObjectSpec(bytes: [UInt8](try Data(contentsOf: output)), name: name + ".o")
    }

    /// Compiles and loads `source`, or returns nil (recording why) when clang is missing.
    static func load(_ source: String, name: String, options: LoadOptions = LoadOptions()) throws -> LoadedObject? {
        guard isClangAvailable else {
            Issue.record("skipped: clang not found at \(clang)", severity: .warning)
            return nil
        }
        return try LoadedObject(spec: compile(source, name: name), options: options)
    }
}

extension Fixture {
    /// Expects loading `program` of `spec` with verification to be refused by the
    /// verifier, and returns the refusal's message (nil and an issue otherwise).
    @discardableResult
    static func expectRefusal(_ spec: ObjectSpec, program: String,
                              sourceLocation: SourceLocation = #_sourceLocation) -> String? {
        do {
            _ = try LoadedObject(spec: spec, options: LoadOptions(programNames: [program]))
            Issue.record("the verifier accepted \(program)", sourceLocation: sourceLocation)
        } catch {
            guard case .programRefused(let name, let result) = error, let refusal = result.refusal else {
                Issue.record("expected a verifier refusal of \(program), got \(error)", sourceLocation: sourceLocation)
                return nil
            }
            #expect(name == program, sourceLocation: sourceLocation)
            #expect(error.description.hasPrefix("\(program): "), sourceLocation: sourceLocation)
            return refusal.message
        }
        return nil
    }
}

/// Loads programs into Linux and runs them with BPF_PROG_TEST_RUN, the reference for contexts.
enum KernelOracle {
    static var isAvailable: Bool {
        guard BPFSyscall.isAvailable else {
            Issue.record("skipped: the kernel's bpf() is not available here", severity: .warning)
            return false
        }
        return true
    }

    /// Loads `program` (which must use no maps) into the kernel.
    static func load(_ program: LoadedProgram) throws -> KernelProgram {
        try BPFSyscall.loadProgram(type: program.type.rawValue, instructions: program.relocatedInstructions.map(\.rawValue),
                                   license: "GPL", logLevel: 1, name: String(program.name.prefix(15)))
    }

    /// Runs `name` over `packet` in both Linux and BPFKit and expects the same return value and data_out.
    static func compare(_ collection: LoadedObject, program name: String, packets: [[UInt8]],
                        sourceLocation: SourceLocation = #_sourceLocation) throws {
        let program = try #require(collection.program(named: name), sourceLocation: sourceLocation)
        let kernelProgram = try load(program)
        for (index, packet) in packets.enumerated() {
            let kernel: BPFSyscall.TestRunResult
            do {
                kernel = try kernelProgram.testRun(data: packet)
            } catch {
                // Linux refuses the packet for this program type: so must BPFKit.
                #expect(throws: CollectionRunError.self, "\(name), packet \(index): Linux refused it (\(error))",
                        sourceLocation: sourceLocation) {
                    try collection.run(program: name, packet: packet)
                }
                continue
            }
            let ours = try collection.run(program: name, packet: packet)
            #expect(UInt32(truncatingIfNeeded: ours.returnValue) == kernel.returnValue,
                    "\(name), packet \(index): return value", sourceLocation: sourceLocation)
            #expect(ours.packetAfter == kernel.dataOut, "\(name), packet \(index): data_out", sourceLocation: sourceLocation)
        }
    }
}

/// Test packets.
enum Packet {
    static let ethernetIPv4: [UInt8] = [0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00]
    static let ethernetIPv6: [UInt8] = [0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0, 1, 0x86, 0xdd]

    /// Ethernet + IPv4 (20 bytes, no options) + `payload`, protocol `proto`.
    static func ipv4(source: [UInt8] = [10, 0, 0, 1], destination: [UInt8] = [10, 0, 0, 2], proto: UInt8,
                     payload: [UInt8]) -> [UInt8] {
        let total = 20 + payload.count
        var header: [UInt8] = [0x45, 0, UInt8(total >> 8), UInt8(total & 0xff), 0, 1, 0, 0, 64, proto, 0, 0]
        header += source + destination
        var sum: UInt32 = 0
        for index in stride(from: 0, to: 20, by: 2) { sum += UInt32(header[index]) << 8 | UInt32(header[index + 1]) }
        while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
        let checksum = ~UInt16(sum)
        header[10] = UInt8(checksum >> 8)
        header[11] = UInt8(checksum & 0xff)
        return ethernetIPv4 + header + payload
    }

    static func ipv6(nextHeader: UInt8, payload: [UInt8]) -> [UInt8] {
        var header: [UInt8] = [0x60, 0, 0, 0, UInt8(payload.count >> 8), UInt8(payload.count & 0xff), nextHeader, 64]
        header += [UInt8](repeating: 0, count: 15) + [1] + [UInt8](repeating: 0, count: 15) + [2]
        return ethernetIPv6 + header + payload
    }

    static let tcp: [UInt8] = [0x30, 0x39, 0x00, 0x50] + [UInt8](repeating: 0, count: 8) + [0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]
    static let udp: [UInt8] = [0x30, 0x39, 0x00, 0x35, 0x00, 0x0c, 0, 0, 1, 2, 3, 4]
    static let arp: [UInt8] = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x08, 0x06] + [UInt8](repeating: 7, count: 28)
}

func bytes<T: BitwiseCopyable>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value) { Array($0) } }
func u32(_ value: UInt32) -> [UInt8] { bytes(value) }
func u64(_ value: UInt64) -> [UInt8] { bytes(value) }
func load<T: BitwiseCopyable>(_ bytes: [UInt8]?, as type: T.Type) -> T? {
    guard let bytes, bytes.count >= MemoryLayout<T>.size else { return nil }
    return bytes.withUnsafeBytes { $0.loadUnaligned(as: T.self) }
}
