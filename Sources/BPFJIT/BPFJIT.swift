/// BPFJIT: translates eBPF programs into x86-64 machine code, using the facts the
/// verifier proved (trusted mode) or checking every access (checked mode). It knows
/// nothing of ELF, maps or the CLI. Entry point: `JITCompiler`.
enum BPFJITModule {}
