import Testing
import BPFAssembler
import BPFObject
@testable import BPFVerifier

/// Socket pointers beyond the verdict table: refusal texts, field rules, pruning.
@Suite struct SocketTests {
    func verify(_ source: String, _ type: ProgramType = .schedCls) throws -> VerificationResult {
        let program = try Assembler.assembleProgram(source)
        return Verifier().verify(VerifierInput(instructions: program.instructions, programType: type, maps: OracleMaps.descriptions))
    }

    @Test func everySocketErrorHasAHint() {
        let errors: [VerifierError] = [
            .socketAccess(pc: 0, register: 2, kind: "sock_common", offset: 8, size: 4, reason: "r"),
            .socketAccess(pc: 0, register: 2, kind: "sock", offset: 80, size: 4, reason: "r"),
            .socketAccess(pc: 0, register: 2, kind: "tcp_sock", offset: 2, size: 2, reason: "r"),
            .socketAccess(pc: 0, register: 2, kind: "sock", offset: 4, size: 4, reason: "cannot write into sock"),
            .socketArgument(pc: 0, helper: "bpf_sk_release", argument: 1, expected: "sock", got: "sock_or_null"),
            .socketArgument(pc: 0, helper: "bpf_sk_fullsock", argument: 1, expected: "sock", got: "scalar"),
            .unreferencedSocketRelease(pc: 0, register: 1, kind: "sock_common"),
            .unreleasedReference(pc: 3, acquiredAt: 1, helper: "bpf_sk_lookup_tcp"),
        ]
        for error in errors {
            #expect(!error.hint.isEmpty, "\(error.kind) has no hint")
            #expect(!error.message.isEmpty)
        }
        #expect(VerifierError.socketAccess(pc: 0, register: 2, kind: "sock_common", offset: 8, size: 4, reason: "r").hint.contains("bpf_sk_fullsock"))
        #expect(VerifierError.unreleasedReference(pc: 3, acquiredAt: 1, helper: "bpf_sk_lookup_tcp").hint.contains("bpf_sk_release"))
    }

    @Test func refusalsNameTheSocket() throws {
        let unchecked = try verify("ldxdw %r2, [%r1+168]\nldxw %r0, [%r2+4]\nexit")
        #expect(unchecked.refusal?.error == .possiblyNull(pc: 1, register: 2, kind: "sock_common"))
        #expect(unchecked.refusal?.hint.contains("instruction 0") == true)
        let type = try verify("mov %r0, 0\nldxdw %r2, [%r1+168]\njeq %r2, 0, +1\nldxw %r0, [%r2+8]\nexit")
        guard case .socketAccess(3, 2, "sock_common", 8, 4, _)? = type.refusal?.error else {
            Issue.record("expected a sock_common access refusal, got \(type.summary)"); return
        }
    }

    @Test func fieldRules() {
        // struct bpf_sock: every byte offset and size, by kind.
        for offset in -8..<96 {
            for size in [1, 2, 4, 8] {
                let full = SocketFields.allows(.socket, offset: offset, size: size)
                let common = SocketFields.allows(.socketCommon, offset: offset, size: size)
                if common { #expect(full, "sock_common may read \(offset)/\(size) but sock may not") }
                if size == 8 || offset < 0 || offset + size > 80 || offset % size != 0 {
                    #expect(!full, "sock \(offset)/\(size)")
                }
                if (8..<24).contains(offset) { #expect(!common, "sock_common \(offset)/\(size)") }
                let tcp = SocketFields.allows(.tcpSocket, offset: offset, size: size)
                #expect(tcp == (offset >= 0 && offset < 112 && (offset == 80 || offset == 88 ? size == 8 : size == 4 && offset % 4 == 0 && offset != 84 && offset != 92)),
                        "tcp_sock \(offset)/\(size)")
            }
        }
        #expect(SocketFields.allows(.socket, offset: 16, size: 4))          // mark
        #expect(!SocketFields.allows(.socket, offset: 16, size: 2))         // mark is read whole
        #expect(SocketFields.allows(.socketCommon, offset: 25, size: 1))    // a byte of src_ip4
        #expect(!SocketFields.allows(.socketCommon, offset: 50, size: 2))   // dst_port's padding
        #expect(!SocketFields.allows(.scalar, offset: 0, size: 4))
    }

    @Test func statesWithDifferentSocketsAreNotPruned() {
        var ids = StateComparison.IDMap()
        let common = RegisterValue(kind: .socketCommon, mayBeNull: true, id: 3)
        var full = common
        full.kind = .socket
        #expect(!StateComparison.register(common, covers: full, &ids, .notExact))
        var checked = common
        checked.mayBeNull = false
        ids = StateComparison.IDMap()
        #expect(!StateComparison.register(checked, covers: common, &ids, .notExact))
        ids = StateComparison.IDMap()
        #expect(StateComparison.register(common, covers: RegisterValue(kind: .socketCommon, mayBeNull: true, id: 9), &ids, .notExact))
        // References map one to one.
        let referenced = RegisterValue(kind: .socket, id: 0, referenceID: 4)
        ids = StateComparison.IDMap()
        #expect(StateComparison.register(referenced, covers: RegisterValue(kind: .socket, referenceID: 7), &ids, .notExact))
        #expect(!StateComparison.register(referenced, covers: RegisterValue(kind: .socket, referenceID: 8), &ids, .notExact))
        ids = StateComparison.IDMap()
        #expect(!StateComparison.register(referenced, covers: RegisterValue(kind: .socket), &ids, .notExact))
    }

    /// Per-program-type socket arguments the kernel oracle cannot load bare (sk_lookup needs its
    /// attach type, socket storage a BTF-described map).
    @Test func programTypeSpecificSocketArguments() throws {
        // bpf_sk_assign in sk_lookup programs takes a full socket or NULL (ARG_PTR_TO_SOCKET_OR_NULL).
        let assignNull = "mov %r2, 0\nmov %r3, 0\ncall 124\nmov %r0, 1\nexit"
        #expect(try verify(assignNull, .skLookup).isAccepted)
        #expect(try verify(assignNull, .schedCls).refusal?.error.kind == "sock_arg")
        // bpf_sk_storage_get in cgroup/sock programs takes the context (the socket itself).
        let storage = VerifierMap(name: "st", type: .skStorage, keySize: 4, valueSize: 8, maxEntries: 0)
        func storageVerdict(_ source: String, _ type: ProgramType) throws -> VerificationResult {
            let program = try Assembler.assembleProgram(source)
            return Verifier().verify(VerifierInput(instructions: program.instructions, programType: type, maps: [storage]))
        }
        // (cgroup/sock programs have bpf_sk_storage_get only.)
        let getByContext = "stdw [%r10-8], 0\nmov %r2, %r1\nmov %r3, %r10\nadd %r3, -8\nmov %r4, 0\nlddw %r1, map:0\ncall 107\nmov %r0, 1\nexit"
        // The socket argument passes; the value argument (map value or NULL) is not modelled yet.
        guard case .helperArgument(_, _, 3, _)? = try storageVerdict(getByContext, .cgroupSock).refusal?.error else {
            Issue.record("expected cgroup/sock's bpf_sk_storage_get to take the context as its socket"); return
        }
        #expect(try storageVerdict(getByContext, .cgroupSkb).refusal?.error.kind == "sock_arg")
        let deleteBySocket = "mov %r0, 1\nldxdw %r2, [%r1+168]\njeq %r2, 0, +3\nlddw %r1, map:0\ncall 108\nmov %r0, 1\nexit"
        #expect(try storageVerdict(deleteBySocket, .cgroupSkb).isAccepted)
    }

    @Test func releaseInvalidatesEveryCopy() throws {
        // After bpf_sk_release the copy in r7 and the derived full socket in r8 are gone:
        // privileged programs see unknown scalars, unprivileged ones uninitialised registers.
        let lookup = "mov %r6, %r1\nstdw [%r10-16], 0\nstdw [%r10-8], 0\nmov %r2, %r10\nadd %r2, -16\nmov %r3, 12\nmov %r4, -1\nmov %r5, 0\ncall 99\n"
        let result = try verify(lookup + "jeq %r0, 0, +7\nmov %r7, %r0\nmov %r1, %r0\ncall 95\nmov %r8, %r0\nmov %r1, %r7\ncall 86\nldxw %r0, [%r8+4]\nmov %r0, 0\nexit")
        guard case .invalidMemoryAccess(_, 8, "scalar", _)? = result.refusal?.error else {
            Issue.record("expected a read of a released socket to be refused, got \(result.summary)"); return
        }
    }
}
