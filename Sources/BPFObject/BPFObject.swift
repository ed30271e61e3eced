/// BPFObject: reads clang-compiled BPF ELF objects (programs, maps, BTF, relocations,
/// line info) into value-type descriptions (`ObjectSpec`) without creating anything.
enum BPFObjectModule {}
