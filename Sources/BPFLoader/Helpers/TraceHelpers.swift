import BPFRuntime

/// bpf_trace_printk and bpf_snprintf over Linux's format subset.
enum TraceHelpers {
    /// MAX_TRACE_PRINTK_VARARGS and MAX_BPRINTF_VARARGS.
    static let tracePrintkArguments = 3
    static let snprintfArguments = 12
    /// MAX_BPRINTF_BUF: the longest formatted output.
    static let maxOutput = 1024

    static func bodies() -> [(Int32, Helper.Body)] {
        [
            (LinuxHelper.tracePrintk, { arguments, context throws(HelperError) in
                guard let format = try formatBytes(arguments.r1, arguments.r2, context) else {
                    return HelperSupport.errno(HelperSupport.EINVAL)
                }
                let values = [arguments.r3, arguments.r4, arguments.r5]
                guard let text = BPFFormat.format(format, arguments: values, argumentLimit: tracePrintkArguments, context: context) else {
                    return HelperSupport.errno(HelperSupport.EINVAL)
                }
                var line = text
                if line.last == 10 { line.removeLast() }
                context.emitTrace(String(decoding: line, as: UTF8.self))
                return UInt64(text.count)
            }),
            (LinuxHelper.snprintf, { arguments, context throws(HelperError) in
                // r1 str, r2 str_size, r3 fmt (NUL-terminated read-only string), r4 data, r5 data_len.
                let dataLength = arguments.r5
                guard dataLength & 7 == 0, dataLength <= UInt64(snprintfArguments * 8), dataLength == 0 || arguments.r4 != 0 else {
                    return HelperSupport.errno(HelperSupport.EINVAL)
                }
                guard let format = HelperSupport.readString(at: arguments.r3, limit: maxOutput, context) else {
                    throw .fault("bpf_snprintf: the format string at 0x\(String(arguments.r3, radix: 16)) is not readable")
                }
                var values: [UInt64] = []
                if dataLength > 0 {
                    let data = try context.buffer(at: arguments.r4, count: dataLength, write: false)
                    for index in 0..<Int(dataLength / 8) { values.append(data.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self)) }
                }
                guard let text = BPFFormat.format(format, arguments: values, argumentLimit: values.count, context: context) else {
                    return HelperSupport.errno(HelperSupport.EINVAL)
                }
                let size = Int(truncatingIfNeeded: arguments.r2)
                if size > 0 {
                    let output = try context.buffer(at: arguments.r1, count: UInt64(size), write: true)
                    let count = min(text.count, size - 1)
                    for index in 0..<count { output[index] = text[index] }
                    output[count] = 0
                }
                return UInt64(text.count + 1)
            }),
        ]
    }

    /// trace_printk's format: `size` bytes that must end in a NUL.
    static func formatBytes(_ address: UInt64, _ size: UInt64, _ context: HelperCallContext) throws(HelperError) -> [UInt8]? {
        guard size > 0, size <= 4096 else { return nil }
        let buffer = try context.buffer(at: address, count: size, write: false)
        guard let end = buffer.firstIndex(of: 0) else { return nil }
        return Array(buffer[..<end])
    }
}

/// Linux's bpf_bprintf_prepare/bstr_printf subset: `%d %i %u %x %X` with `l`/`ll`,
/// `%p` (`%px`), `%s`, `%c`, `%%`, flags `0 + - space` and a width. Anything else,
/// a non-printable byte or too many conversions is -EINVAL (nil).
enum BPFFormat {
    static func format(_ format: [UInt8], arguments: [UInt64], argumentLimit: Int, context: HelperCallContext) -> [UInt8]? {
        var output: [UInt8] = []
        var index = 0
        var used = 0
        func at(_ position: Int) -> UInt8 { position < format.count ? format[position] : 0 }
        while index < format.count {
            let byte = format[index]
            guard byte < 0x80, byte >= 0x20 || (byte >= 9 && byte <= 13) else { return nil }
            if byte != UInt8(ascii: "%") { output.append(byte); index += 1; continue }
            if at(index + 1) == UInt8(ascii: "%") { output.append(byte); index += 2; continue }
            guard used < argumentLimit, used < arguments.count else { return nil }
            let value = arguments[used]
            used += 1
            index += 1
            var leftAlign = false, zeroPad = false, plus = false, space = false
            while true {
                switch at(index) {
                case UInt8(ascii: "-"): leftAlign = true
                case UInt8(ascii: "0"): zeroPad = true
                case UInt8(ascii: "+"): plus = true
                case UInt8(ascii: " "): space = true
                default: break
                }
                if [UInt8(ascii: "-"), UInt8(ascii: "0"), UInt8(ascii: "+"), UInt8(ascii: " ")].contains(at(index)) { index += 1 } else { break }
            }
            var width = 0
            while at(index) >= UInt8(ascii: "0") && at(index) <= UInt8(ascii: "9") {
                width = width * 10 + Int(at(index) - UInt8(ascii: "0"))
                index += 1
            }
            var body: [UInt8]
            var sign: [UInt8] = []
            var numeric = false
            switch at(index) {
            case UInt8(ascii: "p"):
                index += 1
                if at(index) == UInt8(ascii: "x") || at(index) == UInt8(ascii: "K") { index += 1 }
                let digits = Array(String(value, radix: 16).utf8)
                body = [UInt8](repeating: UInt8(ascii: "0"), count: max(0, 16 - digits.count)) + digits
            case UInt8(ascii: "s"):
                index += 1
                body = HelperSupport.readString(at: value, limit: TraceHelpers.maxOutput, context) ?? []
            case UInt8(ascii: "c"):
                index += 1
                body = [UInt8(truncatingIfNeeded: value)]
            default:
                var isLong = false
                if at(index) == UInt8(ascii: "l") { isLong = true; index += 1 }
                if at(index) == UInt8(ascii: "l") { index += 1 }
                let conversion = at(index)
                index += 1
                numeric = true
                switch conversion {
                case UInt8(ascii: "d"), UInt8(ascii: "i"):
                    let signed = isLong ? Int64(bitPattern: value) : Int64(Int32(truncatingIfNeeded: value))
                    body = Array(String(signed.magnitude).utf8)
                    sign = signed < 0 ? [UInt8(ascii: "-")] : plus ? [UInt8(ascii: "+")] : space ? [UInt8(ascii: " ")] : []
                case UInt8(ascii: "u"):
                    body = Array(String(isLong ? value : UInt64(UInt32(truncatingIfNeeded: value))).utf8)
                case UInt8(ascii: "x"), UInt8(ascii: "X"):
                    let text = String(isLong ? value : UInt64(UInt32(truncatingIfNeeded: value)), radix: 16,
                                      uppercase: conversion == UInt8(ascii: "X"))
                    body = Array(text.utf8)
                default:
                    return nil
                }
            }
            let padding = max(0, width - body.count - sign.count)
            if leftAlign {
                output += sign + body + [UInt8](repeating: UInt8(ascii: " "), count: padding)
            } else if zeroPad && numeric {
                output += sign + [UInt8](repeating: UInt8(ascii: "0"), count: padding) + body
            } else {
                output += [UInt8](repeating: UInt8(ascii: " "), count: padding) + sign + body
            }
        }
        return Array(output.prefix(TraceHelpers.maxOutput - 1))
    }
}
