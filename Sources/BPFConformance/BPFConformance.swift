/// BPFConformance: reads the BPF conformance suite's `.data` files and runs them.
enum BPFConformanceModule {}
