import ArgumentParser
import BPFKit
import Foundation

/// `bpfkit build FILE.c`: compiles C to a BPF object with BPFKit's headers.
struct BuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Compile C into a BPF object (clang -target bpf -O2 -g, with BPFKit's bpf/*.h headers).",
        discussion: "Prints the object's path. clang is $BPFKIT_CLANG, /opt/swift/usr/bin/clang, /usr/bin/clang, ... or on $PATH."
    )

    @Argument(help: "The C source.")
    var file: String

    @Option(name: .customShort("o"), help: "The object to write (default: the source with .o for .c).")
    var output: String?

    @Option(name: .customShort("I"), help: "Include directory, searched before BPFKit's headers (repeatable).")
    var includeDirectories: [String] = []

    func run() throws {
        let path = output ?? ((file as NSString).pathExtension.lowercased() == "c"
            ? (file as NSString).deletingPathExtension + ".o" : file + ".o")
        do {
            try ObjectInput.compileC(source: file, output: path, includeDirectories: includeDirectories)
        } catch {
            standardError("error: \(error.description)")
            throw ExitCode(1)
        }
        print(path)
    }
}
