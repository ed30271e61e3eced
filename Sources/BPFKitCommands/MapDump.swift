import BPFKit

/// The contents of a map after a run, as `bpfkit run` prints them.
///
/// Keyed maps: every key in get_next_key order with its value; per-CPU maps: the
/// value of every possible CPU; ring buffers: every committed record (consumed);
/// queues and stacks: their values in pop order (popped); prog arrays and
/// map-in-map: the slots that hold something, naming the program or map.
enum MapDump {
    enum Entry {
        case keyed(key: [UInt8], value: [UInt8])
        case perCPU(key: [UInt8], values: [[UInt8]])
        case record([UInt8])
        case object(key: [UInt8], kind: String, name: String)
    }

    static func entries(of map: any BPFMap, names: [ObjectIdentifier: String]) -> Result<[Entry], MapError> {
        let definition = map.definition
        do throws(MapError) {
            switch map {
            case let ring as RingBufferMap:
                return .success(ring.drain().map(Entry.record))
            case let queue as QueueStackMap:
                var values: [Entry] = []
                while let value = try queue.pop() { values.append(.record(value)) }
                return .success(values)
            case let array as ObjectArrayMap:
                var slots: [Entry] = []
                for index in 0..<definition.maxEntries {
                    guard let object = array.object(at: index) else { continue }
                    let key = withUnsafeBytes(of: index.littleEndian) { Array($0) }
                    let kind = object is any BPFMap ? "map" : "program"
                    slots.append(.object(key: key, kind: kind, name: names[ObjectIdentifier(object)] ?? "?"))
                }
                return .success(slots)
            case let hash as HashOfMapsMap:
                var slots: [Entry] = []
                for key in try hash.keys() {
                    guard let inner = try hash.map(forKey: key) else { continue }
                    slots.append(.object(key: key, kind: "map", name: names[ObjectIdentifier(inner)] ?? "?"))
                }
                return .success(slots)
            case is PerfEventArrayMap, is BloomFilterMap:
                return .success([])
            default:
                var result: [Entry] = []
                for (key, value) in try map.entries() {
                    if definition.type.isPerCPU {
                        let size = Int(definition.valueSize), padded = (size + 7) / 8 * 8
                        let values = padded == 0 ? [] : Swift.stride(from: 0, to: value.count - size + 1, by: padded).map { Array(value[$0..<($0 + size)]) }
                        result.append(.perCPU(key: key, values: values))
                    } else {
                        result.append(.keyed(key: key, value: value))
                    }
                }
                return .success(result)
            }
        } catch {
            return .failure(error)
        }
    }

    static func json(_ entries: [Entry]) -> JSON {
        .array(entries.map { entry in
            switch entry {
            case .keyed(let key, let value): .object([("key", .string(hex(key))), ("value", .string(hex(value)))])
            case .perCPU(let key, let values): .object([("key", .string(hex(key))), ("values", .array(values.map { .string(hex($0)) }))])
            case .record(let value): .object([("value", .string(hex(value)))])
            case .object(let key, let kind, let name): .object([("key", .string(hex(key))), (kind, .string(name))])
            }
        })
    }

    static func lines(_ entries: [Entry]) -> [String] {
        entries.map { entry in
            switch entry {
            case .keyed(let key, let value): "  \(hex(key)) => \(hex(value))"
            case .perCPU(let key, let values):
                "  \(hex(key)) => " + values.enumerated().map { "cpu\($0.offset) \(hex($0.element))" }.joined(separator: ", ")
            case .record(let value): "  \(hex(value))"
            case .object(let key, let kind, let name): "  \(hex(key)) => \(kind) \(name)"
            }
        }
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits: [Character] = Array("0123456789abcdef")
        var text = ""
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xf)])
        }
        return text
    }
}
