import BPFLinux
import BPFObject
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Loads programs with callbacks (bpf_loop, bpf_for_each_map_elem) into Linux.
/// Linux wants BTF func_info naming every function of such a program ("missing
/// btf func_info"), which `KernelCollection` does not pass; this builds the
/// smallest BTF that satisfies it (an `int`, one `int (void)` prototype, one
/// static FUNC per function) and loads the program with it. Maps come from the
/// `KernelCollection`, so its maps are the program's.
final class KernelProgramWithFunctions {
    let descriptor: Int32
    private let btf: Int32

    init(_ collection: KernelCollection, program name: String) throws {
        let spec = try #require(collection.spec.program(named: name))
        let info = try Self.loadFunctionInfo(spec)
        btf = info.btf
        do {
            descriptor = try Self.bpf(5, try Self.loadFields(collection, spec, info))  // BPF_PROG_LOAD
        } catch {
            close(btf)
            throw error
        }
    }

    /// Linux's verdict on `program` and its verifier log at `logLevel`, loaded as `init` loads it.
    static func verdict(_ collection: KernelCollection, program name: String,
                        logLevel: UInt32) throws -> (accepted: Bool, log: String) {
        let spec = try #require(collection.spec.program(named: name))
        let info = try loadFunctionInfo(spec)
        defer { close(info.btf) }
        let logSize = 1 << 24
        let logBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: logSize, alignment: 8)
        defer { logBuffer.deallocate() }
        logBuffer.initializeMemory(as: UInt8.self, repeating: 0)
        let address = UInt64(UInt(bitPattern: logBuffer.baseAddress))
        // The kernel writes at most `logSize` bytes into `logBuffer`, which outlives the call.
        let logFields: [(offset: Int, value: Field)] = [
            (24, .word(logLevel)), (28, .word(UInt32(logSize))),
            (32, .word(UInt32(truncatingIfNeeded: address))), (36, .word(UInt32(truncatingIfNeeded: address >> 32))),
        ]
        var accepted = true
        do {
            close(try bpf(5, try loadFields(collection, spec, info) + logFields))
        } catch {
            accepted = false
        }
        return (accepted, String(decoding: logBuffer.prefix { $0 != 0 }, as: UTF8.self))
    }

    /// The smallest BTF naming every function of `spec`, loaded into the kernel, and the
    /// func_info records that point at it.
    private static func loadFunctionInfo(_ spec: ProgramSpec) throws -> (btf: Int32, records: [UInt8], count: Int) {
        let functions = spec.functionInfo.isEmpty ? [(instructionIndex: 0, name: spec.name)]
            : spec.functionInfo.map { (instructionIndex: $0.instructionIndex, name: $0.name) }
        // Types: 1 int, 2 int(void), 3... one FUNC per function.
        var strings: [UInt8] = [0] + Array("int".utf8) + [0]
        var types: [UInt32] = [1, 1 << 24, 4, 0x0100_0020, 0, 13 << 24, 1]
        var records: [UInt32] = []
        for (index, function) in functions.enumerated() {
            let nameOffset = UInt32(strings.count)
            strings += Array(function.name.utf8) + [0]
            types += [nameOffset, 12 << 24, 2]  // BTF_KIND_FUNC, static linkage, type 2
            records += [UInt32(function.instructionIndex), UInt32(3 + index)]
        }
        var blob: [UInt8] = []
        func append(_ value: UInt32) { blob += withUnsafeBytes(of: value.littleEndian) { Array($0) } }
        blob += [0x9f, 0xeb, 1, 0]
        append(24)
        append(0)
        append(UInt32(types.count * 4))
        append(UInt32(types.count * 4))
        append(UInt32(strings.count))
        types.forEach(append)
        blob += strings
        let btf = try bpf(18, [(0, .pointer(blob)), (16, .word(UInt32(blob.count)))])  // BPF_BTF_LOAD
        return (btf, records.flatMap { value in withUnsafeBytes(of: value.littleEndian) { Array($0) } }, functions.count)
    }

    /// BPF_PROG_LOAD's fields for `spec` with its func_info.
    private static func loadFields(_ collection: KernelCollection, _ spec: ProgramSpec,
                                   _ info: (btf: Int32, records: [UInt8], count: Int)) throws -> [(offset: Int, value: Field)] {
        let instructions = try collection.relocatedInstructions(of: spec).map { $0.rawValue.littleEndian }
        return [
            (0, .word(spec.type.rawValue)), (4, .word(UInt32(instructions.count))),
            (8, .pointer(instructions.withUnsafeBytes { Array($0) })), (16, .pointer(Array("GPL".utf8) + [0])),
            (68, .word(spec.expectedAttachType?.rawValue ?? 0)),
            (72, .word(UInt32(info.btf))), (76, .word(8)), (80, .pointer(info.records)), (88, .word(UInt32(info.count))),
        ]
    }

    deinit {
        close(descriptor)
        close(btf)
    }

    func testRun(data: [UInt8]) throws -> BPFSyscall.TestRunResult {
        try BPFSyscall.testRun(program: descriptor, data: data)
    }

    enum Field { case word(UInt32), pointer([UInt8]) }

    struct Failure: Error, CustomStringConvertible {
        var command: Int, errno: Int32
        var description: String { "bpf(\(command)) failed with errno \(errno)" }
    }

    /// `bpf(command, attr, 128)` with the given fields (pointers to copies of the byte arrays).
    static func bpf(_ command: Int, _ fields: [(offset: Int, value: Field)]) throws -> Int32 {
        typealias Syscall = @convention(c) (Int, Int, Int, Int) -> Int
        let function = unsafeBitCast(try #require(dlsym(UnsafeMutableRawPointer(bitPattern: 0), "syscall")), to: Syscall.self)
        var buffers: [UnsafeMutableRawBufferPointer] = []
        defer { buffers.forEach { $0.deallocate() } }
        var attributes = [UInt8](repeating: 0, count: 128)
        for (offset, value) in fields {
            switch value {
            case .word(let word):
                attributes.withUnsafeMutableBytes { $0.storeBytes(of: word.littleEndian, toByteOffset: offset, as: UInt32.self) }
            case .pointer(let bytes):
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 8)
                buffer.copyBytes(from: bytes)
                buffers.append(buffer)
                let address = UInt64(UInt(bitPattern: buffer.baseAddress))
                attributes.withUnsafeMutableBytes { $0.storeBytes(of: address.littleEndian, toByteOffset: offset, as: UInt64.self) }
            }
        }
        // `attributes` and every buffer stay alive until after the call.
        let result = attributes.withUnsafeMutableBytes { function(BPFSyscall.number, command, Int(bitPattern: $0.baseAddress), 128) }
        guard result >= 0 else { throw Failure(command: command, errno: errno) }
        return Int32(result)
    }
}
