import BPFObject
import Testing

@Suite struct CorpusTests {
    @Test func dump() throws {
        guard Samples.isAvailable else { return }
        for path in Samples.objectPaths() + Samples.invalidPaths() {
            do {
                let spec = try ObjectSpec(contentsOf: Samples.root + "/" + path)
                print("OK \(path): \(spec.programs.map { "\($0.sectionName):\($0.name):\($0.functionInstructionCount)/\($0.instructions.count):\($0.type.name)" }.joined(separator: " ")) maps: \(spec.maps.map(\.name))")
            } catch {
                print("ERR \(path): \(error)")
            }
        }
    }
}
