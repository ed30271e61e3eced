/// BPFMaps: the map types of Linux eBPF (array, hash, per-CPU, LRU, ring buffer,
/// perf event array, prog array, map-in-map, queue/stack, LPM trie, bloom filter)
/// with Linux's semantics for keys, values, flags and errors, safe under
/// concurrent use. It knows nothing of instructions, ELF or execution.
enum BPFMapsModule {}
