import BPFInstructionSet

/// A range of host memory a program may touch. In checked mode every load and
/// store must fall entirely inside the stack or one region, and stores need a
/// writable region.
public struct MemoryRegion: Sendable, Equatable, CustomStringConvertible {
    public var start: UInt64
    public var length: UInt64
    public var isWritable: Bool
    public var name: String

    public init(start: UInt64, length: UInt64, isWritable: Bool, name: String) {
        self.start = start
        self.length = length
        self.isWritable = isWritable
        self.name = name
    }

    /// A region over a buffer. The caller keeps the buffer alive while programs run.
    public init(_ buffer: UnsafeMutableRawBufferPointer, isWritable: Bool = true, name: String) {
        self.init(start: UInt64(UInt(bitPattern: buffer.baseAddress)), length: UInt64(buffer.count),
                  isWritable: isWritable, name: name)
    }

    public init(_ buffer: UnsafeRawBufferPointer, name: String) {
        self.init(start: UInt64(UInt(bitPattern: buffer.baseAddress)), length: UInt64(buffer.count),
                  isWritable: false, name: name)
    }

    /// True when `[address, address + size)` lies inside the region (no overflow).
    @inlinable
    public func contains(address: UInt64, size: UInt64) -> Bool {
        address >= start && size <= length && address - start <= length - size
    }

    public var description: String {
        "\(name) [0x\(hex(start)), 0x\(hex(start &+ length))) \(isWritable ? "rw" : "ro")"
    }
}
