/// BPFJIT: translates verified eBPF programs into x86-64 machine code, using the
/// facts the verifier proved. It knows nothing of ELF, maps or the CLI.
enum BPFJITModule {}
