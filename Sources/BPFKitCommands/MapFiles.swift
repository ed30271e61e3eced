import BPFKit
import Foundation

/// One entry of a `--maps` or `--maps-init` file, in raw bytes.
struct MapEntry {
    var key: [UInt8]
    /// One value, or (per-CPU maps) one per CPU.
    var values: [[UInt8]]
}

/// The `--maps` file (maps for assembly) and the `--maps-init` file (entries for an object's maps).
enum MapFiles {
    typealias Failure = ProgramInput.Failure

    /// `[{"type": "hash", "key_size": 4, "value_size": 16, "max_entries": 8, "flags": 0, "name": "m",
    ///    "init": [{"key": "05000000", "value": "00…"}]}]` → map specs (named `name` or `map:N`) and entries.
    static func readSpecs(path: String) throws(Failure) -> (maps: [MapSpec], entries: [String: [MapEntry]]) {
        guard let list = try readJSON(path) as? [Any] else {
            throw Failure(description: "\(path): expected a JSON list of map descriptions")
        }
        var maps: [MapSpec] = []
        var entries: [String: [MapEntry]] = [:]
        for (index, item) in list.enumerated() {
            let place = "\(path): map \(index)"
            guard let object = item as? [String: Any] else { throw Failure(description: "\(place): expected a JSON object") }
            let known: Set<String> = ["type", "key_size", "value_size", "max_entries", "flags", "name", "init", "map_extra"]
            if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
                throw Failure(description: "\(place): unknown key \"\(unknown)\" (known: \(known.sorted().joined(separator: ", ")))")
            }
            guard let typeName = object["type"] as? String else { throw Failure(description: "\(place): \"type\" (a string such as \"hash\") is required") }
            guard let type = MapType(name: typeName) else { throw Failure(description: "\(place): unknown map type \"\(typeName)\"") }
            let name = try (object["name"]).map { value throws(Failure) -> String in
                guard let name = value as? String, !name.isEmpty else { throw Failure(description: "\(place): \"name\" must be a non-empty string") }
                return name
            } ?? "map:\(index)"
            if maps.contains(where: { $0.name == name }) { throw Failure(description: "\(place): a second map named \(name)") }
            let spec = MapSpec(
                name: name, sectionName: ".maps", type: type,
                keySize: try number(object, "key_size", place, default: 0),
                valueSize: try number(object, "value_size", place, default: 0),
                maxEntries: try number(object, "max_entries", place, default: nil),
                flags: try number(object, "flags", place, default: 0),
                mapExtra: UInt64(try number(object, "map_extra", place, default: 0) as UInt32))
            maps.append(spec)
            if let initial = object["init"] {
                entries[name] = try parseEntries(initial, place: "\(place) init")
            }
        }
        return (maps, entries)
    }

    /// `{"map_name": [{"key": hex, "value": hex}], …}`.
    static func readInitialEntries(path: String) throws(Failure) -> [String: [MapEntry]] {
        guard let object = try readJSON(path) as? [String: Any] else {
            throw Failure(description: "\(path): expected a JSON object of map names to entry lists")
        }
        var result: [String: [MapEntry]] = [:]
        for (name, value) in object {
            result[name] = try parseEntries(value, place: "\(path): \(name)")
        }
        return result
    }

    static func parseEntries(_ value: Any, place: String) throws(Failure) -> [MapEntry] {
        guard let list = value as? [Any] else { throw Failure(description: "\(place): expected a list of {\"key\", \"value\"} objects") }
        var entries: [MapEntry] = []
        for (index, item) in list.enumerated() {
            let here = "\(place) entry \(index)"
            guard let object = item as? [String: Any] else { throw Failure(description: "\(here): expected a JSON object") }
            let key = try (object["key"]).map { value throws(Failure) in try hex(value, "\(here) key") } ?? []
            if let values = object["values"] as? [Any] {
                var parsed: [[UInt8]] = []
                for (cpu, value) in values.enumerated() { parsed.append(try hex(value, "\(here) values[\(cpu)]")) }
                entries.append(MapEntry(key: key, values: parsed))
            } else if let value = object["value"] {
                entries.append(MapEntry(key: key, values: [try hex(value, "\(here) value")]))
            } else {
                throw Failure(description: "\(here): give \"value\" (hex bytes) or, for per-CPU maps, \"values\"")
            }
        }
        return entries
    }

    /// The bytes a user-space BPF_MAP_UPDATE_ELEM takes for `entry`: the value, or for
    /// per-CPU maps every CPU's value padded to 8 bytes (one value given: the same on every CPU).
    static func userValue(_ entry: MapEntry, definition: MapDefinition, map name: String) throws(Failure) -> [UInt8] {
        let size = Int(definition.valueSize)
        for value in entry.values where value.count != size {
            throw Failure(description: "map \(name): a value of \(value.count) bytes, but the map's values are \(size) bytes")
        }
        guard definition.type.isPerCPU else {
            guard entry.values.count == 1 else { throw Failure(description: "map \(name): \"values\" is only for per-CPU maps") }
            return entry.values[0]
        }
        let cpus = PossibleCPUs.count
        guard entry.values.count == 1 || entry.values.count == cpus else {
            throw Failure(description: "map \(name): \(entry.values.count) values given, but there are \(cpus) possible CPUs")
        }
        let padded = (size + 7) / 8 * 8
        var bytes: [UInt8] = []
        for cpu in 0..<cpus {
            let value = entry.values.count == 1 ? entry.values[0] : entry.values[cpu]
            bytes += value + [UInt8](repeating: 0, count: padded - size)
        }
        return bytes
    }

    private static func readJSON(_ path: String) throws(Failure) -> Any {
        let bytes = try ProgramInput.readFile(path)
        do {
            return try JSONSerialization.jsonObject(with: Data(bytes))
        } catch {
            throw Failure(description: "\(path): not valid JSON (\((error as NSError).userInfo[NSDebugDescriptionErrorKey] ?? error.localizedDescription))")
        }
    }

    private static func hex(_ value: Any, _ place: String) throws(Failure) -> [UInt8] {
        guard let text = value as? String else { throw Failure(description: "\(place): expected a string of hex bytes") }
        return try ProgramInput.parseHex(text, option: place)
    }

    private static func number(_ object: [String: Any], _ key: String, _ place: String, default fallback: UInt32?) throws(Failure) -> UInt32 {
        guard let value = object[key] else {
            if let fallback { return fallback }
            throw Failure(description: "\(place): \"\(key)\" is required")
        }
        if let text = value as? String {
            let parsed = text.lowercased().hasPrefix("0x") ? UInt32(text.dropFirst(2), radix: 16) : UInt32(text)
            if let parsed { return parsed }
        } else if let number = value as? NSNumber,
                  number.doubleValue >= 0, number.doubleValue <= Double(UInt32.max), number.doubleValue == number.doubleValue.rounded() {
            return number.uint32Value
        }
        throw Failure(description: "\(place): \"\(key)\" must be a whole number from 0 to 4294967295 (or a \"0x…\" string)")
    }
}
