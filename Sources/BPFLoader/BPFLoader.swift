/// BPFLoader: turns a described object (``ObjectSpec``) into running programs,
/// as libbpf and the kernel do together: creates and fills the maps, binds map
/// references, verifies each program (BPFVerifier) and rewrites its context
/// accesses from the verifier's facts, binds helpers with Linux semantics, and
/// builds each program type's context as BPF_PROG_TEST_RUN builds it.
enum BPFLoaderModule {}
