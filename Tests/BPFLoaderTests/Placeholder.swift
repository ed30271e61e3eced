// Tests for BPFLoader.
