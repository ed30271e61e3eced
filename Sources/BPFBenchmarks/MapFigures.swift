import BPFKit
import BPFToolchain
import Foundation
import Synchronization

/// Issue 3's map figures: lookups in a 10,000-entry hash map and array with 4-byte
/// keys, from a BPF program (BPFKit's engines and Linux) and as direct calls into
/// BPFMaps, and concurrent updates into one hash map from 1 and 2 threads.
public struct MapFigures: Sendable {
    /// Lookups one program run makes (all keys present).
    public static let lookupsPerRun = 256
    public static let entries = 10_000

    /// One map's lookups from a program on one engine.
    ///
    /// Method: `hash_lookup`/`array_lookup` do 256 lookups per run; `lookup_loop` is
    /// the same loop (key computed, stored to the stack, summed) without the helper
    /// call. `nsPerLookup` is the lookup program's time over 256, as measured;
    /// `nsPerLookupNet` subtracts the loop's time first, leaving the helper call and
    /// the map's own work.
    public struct ProgramLookup: Sendable {
        public var engine: String
        public var map: String
        public var nsPerRun: Double
        public var loopNsPerRun: Double
        public var nsPerLookup: Double { nsPerRun / Double(MapFigures.lookupsPerRun) }
        public var nsPerLookupNet: Double { (nsPerRun - loopNsPerRun) / Double(MapFigures.lookupsPerRun) }
    }

    /// One operation called directly on a BPFMaps map.
    public struct DirectCall: Sendable {
        public var name: String
        public var timing: Timing
        /// The figure issue 3 asks for, if any (nanoseconds).
        public var targetNanoseconds: Double?
        public var meetsTarget: Bool? { targetNanoseconds.map { timing.median <= $0 } }
    }

    /// Updates into one hash map from several threads at once, each incrementing its own keys.
    public struct ConcurrentUpdates: Sendable {
        public var threads: Int
        public var updatesPerSecond: Double
        public var updates: Int
        /// Increments missing from the final counts, over every round (0: none lost).
        public var lost: Int
    }

    public var fromProgram: [ProgramLookup] = []
    /// From a program: one helper call that does almost nothing (bpf_get_smp_processor_id),
    /// net of the loop, per engine: the part of a lookup's cost that is the call itself.
    public var helperCallNanoseconds: [(engine: String, value: Double)] = []
    public var directCalls: [DirectCall] = []
    /// Where a direct hash lookup's time goes: the lookup under different cache
    /// conditions, and replicas of its steps (BPFMaps' hash, bucket lock, key compare).
    public var hashLookupBreakdown: [DirectCall] = []
    public var concurrentUpdates: [ConcurrentUpdates] = []
    /// What could not be measured, and why.
    public var skipped: [String: String] = [:]
    /// Verification of the three lookup programs (BPFKit), for the record.
    public var notes: [String] = []

    static func measure(options: BenchmarkOptions, clang: Clang, directory: String) throws(BenchmarkFailure) -> MapFigures {
        var figures = MapFigures()
        figures.measureDirectCalls(options)
        figures.measureHashBreakdown(options)
        figures.measureConcurrentUpdates(options)
        let path = try compileBPFObject(name: "maps", source: WorkloadSources.mapPrelude + WorkloadSources.mapLookups,
                                        clang: clang, directory: directory)
        let spec: ObjectSpec
        do {
            spec = try ObjectSpec(contentsOf: path)
        } catch {
            throw BenchmarkFailure(description: "maps: \(error)")
        }
        figures.measurePrograms(spec, options)
        return figures
    }

    // MARK: From a program

    static let programs = ["hash_lookup", "array_lookup", "lookup_loop", "helper_loop"]
    static let packet = Packets.tcp(size: 64)

    /// Every map value is its key times 3; the sums the programs return follow.
    static func expectedResult(_ program: String) -> UInt32 {
        let seed = packet.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
        var sum: UInt64 = 0
        for i in 0..<UInt32(lookupsPerRun) {
            let key = UInt64((seed &+ i &* 37) & 8191)
            switch program {
            case "lookup_loop": sum &+= key
            case "helper_loop": sum &+= key &+ 1  // bpf_get_smp_processor_id() < 2^32, checked separately
            default: sum &+= key * 3
            }
        }
        return UInt32(truncatingIfNeeded: sum)
    }

    /// Sets up the four programs on every engine and on Linux, checks their results,
    /// then times all of them in interleaved rounds: the net figures subtract one
    /// program's time from another's, which only means something if both saw the same load.
    private mutating func measurePrograms(_ spec: ObjectSpec, _ options: BenchmarkOptions) {
        var allAccepted = true
        var verifications: [String: VerificationResult] = [:]
        for name in Self.programs {
            guard let program = spec.program(named: name) else {
                skipped["from a program"] = "the object has no program \(name)"
                return
            }
            let result = Verifier(options: VerifierOptions()).verify(VerifierInput(program: program, object: spec))
            verifications[name] = result
            if let refusal = result.refusal {
                allAccepted = false
                notes.append("BPFKit's verifier refused \(name) (run checked): \(refusal.message)")
            }
        }
        let mode: ExecutionMode = allAccepted ? .trusted : .checked
        // (engine, program) → batch: n runs, nanoseconds per run.
        var batches: [(engine: String, program: String, batch: (Int) throws(BenchmarkFailure) -> Double)] = []
        for engine in BenchmarkSuite(options: options).engines {
            do {
                let object = try LoadedObject(spec: spec, options: LoadOptions(mode: mode, verifies: allAccepted, engine: engine.engine))
                for map in ["hash", "array"] {
                    guard let target = object.map(named: map) else { throw BenchmarkFailure(description: "no map \(map)") }
                    for key in 0..<UInt32(Self.entries) { try target.update(key, UInt64(key) * 3) }
                }
                var prepared: [(String, (Int) throws(BenchmarkFailure) -> Double)] = []
                for name in Self.programs {
                    let run = try engine.prepare(object, name, verifications[name]!)
                    let first = UInt32(truncatingIfNeeded: try run(Self.packet))
                    guard name == "helper_loop" || first == Self.expectedResult(name) else {
                        throw BenchmarkFailure(description: "\(name) returned \(first), expected \(Self.expectedResult(name))")
                    }
                    prepared.append((name, { runs in Stopwatch.time(runs) { _ = try? run(Self.packet) } }))
                }
                batches += prepared.map { (engine.name, $0.0, $0.1) }
            } catch {
                skipped[engine.name] = "\(error)"
            }
        }
        batches += linuxBatches(spec, options)

        let results = Stopwatch.measureInterleaved(rounds: options.rounds, roundNanoseconds: options.roundNanoseconds,
                                                   batches: batches.map(\.batch))
        var times: [String: [String: Double]] = [:]
        for (entry, result) in zip(batches, results) {
            switch result {
            case .success(let timing): times[entry.engine, default: [:]][entry.program] = timing.median
            case .failure(let failure): skipped[entry.engine] = "\(entry.program): \(failure.description)"
            }
        }
        var engines = BenchmarkSuite(options: options).engines.map(\.name)
        engines.append("linux")
        for engine in engines {
            guard let figures = times[engine], figures.count == Self.programs.count else { continue }
            let loop = figures["lookup_loop"]!
            fromProgram.append(ProgramLookup(engine: engine, map: "hash", nsPerRun: figures["hash_lookup"]!, loopNsPerRun: loop))
            fromProgram.append(ProgramLookup(engine: engine, map: "array", nsPerRun: figures["array_lookup"]!, loopNsPerRun: loop))
            helperCallNanoseconds.append((engine, (figures["helper_loop"]! - loop) / Double(Self.lookupsPerRun)))
        }
    }

    /// The four programs loaded into Linux (maps filled as for BPFKit), results checked;
    /// each batch is the kernel's own per-run time of BPF_PROG_TEST_RUN with `repeat`.
    private mutating func linuxBatches(_ spec: ObjectSpec, _ options: BenchmarkOptions)
        -> [(engine: String, program: String, batch: (Int) throws(BenchmarkFailure) -> Double)] {
        guard BPFSyscall.isAvailable else {
            skipped["linux"] = "bpf() is not available here"
            return []
        }
        do {
            let collection = try KernelCollection(spec: spec)
            for map in ["hash", "array"] {
                guard let target = collection.maps[map] else { throw BenchmarkFailure(description: "no map \(map)") }
                for key in 0..<UInt32(Self.entries) {
                    try target.update(key: withUnsafeBytes(of: key) { Array($0) },
                                      value: withUnsafeBytes(of: UInt64(key) * 3) { Array($0) })
                }
            }
            var batches: [(engine: String, program: String, batch: (Int) throws(BenchmarkFailure) -> Double)] = []
            for name in Self.programs {
                guard let program = try BenchmarkSuite.loadWithTimeLimit(collection, name, seconds: options.linuxLoadSeconds) else {
                    throw BenchmarkFailure(description: "Linux's verifier did not finish loading \(name) within \(options.linuxLoadSeconds) s")
                }
                let first = try program.testRun(data: Self.packet)
                guard name == "helper_loop" || first.returnValue == Self.expectedResult(name) else {
                    throw BenchmarkFailure(description: "\(name) returned \(first.returnValue) on Linux, expected \(Self.expectedResult(name))")
                }
                batches.append(("linux", name, { runs throws(BenchmarkFailure) -> Double in
                    // The collection owns the maps the program uses; keep it with the program.
                    withExtendedLifetime(collection) {}
                    do {
                        return Double(try program.testRun(data: Self.packet, repeatCount: UInt32(min(runs, Int(UInt32.max)))).durationNanoseconds)
                    } catch {
                        throw BenchmarkFailure(description: "\(error)")
                    }
                }))
            }
            return batches
        } catch let error as KernelLoadError {
            skipped["linux"] = "Linux refused it: \(error.summary)"
        } catch {
            skipped["linux"] = "\(error)"
        }
        return []
    }

    // MARK: Direct calls

    /// 4,096 keys below 10,000 in a scattered order (a fixed linear congruential sequence).
    static let scatteredKeys: [UInt32] = {
        var state: UInt32 = 12345
        return (0..<4096).map { _ in
            state = state &* 1_664_525 &+ 1_013_904_223
            return (state >> 8) % UInt32(entries)
        }
    }()

    private mutating func measureDirectCalls(_ options: BenchmarkOptions) {
        for (type, target) in [(MapType.hash, 30.0), (MapType.array, 5.0)] {
            let map: any BPFMap
            do {
                map = try MapFactory.make(MapDefinition(type: type, keySize: 4, valueSize: 8, maxEntries: UInt32(Self.entries)))
                for key in 0..<UInt32(Self.entries) { try map.update(key, UInt64(key) * 3) }
            } catch {
                skipped["\(type.name) direct"] = "\(error)"
                continue
            }
            do {
                // The program face through the existential, as the lookup helper calls it.
                let timing = try Self.scatteredKeys.withUnsafeBufferPointer { keys throws(BenchmarkFailure) -> Timing in
                    try Stopwatch.measure(rounds: options.rounds, roundNanoseconds: options.roundNanoseconds) { runs in
                        Self.timeLookups(map, keys, runs)
                    }
                }
                directCalls.append(DirectCall(name: "\(type.name) lookup, program face", timing: timing, targetNanoseconds: target))
                let keyBytes = Self.scatteredKeys.map { key in withUnsafeBytes(of: key) { Array($0) } }
                let userTiming = try Stopwatch.measure(rounds: options.rounds, roundNanoseconds: options.roundNanoseconds) { runs in
                    var sink = 0
                    let start = ContinuousClock.now
                    for index in 0..<runs { sink &+= (try? map.lookup(key: keyBytes[index & 4095]))?.count ?? 0 }
                    blackHole(sink)
                    return Self.nanoseconds(since: start) / Double(runs)
                }
                directCalls.append(DirectCall(name: "\(type.name) lookup, user-space face", timing: userTiming))
                let updateTiming = try Self.scatteredKeys.withUnsafeBufferPointer { keys throws(BenchmarkFailure) -> Timing in
                    try Stopwatch.measure(rounds: options.rounds, roundNanoseconds: options.roundNanoseconds) { runs in
                        Self.timeUpdates(map, keys, runs)
                    }
                }
                directCalls.append(DirectCall(name: "\(type.name) update (existing key), program face", timing: updateTiming))
            } catch {
                skipped["\(type.name) direct"] = "\(error)"
            }
        }
    }

    /// Times the hash lookup with one hot key, keys in order and scattered keys, and
    /// replicas of its steps: KeyHash for a 4-byte key, an uncontended bucket spin lock
    /// (compare-exchange acquire, release store) and the 4-byte `memcmp` of the key.
    private mutating func measureHashBreakdown(_ options: BenchmarkOptions) {
        let map: any BPFMap
        do {
            map = try MapFactory.make(MapDefinition(type: .hash, keySize: 4, valueSize: 8, maxEntries: UInt32(Self.entries)))
            for key in 0..<UInt32(Self.entries) { try map.update(key, UInt64(key) * 3) }
        } catch {
            skipped["hash breakdown"] = "\(error)"
            return
        }
        let cases: [(String, [UInt32])] = [("hash lookup, one hot key", [UInt32](repeating: 42, count: 4096)),
                                           ("hash lookup, 4,096 keys in order", (0..<4096).map { UInt32($0) }),
                                           ("hash lookup, 4,096 scattered keys", Self.scatteredKeys)]
        do {
            for (name, keys) in cases {
                let timing = try keys.withUnsafeBufferPointer { buffer throws(BenchmarkFailure) -> Timing in
                    try Stopwatch.measure(rounds: options.rounds, roundNanoseconds: options.roundNanoseconds) { runs in
                        Self.timeLookups(map, buffer, runs)
                    }
                }
                hashLookupBreakdown.append(DirectCall(name: name, timing: timing))
            }
            if let concrete = map as? HashMap {
                let hot = [UInt32](repeating: 42, count: 4096)
                let timing = try hot.withUnsafeBufferPointer { buffer throws(BenchmarkFailure) -> Timing in
                    try Stopwatch.measure(rounds: options.rounds, roundNanoseconds: options.roundNanoseconds) { runs in
                        Self.timeConcreteLookups(concrete, buffer, runs)
                    }
                }
                hashLookupBreakdown.append(DirectCall(name: "hash lookup, one hot key, HashMap not any BPFMap", timing: timing))
            }
            let steps: [(String, (UnsafeRawPointer, Int) -> Double)] = [
                ("step: KeyHash of a 4-byte key (replica)", Self.timeKeyHash),
                ("step: bucket spin lock + unlock (replica)", Self.timeSpinLock),
                ("step: memcmp of the 4-byte key", Self.timeMemcmp),
                ("helper step: [UInt64: object] lookup (replica)", Self.timeHandleLookup),
                ("helper step: copy {name, closure} out of an array, call it (replica)", Self.timeBoundHelperCall),
            ]
            for (name, step) in steps {
                let timing = try Self.scatteredKeys.withUnsafeBytes { keys throws(BenchmarkFailure) -> Timing in
                    try Stopwatch.measure(rounds: options.rounds, roundNanoseconds: options.roundNanoseconds) { runs in
                        step(keys.baseAddress!, runs)
                    }
                }
                hashLookupBreakdown.append(DirectCall(name: name, timing: timing))
            }
        } catch {
            skipped["hash breakdown"] = "\(error)"
        }
    }

    /// BPFMaps' KeyHash for a 4-byte key, step for step (the type is internal to BPFMaps).
    @inline(never)
    static func timeKeyHash(_ keys: UnsafeRawPointer, _ runs: Int) -> Double {
        var sink: UInt64 = 0
        let seed: UInt64 = 0x1234_5678
        let start = ContinuousClock.now
        for index in 0..<runs {
            // index & 4095 < 4,096 keys of 4 bytes.
            let key = keys + (index & 4095) * 4
            var state = seed ^ 0xa076_1d64_78bd_642f
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            for offset in 0..<4 {
                tail |= UInt64(key.load(fromByteOffset: offset, as: UInt8.self)) << shift
                shift += 8
            }
            state ^= tail ^ 4
            let product = state.multipliedFullWidth(by: 0x8ebc_6af0_9c88_c6e3)
            sink &+= product.high ^ product.low
        }
        let elapsed = nanoseconds(since: start)
        blackHole(sink)
        return elapsed / Double(runs)
    }

    @inline(never)
    static func timeSpinLock(_ keys: UnsafeRawPointer, _ runs: Int) -> Double {
        let word = Atomic<UInt32>(0)
        let start = ContinuousClock.now
        for _ in 0..<runs {
            while !word.compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged {}
            word.store(0, ordering: .releasing)
        }
        return nanoseconds(since: start) / Double(runs)
    }

    final class HandleEntry { let value: Int; init(_ value: Int) { self.value = value } }

    /// A replica of the map helpers' first step in BPFLoader (`MapHandleTable.map`): the
    /// map handle in r1 looked up in a `[UInt64: Entry]` dictionary of a few maps.
    @inline(never)
    static func timeHandleLookup(_ keys: UnsafeRawPointer, _ runs: Int) -> Double {
        let handles: [UInt64] = (0..<4).map { UInt64(0x7f00_0000_1000 + $0 * 0x140) }
        var table: [UInt64: HandleEntry] = [:]
        for (index, handle) in handles.enumerated() { table[handle] = HandleEntry(index) }
        var sink: UInt64 = 0
        let start = ContinuousClock.now
        for index in 0..<runs {
            if let entry = table[handles[index & 3]] { sink &+= UInt64(entry.value) }
        }
        let elapsed = nanoseconds(since: start)
        blackHole(sink)
        return elapsed / Double(runs)
    }

    /// A replica of how the interpreter reaches a helper: a struct holding the helper's
    /// name and body copied out of the program's array of bound helpers, then called.
    struct BoundHelper {
        let id: Int32
        let name: String
        let body: @Sendable (UInt64, UInt64) throws(BenchmarkFailure) -> UInt64
    }

    @inline(never)
    static func timeBoundHelperCall(_ keys: UnsafeRawPointer, _ runs: Int) -> Double {
        let helpers = (0..<4).map { id in
            BoundHelper(id: Int32(id), name: "bpf_helper_\(id)_with_a_long_name") { a, b throws(BenchmarkFailure) in a &+ b &+ UInt64(id) }
        }
        var sink: UInt64 = 0
        let start = ContinuousClock.now
        for index in 0..<runs {
            let helper = helpers[index & 3]
            sink &+= (try? helper.body(sink, UInt64(index))) ?? 0
        }
        let elapsed = nanoseconds(since: start)
        blackHole(sink)
        return elapsed / Double(runs)
    }

    @inline(never)
    static func timeMemcmp(_ keys: UnsafeRawPointer, _ runs: Int) -> Double {
        var sink: UInt64 = 0
        let count = 4
        let start = ContinuousClock.now
        for index in 0..<runs {
            // Both pointers address 4 bytes inside the 16 KiB key buffer.
            sink &+= UInt64(bitPattern: Int64(memcmp(keys + (index & 4095) * 4, keys + ((index + 1) & 4095) * 4, count)))
        }
        let elapsed = nanoseconds(since: start)
        blackHole(sink)
        return elapsed / Double(runs)
    }

    @inline(never)
    static func timeLookups(_ map: any BPFMap, _ keys: UnsafeBufferPointer<UInt32>, _ runs: Int) -> Double {
        let base = UnsafeRawPointer(keys.baseAddress!)
        var sink = 0
        let start = ContinuousClock.now
        for index in 0..<runs {
            // index & 4095 < keys.count (4,096), so the key pointer is inside the buffer.
            if let value = map.lookup(key: base + (index & 4095) * 4, cpu: 0) {
                sink &+= Int(bitPattern: value)
            }
        }
        let elapsed = nanoseconds(since: start)
        blackHole(sink)
        return elapsed / Double(runs)
    }

    /// As ``timeLookups`` through the concrete class, without the existential's dispatch.
    @inline(never)
    static func timeConcreteLookups(_ map: HashMap, _ keys: UnsafeBufferPointer<UInt32>, _ runs: Int) -> Double {
        let base = UnsafeRawPointer(keys.baseAddress!)
        var sink = 0
        let start = ContinuousClock.now
        for index in 0..<runs {
            // index & 4095 < keys.count (4,096), so the key pointer is inside the buffer.
            if let value = map.lookup(key: base + (index & 4095) * 4, cpu: 0) {
                sink &+= Int(bitPattern: value)
            }
        }
        let elapsed = nanoseconds(since: start)
        blackHole(UInt64(bitPattern: Int64(sink)))
        return elapsed / Double(runs)
    }

    @inline(never)
    static func timeUpdates(_ map: any BPFMap, _ keys: UnsafeBufferPointer<UInt32>, _ runs: Int) -> Double {
        let base = UnsafeRawPointer(keys.baseAddress!)
        var value: UInt64 = 0
        var failures = 0
        let start = ContinuousClock.now
        for index in 0..<runs {
            value &+= 1
            // The key pointer is inside the 4,096-key buffer; `value` is 8 bytes, the value size.
            failures &+= Int(map.update(key: base + (index & 4095) * 4, value: &value, flags: UpdateFlags.any, cpu: 0))
        }
        let elapsed = nanoseconds(since: start)
        blackHole(failures)
        return elapsed / Double(runs)
    }

    static func nanoseconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
    }

    // MARK: Concurrent updates

    /// Keys the threads share out (thread t owns the keys k with k % threads == t).
    static let updateKeys = 8192

    /// Each thread passes over its own keys, incrementing each: a lookup, then an
    /// update with BPF_NOEXIST (first pass, inserting) or BPF_EXIST. The map starts
    /// empty, so the first pass inserts concurrently. Afterwards every key must hold
    /// the number of passes: any shortfall is a lost update.
    private mutating func measureConcurrentUpdates(_ options: BenchmarkOptions) {
        let passes = options.quick ? 24 : 200
        for threads in BenchmarkSuite.scalingThreadCounts {
            var rates: [Double] = []
            var lost = 0
            for _ in 0..<3 {
                let map: HashMap
                do {
                    map = try HashMap(MapDefinition(type: .hash, keySize: 4, valueSize: 8, maxEntries: UInt32(Self.entries)))
                } catch {
                    skipped["concurrent updates"] = "\(error)"
                    return
                }
                let seconds = Self.runUpdateThreads(map, threads: threads, passes: passes)
                rates.append(Double(passes * Self.updateKeys) / seconds)
                for key in 0..<UInt32(Self.updateKeys) {
                    let value = (try? map.lookup(key, as: UInt64.self)) ?? nil
                    lost += passes - Int(value ?? 0)
                }
                if map.count != Self.updateKeys { lost += abs(Self.updateKeys - map.count) }
            }
            rates.sort()
            concurrentUpdates.append(ConcurrentUpdates(threads: threads, updatesPerSecond: rates[rates.count / 2],
                                                       updates: passes * Self.updateKeys, lost: lost))
        }
    }

    /// Wall-clock seconds for `threads` threads to do `passes` passes over their keys.
    static func runUpdateThreads(_ map: HashMap, threads: Int, passes: Int) -> Double {
        let ready = DispatchSemaphore(value: 0)
        let start = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        for thread in 0..<threads {
            Thread.detachNewThread {
                ready.signal()
                start.wait()
                for pass in 0..<passes {
                    var key = UInt32(thread)
                    while key < UInt32(updateKeys) {
                        var next: UInt64 = 1
                        if let value = map.lookup(key: &key, cpu: thread) {
                            // The pointer is this key's value slot, which only this thread writes.
                            next = value.load(as: UInt64.self) + 1
                        }
                        let code = map.update(key: &key, value: &next, flags: pass == 0 ? UpdateFlags.noExist : UpdateFlags.exist, cpu: thread)
                        blackHole(code)
                        key += UInt32(threads)
                    }
                }
                done.signal()
            }
        }
        for _ in 0..<threads { ready.wait() }
        let began = ContinuousClock.now
        for _ in 0..<threads { start.signal() }
        for _ in 0..<threads { done.wait() }
        return nanoseconds(since: began) / 1e9
    }
}
