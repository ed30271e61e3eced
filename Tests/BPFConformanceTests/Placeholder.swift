// Tests for BPFConformance.
