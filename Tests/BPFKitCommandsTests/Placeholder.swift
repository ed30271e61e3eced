// Tests for BPFKitCommands.
