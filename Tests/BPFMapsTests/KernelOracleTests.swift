import Testing
import BPFLinux
@testable import BPFMaps
import BPFTestSupport

/// Runs seeded random operation sequences against a kernel map (through
/// `bpf()`) and a BPFMaps map of the same definition, requiring identical
/// return codes and contents. Skipped when `bpf()` is refused here (no
/// CAP_BPF, seccomp): Swift Testing reports the skip with the comment below.
@Suite("Kernel oracle", .enabled(if: BPFSyscall.isAvailable, "bpf() is not permitted here, so there is no kernel to compare with"))
struct KernelOracleTests {
    struct Pair {
        let kernel: KernelMap
        let model: any BPFMap

        init(_ definition: MapDefinition) throws {
            kernel = try KernelMap(type: definition.type.rawValue, keySize: Int(definition.keySize),
                                   valueSize: Int(definition.valueSize), maxEntries: Int(definition.maxEntries),
                                   flags: definition.flags, mapExtra: definition.mapExtra)
            model = try MapFactory.make(definition)
        }

        func kernelCode(_ body: () throws -> Void) -> Int32 {
            do { try body(); return 0 } catch let error as BPFSystemError { return error.errno } catch { return -1 }
        }

        func update(_ key: [UInt8], _ value: [UInt8], _ flags: UInt64) -> (Int32, Int32) {
            (kernelCode { try kernel.update(key: key, value: value, flags: flags) },
             code { try model.update(key: key, value: value, flags: flags) })
        }

        func delete(_ key: [UInt8]) -> (Int32, Int32) {
            (kernelCode { try kernel.delete(key: key) }, code { try model.delete(key: key) })
        }
    }

    static let flagChoices: [UInt64] = [0, 0, 1, 1, 2, 2, 4, 8]

    @Test func possibleCPUCountsAgree() {
        #expect(KernelMap.possibleCPUCount == PossibleCPUs.count)
    }

    @Test(arguments: [MapType.array, .hash, .perCPUHash, .perCPUArray])
    func randomKeyedOperationsMatch(type: MapType) throws {
        let definition = MapDefinition(type: type, keySize: 4, valueSize: 12, maxEntries: 8)
        let pair = try Pair(definition)
        var random = SplitMix64(seed: 0xB0F + UInt64(type.rawValue))
        let valueSize = pair.model.userValueSize
        for step in 0..<3000 {
            let key = u32(UInt32.random(in: 0..<12, using: &random))
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<5:
                let value = (0..<valueSize).map { _ in UInt8.random(in: 0...255, using: &random) }
                let flags = Self.flagChoices.randomElement(using: &random)!
                let (k, m) = pair.update(key, value, flags)
                #expect(k == m, "step \(step): update \(key) flags \(flags): kernel \(k), model \(m)")
            case 5..<7:
                let (k, m) = pair.delete(key)
                #expect(k == m, "step \(step): delete \(key): kernel \(k), model \(m)")
            case 7..<9:
                #expect(try pair.kernel.lookup(key: key) == pair.model.lookup(key: key), "step \(step): lookup \(key)")
            default:
                if type == .array || type == .perCPUArray {
                    #expect(try pair.kernel.nextKey(after: key) == pair.model.nextKey(after: key), "step \(step): next key")
                } else {
                    // Hash iteration order is the map's own; compare the key sets.
                    #expect(Set(try pair.kernel.keys()) == Set(try pair.model.keys()), "step \(step): key sets")
                }
            }
        }
        let kernelEntries = try pair.kernel.keys().map { [$0, try pair.kernel.lookup(key: $0)!] }
        let modelEntries = try pair.model.keys().map { [$0, try pair.model.lookup(key: $0)!] }
        #expect(Set(kernelEntries) == Set(modelEntries))
    }

    @Test(arguments: [MapType.queue, .stack])
    func randomQueueAndStackOperationsMatch(type: MapType) throws {
        let pair = try Pair(MapDefinition(type: type, keySize: 0, valueSize: 4, maxEntries: 5))
        let model = try #require(pair.model as? QueueStackMap)
        var random = SplitMix64(seed: 0x5EED + UInt64(type.rawValue))
        for step in 0..<2000 {
            switch Int.random(in: 0..<6, using: &random) {
            case 0..<3:
                let value = u32(UInt32(step))
                let flags: UInt64 = [0, 0, 2, 1, 4].randomElement(using: &random)!
                let (k, m) = pair.update([], value, flags)
                #expect(k == m, "step \(step): push flags \(flags): kernel \(k), model \(m)")
            case 3..<5:
                #expect(try pair.kernel.pop() == model.pop(), "step \(step): pop")
            default:
                #expect(try pair.kernel.peek() == model.peek(), "step \(step): peek")
            }
        }
    }

    @Test func randomLPMTrieOperationsMatchIncludingIterationOrder() throws {
        let definition = MapDefinition(type: .lpmTrie, keySize: 8, valueSize: 4, maxEntries: 12, flags: MapFlags.noPreallocate)
        let pair = try Pair(definition)
        var random = SplitMix64(seed: 0x1A7)
        func randomPrefix() -> [UInt8] {
            let length = UInt32([0, 1, 4, 8, 9, 12, 16, 20, 24, 28, 32, 33].randomElement(using: &random)!)
            var data: [UInt8] = [[10, 192, 172].randomElement(using: &random)!, [0, 168, 16, 255].randomElement(using: &random)!,
                                 UInt8.random(in: 0...3, using: &random) << 6, UInt8.random(in: 0...255, using: &random)]
            // Mostly canonical keys (bits past the prefix cleared), sometimes not.
            if Int.random(in: 0..<4, using: &random) != 0 {
                for bit in Int(min(length, 32))..<32 { data[bit / 8] &= ~(0x80 >> UInt8(bit % 8)) }
            }
            return LPMTrieMap.key(prefixLength: length, data: data)
        }
        for step in 0..<3000 {
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<4:
                let key = randomPrefix()
                let flags: UInt64 = [0, 0, 1, 2, 4].randomElement(using: &random)!
                let (k, m) = pair.update(key, u32(UInt32(step)), flags)
                #expect(k == m, "step \(step): update \(key) flags \(flags): kernel \(k), model \(m)")
            case 4..<6:
                let key = randomPrefix()
                let (k, m) = pair.delete(key)
                #expect(k == m, "step \(step): delete \(key): kernel \(k), model \(m)")
            case 6..<9:
                let key = randomPrefix()
                #expect(try pair.kernel.lookup(key: key) == pair.model.lookup(key: key), "step \(step): lookup \(key)")
            default:
                #expect(try pair.kernel.keys() == pair.model.keys(), "step \(step): get_next_key order")
                let key = randomPrefix()
                #expect(try pair.kernel.nextKey(after: key) == pair.model.nextKey(after: key), "step \(step): next after \(key)")
            }
        }
    }

    /// LRU eviction choices differ by design (Linux uses per-CPU free lists
    /// and reference bits), so only the invariants are compared.
    @Test(arguments: [MapType.lruHash, .lruPerCPUHash])
    func lruInvariantsHoldOnBothSides(type: MapType) throws {
        let pair = try Pair(MapDefinition(type: type, keySize: 4, valueSize: 8, maxEntries: 16))
        var random = SplitMix64(seed: 0x14B)
        let valueSize = pair.model.userValueSize
        for step in 0..<1500 {
            let key = u32(UInt32.random(in: 0..<64, using: &random))
            let value = (0..<valueSize).map { _ in UInt8.random(in: 0...255, using: &random) }
            let (k, m) = pair.update(key, value, 0)
            #expect(k == 0 && m == 0, "step \(step): update: kernel \(k), model \(m)")
            #expect(try pair.kernel.lookup(key: key) == value)
            #expect(try pair.model.lookup(key: key) == value)
            if step % 50 == 0 {
                #expect(try pair.kernel.keys().count <= 16)
                #expect(try pair.model.keys().count <= 16)
            }
        }
        let (k, m) = pair.update(u32(999), [UInt8](repeating: 0, count: valueSize), 8)
        #expect(k == m)
    }
}
