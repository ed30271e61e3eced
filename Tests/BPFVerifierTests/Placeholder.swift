// Tests for BPFVerifier.
