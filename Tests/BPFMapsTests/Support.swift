@testable import BPFMaps
import BPFTestSupport

func bytes<T: BitwiseCopyable>(_ value: T) -> [UInt8] {
    withUnsafeBytes(of: value) { Array($0) }
}

func u32(_ value: UInt32) -> [UInt8] { bytes(value) }
func u64(_ value: UInt64) -> [UInt8] { bytes(value) }

/// IPv4 LPM key: prefix length then the address bytes in network order.
func ipv4(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8, _ length: UInt32) -> [UInt8] {
    LPMTrieMap.key(prefixLength: length, data: [a, b, c, d])
}


/// The errno of a user-space map call: 0 on success.
func code(_ body: () throws -> Void) -> Int32 {
    do { try body(); return 0 } catch let error as MapError { return error.errno } catch { return -1 }
}
