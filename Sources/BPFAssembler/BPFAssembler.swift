/// BPFAssembler: turns assembly text in the conformance-suite syntax into
/// instructions, with labels, comments, `.raw` slots and map references.
enum BPFAssemblerModule {}
