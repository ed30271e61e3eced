/// BPFCapture: packet sources for packet programs — pcap and pcapng capture
/// files. It knows nothing of eBPF: it yields the bytes of captured frames.
enum BPFCaptureModule {}
