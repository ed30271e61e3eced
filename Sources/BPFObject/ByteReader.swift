/// A bounds-checked little-endian reader over a byte array.
///
/// Every read checks its range and throws `ObjectLoadError.truncated`
/// naming `context` (the file and the structure being read) instead of trapping.
struct ByteReader {
    let bytes: [UInt8]
    /// Names the file and structure in errors.
    let file: String
    let context: String

    init(_ bytes: [UInt8], file: String, context: String) {
        self.bytes = bytes
        self.file = file
        self.context = context
    }

    var count: Int { bytes.count }

    func checkRange(_ offset: Int, _ length: Int) throws(ObjectLoadError) {
        guard offset >= 0, length >= 0, offset <= bytes.count, length <= bytes.count - offset else {
            throw .truncated(file: file, structure: context, offset: offset, length: length, available: bytes.count)
        }
    }

    func u8(at offset: Int) throws(ObjectLoadError) -> UInt8 {
        try checkRange(offset, 1)
        return bytes[offset]
    }

    func u16(at offset: Int) throws(ObjectLoadError) -> UInt16 {
        try checkRange(offset, 2)
        return UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }

    func u32(at offset: Int) throws(ObjectLoadError) -> UInt32 {
        try checkRange(offset, 4)
        var value: UInt32 = 0
        for index in 0..<4 { value |= UInt32(bytes[offset + index]) << (8 * UInt32(index)) }
        return value
    }

    func u64(at offset: Int) throws(ObjectLoadError) -> UInt64 {
        try checkRange(offset, 8)
        var value: UInt64 = 0
        for index in 0..<8 { value |= UInt64(bytes[offset + index]) << (8 * UInt64(index)) }
        return value
    }

    func i32(at offset: Int) throws(ObjectLoadError) -> Int32 {
        Int32(bitPattern: try u32(at: offset))
    }

    func slice(at offset: Int, length: Int) throws(ObjectLoadError) -> ArraySlice<UInt8> {
        try checkRange(offset, length)
        return bytes[offset..<(offset + length)]
    }

    /// A NUL-terminated string starting at `offset`; `nil` if `offset` is out of range.
    /// A string running to the end without a terminator is returned as is.
    func cString(at offset: Int) -> String? {
        guard offset >= 0, offset < bytes.count else { return offset == bytes.count ? "" : nil }
        var end = offset
        while end < bytes.count, bytes[end] != 0 { end += 1 }
        return String(decoding: bytes[offset..<end], as: UTF8.self)
    }
}

extension Int {
    /// Converts an on-disk unsigned value to `Int`, or `nil` if it does not fit.
    init?(exactlyOnDisk value: UInt64) {
        guard value <= UInt64(Int.max) else { return nil }
        self.init(value)
    }
}
