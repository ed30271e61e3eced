// Tests for BPFObject.
