/// BPFKit: the umbrella module. `import BPFKit` gives an application the whole
/// public API: instructions, assembler, runtime, maps and object loading.
@_exported import BPFInstructionSet
@_exported import BPFAssembler
@_exported import BPFRuntime
@_exported import BPFMaps
@_exported import BPFObject
@_exported import BPFConformance
@_exported import BPFLinux
@_exported import BPFABI
@_exported import BPFVerifier
@_exported import BPFLoader
@_exported import BPFToolchain
@_exported import BPFJIT
@_exported import BPFCapture
