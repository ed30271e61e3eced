import Foundation
import Testing

/// `bpfkit bench`'s interface: its workload names and the `--json` shape scripts read.
/// No timing is asserted: figures belong to the benchmark, not to the tests.
@Suite struct BenchCommandTests {
    @Test func anUnknownWorkloadIsRefusedWithTheKnownNames() throws {
        let output = try Tool.run(["bench", "--workload", "nope"])
        #expect(output.status != 0)
        for name in ["fnv1a", "xdp_parse", "map_hash", "map_array_percpu", "ringbuf", "maps", "verifier"] {
            #expect(output.standardError.contains(name), "missing \(name) in: \(output.standardError)")
        }
    }

    @Test func quickJSONHasTheDocumentedShape() throws {
        let scratch = try Scratch()
        let path = scratch.url.appendingPathComponent("bench.json").path
        let output = try Tool.run(["bench", "--quick", "--workload", "xdp_parse", "--json", path])
        #expect(output.status == 0, "\(output.standardError)")
        let data = try #require(FileManager.default.contents(atPath: path))
        let document = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(document["machine"] is [String: Any])
        #expect(document["commit"] is String)
        let workloads = try #require(document["workloads"] as? [[String: Any]])
        #expect(workloads.map { $0["name"] as? String } == ["xdp_parse", "xdp_parse"])
        for workload in workloads {
            let engines = try #require(workload["engines"] as? [String: [String: Any]])
            let skipped = workload["skipped"] as? [String: String] ?? [:]
            for engine in ["interpreter", "native", "linux"] {
                // Every engine either ran, with its three figures, or says why not.
                if let figures = engines[engine] {
                    for key in ["nsPerRun", "min", "max"] { #expect(figures[key] is Double, "\(engine).\(key)") }
                } else {
                    #expect(skipped[engine] != nil, "\(engine) neither ran nor was skipped")
                }
            }
            let ratios = try #require(workload["ratios"] as? [String: Double])
            #expect(ratios["interpreter/native"] != nil)
            #expect(workload["verifyMicroseconds"] is Double)
            #expect(workload["loadMicroseconds"] is Double)
        }
        let scaling = try #require(workloads[0]["packetsPerSecond"] as? [String: [String: Double]])
        let interpreter = try #require(scaling["interpreter"])
        #expect(interpreter["1"] != nil && interpreter["2"] != nil && interpreter["scaling"] != nil)
    }
}
