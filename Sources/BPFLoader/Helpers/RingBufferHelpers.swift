import BPFMaps
import BPFRuntime

/// bpf_ringbuf_output/reserve/submit/discard/query and bpf_perf_event_output.
enum RingBufferHelpers {
    static func bodies(handles: MapHandleTable, ringBuffers: [RingBufferMap]) -> [(Int32, Helper.Body)] {
        @Sendable func ring(_ handle: UInt64, _ context: HelperCallContext, _ helper: String) throws(HelperError) -> RingBufferMap {
            let entry = try handles.map(handle, context: context, helper: helper)
            guard let ring = entry.map as? RingBufferMap else {
                throw .fault("\(helper): r1 is a \(entry.type.name) map, not a ringbuf")
            }
            return ring
        }
        return [
            (LinuxHelper.ringbufOutput, { arguments, context throws(HelperError) in
                let ring = try ring(arguments.r1, context, "bpf_ringbuf_output")
                let data = try HelperSupport.readable(arguments.r2, Int(truncatingIfNeeded: arguments.r3), context)
                return UInt64(bitPattern: Int64(ring.output(data: data, size: Int(arguments.r3), flags: arguments.r4)))
            }),
            (LinuxHelper.ringbufReserve, { arguments, context throws(HelperError) in
                let ring = try ring(arguments.r1, context, "bpf_ringbuf_reserve")
                guard arguments.r3 == 0, arguments.r2 <= UInt64(Int32.max),
                      let sample = ring.reserve(size: Int(arguments.r2)) else { return 0 }
                // The reservation is the program's to write until it submits or discards.
                context.grantAccess(to: MemoryRegion(UnsafeMutableRawBufferPointer(start: sample, count: Int(arguments.r2)),
                                                     name: "ringbuf reservation"))
                return UInt64(UInt(bitPattern: sample))
            }),
            (LinuxHelper.ringbufSubmit, { arguments, context throws(HelperError) in
                guard let sample = UnsafeMutableRawPointer(bitPattern: UInt(arguments.r1)) else {
                    throw .fault("bpf_ringbuf_submit: null record")
                }
                // Each ring acts only on records inside its own data area.
                for ring in ringBuffers { ring.submit(sample, flags: arguments.r2) }
                return 0
            }),
            (LinuxHelper.ringbufDiscard, { arguments, context throws(HelperError) in
                guard let sample = UnsafeMutableRawPointer(bitPattern: UInt(arguments.r1)) else {
                    throw .fault("bpf_ringbuf_discard: null record")
                }
                for ring in ringBuffers { ring.discard(sample, flags: arguments.r2) }
                return 0
            }),
            (LinuxHelper.ringbufQuery, { arguments, context throws(HelperError) in
                try ring(arguments.r1, context, "bpf_ringbuf_query").query(flags: arguments.r2)
            }),
            (LinuxHelper.perfEventOutput, { arguments, context throws(HelperError) in
                let entry = try handles.map(arguments.r2, context: context, helper: "bpf_perf_event_output")
                guard let perf = entry.map as? PerfEventArrayMap else {
                    throw .fault("bpf_perf_event_output: r2 is a \(entry.type.name) map, not a perf_event_array")
                }
                let selector = arguments.r3 & PerfEventFlags.indexMask
                let index = selector == PerfEventFlags.currentCPU ? context.processor : Int(selector)
                let data = try HelperSupport.readable(arguments.r4, Int(truncatingIfNeeded: arguments.r5), context)
                return UInt64(bitPattern: Int64(perf.output(cpuIndex: index, data: data, size: Int(arguments.r5))))
            }),
        ]
    }
}
