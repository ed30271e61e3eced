/// BPFABI: Linux's eBPF ABI as data — helper prototypes with their Linux IDs, the
/// program types allowed to call them, context layouts, return-value ranges, and
/// the C headers generated from them. Shared by the verifier, the runtime and the toolchain.
enum BPFABIModule {}
