import BPFRuntime
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// bpf_ktime_get_ns, _boot_ns, _coarse_ns and bpf_jiffies64.
enum TimeHelpers {
    static func nanoseconds(_ clock: clockid_t) -> UInt64 {
        var time = timespec()
        clock_gettime(clock, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }

    static func bodies() -> [(Int32, Helper.Body)] {
        [
            (LinuxHelper.ktimeGetNs, { _, _ in nanoseconds(CLOCK_MONOTONIC) }),
            (LinuxHelper.ktimeGetBootNs, { _, _ in nanoseconds(CLOCK_BOOTTIME) }),
            (LinuxHelper.ktimeGetCoarseNs, { _, _ in nanoseconds(CLOCK_MONOTONIC_COARSE) }),
            // The kernel's HZ is not visible from user space; jiffies here tick at 1000 Hz.
            (LinuxHelper.jiffies64, { _, _ in nanoseconds(CLOCK_MONOTONIC) / 1_000_000 }),
        ]
    }
}
