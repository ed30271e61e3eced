// Tests for BPFLinux.
