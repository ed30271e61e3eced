/// Reads pcapng (draft-ietf-opsawg-pcapng): section header blocks set the byte
/// order, interface description blocks the link type, snapshot length and timestamp
/// resolution; enhanced and simple packet blocks hold the packets. Other blocks are skipped.
struct PcapNGReader {
    let bytes: [UInt8]
    let name: String

    private struct Interface {
        var linkType: LinkType
        var snapshotLength: Int
        /// Timestamp units per second.
        var unitsPerSecond: UInt64
    }

    static let sectionHeader: UInt32 = 0x0a0d_0d0a
    static let byteOrderMagic: UInt32 = 0x1a2b_3c4d

    func read() throws(CaptureError) -> CaptureFile {
        var reader = ByteReader(bytes: bytes, bigEndian: false)
        var interfaces: [Interface] = []
        var packets: [CapturedPacket] = []
        var offset = 0
        var sawSection = false
        while offset < bytes.count {
            let index = packets.count
            guard bytes.count - offset >= 12 else {
                throw .truncatedRecord(file: name, index: index, offset: offset, needed: 12, available: bytes.count - offset)
            }
            let type = reader.u32(offset)
            if type == Self.sectionHeader {
                guard bytes.count - offset >= 28 else {
                    throw .truncatedRecord(file: name, index: index, offset: offset, needed: 28, available: bytes.count - offset)
                }
                // The byte-order magic decides how this section (and this block's length) reads.
                reader.bigEndian = false
                if reader.u32(offset + 8) != Self.byteOrderMagic {
                    reader.bigEndian = true
                    guard reader.u32(offset + 8) == Self.byteOrderMagic else {
                        throw .malformedBlock(file: name, offset: offset, reason: "section header without the byte-order magic 0x1a2b3c4d")
                    }
                }
                interfaces = []
                sawSection = true
            } else if !sawSection {
                throw .malformedBlock(file: name, offset: offset, reason: "the file does not start with a section header block")
            }
            let length = Int(reader.u32(offset + 4))
            guard length >= 12, length % 4 == 0 else {
                throw .malformedBlock(file: name, offset: offset, reason: "block length \(length) is not a multiple of 4 of at least 12")
            }
            guard bytes.count - offset >= length else {
                throw .truncatedRecord(file: name, index: index, offset: offset, needed: length, available: bytes.count - offset)
            }
            guard Int(reader.u32(offset + length - 4)) == length else {
                throw .malformedBlock(file: name, offset: offset, reason: "the trailing block length differs from the leading \(length)")
            }
            let body = offset + 8, bodyEnd = offset + length - 4
            switch type {
            case 1:  // interface description
                guard bodyEnd - body >= 8 else {
                    throw .malformedBlock(file: name, offset: offset, reason: "interface description block shorter than 20 bytes")
                }
                let linkValue = UInt32(reader.u16(body))
                guard let linkType = LinkType(rawValue: linkValue) else {
                    throw .unsupportedLinkType(file: name, linkType: linkValue)
                }
                var interface = Interface(linkType: linkType, snapshotLength: Int(reader.u32(body + 4)), unitsPerSecond: 1_000_000)
                var option = body + 8
                while bodyEnd - option >= 4 {
                    let code = reader.u16(option), optionLength = Int(reader.u16(option + 2))
                    if code == 0 { break }
                    guard bodyEnd - option - 4 >= optionLength else {
                        throw .malformedBlock(file: name, offset: offset, reason: "option \(code) runs past the block")
                    }
                    if code == 9 && optionLength >= 1 {  // if_tsresol
                        let resolution = bytes[option + 4]
                        let exponent = UInt64(resolution & 0x7f)
                        guard exponent < 64 else {
                            throw .malformedBlock(file: name, offset: offset, reason: "timestamp resolution \(resolution) is out of range")
                        }
                        if resolution & 0x80 != 0 {
                            interface.unitsPerSecond = 1 << exponent
                        } else {
                            guard exponent <= 19 else {
                                throw .malformedBlock(file: name, offset: offset, reason: "timestamp resolution 10^-\(exponent) is out of range")
                            }
                            interface.unitsPerSecond = (0..<exponent).reduce(1) { value, _ in value * 10 }
                        }
                    }
                    option += 4 + (optionLength + 3) / 4 * 4
                }
                interfaces.append(interface)
            case 6:  // enhanced packet
                guard bodyEnd - body >= 20 else {
                    throw .malformedBlock(file: name, offset: offset, reason: "enhanced packet block shorter than 32 bytes")
                }
                let interfaceID = Int(reader.u32(body))
                guard interfaceID < interfaces.count else {
                    throw .malformedBlock(file: name, offset: offset, reason: "packet \(index) names interface \(interfaceID), which is not described")
                }
                let interface = interfaces[interfaceID]
                let stamp = UInt64(reader.u32(body + 4)) << 32 | UInt64(reader.u32(body + 8))
                let captured = Int(reader.u32(body + 12)), original = Int(reader.u32(body + 16))
                let data = body + 20
                guard captured <= bodyEnd - data else {
                    throw .truncatedRecord(file: name, index: index, offset: offset, needed: 32 + captured, available: length)
                }
                if interface.snapshotLength > 0 && captured > interface.snapshotLength {
                    throw .recordTooLong(file: name, index: index, offset: offset, length: captured, snapshotLength: interface.snapshotLength)
                }
                packets.append(CapturedPacket(index: index, bytes: Array(bytes[data..<(data + captured)]), originalLength: original,
                                              timestampNanoseconds: Self.nanoseconds(stamp, unitsPerSecond: interface.unitsPerSecond),
                                              linkType: interface.linkType))
            case 3:  // simple packet: interface 0, no timestamp
                guard let interface = interfaces.first else {
                    throw .malformedBlock(file: name, offset: offset, reason: "simple packet block before any interface description")
                }
                guard bodyEnd - body >= 4 else {
                    throw .malformedBlock(file: name, offset: offset, reason: "simple packet block shorter than 16 bytes")
                }
                let original = Int(reader.u32(body))
                let data = body + 4
                var captured = min(original, bodyEnd - data)
                if interface.snapshotLength > 0 { captured = min(captured, interface.snapshotLength) }
                packets.append(CapturedPacket(index: index, bytes: Array(bytes[data..<(data + captured)]), originalLength: original,
                                              timestampNanoseconds: 0, linkType: interface.linkType))
            default:
                break
            }
            offset += length
        }
        return CaptureFile(format: .pcapng, packets: packets)
    }

    static func nanoseconds(_ stamp: UInt64, unitsPerSecond: UInt64) -> UInt64 {
        let seconds = stamp / unitsPerSecond, rest = stamp % unitsPerSecond
        // rest < unitsPerSecond, so rest * 1e9 / unitsPerSecond < 1e9; compute without overflow.
        let fraction = UInt64((Double(rest) / Double(unitsPerSecond) * 1e9).rounded(.down))
        return seconds &* 1_000_000_000 &+ fraction
    }
}
