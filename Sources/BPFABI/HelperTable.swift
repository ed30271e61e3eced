import BPFObject

/// Linux's helper functions (`BPF_FUNC_*`, IDs 1...211 as of Linux 6.18) and which program
/// types may call them.
public enum HelperTable {
    /// Every helper, ordered by ID: the generated signatures with the kernel-prototype overrides applied.
    public static let all: [HelperPrototype] = generated.map { helper in
        var helper = helper
        if let override = overrides[helper.name] {
            if let arguments = override.arguments { helper.arguments = arguments }
            if let returnKind = override.returnKind { helper.returnKind = returnKind }
        }
        helper.isGPLOnly = gplOnlyHelpers.contains(helper.name)
        return helper
    }

    private static let byID: [Int32: HelperPrototype] = Dictionary(uniqueKeysWithValues: all.map { ($0.id, $0) })
    private static let byName: [String: HelperPrototype] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// The helper `call imm` invokes, or `nil` for an unknown ID.
    public static func prototype(id: Int32) -> HelperPrototype? { byID[id] }

    /// Looks a helper up by name, with or without the `bpf_` prefix (`map_lookup_elem`, `bpf_map_lookup_elem`).
    public static func prototype(named name: String) -> HelperPrototype? {
        if let helper = byName[name] { return helper }
        if name.hasPrefix("bpf_") { return byName[String(name.dropFirst(4))] }
        return nil
    }

    /// The largest helper ID in the table.
    public static var maximumID: Int32 { all.last?.id ?? 0 }
}
