// swift-tools-version: 6.1
import PackageDescription

// The package is layered; each target depends only on the layers below it.
//
//   BPFInstructionSet   instruction model, opcode table, decoder, disassembler
//   BPFAssembler        text -> instructions            (ISA)
//   BPFRuntime          memory regions, helpers, interpreter (ISA)
//   BPFMaps             Linux map types with Linux semantics (no dependencies)
//   BPFLinux            bpf() syscall wrapper and ObjectSpec loading into the kernel (the reference oracle)
//   BPFObject           ELF/BTF -> ObjectSpec, described not loaded (ISA; MapType from BPFMaps)
//   BPFABI              Linux's eBPF ABI as data: helper prototypes, program types' contexts, C headers
//   BPFVerifier         proves programs safe as Linux's verifier does, and explains refusals
//   BPFLoader           ObjectSpec -> running collection: maps, relocations, helpers, contexts, tail calls, engines
//   BPFJIT              verified programs -> x86-64 machine code (ISA, runtime, verifier facts)
//   BPFCapture          packet sources: pcap files (and live interfaces)
//   BPFToolchain        clang: C -> BPF objects (with BPFKit's headers) and native shared libraries
//   BPFConformance      the conformance `.data` format and its runner
//   BPFKit              umbrella that re-exports the public API
//   BPFBenchmarks       workloads and measurement behind `bpfkit bench` (never in tests)
//   BPFKitCommands      the `bpfkit` subcommands (wiring only)
//   bpfkit              thin @main executable
//   BPFTestSupport      (tests only) where ../shared lives, a seeded generator
let package = Package(
    name: "BPFKit",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "BPFKit", targets: ["BPFKit"]),
        .executable(name: "bpfkit", targets: ["bpfkit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .target(name: "BPFInstructionSet"),
        .target(name: "BPFAssembler", dependencies: ["BPFInstructionSet"]),
        .target(name: "BPFRuntime", dependencies: ["BPFInstructionSet"]),
        .target(name: "BPFMaps"),
        .target(name: "BPFLinux", dependencies: ["BPFObject", "BPFMaps"]),
        .target(name: "BPFObject", dependencies: ["BPFInstructionSet", "BPFMaps"]),
        .target(name: "BPFABI", dependencies: ["BPFInstructionSet", "BPFObject"]),
        .target(name: "BPFVerifier", dependencies: ["BPFInstructionSet", "BPFObject", "BPFABI", "BPFMaps"]),
        .target(name: "BPFLoader", dependencies: ["BPFInstructionSet", "BPFObject", "BPFMaps", "BPFRuntime", "BPFABI", "BPFVerifier", "BPFJIT"]),
        .target(name: "BPFJIT", dependencies: ["BPFInstructionSet", "BPFRuntime", "BPFVerifier"]),
        .target(name: "BPFCapture"),
        .target(name: "BPFToolchain", dependencies: ["BPFABI"]),
        .target(name: "BPFConformance", dependencies: ["BPFInstructionSet", "BPFAssembler", "BPFRuntime"]),
        .target(name: "BPFKit", dependencies: [
            "BPFInstructionSet", "BPFAssembler", "BPFRuntime", "BPFMaps", "BPFObject", "BPFConformance",
            "BPFLinux", "BPFABI", "BPFLoader", "BPFVerifier", "BPFToolchain", "BPFJIT", "BPFCapture",
        ]),
        .target(name: "BPFBenchmarks", dependencies: ["BPFKit", "BPFToolchain"]),
        .target(name: "BPFKitCommands", dependencies: [
            "BPFKit", "BPFBenchmarks",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "bpfkit", dependencies: ["BPFKitCommands"]),

        .target(name: "BPFTestSupport", path: "Tests/BPFTestSupport"),
        .testTarget(name: "BPFInstructionSetTests", dependencies: ["BPFInstructionSet", "BPFTestSupport"]),
        .testTarget(name: "BPFAssemblerTests", dependencies: ["BPFAssembler", "BPFTestSupport"]),
        .testTarget(name: "BPFRuntimeTests", dependencies: ["BPFRuntime", "BPFAssembler"]),
        .testTarget(name: "BPFMapsTests", dependencies: ["BPFMaps", "BPFLinux", "BPFTestSupport"]),
        .testTarget(name: "BPFLinuxTests", dependencies: ["BPFLinux"]),
        .testTarget(name: "BPFObjectTests", dependencies: ["BPFObject", "BPFToolchain", "BPFTestSupport"]),
        .testTarget(name: "BPFABITests", dependencies: ["BPFABI"]),
        .testTarget(name: "BPFVerifierTests", dependencies: ["BPFVerifier", "BPFAssembler", "BPFLinux", "BPFRuntime", "BPFToolchain", "BPFTestSupport"]),
        .testTarget(name: "BPFLoaderTests", dependencies: ["BPFLoader", "BPFAssembler", "BPFLinux", "BPFToolchain", "BPFTestSupport"]),
        .testTarget(name: "BPFConformanceTests", dependencies: ["BPFConformance", "BPFTestSupport"]),
        .testTarget(name: "BPFKitCommandsTests", dependencies: ["BPFKitCommands", "BPFTestSupport"]),
        .testTarget(name: "BPFJITTests", dependencies: ["BPFJIT", "BPFAssembler", "BPFConformance", "BPFVerifier", "BPFTestSupport"]),
        .testTarget(name: "BPFCaptureTests", dependencies: ["BPFCapture"]),
    ]
)
