import BPFInstructionSet

/// The result of assembling a text: the slots, where each came from, and the labels.
public struct AssembledProgram: Equatable, Sendable {
    public var instructions: [Instruction]
    /// For every slot, the 1-based source line it was assembled from (both slots of an `lddw`
    /// name the `lddw` line).
    public var lineOfSlot: [Int]
    /// Every label defined with `name:`, and the slot it names (a label after the last
    /// instruction names `instructions.count`).
    public var labels: [String: Int]

    public init(instructions: [Instruction], lineOfSlot: [Int], labels: [String: Int]) {
        self.instructions = instructions
        self.lineOfSlot = lineOfSlot
        self.labels = labels
    }
}

/// Assembles text in the BPF conformance suite's syntax (`mov32 %r0, 0`,
/// `ldxdw %r0, [%r1+8]`, `lock fetch add32 [%r10-4], %r1`, `jne %r0, %r1, label`,
/// `call local func1`, `lddw %r1, map_value:3+8`, `.raw b701000005000000`).
///
/// Mnemonics, aliases and encodings come from `OpcodeTable`; the assembler only knows
/// how each `OperandForm` is written.
///
/// Labels: `name:` at the start of a line (optionally followed by an instruction).
/// As in the suite's own assembler, the first `exit` instruction also defines the label
/// `exit` unless the text defines that label itself.
public enum Assembler {
    public static func assemble(_ text: String) throws(AssemblyError) -> [Instruction] {
        try assembleProgram(text).instructions
    }

    public static func assembleProgram(_ text: String) throws(AssemblyError) -> AssembledProgram {
        var state = AssemblerState()
        var lineNumber = 0
        // "\r\n" is one Character in Swift, so it is matched on its own.
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            lineNumber += 1
            try state.assembleLine(Array(line.unicodeScalars), lineNumber)
        }
        try state.resolveLabels()
        return AssembledProgram(instructions: state.slots, lineOfSlot: state.lines,
                                labels: state.labels.mapValues(\.slot))
    }

    /// Words that begin a multi-word mnemonic of the table ("lock", "lock fetch").
    static let mnemonicPrefixes: Set<String> = {
        var prefixes = Set<String>()
        for descriptor in OpcodeTable.descriptors {
            for name in [descriptor.mnemonic] + descriptor.aliases {
                let words = name.split(separator: " ")
                for count in 1..<max(words.count, 1) {
                    prefixes.insert(words.prefix(count).joined(separator: " "))
                }
            }
        }
        return prefixes
    }()
}

/// The comma-separated tokens of one operand.
struct Operand {
    var tokens: ArraySlice<Token>
    /// The operand's source text, for messages.
    var text: String
    var column: Int

    init(_ tokens: ArraySlice<Token>, in line: [Unicode.Scalar]) {
        self.tokens = tokens
        if let first = tokens.first, let last = tokens.last {
            var text = ""
            text.unicodeScalars.append(contentsOf: line[first.start..<last.end])
            self.text = text
            column = first.column
        } else {
            text = ""
            column = 1
        }
    }

    /// The same operand without its first `count` tokens.
    func dropping(_ count: Int, in line: [Unicode.Scalar]) -> Operand {
        var rest = Operand(tokens.dropFirst(count), in: line)
        if rest.tokens.isEmpty, let last = tokens.last { rest.column = last.end + 1 }
        return rest
    }
}

/// A jump, `ja32`, `call local` or `func:` target before label resolution.
enum Target {
    case relative(Int64)
    case label(String, column: Int)
}

struct Fixup {
    enum Field { case offset, immediate }
    var slot: Int
    var field: Field
    var label: String
    var line: Int
    var column: Int
}

struct AssemblerState {
    var slots: [Instruction] = []
    var lines: [Int] = []
    var labels: [String: (slot: Int, line: Int)] = [:]
    var firstExit: Int?
    var fixups: [Fixup] = []

    /// The line being assembled.
    var text: [Unicode.Scalar] = []
    var lineNumber = 0

    func error(_ column: Int?, _ reason: AssemblyError.Reason) -> AssemblyError {
        AssemblyError(line: lineNumber, column: column, reason: reason)
    }

    mutating func assembleLine(_ scalars: [Unicode.Scalar], _ number: Int) throws(AssemblyError) {
        text = scalars
        lineNumber = number
        let end = scalars.firstIndex(of: "#") ?? scalars.count
        let tokens = try tokenize(scalars[0..<end], line: number)
        var i = 0
        while i + 1 < tokens.count, tokens[i].kind == .word, tokens[i + 1].is(":"), !tokens[i].text.hasPrefix("%") {
            let name = tokens[i].text
            if let previous = labels[name] {
                throw error(tokens[i].column, .duplicateLabel(name, firstLine: previous.line))
            }
            labels[name] = (slots.count, number)
            i += 2
        }
        guard i < tokens.count else { return }
        let head = tokens[i]
        guard head.kind == .word, !head.looksLikeRegister else {
            throw error(head.column, .expected("a mnemonic, a label like 'name:' or .raw", found: head.text))
        }
        if head.text.hasPrefix(".") {
            guard head.text == ".raw" else { throw error(head.column, .unknownDirective(head.text)) }
            try assembleRaw(scalars[head.end..<end])
            return
        }

        var mnemonic = head.text
        var j = i + 1
        while Assembler.mnemonicPrefixes.contains(mnemonic), j < tokens.count, tokens[j].kind == .word,
              !tokens[j].looksLikeRegister {
            mnemonic += " " + tokens[j].text
            j += 1
        }
        let variants = OpcodeTable.variants(ofMnemonic: mnemonic)
        guard !variants.isEmpty else {
            if Assembler.mnemonicPrefixes.contains(mnemonic) {
                throw error(head.column, .incompleteMnemonic(mnemonic))
            }
            throw error(head.column, .unknownMnemonic(mnemonic))
        }

        var operands: [Operand] = []
        if j < tokens.count {
            var groupStart = j
            for k in j...tokens.count where k == tokens.count || tokens[k].is(",") {
                let group = tokens[groupStart..<k]
                if group.isEmpty {
                    let column = k < tokens.count ? tokens[k].column : (tokens.last!.end + 1)
                    throw error(column, .expected("an operand", found: k < tokens.count ? "," : ""))
                }
                operands.append(Operand(group, in: scalars))
                groupStart = k + 1
            }
        }
        try assembleInstruction(mnemonic, variants, operands, column: head.column)
    }

    // MARK: Instructions

    mutating func assembleInstruction(_ mnemonic: String, _ variants: [OpcodeDescriptor], _ operands: [Operand],
                                      column: Int) throws(AssemblyError) {
        let descriptor = try chooseVariant(mnemonic, variants, operands, column: column)
        var instruction = descriptor.template
        let slot = slots.count
        var second: Instruction?

        switch descriptor.form {
        case .aluRegister:
            instruction.destination = try register(operands[0])
            instruction.source = try register(operands[1])
        case .aluImmediate:
            instruction.destination = try register(operands[0])
            instruction.immediate = try immediate32(operands[1])
        case .unary:
            instruction.destination = try register(operands[0])
        case .jump, .mayGoto:
            instruction.offset = try offsetTarget(operands[0], slot: slot)
        case .jumpLong:
            instruction.immediate = try immediateTarget(operands[0], slot: slot)
        case .conditionalImmediate:
            instruction.destination = try register(operands[0])
            instruction.immediate = try immediate32(operands[1])
            instruction.offset = try offsetTarget(operands[2], slot: slot)
        case .conditionalRegister:
            instruction.destination = try register(operands[0])
            instruction.source = try register(operands[1])
            instruction.offset = try offsetTarget(operands[2], slot: slot)
        case .callHelper:
            let operand = callKeyword(operands[0]) == "helper" ? operands[0].dropping(1, in: text) : operands[0]
            instruction.immediate = try immediate32(operand)
        case .callLocal:
            instruction.immediate = try immediateTarget(operands[0].dropping(1, in: text), slot: slot)
        case .callKernelFunction:
            instruction.immediate = try immediate32(operands[0].dropping(1, in: text))
            if operands.count == 2 { instruction.offset = try offset16(operands[1]) }
        case .callRegister:
            instruction.destination = try register(operands[0])
        case .exit:
            if firstExit == nil { firstExit = slot }
        case .loadImmediate64:
            instruction.destination = try register(operands[0])
            let (low, high) = try wideOperand(operands[1], descriptor, slot: slot)
            instruction.immediate = low
            second = Instruction(opcode: 0, immediate: high)
        case .loadMemory, .loadAcquire:
            instruction.destination = try register(operands[0])
            (instruction.source, instruction.offset) = try memory(operands[1])
        case .storeImmediate:
            (instruction.destination, instruction.offset) = try memory(operands[0])
            instruction.immediate = try immediate32(operands[1])
        case .storeRegister, .atomic, .storeRelease:
            (instruction.destination, instruction.offset) = try memory(operands[0])
            instruction.source = try register(operands[1])
        case .packetAbsolute:
            instruction.immediate = try immediate32(operands[0])
        case .packetIndirect:
            instruction.source = try register(operands[0])
            instruction.immediate = try immediate32(operands[1])
        }
        assert((try? OpcodeTable.decode(instruction, at: slot))?.operation == descriptor.operation,
               "assembled \(mnemonic) does not decode back to \(descriptor.operation)")
        slots.append(instruction)
        lines.append(lineNumber)
        if let second {
            slots.append(second)
            lines.append(lineNumber)
        }
    }

    /// How many operands each form is written with.
    static func operandCount(_ form: OperandForm) -> ClosedRange<Int> {
        switch form {
        case .exit: 0...0
        case .unary, .jump, .jumpLong, .mayGoto, .callHelper, .callLocal, .callRegister, .packetAbsolute: 1...1
        case .callKernelFunction: 1...2
        case .aluRegister, .aluImmediate, .loadImmediate64, .loadMemory, .storeImmediate, .storeRegister, .atomic,
             .loadAcquire, .storeRelease, .packetIndirect: 2...2
        case .conditionalImmediate, .conditionalRegister: 3...3
        }
    }

    /// The first word of a `call` operand when it names the call kind.
    func callKeyword(_ operand: Operand) -> String? {
        guard let first = operand.tokens.first, first.kind == .word,
              ["local", "kfunc", "helper", "runtime"].contains(first.text) else { return nil }
        return first.text
    }

    /// Picks the table row by operand shape: register or immediate source, the kind of
    /// call, the `lddw` pseudo operand.
    func chooseVariant(_ mnemonic: String, _ variants: [OpcodeDescriptor], _ operands: [Operand],
                       column: Int) throws(AssemblyError) -> OpcodeDescriptor {
        let forms = variants.map(\.form)
        var counts = forms.map(AssemblerState.operandCount)
        let callForms: [OperandForm] = [.callHelper, .callLocal, .callKernelFunction, .callRegister]
        var chosen: OpcodeDescriptor?
        if forms.contains(where: callForms.contains), let first = operands.first {
            let wanted: OperandForm
            switch callKeyword(first) {
            case "local": wanted = .callLocal
            case "kfunc", "runtime": wanted = .callKernelFunction
            case "helper": wanted = .callHelper
            default: wanted = first.tokens.first!.looksLikeRegister ? .callRegister : .callHelper
            }
            chosen = variants.first { $0.form == wanted }
            if let chosen {
                counts = [AssemblerState.operandCount(chosen.form)]
            } else if forms == [.callRegister] {
                throw error(first.column, .expected("a register like %r1", found: first.text))
            } else {
                throw error(first.column, .expected("a call target", found: first.text))
            }
        }
        let low = counts.map(\.lowerBound).min()!, high = counts.map(\.upperBound).max()!
        guard operands.count >= low, operands.count <= high else {
            throw error(column, .operandCount(mnemonic: mnemonic, expected: low == high ? "\(low)" : "\(low) or \(high)",
                                              found: operands.count))
        }
        if let chosen { return chosen }
        if variants.count == 1 { return variants[0] }
        if forms.contains(.loadImmediate64) {
            return try pseudoVariant(variants, operands[1])
        }
        // Register or immediate source: the second operand decides.
        let sourceIsRegister = operands[1].tokens.first!.looksLikeRegister
        let wanted: [OperandForm] = sourceIsRegister ? [.aluRegister, .conditionalRegister]
            : [.aluImmediate, .conditionalImmediate]
        if let match = variants.first(where: { wanted.contains($0.form) }) { return match }
        return variants[0]
    }

    /// The `lddw` row named by the operand's `kind:` prefix (the table's symbol), or the
    /// plain 64-bit constant row.
    func pseudoVariant(_ variants: [OpcodeDescriptor], _ operand: Operand) throws(AssemblyError) -> OpcodeDescriptor {
        let tokens = operand.tokens
        if tokens.count >= 2, tokens[tokens.startIndex].kind == .word, tokens[tokens.startIndex + 1].is(":") {
            let kind = tokens[tokens.startIndex].text
            if !kind.isEmpty, let match = variants.first(where: { $0.symbol == kind }) { return match }
            let kinds = variants.map(\.symbol).filter { !$0.isEmpty }.map { $0 + ":" }.joined(separator: ", ")
            throw error(operand.column, .expected("a 64-bit constant or one of \(kinds)", found: kind + ":"))
        }
        if let plain = variants.first(where: { $0.selector == .source(0) }) { return plain }
        return variants[0]
    }

    // MARK: Operands

    func register(_ operand: Operand) throws(AssemblyError) -> UInt8 {
        guard operand.tokens.count == 1, let token = operand.tokens.first, token.kind == .word else {
            throw error(operand.column, .expected("a register like %r1", found: operand.text))
        }
        return try register(token)
    }

    func register(_ token: Token) throws(AssemblyError) -> UInt8 {
        var name = Substring(token.text)
        if name.hasPrefix("%") { name = name.dropFirst() }
        guard token.looksLikeRegister, name.hasPrefix("r"), name.count >= 2, name.count <= 3,
              name.dropFirst().unicodeScalars.allSatisfy(isDigit), let number = UInt8(name.dropFirst()),
              number <= Registers.framePointer
        else {
            if token.looksLikeRegister || token.text.hasPrefix("%") {
                throw error(token.column, .invalidRegister(token.text))
            }
            throw error(token.column, .expected("a register like %r1", found: token.text))
        }
        return number
    }

    /// An optionally signed number literal filling the whole token range.
    func number(_ tokens: ArraySlice<Token>, _ operand: Operand, expected: String) throws(AssemblyError)
        -> NumberLiteral {
        var rest = tokens
        var negative = false
        var sign = ""
        if let first = rest.first, first.is("+") || first.is("-") {
            negative = first.is("-")
            sign = first.text
            rest = rest.dropFirst()
        }
        guard rest.count == 1, let token = rest.first, token.kind == .number else {
            let found = tokens.isEmpty ? "" : operand.text
            throw error(tokens.first?.column ?? operand.column, .expected(expected, found: found))
        }
        switch NumberLiteral.parse(token.text, negative: negative, sign: sign) {
        case .value(let literal): return literal
        case .malformed: throw error(token.column, .invalidNumber(token.text))
        case .overflow: throw error(tokens.first!.column, .immediateOutOfRange(sign + token.text, bits: 64))
        }
    }

    func immediate32(_ operand: Operand) throws(AssemblyError) -> Int32 {
        let literal = try number(operand.tokens, operand, expected: "an immediate like 42 or 0x2a")
        guard let value = literal.immediate32 else {
            throw error(operand.column, .immediateOutOfRange(literal.text, bits: 32))
        }
        return value
    }

    func offset16(_ operand: Operand) throws(AssemblyError) -> Int16 {
        let literal = try number(operand.tokens, operand, expected: "an offset like +8 or -8")
        guard let value = literal.offset16 else { throw error(operand.column, .offsetOutOfRange(literal.text)) }
        return value
    }

    /// `[%rN]`, `[%rN+off]`, `[%rN-off]`.
    func memory(_ operand: Operand) throws(AssemblyError) -> (UInt8, Int16) {
        let tokens = operand.tokens
        let expected = "a memory operand like [%r1+8]"
        guard tokens.count >= 3, tokens.first!.is("["), tokens.last!.is("]") else {
            throw error(operand.column, .expected(expected, found: operand.text))
        }
        let base = tokens[tokens.startIndex + 1]
        guard base.kind == .word else { throw error(base.column, .expected("a register like %r1", found: base.text)) }
        let register = try register(base)
        let inner = tokens[(tokens.startIndex + 2)..<(tokens.endIndex - 1)]
        guard !inner.isEmpty else { return (register, 0) }
        guard inner.first!.is("+") || inner.first!.is("-") else {
            throw error(inner.first!.column, .expected("'+' or '-' and an offset, or ']'", found: inner.first!.text))
        }
        let literal = try number(inner, operand, expected: "an offset like [%r1+8]")
        guard let offset = literal.offset16 else { throw error(inner.first!.column, .offsetOutOfRange(literal.text)) }
        return (register, offset)
    }

    /// `+N`, `-N`, `N` (slots after the next instruction) or a label.
    func target(_ operand: Operand) throws(AssemblyError) -> (Target, NumberLiteral?) {
        if operand.tokens.count == 1, let token = operand.tokens.first, token.kind == .word {
            guard !token.looksLikeRegister, !token.text.hasPrefix(".") else {
                throw error(token.column, .expected("a label or an offset like +3", found: token.text))
            }
            return (.label(token.text, column: token.column), nil)
        }
        let literal = try number(operand.tokens, operand, expected: "a label or an offset like +3")
        guard let value = literal.signedValue else {
            throw error(operand.column, .immediateOutOfRange(literal.text, bits: 32))
        }
        return (.relative(value), literal)
    }

    mutating func offsetTarget(_ operand: Operand, slot: Int) throws(AssemblyError) -> Int16 {
        switch try target(operand) {
        case (.label(let name, let column), _):
            fixups.append(Fixup(slot: slot, field: .offset, label: name, line: lineNumber, column: column))
            return 0
        case (.relative(let value), let literal):
            guard let offset = Int16(exactly: value) else {
                throw error(operand.column, .offsetOutOfRange(literal?.text ?? "\(value)"))
            }
            return offset
        }
    }

    mutating func immediateTarget(_ operand: Operand, slot: Int) throws(AssemblyError) -> Int32 {
        switch try target(operand) {
        case (.label(let name, let column), _):
            fixups.append(Fixup(slot: slot, field: .immediate, label: name, line: lineNumber, column: column))
            return 0
        case (.relative(let value), let literal):
            guard let immediate = Int32(exactly: value) else {
                throw error(operand.column, .immediateOutOfRange(literal?.text ?? "\(value)", bits: 32))
            }
            return immediate
        }
    }

    /// The two immediates of an `lddw`: a 64-bit constant, `func:target`, or `kind:N[+OFF]`.
    mutating func wideOperand(_ operand: Operand, _ descriptor: OpcodeDescriptor,
                              slot: Int) throws(AssemblyError) -> (Int32, Int32) {
        guard !descriptor.symbol.isEmpty else {
            let literal = try number(operand.tokens, operand,
                                     expected: "a 64-bit constant like 0x1122334455667788 or a pseudo operand like map:1")
            guard let value = literal.immediate64 else {
                throw error(operand.column, .immediateOutOfRange(literal.text, bits: 64))
            }
            return (Int32(truncatingIfNeeded: value), Int32(truncatingIfNeeded: value >> 32))
        }
        let rest = operand.dropping(2, in: text)
        if descriptor.operation == .loadFunction {
            return (try immediateTarget(rest, slot: slot), 0)
        }
        // N, then an optional +OFF / -OFF for the second immediate.
        let tokens = rest.tokens
        var split = tokens.endIndex
        if tokens.count > 1 {
            let from = tokens.index(after: tokens.startIndex).advanced(by: tokens.first!.kind == .number ? 0 : 1)
            if from < tokens.endIndex, let index = tokens[from...].firstIndex(where: { $0.is("+") || $0.is("-") }) {
                split = index
            }
        }
        let first = Operand(tokens[..<split], in: text)
        guard !first.tokens.isEmpty else {
            throw error(rest.column, .expected("a number after '\(descriptor.symbol):'", found: ""))
        }
        let low = try immediate32(first)
        var high: Int32 = 0
        if split < tokens.endIndex {
            var offsetTokens = tokens[split...]
            // `+-8` as well as `+8` and `-8`.
            if offsetTokens.count >= 3, offsetTokens.first!.is("+"),
               offsetTokens[offsetTokens.startIndex + 1].is("-") {
                offsetTokens = offsetTokens.dropFirst()
            }
            high = try immediate32(Operand(offsetTokens, in: text))
        }
        return (low, high)
    }

    // MARK: .raw

    mutating func assembleRaw(_ scalars: ArraySlice<Unicode.Scalar>) throws(AssemblyError) {
        let digits = scalars.filter { $0 != " " && $0 != "\t" && $0 != "\r" }
        var found = ""
        found.unicodeScalars.append(contentsOf: scalars)
        found = found.trimmingSpaces
        let firstColumn = (scalars.firstIndex { $0 != " " && $0 != "\t" } ?? scalars.endIndex) + 1
        guard digits.count == 16, digits.allSatisfy(isHexDigit) else {
            throw error(firstColumn, .invalidRaw(found: found))
        }
        var value: UInt64 = 0
        for byte in 0..<8 {
            var pair = ""
            pair.unicodeScalars.append(contentsOf: digits[(2 * byte)..<(2 * byte + 2)])
            value |= UInt64(UInt8(pair, radix: 16)!) << (8 * UInt64(byte))
        }
        slots.append(Instruction(rawValue: value))
        lines.append(lineNumber)
    }

    // MARK: Labels

    mutating func resolveLabels() throws(AssemblyError) {
        for fixup in fixups {
            let target: Int
            if let label = labels[fixup.label] {
                target = label.slot
            } else if fixup.label == "exit", let firstExit {
                target = firstExit
            } else {
                throw AssemblyError(line: fixup.line, column: fixup.column, reason: .undefinedLabel(fixup.label))
            }
            let distance = target - (fixup.slot + 1)
            switch fixup.field {
            case .offset:
                guard let offset = Int16(exactly: distance) else {
                    throw AssemblyError(line: fixup.line, column: fixup.column,
                                        reason: .targetOutOfRange(label: fixup.label, distance: distance, bits: 16))
                }
                slots[fixup.slot].offset = offset
            case .immediate:
                guard let immediate = Int32(exactly: distance) else {
                    throw AssemblyError(line: fixup.line, column: fixup.column,
                                        reason: .targetOutOfRange(label: fixup.label, distance: distance, bits: 32))
                }
                slots[fixup.slot].immediate = immediate
            }
        }
    }
}

extension String {
    var trimmingSpaces: String {
        var scalars = Substring(self).unicodeScalars[...]
        while let first = scalars.first, first == " " || first == "\t" { scalars = scalars.dropFirst() }
        while let last = scalars.last, last == " " || last == "\t" || last == "\r" { scalars = scalars.dropLast() }
        var result = ""
        result.unicodeScalars.append(contentsOf: scalars)
        return result
    }
}
