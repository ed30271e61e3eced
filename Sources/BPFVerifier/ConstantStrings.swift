/// Constant-string arguments (`ARG_PTR_TO_CONST_STR`: bpf_snprintf's format,
/// bpf_strncmp's second string) and bpf_snprintf's format check, as Linux 6.18 does
/// them (`check_reg_const_str`, `check_bpf_snprintf_call`, `bpf_bprintf_prepare`):
/// the string is read from a frozen read-only map at load time, so its bytes are known.
extension Engine {
    /// Checks the constant string in `register` and returns its bytes (without the NUL).
    func constantString(_ state: AbstractState, pc: Int, register r: Int) throws -> [UInt8] {
        let v = try readRegister(state, r, pc)
        func refuse(_ problem: ConstantStringProblem) -> Failure { fail(.constantString(pc: pc, register: r, problem: problem)) }
        guard v.kind == .mapValue, !v.mayBeNull else {
            throw refuse(.notMapValue(kind: v.kind.description + (v.mayBeNull ? "_or_null" : "")))
        }
        let map = input.maps[Int(v.target)]
        guard map.isReadOnly else { throw refuse(.notReadOnly) }
        guard let variable = v.value.constantValue else { throw refuse(.variableOffset) }
        let offset = Int64(v.offset) + Int64(bitPattern: variable)
        // check_map_access over the rest of the value (offset within it, no lock touched).
        let rest = map.valueSize - Int(v.offset)
        try checkRegion(pc, r, v, offset: 0, size: max(rest, 0), limit: map.valueSize, kind: "map_value")
        if let lock = map.spinLockOffset {
            try checkLockNotTouched(v, pc: pc, register: r, offset: 0, size: max(rest, 0), lock: lock)
        }
        // map_direct_value_addr: arrays with one element only.
        guard map.type == .array, map.maxEntries == 1, offset >= 0, offset < Int64(map.valueSize) else {
            throw refuse(.noDirectAccess)
        }
        guard let contents = map.readOnlyContents else { throw refuse(.contentsUnknown(map: map.name)) }
        let start = Int(offset)
        let end = min(map.valueSize, contents.count)
        // Bytes past the initial data are zero (the value is zero-filled).
        guard start < map.valueSize else { throw refuse(.notTerminated) }
        if start >= end { return [] }
        guard let nul = contents[start..<end].firstIndex(of: 0) else {
            if end < map.valueSize { return Array(contents[start..<end]) }
            throw refuse(.notTerminated)
        }
        return Array(contents[start..<nul])
    }

    /// `check_bpf_snprintf_call`: `data_len` (r5) is a multiple of 8 and the format,
    /// read from the constant string in r3, is valid for `data_len / 8` arguments.
    func checkSnprintf(_ state: AbstractState, pc: Int, format: [UInt8]) throws {
        let length = state[register: 5]
        // The size argument was checked already: a scalar with known bounds.
        let known = length.value.bits.value
        if known % 8 != 0 {
            throw fail(.invalidFormat(pc: pc, reason: "data_len (R5) \(length.value) is not a multiple of 8"))
        }
        if let reason = BPFPrintfFormat.problem(format, arguments: Int(min(known / 8, 1 << 20))) {
            throw fail(.invalidFormat(pc: pc, reason: reason))
        }
    }
}

/// Linux's `bpf_bprintf_prepare` rules for a format, as the verifier applies them.
enum BPFPrintfFormat {
    /// Why `format` is invalid with `arguments` values, or nil when Linux accepts it.
    /// Linux's verifier checks only that every conversion has a value: more values than
    /// conversions, or more than MAX_BPRINTF_VARARGS (12), pass here and make the call
    /// fail with -EINVAL when it runs.
    static func problem(_ format: [UInt8], arguments: Int) -> String? {
        func at(_ i: Int) -> UInt8 { i < format.count ? format[i] : 0 }
        func isSpace(_ c: UInt8) -> Bool { c == 32 || (c >= 9 && c <= 13) }
        func isPunct(_ c: UInt8) -> Bool { c >= 33 && c <= 126 && !isAlnum(c) }
        func isAlnum(_ c: UInt8) -> Bool { (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) }
        func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
        func endsConversion(_ c: UInt8) -> Bool { c == 0 || isSpace(c) || isPunct(c) }
        var conversions = 0
        var i = 0
        while i < format.count {
            let c = format[i]
            if c >= 0x80 || (!(c >= 32 && c <= 126) && !isSpace(c)) {
                return "byte \(i) (0x\(String(c, radix: 16))) is not a printable ASCII character"
            }
            if c != UInt8(ascii: "%") { i += 1; continue }
            if at(i + 1) == UInt8(ascii: "%") { i += 2; continue }
            if conversions >= arguments {
                return "conversion \(conversions + 1) at byte \(i) has no argument: data_len gives \(arguments)"
            }
            let start = i
            i += 1
            while [UInt8(ascii: "0"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: " ")].contains(at(i)) { i += 1 }
            if at(i) >= UInt8(ascii: "1") && at(i) <= UInt8(ascii: "9") {
                i += 1
                while isDigit(at(i)) { i += 1 }
            }
            let unsupported = "unsupported conversion at byte \(start)"
            switch at(i) {
            case UInt8(ascii: "p"):
                let next = at(i + 1)
                if endsConversion(next) {
                    // %p
                } else if (next == UInt8(ascii: "k") || next == UInt8(ascii: "u")) && at(i + 2) == UInt8(ascii: "s") {
                    i += 2
                    if !endsConversion(at(i + 1)) { return unsupported }
                } else if [UInt8(ascii: "K"), UInt8(ascii: "x"), UInt8(ascii: "s"), UInt8(ascii: "S"), UInt8(ascii: "B")].contains(next) {
                    i += 1
                } else if (next == UInt8(ascii: "i") || next == UInt8(ascii: "I")) && (at(i + 2) == UInt8(ascii: "4") || at(i + 2) == UInt8(ascii: "6")) {
                    i += 2
                } else {
                    return unsupported + " (only %p, %pK, %px, %ps, %pS, %pB, %pks, %pus, %pI4/%pi4, %pI6/%pi6)"
                }
            case UInt8(ascii: "s"):
                if !endsConversion(at(i + 1)) { return unsupported + " (%s must be followed by a space, punctuation or the end)" }
            case UInt8(ascii: "c"):
                break
            default:
                if at(i) == UInt8(ascii: "l") { i += 1 }
                if at(i) == UInt8(ascii: "l") { i += 1 }
                let conversion = at(i)
                if ![UInt8(ascii: "i"), UInt8(ascii: "d"), UInt8(ascii: "u"), UInt8(ascii: "x"), UInt8(ascii: "X")].contains(conversion) {
                    return unsupported
                }
            }
            i += 1
            conversions += 1
        }
        return nil
    }
}
