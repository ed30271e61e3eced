/// BPFVerifier: proves a program safe as Linux's verifier does — abstract
/// interpretation over typed registers and stack slots with tnum and range
/// bounds, path exploration with state pruning — and explains each refusal
/// with the instruction, the state and a hint a person can act on.
enum BPFVerifierModule {}
