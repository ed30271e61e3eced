import Foundation

/// The link-layer header type of captured frames (`LINKTYPE_*` from tcpdump.org).
///
/// Supported: Ethernet (1) and raw IP — `LINKTYPE_RAW` (101), `LINKTYPE_IPV4` (228),
/// `LINKTYPE_IPV6` (229). Other link types are refused with ``CaptureError/unsupportedLinkType(file:linkType:)``.
public enum LinkType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case ethernet = 1
    case raw = 101
    case ipv4 = 228
    case ipv6 = 229

    public var description: String {
        switch self {
        case .ethernet: "Ethernet (1)"
        case .raw: "raw IP (101)"
        case .ipv4: "raw IPv4 (228)"
        case .ipv6: "raw IPv6 (229)"
        }
    }
}

/// One frame of a capture file.
public struct CapturedPacket: Sendable, Equatable {
    /// Position in the file, from 0.
    public var index: Int
    /// The captured bytes (at most the snapshot length).
    public var bytes: [UInt8]
    /// The frame's length on the wire (at least `bytes.count` in well-formed files).
    public var originalLength: Int
    /// Capture time in nanoseconds since the Unix epoch.
    public var timestampNanoseconds: UInt64
    public var linkType: LinkType

    public init(index: Int, bytes: [UInt8], originalLength: Int, timestampNanoseconds: UInt64, linkType: LinkType) {
        self.index = index
        self.bytes = bytes
        self.originalLength = originalLength
        self.timestampNanoseconds = timestampNanoseconds
        self.linkType = linkType
    }

    /// The frame as an Ethernet frame, which is what XDP and tc programs see: Ethernet
    /// frames as captured; raw IP packets behind a 14-byte Ethernet header with zero
    /// addresses and the EtherType of their IP version (0x0800 for 4, 0x86dd for 6;
    /// LINKTYPE_IPV4/IPV6 say it, LINKTYPE_RAW reads the version nibble).
    public var ethernetFrame: [UInt8] {
        let etherType: UInt16
        switch linkType {
        case .ethernet: return bytes
        case .ipv4: etherType = 0x0800
        case .ipv6: etherType = 0x86dd
        case .raw: etherType = (bytes.first.map { $0 >> 4 } == 6) ? 0x86dd : 0x0800
        }
        return [UInt8](repeating: 0, count: 12) + [UInt8(etherType >> 8), UInt8(etherType & 0xff)] + bytes
    }
}

/// Why a capture file could not be read. Every case names the file, and the record
/// (by index from 0) and byte offset where the problem lies.
public enum CaptureError: Error, Sendable, Equatable, CustomStringConvertible {
    case unreadable(file: String, reason: String)
    /// The file does not start with a pcap or pcapng magic number.
    case unknownFormat(file: String, magic: UInt32?)
    /// The file ends inside its file header.
    case truncatedHeader(file: String, size: Int, needed: Int)
    /// A record's header or data runs past the end of the file.
    case truncatedRecord(file: String, index: Int, offset: Int, needed: Int, available: Int)
    /// A record says it holds more bytes than the snapshot length allows.
    case recordTooLong(file: String, index: Int, offset: Int, length: Int, snapshotLength: Int)
    case unsupportedLinkType(file: String, linkType: UInt32)
    /// A pcapng block whose structure is wrong (lengths, byte-order magic, interface id).
    case malformedBlock(file: String, offset: Int, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let file, let reason): "\(file): \(reason)"
        case .unknownFormat(let file, let magic):
            if let magic {
                "\(file): not a pcap or pcapng file (magic number 0x\(String(magic, radix: 16)))"
            } else {
                "\(file): not a pcap or pcapng file (shorter than a magic number)"
            }
        case .truncatedHeader(let file, let size, let needed):
            "\(file): the file header is cut short (\(size) bytes, \(needed) needed)"
        case .truncatedRecord(let file, let index, let offset, let needed, let available):
            "\(file): record \(index) at byte \(offset) is cut short (\(needed) bytes needed, \(available) left in the file)"
        case .recordTooLong(let file, let index, let offset, let length, let snapshotLength):
            "\(file): record \(index) at byte \(offset) claims \(length) captured bytes, more than the snapshot length \(snapshotLength)"
        case .unsupportedLinkType(let file, let linkType):
            "\(file): link type \(linkType) is not supported (supported: \(LinkType.allCases.map(\.description).joined(separator: ", ")))"
        case .malformedBlock(let file, let offset, let reason):
            "\(file): block at byte \(offset): \(reason)"
        }
    }
}

/// A capture file read whole: classic libpcap (either byte order, microsecond or
/// nanosecond timestamps) or pcapng (section header, interface description,
/// enhanced and simple packet blocks; other blocks are skipped).
public struct CaptureFile: Sendable, Equatable {
    public enum Format: Sendable, Equatable {
        case pcap(bigEndian: Bool, nanosecond: Bool)
        case pcapng
    }

    public var format: Format
    /// The packets in file order.
    public var packets: [CapturedPacket]

    /// Reads the capture file at `path`.
    public init(contentsOf path: String) throws(CaptureError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .unreadable(file: path, reason: FileManager.default.fileExists(atPath: path) ? "the file is not readable" : "no such file")
        }
        try self.init(bytes: [UInt8](data), name: path)
    }

    /// Reads a capture held in `bytes`; `name` labels errors.
    public init(bytes: [UInt8], name: String) throws(CaptureError) {
        guard bytes.count >= 4 else { throw .unknownFormat(file: name, magic: nil) }
        let little = UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24
        switch little {
        case 0xa1b2_c3d4: self = try Self.readPcap(bytes, name: name, bigEndian: false, nanosecond: false)
        case 0xa1b2_3c4d: self = try Self.readPcap(bytes, name: name, bigEndian: false, nanosecond: true)
        case 0xd4c3_b2a1: self = try Self.readPcap(bytes, name: name, bigEndian: true, nanosecond: false)
        case 0x4d3c_b2a1: self = try Self.readPcap(bytes, name: name, bigEndian: true, nanosecond: true)
        case 0x0a0d_0d0a: self = try PcapNGReader(bytes: bytes, name: name).read()
        default: throw .unknownFormat(file: name, magic: little)
        }
    }

    init(format: Format, packets: [CapturedPacket]) {
        self.format = format
        self.packets = packets
    }

    /// Largest record accepted whatever the header says (Wireshark's limit for pcap).
    static let maximumRecordLength = 262_144

    private static func readPcap(_ bytes: [UInt8], name: String, bigEndian: Bool, nanosecond: Bool) throws(CaptureError) -> CaptureFile {
        let reader = ByteReader(bytes: bytes, bigEndian: bigEndian)
        guard bytes.count >= 24 else { throw .truncatedHeader(file: name, size: bytes.count, needed: 24) }
        let snapshotLength = Int(reader.u32(16))
        let linkValue = reader.u32(20) & 0x0fff_ffff  // upper bits: FCS length and flags
        guard let linkType = LinkType(rawValue: linkValue) else { throw .unsupportedLinkType(file: name, linkType: linkValue) }
        var packets: [CapturedPacket] = []
        var offset = 24
        while offset < bytes.count {
            let index = packets.count
            guard bytes.count - offset >= 16 else {
                throw .truncatedRecord(file: name, index: index, offset: offset, needed: 16, available: bytes.count - offset)
            }
            let seconds = UInt64(reader.u32(offset)), fraction = UInt64(reader.u32(offset + 4))
            let captured = Int(reader.u32(offset + 8)), original = Int(reader.u32(offset + 12))
            let limit = snapshotLength > 0 ? min(snapshotLength, maximumRecordLength) : maximumRecordLength
            guard captured <= limit else {
                throw .recordTooLong(file: name, index: index, offset: offset, length: captured, snapshotLength: limit)
            }
            guard bytes.count - offset - 16 >= captured else {
                throw .truncatedRecord(file: name, index: index, offset: offset, needed: 16 + captured, available: bytes.count - offset)
            }
            let start = offset + 16
            packets.append(CapturedPacket(index: index, bytes: Array(bytes[start..<(start + captured)]),
                                          originalLength: original,
                                          timestampNanoseconds: seconds * 1_000_000_000 + (nanosecond ? fraction : fraction * 1000),
                                          linkType: linkType))
            offset = start + captured
        }
        return CaptureFile(format: .pcap(bigEndian: bigEndian, nanosecond: nanosecond), packets: packets)
    }
}

/// Reads integers of either byte order; callers check bounds first.
struct ByteReader {
    let bytes: [UInt8]
    var bigEndian: Bool

    func u16(_ offset: Int) -> UInt16 {
        let a = UInt16(bytes[offset]), b = UInt16(bytes[offset + 1])
        return bigEndian ? a << 8 | b : b << 8 | a
    }

    func u32(_ offset: Int) -> UInt32 {
        let a = UInt32(bytes[offset]), b = UInt32(bytes[offset + 1]), c = UInt32(bytes[offset + 2]), d = UInt32(bytes[offset + 3])
        return bigEndian ? a << 24 | b << 16 | c << 8 | d : d << 24 | c << 16 | b << 8 | a
    }
}
