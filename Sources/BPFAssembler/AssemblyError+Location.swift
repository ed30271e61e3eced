extension AssemblyError {
    /// The error in compiler style, `file:line:column: message`, with the line
    /// counted from `firstLine` (the file line where the assembly text starts).
    public func located(in file: String, firstLine: Int = 1) -> String {
        let fileLine = line + max(firstLine, 1) - 1
        if let column { return "\(file):\(fileLine):\(column): \(message)" }
        return "\(file):\(fileLine): \(message)"
    }
}
