// Tests for BPFRuntime.
