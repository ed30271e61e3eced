#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An owned kernel file descriptor (a map or a program) that is closed exactly
/// once, when the value is destroyed.
public struct KernelFileDescriptor: ~Copyable, Sendable {
    /// The raw descriptor number; valid while this value lives.
    public let rawValue: Int32

    /// Takes ownership of `rawValue`; it will be closed on `deinit`.
    public init(owning rawValue: Int32) {
        self.rawValue = rawValue
    }

    /// Gives up ownership and returns the raw descriptor without closing it.
    public consuming func release() -> Int32 {
        let value = rawValue
        discard self
        return value
    }

    deinit {
        // The descriptor was obtained from the kernel and is owned solely by
        // this value, so closing it here cannot close someone else's file.
        _ = close(rawValue)
    }
}
