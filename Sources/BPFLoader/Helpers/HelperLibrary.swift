import BPFMaps
import BPFRuntime

/// The helper implementations BPFKit offers programs, keyed by Linux's IDs.
/// Names come from the helper table (``LinuxHelper``); this code holds only bodies.
enum HelperLibrary {
    static func registry(handles: MapHandleTable, ringBuffers: [RingBufferMap]) -> HelperRegistry {
        var registry = HelperRegistry()
        let families: [[(Int32, Helper.Body)]] = [
            MapHelpers.bodies(handles: handles),
            RingBufferHelpers.bodies(handles: handles, ringBuffers: ringBuffers),
            TimeHelpers.bodies(),
            ProcessHelpers.bodies(),
            TraceHelpers.bodies(),
            MemoryHelpers.bodies(),
            LoopHelpers.bodies(),
            ForEachHelpers.bodies(handles: handles),
            PacketHelpers.bodies(handles: handles),
            VLANHelpers.bodies(),
            SocketHelpers.bodies(),
        ]
        for family in families {
            for (id, body) in family {
                registry.register(Helper(id: id, name: LinuxHelper.name(of: id), body: body))
            }
        }
        return registry
    }
}

/// Shared helpers of helper bodies.
enum HelperSupport {
    /// Linux errno as a helper's 64-bit return value.
    @inline(__always)
    static func errno(_ value: Int32) -> UInt64 { UInt64(bitPattern: -Int64(value)) }

    static let EFAULT: Int32 = 14
    static let EINVAL: Int32 = 22
    static let ENOENT: Int32 = 2
    static let E2BIG: Int32 = 7
    static let EBUSY: Int32 = 16
    static let ENOTSUPP: Int32 = 524

    /// A readable pointer for a key of `count` bytes; zero-sized keys get a dummy pointer.
    @inline(__always)
    static func readable(_ address: UInt64, _ count: Int, _ context: HelperCallContext) throws(HelperError) -> UnsafeRawPointer {
        if count == 0 { return UnsafeRawPointer(bitPattern: 8)! }  // never dereferenced by maps for 0-byte keys
        return UnsafeRawPointer(try context.buffer(at: address, count: UInt64(count), write: false).baseAddress!)
    }

    @inline(__always)
    static func writable(_ address: UInt64, _ count: Int, _ context: HelperCallContext) throws(HelperError) -> UnsafeMutableRawPointer {
        if count == 0 { return UnsafeMutableRawPointer(bitPattern: 8)! }
        return try context.buffer(at: address, count: UInt64(count), write: true).baseAddress!
    }

    /// The packet frame of the run, or a fault naming the helper.
    static func frame(_ context: HelperCallContext, _ helper: String) throws(HelperError) -> PacketFrame {
        guard let frame = context.userInfo as? PacketFrame else {
            throw .fault("\(helper) needs a packet, and this run has none")
        }
        return frame
    }

    /// Copies a NUL-terminated string the program may read, at most `limit` bytes (without the NUL);
    /// nil when a byte is not readable.
    static func readString(at address: UInt64, limit: Int, _ context: HelperCallContext) -> [UInt8]? {
        var bytes: [UInt8] = []
        var current = address
        while bytes.count < limit {
            guard context.mode == .trusted || context.isAccessible(address: current, size: 1, write: false),
                  let pointer = UnsafeRawPointer(bitPattern: UInt(current)) else { return nil }
            let byte = pointer.load(as: UInt8.self)
            if byte == 0 { break }
            bytes.append(byte)
            current &+= 1
        }
        return bytes
    }
}
