/// BPFCapture: packet sources for packet programs — pcap capture files (and live
/// interfaces). It knows nothing of eBPF.
enum BPFCaptureModule {}
