/// BPFRuntime: runs decoded programs. Memory regions, the helper registry and the
/// interpreter (checked and trusted modes) live here.
enum BPFRuntimeModule {}
