import Testing
@testable import BPFCapture

/// Capture files written byte by byte, as libpcap and pcapng writers lay them out.
enum Capture {
    static func u16(_ value: UInt16, bigEndian: Bool) -> [UInt8] {
        bigEndian ? [UInt8(value >> 8), UInt8(value & 0xff)] : [UInt8(value & 0xff), UInt8(value >> 8)]
    }

    static func u32(_ value: UInt32, bigEndian: Bool) -> [UInt8] {
        let little = [UInt8(value & 0xff), UInt8(value >> 8 & 0xff), UInt8(value >> 16 & 0xff), UInt8(value >> 24)]
        return bigEndian ? little.reversed() : little
    }

    /// A classic pcap file: header (magic in the writer's byte order) and one record per packet.
    static func pcap(_ packets: [[UInt8]], bigEndian: Bool = false, nanosecond: Bool = false, snapshotLength: UInt32 = 65535,
                     linkType: UInt32 = 1, seconds: UInt32 = 1_700_000_000, fraction: UInt32 = 250) -> [UInt8] {
        var bytes = u32(nanosecond ? 0xa1b2_3c4d : 0xa1b2_c3d4, bigEndian: bigEndian)
        bytes += u16(2, bigEndian: bigEndian) + u16(4, bigEndian: bigEndian)
        bytes += u32(0, bigEndian: bigEndian) + u32(0, bigEndian: bigEndian)
        bytes += u32(snapshotLength, bigEndian: bigEndian) + u32(linkType, bigEndian: bigEndian)
        for packet in packets {
            bytes += u32(seconds, bigEndian: bigEndian) + u32(fraction, bigEndian: bigEndian)
            bytes += u32(UInt32(packet.count), bigEndian: bigEndian) + u32(UInt32(packet.count + 4), bigEndian: bigEndian)
            bytes += packet
        }
        return bytes
    }

    static func block(_ type: UInt32, _ body: [UInt8], bigEndian: Bool) -> [UInt8] {
        let padded = body + [UInt8](repeating: 0, count: (4 - body.count % 4) % 4)
        let length = UInt32(12 + padded.count)
        return u32(type, bigEndian: bigEndian) + u32(length, bigEndian: bigEndian) + padded + u32(length, bigEndian: bigEndian)
    }

    /// A pcapng file: section header, one interface (optionally with if_tsresol), enhanced packet blocks.
    static func pcapng(_ packets: [[UInt8]], bigEndian: Bool = false, linkType: UInt16 = 1, resolution: UInt8? = nil,
                       simple: Bool = false) -> [UInt8] {
        var bytes = block(0x0a0d_0d0a, u32(0x1a2b_3c4d, bigEndian: bigEndian) + u16(1, bigEndian: bigEndian)
                          + u16(0, bigEndian: bigEndian) + [UInt8](repeating: 0xff, count: 8), bigEndian: bigEndian)
        var interface = u16(linkType, bigEndian: bigEndian) + u16(0, bigEndian: bigEndian) + u32(0, bigEndian: bigEndian)
        if let resolution {
            interface += u16(9, bigEndian: bigEndian) + u16(1, bigEndian: bigEndian) + [resolution, 0, 0, 0]
            interface += u16(0, bigEndian: bigEndian) + u16(0, bigEndian: bigEndian)
        }
        bytes += block(1, interface, bigEndian: bigEndian)
        bytes += block(2989, [1, 2, 3, 4], bigEndian: bigEndian)  // a custom block: skipped
        for (index, packet) in packets.enumerated() {
            if simple {
                bytes += block(3, u32(UInt32(packet.count), bigEndian: bigEndian) + packet, bigEndian: bigEndian)
            } else {
                let stamp = UInt64(1_700_000_000) * 1_000_000 + UInt64(index)
                bytes += block(6, u32(0, bigEndian: bigEndian) + u32(UInt32(stamp >> 32), bigEndian: bigEndian)
                               + u32(UInt32(stamp & 0xffff_ffff), bigEndian: bigEndian)
                               + u32(UInt32(packet.count), bigEndian: bigEndian) + u32(UInt32(packet.count), bigEndian: bigEndian)
                               + packet, bigEndian: bigEndian)
            }
        }
        return bytes
    }
}

@Suite struct CaptureFileTests {
    let first: [UInt8] = Array(0..<60)
    let second: [UInt8] = [0xaa, 0xbb, 0xcc]

    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func classicPcapInEitherByteOrderAndResolution(bigEndian: Bool, nanosecond: Bool) throws {
        let file = try CaptureFile(bytes: Capture.pcap([first, second], bigEndian: bigEndian, nanosecond: nanosecond), name: "t.pcap")
        #expect(file.format == .pcap(bigEndian: bigEndian, nanosecond: nanosecond))
        #expect(file.packets.map(\.bytes) == [first, second])
        #expect(file.packets.map(\.index) == [0, 1])
        #expect(file.packets[1].originalLength == 7)
        #expect(file.packets[0].timestampNanoseconds == 1_700_000_000 * 1_000_000_000 + (nanosecond ? 250 : 250_000))
        #expect(file.packets[0].linkType == .ethernet)
    }

    @Test func anEmptyCaptureHasNoPackets() throws {
        #expect(try CaptureFile(bytes: Capture.pcap([]), name: "e.pcap").packets.isEmpty)
    }

    @Test func aTruncatedRecordNamesItsIndexAndOffset() throws {
        let bytes = Capture.pcap([first, second])
        // Cut inside the second record's data: header 24 + record 0 (16 + 60) = 100; record 1 data starts at 116.
        #expect(throws: CaptureError.truncatedRecord(file: "cut.pcap", index: 1, offset: 100, needed: 19, available: 18)) {
            try CaptureFile(bytes: Array(bytes.prefix(118)), name: "cut.pcap")
        }
        #expect(throws: CaptureError.truncatedRecord(file: "cut.pcap", index: 1, offset: 100, needed: 16, available: 5)) {
            try CaptureFile(bytes: Array(bytes.prefix(105)), name: "cut.pcap")
        }
        let error = try #require(throws: CaptureError.self) { try CaptureFile(bytes: Array(bytes.prefix(118)), name: "cut.pcap") }
        #expect(error.description == "cut.pcap: record 1 at byte 100 is cut short (19 bytes needed, 18 left in the file)")
    }

    @Test func malformedHeadersAreRefusedWithAReason() throws {
        #expect(throws: CaptureError.unknownFormat(file: "x", magic: nil)) { try CaptureFile(bytes: [0xd4, 0xc3], name: "x") }
        #expect(throws: CaptureError.unknownFormat(file: "x", magic: 0x0403_0201)) { try CaptureFile(bytes: [1, 2, 3, 4, 5], name: "x") }
        #expect(throws: CaptureError.truncatedHeader(file: "x", size: 10, needed: 24)) {
            try CaptureFile(bytes: Array(Capture.pcap([]).prefix(10)), name: "x")
        }
        #expect(throws: CaptureError.unsupportedLinkType(file: "x", linkType: 113)) {
            try CaptureFile(bytes: Capture.pcap([first], linkType: 113), name: "x")
        }
        #expect(throws: CaptureError.recordTooLong(file: "x", index: 0, offset: 24, length: 60, snapshotLength: 32)) {
            try CaptureFile(bytes: Capture.pcap([first], snapshotLength: 32), name: "x")
        }
    }

    @Test func rawIPPacketsGetAnEthernetHeaderOfTheirVersion() throws {
        let ipv4: [UInt8] = [0x45, 0, 0, 20] + [UInt8](repeating: 0, count: 16)
        let ipv6: [UInt8] = [0x60, 0, 0, 0] + [UInt8](repeating: 0, count: 36)
        for linkType: UInt32 in [101, 228, 229] {
            let file = try CaptureFile(bytes: Capture.pcap([linkType == 229 ? ipv6 : ipv4, ipv6], linkType: linkType), name: "raw")
            let frame = file.packets[0].ethernetFrame
            #expect(frame.count == 14 + file.packets[0].bytes.count)
            #expect(Array(frame[0..<12]) == [UInt8](repeating: 0, count: 12))
            #expect(Array(frame[12..<14]) == (linkType == 229 ? [0x86, 0xdd] : [0x08, 0x00]))
            if linkType == 101 { #expect(Array(file.packets[1].ethernetFrame[12..<14]) == [0x86, 0xdd]) }
        }
        let ethernet = try CaptureFile(bytes: Capture.pcap([first]), name: "eth")
        #expect(ethernet.packets[0].ethernetFrame == first)
    }

    @Test(arguments: [false, true])
    func pcapngEnhancedPackets(bigEndian: Bool) throws {
        let file = try CaptureFile(bytes: Capture.pcapng([first, second], bigEndian: bigEndian), name: "t.pcapng")
        #expect(file.format == .pcapng)
        #expect(file.packets.map(\.bytes) == [first, second])
        #expect(file.packets[1].timestampNanoseconds == 1_700_000_000 * 1_000_000_000 + 1_000)
    }

    @Test func pcapngTimestampResolutionAndSimplePackets() throws {
        let nano = try CaptureFile(bytes: Capture.pcapng([first, second], resolution: 9), name: "n")
        // Units are nanoseconds now: the same stamp means 1000 times less time.
        #expect(nano.packets[1].timestampNanoseconds == (1_700_000_000 * 1_000_000 + 1))
        let simple = try CaptureFile(bytes: Capture.pcapng([second, first], simple: true), name: "s")
        #expect(simple.packets.map(\.bytes) == [second, first])
        #expect(simple.packets.map(\.originalLength) == [3, 60])
    }

    @Test func malformedPcapngBlocksAreRefusedWithTheOffset() throws {
        var bytes = Capture.pcapng([first])
        // The section header is 28 bytes: the interface block starts at 28; corrupt its trailing length.
        let interfaceLength = Int(bytes[32])
        bytes[28 + interfaceLength - 4] = 0x7f
        #expect(throws: CaptureError.malformedBlock(file: "m", offset: 28, reason: "the trailing block length differs from the leading \(interfaceLength)")) {
            try CaptureFile(bytes: bytes, name: "m")
        }
        let whole = Capture.pcapng([first, second])
        #expect(throws: CaptureError.self) { try CaptureFile(bytes: Array(whole.dropLast(6)), name: "m") }
        let error = try #require(throws: CaptureError.self) { try CaptureFile(bytes: Array(whole.dropLast(6)), name: "m") }
        guard case .truncatedRecord(_, let index, _, _, _) = error else { Issue.record("expected a truncated record, got \(error)"); return }
        #expect(index == 1)
        // A packet block naming an interface that was not described.
        var noInterface = Capture.block(0x0a0d_0d0a, Capture.u32(0x1a2b_3c4d, bigEndian: false) + [1, 0, 0, 0] + [UInt8](repeating: 0xff, count: 8), bigEndian: false)
        noInterface += Capture.block(6, [UInt8](repeating: 0, count: 20), bigEndian: false)
        #expect(throws: CaptureError.malformedBlock(file: "m", offset: 28, reason: "packet 0 names interface 0, which is not described")) {
            try CaptureFile(bytes: noInterface, name: "m")
        }
        // Not starting with a section header.
        #expect(throws: CaptureError.self) { try CaptureFile(bytes: [0x0a, 0x0d, 0x0d, 0x0a] + [0, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a], name: "m") }
    }
}
