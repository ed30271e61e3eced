/// Linux errno values used by map operations (x86-64/arm64 Linux numbering).
public enum LinuxErrno {
    public static let EPERM: Int32 = 1
    public static let ENOENT: Int32 = 2
    public static let E2BIG: Int32 = 7
    public static let EBADF: Int32 = 9
    public static let ENOMEM: Int32 = 12
    public static let EBUSY: Int32 = 16
    public static let EEXIST: Int32 = 17
    public static let EINVAL: Int32 = 22
    public static let ENOSPC: Int32 = 28
    public static let ENOTSUPP: Int32 = 524
    public static let EOPNOTSUPP: Int32 = 95
}

/// An error of a map operation, carrying the `errno` Linux would return.
public enum MapError: Error, Equatable, Sendable, CustomStringConvertible {
    /// -ENOENT: the key (or any element, for queues) does not exist.
    case notFound
    /// -EEXIST: BPF_NOEXIST was given but the key exists (or, for arrays, always exists).
    case exists
    /// -E2BIG: the map is full, or an array index is out of range.
    case full
    /// -ENOSPC: no space left (LPM trie full, perf buffer full).
    case noSpace
    /// -EINVAL: the operation or its arguments are invalid; `reason` says why.
    case invalid(reason: String)
    /// -EINVAL: the key has the wrong number of bytes.
    case wrongKeySize(expected: Int, given: Int)
    /// -EINVAL: the value has the wrong number of bytes.
    case wrongValueSize(expected: Int, given: Int)
    /// -EPERM: the map's access flags forbid the operation.
    case permission(reason: String)
    /// -EOPNOTSUPP: the map type does not support the operation.
    case notSupported(operation: String, mapType: MapType)

    /// The positive Linux errno for this error.
    public var errno: Int32 {
        switch self {
        case .notFound: LinuxErrno.ENOENT
        case .exists: LinuxErrno.EEXIST
        case .full: LinuxErrno.E2BIG
        case .noSpace: LinuxErrno.ENOSPC
        case .invalid, .wrongKeySize, .wrongValueSize: LinuxErrno.EINVAL
        case .permission: LinuxErrno.EPERM
        case .notSupported: LinuxErrno.EOPNOTSUPP
        }
    }

    /// Builds the error for a negative errno returned by a program-face call.
    public init(code: Int32, operation: String) {
        switch -abs(code) {
        case -LinuxErrno.ENOENT: self = .notFound
        case -LinuxErrno.EEXIST: self = .exists
        case -LinuxErrno.E2BIG: self = .full
        case -LinuxErrno.ENOSPC: self = .noSpace
        case -LinuxErrno.EPERM: self = .permission(reason: "\(operation) is not permitted on this map")
        case -LinuxErrno.EOPNOTSUPP: self = .notSupported(operation: operation, mapType: .unspecified)
        default: self = .invalid(reason: "\(operation) was rejected with errno \(abs(code))")
        }
    }

    public var description: String {
        switch self {
        case .notFound: "The key was not found (ENOENT)."
        case .exists: "The key already exists (EEXIST)."
        case .full: "The map is full or the index is out of range (E2BIG)."
        case .noSpace: "The map has no space left (ENOSPC)."
        case .invalid(let reason): "Invalid argument (EINVAL): \(reason)"
        case .wrongKeySize(let expected, let given): "The key is \(given) bytes but the map's keys are \(expected) bytes (EINVAL)."
        case .wrongValueSize(let expected, let given): "The value is \(given) bytes but the map's values are \(expected) bytes (EINVAL)."
        case .permission(let reason): "Operation not permitted (EPERM): \(reason)"
        case .notSupported(let operation, let mapType): "The \(mapType.name) map does not support \(operation) (EOPNOTSUPP)."
        }
    }
}

/// A map definition that Linux's BPF_MAP_CREATE would refuse; names the field and the rule.
public struct MapDefinitionError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The offending field: `type`, `keySize`, `valueSize`, `maxEntries`, `flags`, `mapExtra` or `innerMap`.
    public let field: String
    /// The rule, as a sentence.
    public let rule: String
    /// The errno Linux returns (EINVAL, E2BIG or EOPNOTSUPP).
    public let errno: Int32

    public init(field: String, rule: String, errno: Int32 = LinuxErrno.EINVAL) {
        self.field = field
        self.rule = rule
        self.errno = errno
    }

    public var description: String { "Invalid map definition (\(field)): \(rule)" }
}
