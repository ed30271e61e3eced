import BPFRuntime

/// bpf_probe_read{,_user,_kernel}{,_str} and bpf_strncmp.
///
/// "Kernel" and "user" memory are both the memory the program may read: the
/// stack and the run's regions (checked against them in both modes). On a bad
/// source the destination is zeroed and -EFAULT returned, as Linux does.
enum MemoryHelpers {
    static func bodies() -> [(Int32, Helper.Body)] {
        let read: Helper.Body = { arguments, context throws(HelperError) in
            let size = arguments.r2
            guard size > 0 else { return 0 }
            let destination = try context.buffer(at: arguments.r1, count: size, write: true)
            guard context.isAccessible(address: arguments.r3, size: size, write: false),
                  let source = UnsafeRawPointer(bitPattern: UInt(arguments.r3)) else {
                destination.initializeMemory(as: UInt8.self, repeating: 0)
                return HelperSupport.errno(HelperSupport.EFAULT)
            }
            // Both ranges were checked for `size` bytes; memmove semantics tolerate overlap.
            destination.baseAddress!.copyMemory(from: source, byteCount: Int(size))
            return 0
        }
        let readString: Helper.Body = { arguments, context throws(HelperError) in
            let size = Int(truncatingIfNeeded: arguments.r2)
            guard size > 0 else { return 0 }
            let destination = try context.buffer(at: arguments.r1, count: UInt64(size), write: true)
            guard let bytes = HelperSupport.readString(at: arguments.r3, limit: size - 1, context) else {
                destination.initializeMemory(as: UInt8.self, repeating: 0)
                return HelperSupport.errno(HelperSupport.EFAULT)
            }
            for (index, byte) in bytes.enumerated() { destination[index] = byte }
            destination[bytes.count] = 0
            return UInt64(bytes.count + 1)
        }
        return [
            (LinuxHelper.probeRead, read), (LinuxHelper.probeReadUser, read), (LinuxHelper.probeReadKernel, read),
            (LinuxHelper.probeReadStr, readString), (LinuxHelper.probeReadUserStr, readString),
            (LinuxHelper.probeReadKernelStr, readString),
            (LinuxHelper.strncmp, { arguments, context throws(HelperError) in
                // r1 s1, r2 s1_sz, r3 s2 (a NUL-terminated constant string).
                let size = Int(truncatingIfNeeded: arguments.r2)
                let first = try context.buffer(at: arguments.r1, count: UInt64(max(size, 0)), write: false)
                guard let second = HelperSupport.readString(at: arguments.r3, limit: 4096, context) else {
                    throw .fault("bpf_strncmp: the string at 0x\(String(arguments.r3, radix: 16)) is not readable")
                }
                // The kernel's strncmp: the first differing byte decides, as -1 or 1.
                for index in 0..<size {
                    let a = first[index]
                    let b = index < second.count ? second[index] : 0
                    if a != b { return a < b ? UInt64(bitPattern: -1) : 1 }
                    if a == 0 { break }
                }
                return 0
            }),
        ]
    }
}

/// bpf_loop: calls a BPF callback (an `lddw` function reference, resolved to
/// its slot) up to `nr_loops` times as a nested frame of the same run.
enum LoopHelpers {
    /// BPF_MAX_LOOPS.
    static let maximumIterations: UInt64 = 1 << 23

    static func bodies() -> [(Int32, Helper.Body)] {
        [
            (LinuxHelper.loop, { arguments, context throws(HelperError) in
                let count = UInt64(UInt32(truncatingIfNeeded: arguments.r1))
                guard arguments.r4 == 0 else { return HelperSupport.errno(HelperSupport.EINVAL) }
                guard count <= maximumIterations else { return HelperSupport.errno(HelperSupport.E2BIG) }
                guard let slot = Int(exactly: arguments.r2) else {
                    throw .fault("bpf_loop: r2 = 0x\(String(arguments.r2, radix: 16)) is not a callback")
                }
                var index: UInt64 = 0
                while index < count {
                    // Linux: 0 continues, 1 stops (and counts the iteration).
                    let verdict = try context.callFunction(atSlot: slot, arguments: HelperArguments(index, arguments.r3))
                    index += 1
                    if verdict != 0 { break }
                }
                return index
            }),
        ]
    }
}
