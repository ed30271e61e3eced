import Foundation
import Synchronization
import Testing
import BPFToolchain
import BPFABI
import BPFObject
import BPFLinux
@testable import BPFVerifier
#if canImport(Glibc)
import Glibc
#endif

/// bpf_spin_lock/bpf_spin_unlock, constant-string arguments and bpf_snprintf formats:
/// for each rule a program Linux accepts and one it refuses, compiled from C. BPFKit's
/// verdict (the rule that refused) is checked against the expectation, and, where
/// `bpf()` and libbpf are available, against the kernel's verdict for the same object.
@Suite struct SpinLockAndStringTests {
    /// One program of a fixture: its name and the VerifierError kind expected (`ok`: accepted).
    typealias Expectation = (program: String, expected: String)

    static let lockSource = """
        struct val { int cnt; struct bpf_spin_lock lock; };
        struct inner { int a; struct bpf_spin_lock lock; };
        struct nested { long x; struct inner in; };
        struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, int); __type(value, struct val); } arr SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4); __type(key, int); __type(value, struct val); } hsh SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, int); __type(value, struct nested); } nst SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 1); __type(key, int); __type(value, struct val); } pcpu SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_LRU_HASH); __uint(max_entries, 4); __type(key, int); __type(value, struct val); } lru SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 1); __type(key, int); __type(value, int); } jumps SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, int); __type(value, long); } plain SEC(".maps");
        struct bpf_spin_lock glock SEC(".data.locked");
        int gcount SEC(".data.locked");

        #define LOOKUP(map, name) int key_##name = 0; struct val *name = bpf_map_lookup_elem(&map, &key_##name); if (!name) return 0
        static __attribute__((noinline)) int add_one(int x) { return x + 1; }
        __attribute__((noinline)) int global_add(int x) { return x + 2; }
        static __attribute__((noinline)) int lock_it(struct val *v) { bpf_spin_lock(&v->lock); return 0; }

        SEC("tc") int locked_ok(struct __sk_buff *ctx) { LOOKUP(arr, v); bpf_spin_lock(&v->lock); v->cnt++; bpf_spin_unlock(&v->lock); return 0; }
        SEC("tc") int hash_ok(struct __sk_buff *ctx) { LOOKUP(hsh, v); bpf_spin_lock(&v->lock); v->cnt++; bpf_spin_unlock(&v->lock); return 0; }
        SEC("tc") int nested_ok(struct __sk_buff *ctx) {
            int k = 0; struct nested *v = bpf_map_lookup_elem(&nst, &k); if (!v) return 0;
            bpf_spin_lock(&v->in.lock); v->x++; bpf_spin_unlock(&v->in.lock); return 0;
        }
        SEC("tc") int global_data_ok(struct __sk_buff *ctx) { bpf_spin_lock(&glock); gcount++; bpf_spin_unlock(&glock); return 0; }
        SEC("tc") int static_call_ok(struct __sk_buff *ctx) { LOOKUP(arr, v); bpf_spin_lock(&v->lock); v->cnt = add_one(v->cnt); bpf_spin_unlock(&v->lock); return 0; }
        SEC("tc") int subprogram_locks_ok(struct __sk_buff *ctx) { LOOKUP(arr, v); lock_it(v); v->cnt++; bpf_spin_unlock(&v->lock); return 0; }
        SEC("xdp") int xdp_ok(struct xdp_md *ctx) { LOOKUP(arr, v); bpf_spin_lock(&v->lock); v->cnt++; bpf_spin_unlock(&v->lock); return 0; }

        SEC("tc") int exit_locked(struct __sk_buff *ctx) { LOOKUP(arr, v); bpf_spin_lock(&v->lock); v->cnt++; return 0; }
        SEC("tc") int helper_locked(struct __sk_buff *ctx) { LOOKUP(arr, v); bpf_spin_lock(&v->lock); v->cnt = bpf_get_prandom_u32(); bpf_spin_unlock(&v->lock); return 0; }
        SEC("tc") int relock(struct __sk_buff *ctx) { LOOKUP(arr, v); LOOKUP(hsh, w); bpf_spin_lock(&v->lock); bpf_spin_lock(&w->lock); bpf_spin_unlock(&w->lock); bpf_spin_unlock(&v->lock); return 0; }
        SEC("tc") int global_call_locked(struct __sk_buff *ctx) { LOOKUP(arr, v); bpf_spin_lock(&v->lock); v->cnt = global_add(v->cnt); bpf_spin_unlock(&v->lock); return 0; }
        SEC("tc") int tail_call_locked(struct __sk_buff *ctx) { LOOKUP(arr, v); bpf_spin_lock(&v->lock); bpf_tail_call(ctx, &jumps, 0); bpf_spin_unlock(&v->lock); return 0; }
        SEC("tc") int packet_load_locked(struct __sk_buff *ctx) {
            LOOKUP(arr, v);
            bpf_spin_lock(&v->lock);
            unsigned long long byte;
            asm volatile("r6 = %1; r0 = *(u8 *)skb[0]; %0 = r0" : "=r"(byte) : "r"(ctx) : "r0", "r1", "r2", "r3", "r4", "r5", "r6");
            v->cnt = byte;
            bpf_spin_unlock(&v->lock);
            return 0;
        }
        SEC("tc") int unlock_unlocked(struct __sk_buff *ctx) { LOOKUP(arr, v); bpf_spin_unlock(&v->lock); return 0; }
        SEC("tc") int unlock_other(struct __sk_buff *ctx) { LOOKUP(arr, v); LOOKUP(arr, w); bpf_spin_lock(&v->lock); bpf_spin_unlock(&w->lock); return 0; }
        SEC("tc") int wrong_offset(struct __sk_buff *ctx) { LOOKUP(arr, v); bpf_spin_lock((void *)&v->cnt); bpf_spin_unlock((void *)&v->cnt); return 0; }
        SEC("tc") int variable_offset(struct __sk_buff *ctx) {
            LOOKUP(arr, v);
            void *lock = (void *)v + (ctx->len & 4);
            bpf_spin_lock(lock); bpf_spin_unlock(lock); return 0;
        }
        SEC("tc") int stack_lock(struct __sk_buff *ctx) { struct bpf_spin_lock l = {}; bpf_spin_lock(&l); bpf_spin_unlock(&l); return 0; }
        SEC("tc") int percpu_lock(struct __sk_buff *ctx) { LOOKUP(pcpu, v); bpf_spin_lock(&v->lock); v->cnt++; bpf_spin_unlock(&v->lock); return 0; }
        SEC("tc") int lru_lock(struct __sk_buff *ctx) { LOOKUP(lru, v); bpf_spin_lock(&v->lock); v->cnt++; bpf_spin_unlock(&v->lock); return 0; }
        SEC("tc") int lock_read(struct __sk_buff *ctx) { LOOKUP(arr, v); return *(volatile int *)&v->lock; }
        SEC("tc") int lock_written(struct __sk_buff *ctx) { LOOKUP(arr, v); *(volatile long *)v = 0; return 0; }
        SEC("tc") int lock_copied_by_helper(struct __sk_buff *ctx) { LOOKUP(arr, v); bpf_map_update_elem(&arr, &key_v, v, 0); return 0; }
        SEC("kprobe/do_nanosleep") int kprobe_lock_map(void *ctx) { LOOKUP(arr, v); return v->cnt; }
        SEC("socket") int socket_lock_map(struct __sk_buff *ctx) { LOOKUP(arr, v); return v->cnt; }
        SEC("tc") int lock_on_one_path(struct __sk_buff *ctx) {
            LOOKUP(arr, v);
            if (bpf_get_prandom_u32() & 1) bpf_spin_lock(&v->lock);
            bpf_spin_unlock(&v->lock);
            return 0;
        }
        SEC("tc") int locks_differ_by_path(struct __sk_buff *ctx) {
            LOOKUP(hsh, v); int other = 1; struct val *w = bpf_map_lookup_elem(&hsh, &other); if (!w) return 0;
            if (bpf_get_prandom_u32() & 1) bpf_spin_lock(&v->lock); else bpf_spin_lock(&w->lock);
            v->cnt++;
            bpf_spin_unlock(&v->lock);
            return 0;
        }
        static int lock_in_callback(__u32 i, void *ctx) { bpf_spin_lock(&glock); gcount++; return 0; }
        static int locked_callback(__u32 i, void *ctx) { bpf_spin_lock(&glock); gcount++; bpf_spin_unlock(&glock); return 0; }
        SEC("tc") int callback_keeps_lock(struct __sk_buff *ctx) { bpf_loop(4, lock_in_callback, 0, 0); bpf_spin_unlock(&glock); return 0; }
        SEC("tc") int callback_locks_ok(struct __sk_buff *ctx) { bpf_loop(4, locked_callback, 0, 0); return 0; }
        SEC("tc") int no_lock_in_value(struct __sk_buff *ctx) {
            int k = 0; long *v = bpf_map_lookup_elem(&plain, &k); if (!v) return 0;
            bpf_spin_lock((void *)v); bpf_spin_unlock((void *)v); return 0;
        }
        SEC("tc") int callback_returns_locked(struct __sk_buff *ctx) { bpf_loop(4, lock_in_callback, 0, 0); return 0; }
        SEC("tc") int beside_lock_ok(struct __sk_buff *ctx) { LOOKUP(arr, v); return *(volatile int *)&v->cnt; }
        SEC("tc") int atomic_on_lock(struct __sk_buff *ctx) { LOOKUP(arr, v); __sync_fetch_and_add((int *)&v->lock, 1); return 0; }
        SEC("tc") int index_may_reach_lock(struct __sk_buff *ctx) {
            LOOKUP(arr, v);
            int *words = (int *)v;
            return words[ctx->len & 1];
        }
        SEC("tc") int index_stays_before_lock_ok(struct __sk_buff *ctx) {
            int k = 0; struct nested *v = bpf_map_lookup_elem(&nst, &k); if (!v) return 0;
            int *words = (int *)v;
            return words[ctx->len & 1];
        }
        SEC("tc") int unlock_on_every_path_ok(struct __sk_buff *ctx) {
            LOOKUP(arr, v);
            bpf_spin_lock(&v->lock);
            if (v->cnt > 10) { v->cnt = 0; bpf_spin_unlock(&v->lock); return 1; }
            v->cnt++;
            bpf_spin_unlock(&v->lock);
            return 0;
        }
        """

    static let lockExpectations: [Expectation] = [
        ("locked_ok", "ok"), ("hash_ok", "ok"), ("nested_ok", "ok"), ("global_data_ok", "ok"), ("static_call_ok", "ok"),
        ("subprogram_locks_ok", "ok"), ("xdp_ok", "ok"), ("unlock_on_every_path_ok", "ok"), ("callback_locks_ok", "ok"),
        ("callback_keeps_lock", "spin_lock"), ("callback_returns_locked", "lock_held"), ("beside_lock_ok", "ok"),
        ("atomic_on_lock", "spin_lock_access"), ("index_may_reach_lock", "spin_lock_access"), ("index_stays_before_lock_ok", "ok"), ("no_lock_in_value", "spin_lock"),
        ("exit_locked", "lock_held"), ("helper_locked", "lock_held"), ("relock", "lock_held"),
        ("global_call_locked", "lock_held"), ("tail_call_locked", "lock_held"), ("packet_load_locked", "lock_held"),
        ("unlock_unlocked", "spin_lock"), ("unlock_other", "spin_lock"), ("wrong_offset", "spin_lock"),
        ("variable_offset", "spin_lock"), ("stack_lock", "helper_arg"), ("percpu_lock", "spin_lock"), ("lru_lock", "spin_lock"),
        ("lock_read", "spin_lock_access"), ("lock_written", "spin_lock_access"), ("lock_copied_by_helper", "spin_lock_access"),
        ("kprobe_lock_map", "spin_lock_prog_type"), ("socket_lock_map", "spin_lock_prog_type"),
        ("lock_on_one_path", "spin_lock"), ("locks_differ_by_path", "spin_lock"),
    ]

    /// A struct with two locks makes Linux refuse the object's whole BTF: every map is
    /// then created without it, and no lock can be taken.
    static let twoLockSource = """
        struct val { int cnt; struct bpf_spin_lock lock; };
        struct two { struct bpf_spin_lock a; struct bpf_spin_lock b; };
        struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, int); __type(value, struct val); } arr SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, int); __type(value, struct two); } twice SEC(".maps");
        SEC("tc") int two_locks_in_value(struct __sk_buff *ctx) {
            int k = 0; struct two *v = bpf_map_lookup_elem(&twice, &k); if (!v) return 0;
            bpf_spin_lock(&v->a); bpf_spin_unlock(&v->a); return 0;
        }
        SEC("tc") int one_lock_beside_two(struct __sk_buff *ctx) {
            int k = 0; struct val *v = bpf_map_lookup_elem(&arr, &k); if (!v) return 0;
            bpf_spin_lock(&v->lock); bpf_spin_unlock(&v->lock); return 0;
        }
        """

    static let stringSource = """
        char out[64];
        char writable_format[16] = "%d";
        const char thirteen_conversions[] = "%d %d %d %d %d %d %d %d %d %d %d %d %d";
        const char unterminated[4] SEC(".rodata.unterminated") = "abcd";
        #define FORMAT(name, text, count) SEC("xdp") int name(struct xdp_md *ctx) { \\
            static const char f[] = text; __u64 a[count ? count : 1] = {1}; return bpf_snprintf(out, sizeof(out), f, a, 8 * count); }
        FORMAT(format_ok, "x=%d y=%lld %5u|%-4x %08llX %c %%", 6)
        FORMAT(more_values_ok, "x=%d", 2)
        FORMAT(pointers_ok, "%p %pK %px %ps %pS %pB %pks %pus. %pI4 %pi6 %s", 11)
        FORMAT(too_few_values, "x=%d %d", 1)
        FORMAT(precision, "x=%.3d", 1)
        FORMAT(string_then_letter, "%sx", 1)
        FORMAT(unknown_conversion, "%f", 1)
        FORMAT(unknown_pointer, "%pM", 1)
        FORMAT(control_character, "a\\x01b", 0)
        SEC("xdp") int thirteen_values_ok(struct xdp_md *ctx) { __u64 a[13] = {1}; return bpf_snprintf(out, sizeof(out), thirteen_conversions, a, 104); }
        SEC("xdp") int data_len_not_multiple_of_8(struct xdp_md *ctx) { static const char f[] = "x=%d"; __u64 a[2] = {1}; return bpf_snprintf(out, sizeof(out), f, a, 12); }
        SEC("xdp") int variable_data_len(struct xdp_md *ctx) {
            static const char f[] = "x=%d"; __u64 a[2] = {1}; __u32 n = ctx->data_end - ctx->data;
            return bpf_snprintf(out, sizeof(out), f, a, n & 8);
        }
        SEC("xdp") int null_output_ok(struct xdp_md *ctx) { static const char f[] = "x=%d"; __u64 a[1] = {1}; return bpf_snprintf(0, 0, f, a, 8); }
        SEC("xdp") int null_output_with_size(struct xdp_md *ctx) { static const char f[] = "x=%d"; __u64 a[1] = {1}; return bpf_snprintf(0, 8, f, a, 8); }
        SEC("xdp") int null_data_ok(struct xdp_md *ctx) { static const char f[] = "plain"; return bpf_snprintf(out, sizeof(out), f, 0, 0); }
        SEC("xdp") int stack_format(struct xdp_md *ctx) { char f[] = "x=%d"; __u64 a[1] = {1}; return bpf_snprintf(out, sizeof(out), f, a, 8); }
        SEC("xdp") int writable_format_map(struct xdp_md *ctx) { __u64 a[1] = {1}; return bpf_snprintf(out, sizeof(out), writable_format, a, 8); }
        SEC("xdp") int variable_format_address(struct xdp_md *ctx) {
            static const char f[] = "ab%d"; __u64 a[1] = {1}; __u32 n = ctx->data_end - ctx->data;
            return bpf_snprintf(out, sizeof(out), f + (n & 1), a, 8);
        }
        SEC("xdp") int literal_format_ok(struct xdp_md *ctx) { __u64 a[1] = {7}; return bpf_snprintf(out, sizeof(out), "literal %d", a, 8); }
        SEC("xdp") int strncmp_ok(struct xdp_md *ctx) { static const char s[] = "abc"; return bpf_strncmp(out, 3, s); }
        SEC("xdp") int strncmp_stack(struct xdp_md *ctx) { char s[] = "abc"; return bpf_strncmp(out, 3, s); }
        SEC("xdp") int strncmp_unterminated(struct xdp_md *ctx) { return bpf_strncmp(out, 3, unterminated); }
        """

    static let stringExpectations: [Expectation] = [
        ("format_ok", "ok"), ("more_values_ok", "ok"), ("pointers_ok", "ok"), ("thirteen_values_ok", "ok"),
        ("null_output_ok", "ok"), ("null_data_ok", "ok"), ("strncmp_ok", "ok"), ("literal_format_ok", "ok"),
        ("too_few_values", "format"), ("precision", "format"), ("string_then_letter", "format"),
        ("unknown_conversion", "format"), ("unknown_pointer", "format"), ("control_character", "format"),
        ("data_len_not_multiple_of_8", "format"), ("variable_data_len", "format"),
        ("null_output_with_size", "helper_arg"), ("stack_format", "const_str"), ("writable_format_map", "const_str"),
        ("variable_format_address", "const_str"), ("strncmp_stack", "const_str"), ("strncmp_unterminated", "const_str"),
    ]

    @Test func spinLockRules() throws {
        try check(Self.lockSource, name: "locks", expectations: Self.lockExpectations)
    }

    @Test func twoLocksInOneStructLoseTheObjectsBTF() throws {
        try check(Self.twoLockSource, name: "twolocks",
                  expectations: [("two_locks_in_value", "spin_lock"), ("one_lock_beside_two", "spin_lock")])
    }

    @Test func constantStringAndFormatRules() throws {
        try check(Self.stringSource, name: "strings", expectations: Self.stringExpectations)
    }

    /// The lock is part of the state pruning compares: with it ignored, the second path
    /// of each program below reaches the unlock already proven safe and is pruned.
    @Test func pruningTellsHeldLocksApart() throws {
        guard let object = try CFixture.compile(Self.lockSource, name: "locks") else { return }
        for name in ["lock_on_one_path", "locks_differ_by_path"] {
            let program = try #require(object.spec.program(named: name))
            let input = VerifierInput(program: program, object: object.spec)
            #expect(input.maps.contains { $0.spinLockOffset != nil })
            let result = Verifier().verify(input)
            #expect(result.refusal?.error.kind == "spin_lock", "\(name): \(result.summary)")
            #expect(result.refusal?.hint.isEmpty == false)
        }
    }

    /// A refusal's state names the held lock: its map, the id of the pointer it was taken
    /// through and the instruction that took it.
    @Test func refusalStateShowsTheHeldLock() throws {
        guard let object = try CFixture.compile(Self.lockSource, name: "locks") else { return }
        let program = try #require(object.spec.program(named: "exit_locked"))
        let refusal = try #require(Verifier().verify(VerifierInput(program: program, object: object.spec)).refusal)
        guard case .lockHeld(_, let lockedAt, .exit) = refusal.error else {
            Issue.record("expected an exit with the lock held, got \(refusal.error)")
            return
        }
        #expect(refusal.state.contains("lock=map0,id=") && refusal.state.hasSuffix("@\(lockedAt)"), "\(refusal.state)")
        #expect(refusal.message.contains("insn \(lockedAt)"))
    }

    /// Where the lock is comes from the value's BTF type; maps that cannot hold a lock
    /// (per-CPU, LRU) are created without BTF, as Linux refuses theirs.
    @Test func lockOffsetsComeFromBTF() throws {
        guard let object = try CFixture.compile(Self.lockSource, name: "locks") else { return }
        let program = try #require(object.spec.program(named: "locked_ok"))
        let input = VerifierInput(program: program, object: object.spec)
        var described: [String: VerifierMap] = [:]
        for spec in object.spec.maps {
            var map = VerifierMap(spec)
            map.describeValue(from: spec, btf: try #require(object.spec.btf))
            described[spec.name] = map
        }
        #expect(described["arr"]?.spinLockOffset == 4)
        #expect(described["hsh"]?.spinLockOffset == 4)
        #expect(described["nst"]?.spinLockOffset == 12)
        #expect(described[".data.locked"]?.spinLockOffset == 0)
        #expect(described["pcpu"]?.spinLockOffset == nil && described["pcpu"]?.hasBTF == false)
        #expect(described["lru"]?.spinLockOffset == nil && described["lru"]?.hasBTF == false)
        #expect(described["jumps"]?.spinLockOffset == nil && described["jumps"]?.hasBTF == true)
        #expect(described["plain"]?.spinLockOffset == nil && described["plain"]?.hasBTF == true)
        #expect(input.maps.map(\.name) == ["arr"])
    }

    /// Linux offers bpf_spin_lock/unlock only with CAP_BPF and bpf_snprintf only with
    /// CAP_PERFMON; bpf_strncmp to every program.
    @Test func unprivilegedProgramsCannotLockOrFormat() throws {
        let unprivileged = Verifier(options: VerifierOptions(profile: .unprivileged))
        for (source, name, program, expected) in [(Self.lockSource, "locks", "locked_ok", "helper_unavailable"),
                                                  (Self.stringSource, "strings", "format_ok", "helper_unavailable"),
                                                  (Self.stringSource, "strings", "strncmp_ok", "ok")] {
            guard let object = try CFixture.compile(source, name: name) else { return }
            let spec = try #require(object.spec.program(named: program))
            let result = unprivileged.verify(VerifierInput(program: spec, object: object.spec))
            #expect((result.refusal?.error.kind ?? "ok") == expected, "\(program): \(result.summary)")
        }
    }

    /// `bpf_bprintf_prepare`'s rules, one format at a time.
    @Test(arguments: [
        ("%d %i %u %x %X", 5, true), ("%ld %lld %lu %llx %lX", 5, true), ("%-5d|%05d|%+d|% d", 4, true),
        ("100%%", 0, true), ("%c", 1, true), ("%s.", 1, true), ("%s", 1, true), ("%p", 1, true), ("%p-", 1, true),
        ("%pI4 %pi6", 2, true), ("%pks %pus", 2, true), ("%pK %px %ps %pS %pB", 5, true), ("%d", 3, true),
        ("%d", 0, false), ("%d %d", 1, false), ("%lllx", 1, false), ("%hd", 1, false), ("%.2d", 1, false),
        ("%5.2d", 1, false), ("%sa", 1, false), ("%pksa", 1, false), ("%pI5", 1, false), ("%pM", 1, false),
        ("%f", 1, false), ("%", 1, false), ("tab\there", 0, true), ("bell\u{07}", 0, false), ("é", 0, false),
    ])
    func formats(format: String, arguments: Int, valid: Bool) {
        let problem = BPFPrintfFormat.problem(Array(format.utf8), arguments: arguments)
        #expect((problem == nil) == valid, "\(format) with \(arguments): \(problem ?? "valid")")
    }

    /// Every new refusal has a message and a hint.
    @Test func refusalsExplainThemselves() {
        let errors: [VerifierError] = [
            .spinLock(pc: 1, register: 1, problem: .variableOffset),
            .spinLock(pc: 1, register: 1, problem: .mapWithoutBTF(map: "m")),
            .spinLock(pc: 1, register: 1, problem: .mapWithoutLock(map: "m")),
            .spinLock(pc: 1, register: 1, problem: .wrongOffset(offset: 0, lockOffset: 4)),
            .spinLock(pc: 1, register: 1, problem: .secondLock(heldSince: 0)),
            .spinLock(pc: 1, register: 1, problem: .unlockWithoutLock),
            .spinLock(pc: 1, register: 1, problem: .unlockOfDifferentLock(lockedAt: 0)),
            .lockHeld(pc: 1, lockedAt: 0, what: .helperCall), .lockHeld(pc: 1, lockedAt: 0, what: .globalFunctionCall),
            .lockHeld(pc: 1, lockedAt: 0, what: .exit), .lockHeld(pc: 1, lockedAt: 0, what: .legacyPacketLoad),
            .spinLockInProgramType(pc: 1, map: "m", programType: "kprobe", tracing: true), .spinLockAccessed(pc: 1, register: 0),
            .constantString(pc: 1, register: 3, problem: .notMapValue(kind: "fp")),
            .constantString(pc: 1, register: 3, problem: .notReadOnly),
            .constantString(pc: 1, register: 3, problem: .variableOffset),
            .constantString(pc: 1, register: 3, problem: .noDirectAccess),
            .constantString(pc: 1, register: 3, problem: .contentsUnknown(map: "m")),
            .constantString(pc: 1, register: 3, problem: .notTerminated),
            .invalidFormat(pc: 1, reason: "x"),
        ]
        for error in errors {
            #expect(error.pc == 1)
            #expect(!error.message.isEmpty && !error.hint.isEmpty, "\(error)")
        }
    }

    // MARK: Checking

    /// Verifies every expected program of the compiled `source` and compares with the
    /// expectation and with Linux (through libbpf, which creates maps with BTF and freezes .rodata).
    func check(_ source: String, name: String, expectations: [Expectation],
               sourceLocation: SourceLocation = #_sourceLocation) throws {
        guard let object = try CFixture.compile(source, name: name) else { return }
        let names = Set(object.spec.programs.map(\.name))
        // libbpf opens the object from a file: a temporary copy, removed at the end.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bpfverifier-\(name)-\(UUID().uuidString).o").path
        try Data(object.bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let kernel = KernelVerdicts(objectPath: path)
        if kernel == nil { Issue.record("skipped the comparison with Linux: \(KernelVerdicts.unavailableReason)", severity: .warning) }
        var compared = 0
        for (program, expected) in expectations {
            try #require(names.contains(program), "no program \(program)", sourceLocation: sourceLocation)
            let spec = object.spec.program(named: program)!
            let result = Verifier().verify(VerifierInput(program: spec, object: object.spec))
            let got = result.refusal?.error.kind ?? "ok"
            #expect(got == expected, "\(program): \(result.summary)", sourceLocation: sourceLocation)
            if let kernel, let linux = kernel.verdict(program) {
                compared += 1
                #expect(linux.accepted == result.isAccepted,
                        "\(program): Linux \(linux.accepted ? "accepts" : "refuses: \(linux.reason)"); BPFKit: \(result.summary)",
                        sourceLocation: sourceLocation)
            }
        }
        #expect(Set(expectations.map(\.program)) == names, "every program has an expectation", sourceLocation: sourceLocation)
        if kernel != nil {
            #expect(compared == expectations.count, "Linux gave a verdict for every program", sourceLocation: sourceLocation)
        }
    }
}

/// C fixtures compiled with the toolchain's clang and BPFKit's headers.
enum CFixture {
    struct Compiled { var spec: ObjectSpec; var bytes: [UInt8] }

    static var clang: String? { try? Clang.locate().path }

    static let prelude = """
        #include <linux/bpf.h>
        #include <bpf/bpf_helpers.h>
        char _license[] SEC("license") = "GPL";

        """

    private static let cache = Mutex<[String: Compiled]>([:])

    /// Compiles `source` once per test process (nil, with a recorded warning, without clang).
    static func compile(_ source: String, name: String) throws -> Compiled? {
        guard let clang else {
            Issue.record("skipped: clang not found (set BPFKIT_CLANG)", severity: .warning)
            return nil
        }
        if let compiled = cache.withLock({ $0[source] }) { return compiled }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bpfverifier-\(name)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try CHeaders.write(to: directory + "/include")
        let input = directory + "/\(name).c", output = directory + "/\(name).o"
        try (prelude + source).write(toFile: input, atomically: true, encoding: .utf8)
        do {
            try Clang(path: clang).compileBPF(source: input, output: output, includeDirectories: [directory + "/include"])
        } catch {
            Issue.record("clang failed: \(error)")
            return nil
        }
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: output)))
        let compiled = Compiled(spec: try ObjectSpec(bytes: bytes, name: name + ".o"), bytes: bytes)
        cache.withLock { $0[source] = compiled }
        return compiled
    }
}


/// Linux's verdicts for the programs of one object, loaded one at a time through the
/// system's libbpf (`libbpf.so.1`), which creates the maps with their BTF and freezes
/// `.rodata` as a real loader does. Nil when `bpf()` or libbpf is not available.
struct KernelVerdicts {
    struct Verdict { var accepted: Bool; var reason: String }

    private typealias OpenFile = @convention(c) (UnsafePointer<CChar>, UnsafeRawPointer?) -> OpaquePointer?
    private typealias NextProgram = @convention(c) (OpaquePointer?, OpaquePointer?) -> OpaquePointer?
    private typealias ProgramName = @convention(c) (OpaquePointer?) -> UnsafePointer<CChar>?
    private typealias SetAutoload = @convention(c) (OpaquePointer?, Bool) -> Int32
    private typealias SetLogBuffer = @convention(c) (OpaquePointer?, UnsafeMutablePointer<CChar>?, Int) -> Int32
    private typealias SetLogLevel = @convention(c) (OpaquePointer?, UInt32) -> Int32
    private typealias Load = @convention(c) (OpaquePointer?) -> Int32
    private typealias Close = @convention(c) (OpaquePointer?) -> Void
    private typealias SetPrint = @convention(c) (UnsafeRawPointer?) -> UnsafeRawPointer?

    private struct Library: @unchecked Sendable {
        // Function pointers into libbpf.so.1, which stays loaded for the whole process.
        var open: OpenFile, next: NextProgram, name: ProgramName, autoload: SetAutoload
        var logBuffer: SetLogBuffer, logLevel: SetLogLevel, load: Load, close: Close
    }

    private static let library: Library? = {
        guard BPFSyscall.isAvailable, let handle = dlopen("libbpf.so.1", RTLD_NOW) else { return nil }
        func symbol<T>(_ name: String, _ type: T.Type) -> T? {
            dlsym(handle, name).map { unsafeBitCast($0, to: type) }
        }
        guard let open = symbol("bpf_object__open_file", OpenFile.self), let next = symbol("bpf_object__next_program", NextProgram.self),
              let name = symbol("bpf_program__name", ProgramName.self), let autoload = symbol("bpf_program__set_autoload", SetAutoload.self),
              let logBuffer = symbol("bpf_program__set_log_buf", SetLogBuffer.self),
              let logLevel = symbol("bpf_program__set_log_level", SetLogLevel.self),
              let load = symbol("bpf_object__load", Load.self), let close = symbol("bpf_object__close", Close.self),
              let setPrint = symbol("libbpf_set_print", SetPrint.self) else { return nil }
        _ = setPrint(nil)  // libbpf's own messages would only repeat the log read below
        return Library(open: open, next: next, name: name, autoload: autoload, logBuffer: logBuffer, logLevel: logLevel,
                       load: load, close: close)
    }()

    static var unavailableReason: String {
        BPFSyscall.isAvailable ? "libbpf.so.1 was not found" : "the kernel's bpf() is not available here"
    }

    let objectPath: String
    private let library: Library

    init?(objectPath: String) {
        guard let library = Self.library else { return nil }
        self.objectPath = objectPath
        self.library = library
    }

    /// Loads only `program` of the object (maps and all) and returns the kernel's verdict.
    func verdict(_ program: String) -> Verdict? {
        guard let object = library.open(objectPath, nil) else { return nil }
        defer { library.close(object) }
        var log = [CChar](repeating: 0, count: 1 << 20)
        var found = false
        var current: OpaquePointer? = nil
        return log.withUnsafeMutableBufferPointer { buffer -> Verdict? in
            // `buffer` stays valid until the load below, which is the only writer.
            while let next = library.next(object, current) {
                current = next
                let name = library.name(next).map { String(cString: $0) } ?? ""
                _ = library.autoload(next, name == program)
                if name == program {
                    found = true
                    _ = library.logBuffer(next, buffer.baseAddress, buffer.count)
                    _ = library.logLevel(next, 1)
                }
            }
            guard found else { return nil }
            let status = library.load(object)
            let text = String(cString: buffer.baseAddress!)
            let lines = text.split(separator: "\n").filter { !$0.hasPrefix("processed ") && !$0.hasPrefix("verification time") }
            return Verdict(accepted: status == 0, reason: lines.last.map(String.init) ?? "errno \(-status)")
        }
    }
}
