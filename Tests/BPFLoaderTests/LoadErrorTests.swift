import BPFLoader
import BPFMaps
import BPFObject
import BPFRuntime
import Testing

/// Refusals at load and faults at run time name the place.
@Suite("Load errors and faults")
struct LoadErrorTests {
    static let packet = Packet.ipv4(proto: 6, payload: Packet.tcp)

    @Test func unimplementedHelpersAreRefusedByName() throws {
        do {
            _ = try Fixture.load("""
                SEC("kprobe/sys_nanosleep") int probe(void *ctx) { return bpf_get_stackid(ctx, 0, 0); }
                """, name: "stackid")
            Issue.record("the program loaded")
        } catch let error as CollectionLoadError {
            guard case .unsupportedHelper(let program, _, let helper, let id) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(program == "probe" && helper == "bpf_get_stackid" && id == 27)
            #expect(error.description.contains("calls helper bpf_get_stackid (#27), which BPFKit does not implement"))
        }
    }

    @Test func optionsNamingMissingMapsAreRefused() throws {
        guard Fixture.isClangAvailable else { return }
        let spec = try Fixture.compile("SEC(\"xdp\") int pass(struct xdp_md *ctx) { return XDP_PASS; }", name: "pass")
        #expect(throws: CollectionLoadError.unknownMap(name: "nothing", context: "mapInitialEntries")) {
            _ = try LoadedObject(spec: spec, options: LoadOptions(mapInitialEntries: ["nothing": []]))
        }
        #expect(throws: CollectionLoadError.unknownMap(name: ".rodata", context: "readOnlyData")) {
            _ = try LoadedObject(spec: spec, options: LoadOptions(readOnlyData: [".rodata": [0]]))
        }
        let collection = try LoadedObject(spec: spec)
        #expect(throws: CollectionRunError.unknownProgram(name: "missing")) {
            _ = try collection.run(program: "missing", packet: Self.packet)
        }
        #expect(throws: CollectionRunError.self) { _ = try collection.run(program: "pass", context: [0]) }
        #expect(throws: CollectionRunError.self) { _ = try collection.run(program: "pass", packet: [1, 2, 3]) }
    }

    @Test func unreadableObjectFilesNameThePath() throws {
        do {
            _ = try LoadedObject(contentsOf: "/nonexistent/prog.o")
            Issue.record("loaded a missing file")
        } catch {
            guard case .invalidObject(let path, _) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(path == "/nonexistent/prog.o")
        }
    }

    @Test func unknownMapTypeIsRefusedWithTheMapName() throws {
        do {
            _ = try Fixture.load("""
                struct { __uint(type, BPF_MAP_TYPE_DEVMAP); __uint(max_entries, 4); __type(key, __u32); __type(value, __u32); } ports SEC(".maps");
                SEC("xdp") int forward(struct xdp_md *ctx) { return bpf_map_lookup_elem(&ports, &ctx->rx_queue_index) != 0; }
                """, name: "devmap")
            Issue.record("the object loaded")
        } catch let error as CollectionLoadError {
            guard case .invalidMap(let map, _) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(map == "ports")
        } catch {
            // BPFObject may refuse the map type already while describing the object.
            #expect(String(describing: error).contains("ports") || String(describing: error).contains("devmap"))
        }
    }

    @Test func aBogusMapPointerIsRefusedOrFaultsInsteadOfCrashing() throws {
        guard Fixture.isClangAvailable else { return }
        let spec = try Fixture.compile("""
            SEC("xdp") int bogus(struct xdp_md *ctx) { __u32 key = 0; return bpf_map_lookup_elem(ctx, &key) != 0; }
            """, name: "bogus")
        #expect(Fixture.expectRefusal(spec, program: "bogus")?.contains("map") == true)
        // Unverified (--no-verify), the helper refuses the pointer at run time.
        let collection = try LoadedObject(spec: spec, options: LoadOptions(verifies: false))
        do {
            _ = try collection.run(program: "bogus", packet: Self.packet)
            Issue.record("the run succeeded")
        } catch {
            guard case .execution(_, .helperFault(_, let helper, let message)) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(helper == "bpf_map_lookup_elem" && message.contains("is not a map of this collection"))
        }
    }

    @Test func redirectRecordsTheTarget() throws {
        guard let collection = try Fixture.load("""
            SEC("xdp") int xdp_out(struct xdp_md *ctx) { return bpf_redirect(7, 0); }
            SEC("xdp") int xdp_bad_flags(struct xdp_md *ctx) { return bpf_redirect(7, 1); }
            SEC("tc") int tc_out(struct __sk_buff *skb) { return bpf_redirect(3, BPF_F_INGRESS); }
            """, name: "redirect") else { return }
        let xdp = try collection.run(program: "xdp_out", packet: Self.packet)
        #expect(xdp.returnValue == 4 && xdp.redirect == .interface(index: 7, flags: 0))  // XDP_REDIRECT
        let aborted = try collection.run(program: "xdp_bad_flags", packet: Self.packet)
        #expect(aborted.returnValue == 0 && aborted.redirect == nil)  // XDP_ABORTED
        let tc = try collection.run(program: "tc_out", packet: Self.packet)
        #expect(tc.returnValue == 7 && tc.redirect == .interface(index: 3, flags: 1))  // TC_ACT_REDIRECT
    }

    @Test func trustedModeRunsTheSamePrograms() throws {
        guard let collection = try Fixture.load("""
            struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); } sum SEC(".maps");
            SEC("xdp") int add(struct xdp_md *ctx) {
                __u32 key = 0;
                __u64 *value = bpf_map_lookup_elem(&sum, &key);
                if (!value) return 0;
                *value += ctx->data_end - ctx->data;
                return *value;
            }
            """, name: "trusted", options: LoadOptions(mode: .trusted)) else { return }
        #expect(collection.program(named: "add")?.mode == .trusted)
        #expect(collection.program(named: "add")?.verification?.isAccepted == true)
        #expect(try collection.run(program: "add", packet: Self.packet).returnValue == UInt64(Self.packet.count))
        #expect(try collection.run(program: "add", packet: Self.packet).returnValue == UInt64(2 * Self.packet.count))
    }
}
