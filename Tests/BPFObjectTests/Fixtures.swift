import Foundation
import BPFToolchain

/// Compiles small C fixtures with clang for BPF into a temporary directory.
enum Fixtures {
    static let clang = "/opt/swift/usr/bin/clang"
    static var isClangAvailable: Bool { FileManager.default.isExecutableFile(atPath: clang) }

    struct CompileError: Error, CustomStringConvertible {
        var description: String
    }

    /// Compiles `source` with `clang -target bpf -O2 -g -c` and returns the object's bytes.
    static func compile(_ source: String, name: String) throws -> [UInt8] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bpfobject-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent(name + ".c")
        let output = directory.appendingPathComponent(name + ".o")
        try source.write(to: input, atomically: true, encoding: .utf8)
        try Clang(path: clang).compileBPF(source: input.path, output: output.path)
        return [UInt8](try Data(contentsOf: output))
    }

    /// The 1-based line of the first line of `source` containing `text`.
    static func line(of text: String, in source: String) -> UInt32? {
        for (index, line) in source.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where line.contains(text) {
            return UInt32(index + 1)
        }
        return nil
    }

    static let prelude = """
        typedef unsigned int __u32;
        typedef unsigned long long __u64;
        #define SEC(n) __attribute__((section(n), used))
        #define __uint(name, val) int (*name)[val]
        #define __type(name, val) typeof(val) *name
        #define __array(name, val) typeof(val) *name[]
        static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
        static long (*bpf_tail_call)(void *ctx, void *map, __u32 index) = (void *)12;
        static long (*bpf_loop)(__u32 nr, void *cb, void *ctx, __u64 flags) = (void *)181;

        """
}
