/// BPFInstructionSet: the eBPF instruction set as RFC 9669 and Linux define it.
/// One opcode table (`OpcodeTable`) feeds the decoder, the disassembler, the
/// assembler and the execution engines, so they cannot disagree. It knows nothing
/// of ELF, verification or execution.
enum BPFInstructionSetModule {}
