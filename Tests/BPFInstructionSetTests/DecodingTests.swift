@testable import BPFInstructionSet
import Foundation
import Testing
import BPFTestSupport

// Expected encodings follow RFC 9669 (opcode = operation | source | class) and the
// Linux additions it does not cover (load-acquire/store-release, may_goto, callx).

private func ins(_ opcode: UInt8, dst: UInt8 = 0, src: UInt8 = 0, off: Int16 = 0, imm: Int32 = 0) -> Instruction {
    Instruction(opcode: opcode, destination: dst, source: src, offset: off, immediate: imm)
}

private let exit = ins(0x95)

typealias Op = BPFInstructionSet.Operation

/// Decoding `slots` fails with exactly `expected`.
private func expectRefusal(_ slots: [Instruction], _ expected: InstructionError,
                           sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(throws: expected, sourceLocation: sourceLocation) { try ProgramDecoder.decode(slots) }
}

@Suite("Instruction encoding")
struct InstructionEncodingTests {
    @Test("rawValue and bytes lay the fields out little-endian: opcode, dst|src<<4, offset, immediate")
    func layout() throws {
        let instruction = ins(0x18, dst: 1, src: 2, off: -2, imm: 0x11223344)
        #expect(instruction.rawValue == 0x11223344_fffe_2118)
        #expect(instruction.bytes == [0x18, 0x21, 0xfe, 0xff, 0x44, 0x33, 0x22, 0x11])
        #expect(Instruction(rawValue: 0x11223344_fffe_2118) == instruction)
        #expect(instruction.destination == 1 && instruction.source == 2)
        #expect(try Instruction.decodeSlots(instruction.bytes) == [instruction])
        // The conformance suite's lddw.data: 0x5566778800000018 is `lddw %r0` with imm 0x55667788.
        let lddw = Instruction(rawValue: 0x5566778800000018)
        #expect(lddw.opcode == 0x18 && lddw.immediate == 0x55667788 && lddw.registers == 0)
    }

    @Test("rawValue round trips arbitrary words, including malformed ones", arguments: [
        UInt64(0), 0xffff_ffff_ffff_ffff, 0x8000_0000_0000_0001, 0x0123_4567_89ab_cdef, 0xdead_beef_8001_ffff,
    ])
    func rawRoundTrip(word: UInt64) throws {
        let instruction = Instruction(rawValue: word)
        #expect(instruction.rawValue == word)
        #expect(try Instruction.decodeSlots(instruction.bytes) == [instruction])
        #expect(Instruction.encodeSlots([instruction, instruction]) == instruction.bytes + instruction.bytes)
    }

    @Test("byte counts that are not a multiple of 8 are refused")
    func truncated() {
        #expect(throws: InstructionError.truncated(byteCount: 7)) {
            try Instruction.decodeSlots([UInt8](repeating: 0, count: 7))
        }
        #expect(throws: InstructionError.empty) { try ProgramDecoder.decode([]) }
    }

    @Test("setting registers keeps the other nibble")
    func registerNibbles() {
        var instruction = ins(0xbf, dst: 3, src: 4)
        instruction.destination = 10
        #expect(instruction.registers == 0x4a)
        instruction.source = 9
        #expect(instruction.registers == 0x9a)
    }
}

@Suite("Opcode table")
struct OpcodeTableTests {
    @Test("every descriptor's template decodes back to its own operation")
    func templates() throws {
        #expect(OpcodeTable.descriptors.count == Op.allCases.count)
        for descriptor in OpcodeTable.descriptors {
            let decoded = try OpcodeTable.decode(descriptor.template, at: 0)
            #expect(decoded.operation == descriptor.operation, "\(descriptor.mnemonic)")
            #expect(descriptor.operation.descriptor.opcode == descriptor.opcode)
        }
    }

    @Test("every mnemonic and alias finds its descriptor")
    func mnemonics() {
        for descriptor in OpcodeTable.descriptors {
            for name in [descriptor.mnemonic] + descriptor.aliases {
                #expect(OpcodeTable.variants(ofMnemonic: name).contains { $0.operation == descriptor.operation },
                        "\(name)")
            }
        }
        #expect(OpcodeTable.variants(ofMnemonic: "ldxq").isEmpty)
        #expect(Set(OpcodeTable.variants(ofMnemonic: "call").map(\.operation))
            == [.callHelper, .callLocal, .callKernelFunction, .callRegister])
        #expect(OpcodeTable.variants(ofMnemonic: "lddw").count == 7)
    }

    @Test("opcodes and selectors agree with RFC 9669 and Linux", arguments: [
        (Op.add64Imm, UInt8(0x07)), (.add64Reg, 0x0f), (.add32Imm, 0x04), (.add32Reg, 0x0c),
        (.sdiv64Imm, 0x37), (.mov32Reg, 0xbc), (.arsh64Imm, 0xc7), (.neg64, 0x87), (.neg32, 0x84),
        (.le16, 0xd4), (.be32, 0xdc), (.bswap64, 0xd7), (.ja, 0x05), (.jaLong, 0x06), (.jeq64Imm, 0x15),
        (.jne64Reg, 0x5d), (.jset32Imm, 0x46), (.jsle32Reg, 0xde), (.callHelper, 0x85), (.callRegister, 0x8d),
        (.exit, 0x95), (.mayGoto, 0xe5), (.loadImm64, 0x18), (.ldxb, 0x71), (.ldxdw, 0x79), (.ldxsb, 0x91),
        (.ldxsh, 0x89), (.ldxsw, 0x81), (.stw, 0x62), (.stdw, 0x7a), (.stxh, 0x6b), (.atomicAdd32, 0xc3),
        (.atomicCmpxchg64, 0xdb), (.loadAcquire8, 0xd3), (.storeRelease16, 0xcb), (.ldabsw, 0x20),
        (.ldindb, 0x50),
    ])
    func opcodes(operation: Op, opcode: UInt8) {
        #expect(operation.descriptor.opcode == opcode)
    }

    @Test("selectors: sdiv offset 1, movsx offsets, byte-swap widths, atomic and ordering immediates, pseudo sources")
    func selectors() {
        #expect(Op.sdiv32Reg.descriptor.template.offset == 1)
        #expect(Op.smod64Imm.descriptor.template.offset == 1)
        #expect(Op.movsx16To32.descriptor.template.offset == 16)
        #expect(Op.movsx32To64.descriptor.template.offset == 32)
        #expect(Op.be16.descriptor.template.immediate == 16)
        #expect(Op.atomicFetchAdd64.descriptor.template.immediate == 0x01)
        #expect(Op.atomicXchg32.descriptor.template.immediate == 0xe1)
        #expect(Op.atomicCmpxchg32.descriptor.template.immediate == 0xf1)
        #expect(Op.loadAcquire64.descriptor.template.immediate == 0x100)
        #expect(Op.storeRelease32.descriptor.template.immediate == 0x110)
        #expect(Op.callLocal.descriptor.template.source == 1)
        #expect(Op.callKernelFunction.descriptor.template.source == 2)
        #expect(Op.loadMapIndexValue.descriptor.template.source == 6)
        #expect(Op.atomicAdd32.descriptor.is32Bit && !Op.atomicAdd64.descriptor.is32Bit)
        #expect(Op.jeq32Imm.descriptor.is32Bit && !Op.jaLong.descriptor.is32Bit)
        #expect(Op.ldxh.descriptor.accessSize == 2 && Op.stdw.descriptor.accessSize == 8)
        #expect(Op.ldabsb.descriptor.accessSize == 1 && Op.storeRelease32.descriptor.accessSize == 4)
    }
}

@Suite("Program decoder")
struct ProgramDecoderTests {
    @Test("reserved fields that are not zero are named")
    func reservedFields() {
        expectRefusal([ins(0x07, off: 1, imm: 1), exit],
                      .reservedFieldNotZero(index: 0, mnemonic: "add", field: "offset", value: 1))
        expectRefusal([ins(0x95, imm: 1)],
                      .reservedFieldNotZero(index: 0, mnemonic: "exit", field: "immediate", value: 1))
        expectRefusal([ins(0x87, src: 1), exit],
                      .reservedFieldNotZero(index: 0, mnemonic: "neg", field: "source register", value: 1))
        expectRefusal([exit, ins(0x85, dst: 1, imm: 1)],
                      .reservedFieldNotZero(index: 1, mnemonic: "call", field: "destination register", value: 1))
        expectRefusal([ins(0x0f, src: 1, imm: 5), exit],
                      .reservedFieldNotZero(index: 0, mnemonic: "add", field: "immediate", value: 5))
        expectRefusal([ins(0x61, src: 1, imm: 1), exit],
                      .reservedFieldNotZero(index: 0, mnemonic: "ldxw", field: "immediate", value: 1))
        expectRefusal([ins(0x7a, dst: 10, src: 1, off: -8), exit],
                      .reservedFieldNotZero(index: 0, mnemonic: "stdw", field: "source register", value: 1))
        expectRefusal([ins(0x05, imm: 1), exit],
                      .reservedFieldNotZero(index: 0, mnemonic: "ja", field: "immediate", value: 1))
        expectRefusal([ins(0x06, off: 1), exit],
                      .reservedFieldNotZero(index: 0, mnemonic: "ja32", field: "offset", value: 1))
    }

    @Test("unknown opcodes and unknown variants of known opcodes")
    func unknown() {
        expectRefusal([ins(0x00), exit], .unknownOpcode(index: 0, opcode: 0x00))
        expectRefusal([exit, ins(0xff)], .unknownOpcode(index: 1, opcode: 0xff))
        expectRefusal([ins(0x8e), exit], .unknownOpcode(index: 0, opcode: 0x8e))     // call in JMP32
        expectRefusal([ins(0x96), exit], .unknownOpcode(index: 0, opcode: 0x96))     // exit in JMP32
        expectRefusal([ins(0xd4, imm: 8), exit],
                      .unknownVariant(index: 0, opcode: 0xd4, field: "immediate", value: 8))
        expectRefusal([ins(0x3f, src: 1, off: 2), exit],
                      .unknownVariant(index: 0, opcode: 0x3f, field: "offset", value: 2))
        expectRefusal([ins(0x85, src: 3), exit],
                      .unknownVariant(index: 0, opcode: 0x85, field: "source register", value: 3))
        expectRefusal([ins(0xd3, dst: 10, src: 1), exit],                            // no 8-bit atomic add
                      .unknownVariant(index: 0, opcode: 0xd3, field: "immediate", value: 0))
        expectRefusal([ins(0x18, src: 7), ins(0), exit],
                      .unknownVariant(index: 0, opcode: 0x18, field: "source register", value: 7))
    }

    @Test("registers above r10 are refused")
    func registers() {
        expectRefusal([ins(0xb7, dst: 11), exit], .invalidRegister(index: 0, field: "destination", register: 11))
        expectRefusal([ins(0x0f, src: 15), exit], .invalidRegister(index: 0, field: "source", register: 15))
        expectRefusal([ins(0x79, dst: 1, src: 12), exit], .invalidRegister(index: 0, field: "source", register: 12))
    }

    @Test("lddw: needs a second slot whose opcode, registers and offset are zero")
    func wide() throws {
        expectRefusal([ins(0x18, imm: 1)], .incompleteWideInstruction(index: 0))
        expectRefusal([ins(0x18), ins(0x95), exit], .malformedWideInstructionSecondSlot(index: 0))
        expectRefusal([ins(0x18), ins(0, dst: 1), exit], .malformedWideInstructionSecondSlot(index: 0))
        expectRefusal([ins(0x18), ins(0, off: 1), exit], .malformedWideInstructionSecondSlot(index: 0))
        let program = try ProgramDecoder.decode([ins(0x18, imm: 0x55667788), ins(0, imm: 0x11223344), exit])
        #expect(program.count == 2)
        #expect(program[0].wideImmediate == 0x1122334455667788 && program[0].slotCount == 2)
        #expect(program[1].index == 2 && program[1].operation == .exit)
        let negative = try ProgramDecoder.decode([ins(0x18, imm: -1), ins(0, imm: -1), exit])
        #expect(negative[0].wideImmediate == UInt64.max)
    }

    @Test("jump targets must be inside the program and not the second slot of an lddw")
    func targets() throws {
        expectRefusal([ins(0x05, off: 1), exit], .jumpOutOfRange(index: 0, target: 2, count: 2))
        expectRefusal([ins(0x05, off: -2), exit], .jumpOutOfRange(index: 0, target: -1, count: 2))
        expectRefusal([ins(0x06, imm: 5), exit], .jumpOutOfRange(index: 0, target: 6, count: 2))
        expectRefusal([ins(0x85, src: 1, imm: -3), exit], .jumpOutOfRange(index: 0, target: -2, count: 2))
        expectRefusal([ins(0x15, dst: 1, off: 1), ins(0x18), ins(0), exit],
                      .jumpIntoWideInstruction(index: 0, target: 2))
        expectRefusal([ins(0x18, src: 4, imm: 0), ins(0), exit], .jumpIntoWideInstruction(index: 0, target: 1))
        let program = try ProgramDecoder.decode([ins(0x15, dst: 1, off: 2), ins(0x18), ins(0), exit])
        #expect(program[0].target == 3)
        let call = try ProgramDecoder.decode([ins(0x85, src: 1, imm: 1), exit, exit])
        #expect(call[0].target == 2)
        #expect(try ProgramDecoder.decode([ins(0x85, imm: 100), exit])[0].target == nil)
    }

    @Test("the suite's negative/unused-*.data programs are all refused",
          .enabled(if: UnusedCorpus.available,
                   "conformance negatives not found at ../shared/conformance/negative (relative to the package root)"))
    func unusedFields() throws {
        let files = UnusedCorpus.files()
        #expect(files.count == 45, "expected 45 unused-*.data files, found \(files.count)")
        for file in files {
            let slots = try UnusedCorpus.rawSlots(file)
            #expect(!slots.isEmpty, "\(file.lastPathComponent): empty raw section")
            do {
                let program = try ProgramDecoder.decode(slots)
                Issue.record("\(file.lastPathComponent): decoded to \(program.count) instructions instead of failing")
            } catch {
                // The faulty instruction is the first one in every file.
                #expect(error.index == 0, "\(file.lastPathComponent): \(error)")
            }
        }
    }
}

/// The `negative/unused-*.data` files of the conformance suite, which live next to the
/// package (`../shared/conformance/negative` relative to the package root).
enum UnusedCorpus {
    static let directory = SharedMaterial.url("conformance/negative")

    static var available: Bool { FileManager.default.fileExists(atPath: directory.path) }

    static func files() -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasPrefix("unused-") && $0.hasSuffix(".data") }.sorted()
            .map { directory.appendingPathComponent($0) }
    }

    /// The `-- raw` section: lines of 8 hex bytes in memory order.
    static func rawSlots(_ file: URL) throws -> [Instruction] {
        let text = try String(contentsOf: file, encoding: .utf8)
        var inRaw = false
        var bytes: [UInt8] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("-- ") {
                inRaw = line.trimmingCharacters(in: .whitespaces) == "-- raw"
                continue
            }
            guard inRaw else { continue }
            let content = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            for token in content.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
                bytes.append(try #require(UInt8(token, radix: 16), "\(file.lastPathComponent): bad byte '\(token)'"))
            }
        }
        return try Instruction.decodeSlots(bytes)
    }
}
