import BPFKit
import BPFToolchain
import Foundation

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
    public var directCalls: [DirectCall] = []
    public var concurrentUpdates: [ConcurrentUpdates] = []
    /// What could not be measured, and why.
    public var skipped: [String: String] = [:]
    /// Verification of the three lookup programs (BPFKit), for the record.
    public var notes: [String] = []

    static func measure(options: BenchmarkOptions, clang: Clang, directory: String) throws(BenchmarkFailure) -> MapFigures {
        var figures = MapFigures()
        figures.measureDirectCalls(options)
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

    static let programs = ["hash_lookup", "array_lookup", "lookup_loop"]
    static let packet = Packets.tcp(size: 64)

    /// Every map value is its key times 3; the sums the programs return follow.
    static func expectedResult(_ program: String) -> UInt32 {
        let seed = packet.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
        var sum: UInt64 = 0
        for i in 0..<UInt32(lookupsPerRun) {
            let key = UInt64((seed &+ i &* 37) & 8191)
            sum &+= program == "lookup_loop" ? key : key * 3
        }
        return UInt32(truncatingIfNeeded: sum)
    }

    private mutating func measurePrograms(_ spec: ObjectSpec, _ options: BenchmarkOptions) {
        var allAccepted = true
        for name in Self.programs {
            guard let program = spec.program(named: name) else { continue }
            let result = Verifier(options: VerifierOptions()).verify(VerifierInput(program: program, maps: spec.maps))
            if let refusal = result.refusal {
                allAccepted = false
                notes.append("BPFKit's verifier refused \(name) (run checked): \(refusal.message)")
            }
        }
        let mode: ExecutionMode = allAccepted ? .trusted : .checked
        let suite = BenchmarkSuite(options: options)
        for engine in suite.engines {
            do {
                let object = try LoadedObject(spec: spec, options: LoadOptions(mode: mode))
                for map in ["hash", "array"] {
                    guard let target = object.map(named: map) else { throw BenchmarkFailure(description: "no map \(map)") }
                    for key in 0..<UInt32(Self.entries) { try target.update(key, UInt64(key) * 3) }
                }
                var times: [String: Double] = [:]
                for name in Self.programs {
                    let run = try engine.prepare(object, name, Verifier().verify(VerifierInput(program: spec.program(named: name)!, maps: spec.maps)))
                    let first = UInt32(truncatingIfNeeded: try run(Self.packet))
                    guard first == Self.expectedResult(name) else {
                        throw BenchmarkFailure(description: "\(name) returned \(first), expected \(Self.expectedResult(name))")
                    }
                    times[name] = try Stopwatch.measure(rounds: options.rounds, roundNanoseconds: options.roundNanoseconds) { runs in
                        Stopwatch.time(runs) { _ = try? run(Self.packet) }
                    }.median
                }
                fromProgram.append(ProgramLookup(engine: engine.name, map: "hash", nsPerRun: times["hash_lookup"]!, loopNsPerRun: times["lookup_loop"]!))
                fromProgram.append(ProgramLookup(engine: engine.name, map: "array", nsPerRun: times["array_lookup"]!, loopNsPerRun: times["lookup_loop"]!))
            } catch {
                skipped[engine.name] = "\(error)"
            }
        }
        measureLinux(spec, options)
    }

    private mutating func measureLinux(_ spec: ObjectSpec, _ options: BenchmarkOptions) {
        guard BPFSyscall.isAvailable else {
            skipped["linux"] = "bpf() is not available here"
            return
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
            var times: [String: Double] = [:]
            for name in Self.programs {
                guard let program = try BenchmarkSuite.loadWithTimeLimit(collection, name, seconds: options.linuxLoadSeconds) else {
                    throw BenchmarkFailure(description: "Linux's verifier did not finish loading \(name) within \(options.linuxLoadSeconds) s")
                }
                let first = try program.testRun(data: Self.packet)
                guard first.returnValue == Self.expectedResult(name) else {
                    throw BenchmarkFailure(description: "\(name) returned \(first.returnValue) on Linux, expected \(Self.expectedResult(name))")
                }
                times[name] = try Stopwatch.measure(rounds: options.rounds, roundNanoseconds: options.roundNanoseconds) { runs throws(BenchmarkFailure) -> Double in
                    do {
                        return Double(try program.testRun(data: Self.packet, repeatCount: UInt32(min(runs, Int(UInt32.max)))).durationNanoseconds)
                    } catch {
                        throw BenchmarkFailure(description: "\(error)")
                    }
                }.median
            }
            fromProgram.append(ProgramLookup(engine: "linux", map: "hash", nsPerRun: times["hash_lookup"]!, loopNsPerRun: times["lookup_loop"]!))
            fromProgram.append(ProgramLookup(engine: "linux", map: "array", nsPerRun: times["array_lookup"]!, loopNsPerRun: times["lookup_loop"]!))
        } catch let error as KernelLoadError {
            skipped["linux"] = "Linux refused it: \(error.summary)"
        } catch {
            skipped["linux"] = "\(error)"
        }
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
