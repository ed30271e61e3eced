// Tests for BPFAssembler.
