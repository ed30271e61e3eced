// Tests for BPFInstructionSet.
