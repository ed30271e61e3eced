/// Raw `.BTF.ext` records for one ELF section, with byte offsets into that section.
struct BTFExtSection {
    struct FunctionRecord { var byteOffset: UInt32; var typeID: UInt32 }
    struct LineRecord { var byteOffset: UInt32; var fileNameOffset: UInt32; var lineOffset: UInt32; var lineColumn: UInt32 }
    var functions: [FunctionRecord] = []
    var lines: [LineRecord] = []
}

/// Parses `.BTF.ext` func_info and line_info, keyed by ELF section name.
func parseBTFExt(_ bytes: [UInt8], btf: BTF, file: String) throws(ObjectLoadError) -> [String: BTFExtSection] {
    let section = ".BTF.ext"
    let reader = ByteReader(bytes, file: file, context: ".BTF.ext")
    func fail(_ offset: Int, _ reason: String) -> ObjectLoadError {
        .malformedBTF(file: file, section: section, offset: offset, reason: reason)
    }
    guard try reader.u16(at: 0) == BTF.magic else { throw fail(0, "bad magic (expected 0xeb9f)") }
    let headerLength = Int(try reader.u32(at: 4))
    guard headerLength >= 24, headerLength <= bytes.count else { throw fail(4, "header length \(headerLength) is invalid") }
    var result: [String: BTFExtSection] = [:]

    // Walks one info block: rec_size, then (sec_name_off, num_info, records...)*.
    func walk(offsetField: Int, minimumRecord: Int, _ body: (String, Int, Int) throws(ObjectLoadError) -> Void) throws(ObjectLoadError) {
        let start = headerLength + Int(try reader.u32(at: offsetField))
        let length = Int(try reader.u32(at: offsetField + 4))
        guard length > 0 else { return }
        try reader.checkRange(start, length)
        let end = start + length
        let recordSize = Int(try reader.u32(at: start))
        guard recordSize >= minimumRecord, recordSize <= 1024 else { throw fail(start, "record size \(recordSize) is invalid") }
        var position = start + 4
        while position < end {
            let nameOffset = try reader.u32(at: position)
            let count = Int(try reader.u32(at: position + 4))
            position += 8
            guard let sectionName = btf.string(at: nameOffset) else {
                throw fail(position - 8, "section name offset \(nameOffset) is outside the BTF string table")
            }
            guard count <= (end - position) / recordSize else {
                throw fail(position - 4, "\(count) records of \(recordSize) bytes do not fit in the block")
            }
            for _ in 0..<count {
                try body(sectionName, position, recordSize)
                position += recordSize
            }
        }
    }
    try walk(offsetField: 8, minimumRecord: 8) { (name: String, at: Int, _: Int) throws(ObjectLoadError) in
        result[name, default: BTFExtSection()].functions.append(.init(
            byteOffset: try reader.u32(at: at), typeID: try reader.u32(at: at + 4)))
    }
    try walk(offsetField: 16, minimumRecord: 16) { (name: String, at: Int, _: Int) throws(ObjectLoadError) in
        result[name, default: BTFExtSection()].lines.append(.init(
            byteOffset: try reader.u32(at: at), fileNameOffset: try reader.u32(at: at + 4),
            lineOffset: try reader.u32(at: at + 8), lineColumn: try reader.u32(at: at + 12)))
    }
    return result
}
