// Tests for BPFABI.
