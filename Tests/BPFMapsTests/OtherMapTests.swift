import Testing
@testable import BPFMaps

@Suite("Queue and stack maps")
struct QueueStackTests {
    @Test func queueIsFIFOAndStackIsLIFO() throws {
        let queue = try QueueStackMap(MapDefinition(type: .queue, keySize: 0, valueSize: 4, maxEntries: 3))
        let stack = try QueueStackMap(MapDefinition(type: .stack, keySize: 0, valueSize: 4, maxEntries: 3))
        for value in UInt32(1)...3 { try queue.push(u32(value)); try stack.push(u32(value)) }
        #expect(try queue.peek() == u32(1))
        #expect(try stack.peek() == u32(3))
        #expect([try queue.pop(), try queue.pop(), try queue.pop()] == [u32(1), u32(2), u32(3)])
        #expect([try stack.pop(), try stack.pop(), try stack.pop()] == [u32(3), u32(2), u32(1)])
        #expect(try queue.pop() == nil)
        var scratch = UInt32(0)
        #expect(withUnsafeMutableBytes(of: &scratch) { stack.peek(into: $0.baseAddress!) } == -2)
    }

    @Test func fullMapRefusesUnlessExistOverwritesOldest() throws {
        let queue = try QueueStackMap(MapDefinition(type: .queue, keySize: 0, valueSize: 4, maxEntries: 2))
        try queue.push(u32(1)); try queue.push(u32(2))
        #expect(code { try queue.push(u32(3)) } == 7)
        #expect(code { try queue.push(u32(3), flags: UpdateFlags.noExist) } == 22)
        try queue.push(u32(3), flags: UpdateFlags.exist)
        #expect([try queue.pop(), try queue.pop(), try queue.pop()] == [u32(2), u32(3), nil])

        let stack = try QueueStackMap(MapDefinition(type: .stack, keySize: 0, valueSize: 4, maxEntries: 2))
        try stack.push(u32(1)); try stack.push(u32(2))
        try stack.push(u32(3), flags: UpdateFlags.exist)
        #expect([try stack.pop(), try stack.pop(), try stack.pop()] == [u32(3), u32(2), nil])
        #expect(code { try stack.delete(key: []) } == 22)
    }
}

@Suite("Bloom filter maps")
struct BloomFilterTests {
    @Test func pushedValuesAreMembersAndMostOthersAreNot() throws {
        let bloom = try BloomFilterMap(MapDefinition(type: .bloomFilter, keySize: 0, valueSize: 8, maxEntries: 100))
        #expect(bloom.hashCount == 5)
        for value in UInt64(0)..<100 { try bloom.insert(u64(value * 7919)) }
        for value in UInt64(0)..<100 { #expect(try bloom.mayContain(u64(value * 7919))) }
        let falsePositives = (UInt64(1000)..<2000).filter { (try? bloom.mayContain(u64($0 * 7919 + 1))) == true }.count
        #expect(falsePositives < 200)
        var absent = UInt64(0xdead_beef_0000)
        let peek = withUnsafeMutableBytes(of: &absent) { bloom.peek(into: $0.baseAddress!) }
        #expect(peek == 0 || peek == -2)
        #expect(code { try bloom.update(key: [], value: u64(1), flags: UpdateFlags.exist) } == 22)
        let three = try BloomFilterMap(MapDefinition(type: .bloomFilter, keySize: 0, valueSize: 4, maxEntries: 1, mapExtra: 3))
        #expect(three.hashCount == 3)
        #expect(try three.mayContain(u32(1)) == false)
    }
}

@Suite("LPM trie maps")
struct LPMTrieTests {
    let ipv4 = MapDefinition(type: .lpmTrie, keySize: 8, valueSize: 4, maxEntries: 16, flags: MapFlags.noPreallocate)

    @Test func longestPrefixMatchIPv4() throws {
        let trie = try LPMTrieMap(ipv4)
        try trie.update(key: BPFMapsTests.ipv4(192, 168, 0, 0, 16), value: u32(16))
        try trie.update(key: BPFMapsTests.ipv4(192, 168, 1, 0, 24), value: u32(24))
        try trie.update(key: BPFMapsTests.ipv4(10, 0, 0, 0, 8), value: u32(8))
        try trie.update(key: BPFMapsTests.ipv4(0, 0, 0, 0, 0), value: u32(0))
        #expect(try trie.lookup(key: BPFMapsTests.ipv4(192, 168, 1, 77, 32)) == u32(24))
        #expect(try trie.lookup(key: BPFMapsTests.ipv4(192, 168, 2, 77, 32)) == u32(16))
        #expect(try trie.lookup(key: BPFMapsTests.ipv4(192, 168, 1, 77, 20)) == u32(16))  // lookup prefix caps the match
        #expect(try trie.lookup(key: BPFMapsTests.ipv4(10, 9, 9, 9, 32)) == u32(8))
        #expect(try trie.lookup(key: BPFMapsTests.ipv4(11, 0, 0, 1, 32)) == u32(0))
        try trie.delete(key: BPFMapsTests.ipv4(0, 0, 0, 0, 0))
        #expect(try trie.lookup(key: BPFMapsTests.ipv4(11, 0, 0, 1, 32)) == nil)
        #expect(code { try trie.delete(key: BPFMapsTests.ipv4(192, 168, 0, 0, 17)) } == 2)
        #expect(code { try trie.update(key: BPFMapsTests.ipv4(1, 0, 0, 0, 33), value: u32(1)) } == 22)
        #expect(code { try trie.update(key: BPFMapsTests.ipv4(10, 0, 0, 0, 8), value: u32(1), flags: UpdateFlags.noExist) } == 17)
        #expect(code { try trie.update(key: BPFMapsTests.ipv4(10, 0, 0, 0, 9), value: u32(1), flags: UpdateFlags.exist) } == 2)
    }

    @Test func longestPrefixMatchIPv6() throws {
        let trie = try LPMTrieMap(MapDefinition(type: .lpmTrie, keySize: 20, valueSize: 4, maxEntries: 4, flags: MapFlags.noPreallocate))
        let doc: [UInt8] = [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 12)
        var host = doc; host[15] = 1
        var other = doc; other[5] = 0x80
        try trie.update(key: LPMTrieMap.key(prefixLength: 32, data: doc), value: u32(32))
        try trie.update(key: LPMTrieMap.key(prefixLength: 48, data: doc), value: u32(48))
        try trie.update(key: LPMTrieMap.key(prefixLength: 128, data: host), value: u32(128))
        #expect(try trie.lookup(key: LPMTrieMap.key(prefixLength: 128, data: host)) == u32(128))
        var near = host; near[15] = 2
        #expect(try trie.lookup(key: LPMTrieMap.key(prefixLength: 128, data: near)) == u32(48))
        #expect(try trie.lookup(key: LPMTrieMap.key(prefixLength: 128, data: other)) == u32(32))
        #expect(code { try trie.update(key: LPMTrieMap.key(prefixLength: 129, data: host), value: u32(1)) } == 22)
    }

    @Test func nextKeyIsLinuxPostOrder() throws {
        // The example of Linux's trie_get_next_key comment.
        let trie = try LPMTrieMap(ipv4)
        for key in [BPFMapsTests.ipv4(192, 168, 0, 0, 16), BPFMapsTests.ipv4(192, 168, 128, 0, 24),
                    BPFMapsTests.ipv4(192, 168, 1, 0, 24), BPFMapsTests.ipv4(192, 168, 0, 0, 24)] {
            try trie.update(key: key, value: u32(1))
        }
        #expect(try trie.keys() == [BPFMapsTests.ipv4(192, 168, 0, 0, 24), BPFMapsTests.ipv4(192, 168, 1, 0, 24),
                                    BPFMapsTests.ipv4(192, 168, 128, 0, 24), BPFMapsTests.ipv4(192, 168, 0, 0, 16)])
        #expect(try trie.nextKey(after: BPFMapsTests.ipv4(1, 2, 3, 4, 32)) == BPFMapsTests.ipv4(192, 168, 0, 0, 24))
    }

    @Test func fullTrieReportsNoSpace() throws {
        let trie = try LPMTrieMap(MapDefinition(type: .lpmTrie, keySize: 5, valueSize: 1, maxEntries: 2, flags: MapFlags.noPreallocate))
        try trie.update(key: LPMTrieMap.key(prefixLength: 8, data: [1]), value: [1])
        try trie.update(key: LPMTrieMap.key(prefixLength: 8, data: [2]), value: [2])
        #expect(code { try trie.update(key: LPMTrieMap.key(prefixLength: 8, data: [3]), value: [3]) } == 28)
    }
}

@Suite("Ring buffer maps")
struct RingBufferTests {
    func ring(_ size: UInt32 = 4096) throws -> RingBufferMap {
        try RingBufferMap(MapDefinition(type: .ringBuffer, keySize: 0, valueSize: 0, maxEntries: size))
    }

    @Test func reserveSubmitDiscardAndConsume() throws {
        let rb = try ring()
        let first = try #require(rb.reserve(size: 5))
        let data: [UInt8] = [1, 2, 3, 4, 5]
        data.withUnsafeBytes { first.copyMemory(from: $0.baseAddress!, byteCount: 5) }
        let second = try #require(rb.reserve(size: 3))
        #expect(rb.query(flags: RingBufferFlags.producerPosition) == 16 + 16)
        // Header of the reserved record: length with the busy bit.
        #expect((first - 8).load(as: UInt32.self) == 5 | RingBufferFlags.busyBit)
        #expect(rb.drain().isEmpty)  // the first record is still busy
        rb.submit(first, flags: 0)
        rb.discard(second, flags: 0)
        #expect(rb.drain() == [[1, 2, 3, 4, 5]])
        #expect(rb.query(flags: RingBufferFlags.consumerPosition) == 32)
        #expect(rb.query(flags: RingBufferFlags.availableData) == 0)
        #expect(rb.query(flags: RingBufferFlags.ringSize) == 4096)
        var payload: [UInt8] = [9, 8, 7]
        #expect(rb.output(data: &payload, size: 3, flags: 0) == 0)
        #expect(rb.query(flags: RingBufferFlags.availableData) == 16)
        #expect(rb.output(data: &payload, size: 3, flags: 4) == -22)
        #expect(rb.drain() == [[9, 8, 7]])
    }

    @Test func reserveFailsWhenFullAndSpaceReturnsAfterConsume() throws {
        let rb = try ring()
        #expect(rb.reserve(size: 4096) == nil)
        let big = try #require(rb.reserve(size: 4000))  // 4008 bytes of 4096
        #expect(rb.reserve(size: 100) == nil)
        #expect(rb.reserve(size: 80) == nil)  // 4008 + 88 = 4096 > size - 1: refused, as Linux
        let last = try #require(rb.reserve(size: 72))  // 4008 + 80 = 4088 fits
        rb.submit(big, flags: 0)
        rb.submit(last, flags: 0)
        #expect(rb.drain().map(\.count) == [4000, 72])
        #expect(rb.reserve(size: 4000) != nil)  // the consumer released the space
    }

    @Test func recordsWrapAroundTheEnd() throws {
        let rb = try ring()
        var total = 0
        for round in 0..<50 {
            let payload = [UInt8](repeating: UInt8(round), count: 1000)
            #expect(payload.withUnsafeBytes { rb.output(data: $0.baseAddress!, size: 1000, flags: 0) } == 0)
            let records = rb.drain()
            #expect(records == [payload])
            total += 1
        }
        #expect(total == 50)
        #expect(rb.query(flags: RingBufferFlags.consumerPosition) == 50 * 1008)
    }

    @Test func wakeupFlags() throws {
        let rb = try ring()
        var byte: UInt8 = 1
        // Default: notify when the consumer has caught up with the record.
        _ = rb.output(data: &byte, size: 1, flags: 0)
        #expect(rb.notificationCount == 1)
        _ = rb.output(data: &byte, size: 1, flags: 0)  // consumer is behind: no notification
        #expect(rb.notificationCount == 1)
        _ = rb.output(data: &byte, size: 1, flags: RingBufferFlags.forceWakeup)
        #expect(rb.notificationCount == 2)
        _ = rb.drain()
        _ = rb.output(data: &byte, size: 1, flags: RingBufferFlags.noWakeup)
        #expect(rb.notificationCount == 2)
        // poll returns available records without waiting.
        #expect(rb.poll(timeout: 0) { _ in } == 1)
        #expect(rb.poll(timeout: 0) { _ in } == 0)
    }

    @Test func pollWakesUpForAProducerOnAnotherThread() async throws {
        let rb = try ring()
        let producer = Task.detached {
            var value: UInt32 = 77
            _ = rb.output(data: &value, size: 4, flags: RingBufferFlags.forceWakeup)
        }
        var received: [[UInt8]] = []
        while received.isEmpty {
            rb.poll(timeout: 1000) { received.append(Array($0)) }
        }
        await producer.value
        #expect(received == [u32(77)])
    }
}
