/// BPFLinux: the one wrapper around Linux's `bpf()` syscall, used as a reference
/// oracle by tests and benchmarks. Every call retries on EINTR and names itself
/// in its error.
enum BPFLinuxModule {}
