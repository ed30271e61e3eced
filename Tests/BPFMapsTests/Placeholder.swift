// Tests for BPFMaps.
