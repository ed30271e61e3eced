/// BPFLoader: turns an `ObjectSpec` into a running collection — maps created,
/// relocations bound, helpers implemented with Linux semantics, contexts built
/// from packets, tail calls through prog arrays.
enum BPFLoaderModule {}
