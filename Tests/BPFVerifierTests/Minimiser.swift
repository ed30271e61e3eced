/// Shrinks a program's assembly text while a property holds, one line at a time: the readable
/// reproduction of a disagreement. A labelled line passes its label on to the next line.
enum Minimiser {
    static func minimise(_ source: String, holds: (String) -> Bool) -> String {
        var lines = source.split(separator: "\n").map(String.init)
        var changed = true
        while changed {
            changed = false
            var index = 0
            while index < lines.count {
                var candidate = lines
                let (label, _) = split(lines[index])
                candidate.remove(at: index)
                if let label {
                    guard index < candidate.count, split(candidate[index]).label == nil else { index += 1; continue }
                    candidate[index] = label + ": " + candidate[index]
                }
                if holds(candidate.joined(separator: "\n")) {
                    lines = candidate
                    changed = true
                } else {
                    index += 1
                }
            }
        }
        return lines.joined(separator: "\n")
    }

    /// `L3: mov %r0, 1` → ("L3", "mov %r0, 1").
    static func split(_ line: String) -> (label: String?, instruction: String) {
        guard let colon = line.firstIndex(of: ":"), line[..<colon].allSatisfy({ $0.isLetter || $0.isNumber }),
              !line[..<colon].isEmpty else { return (nil, line) }
        return (String(line[..<colon]), String(line[line.index(after: colon)...].drop(while: { $0 == " " })))
    }
}
