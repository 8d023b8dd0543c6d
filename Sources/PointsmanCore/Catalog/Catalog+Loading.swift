import Foundation

extension Catalog {
    /// Parses and validates catalog text; YAML when `format` says so, else JSON.
    public static func parse(_ data: Data, format: ConfigFormat, file: String) throws(CatalogError) -> Catalog {
        let catalog: Catalog
        do {
            switch format {
            case .json: catalog = try JSONDecoder().decode(Catalog.self, from: data)
            case .yaml: catalog = try YAMLBridge.decode(Catalog.self, from: data)
            }
        } catch let error as CatalogError {
            throw error
        } catch {
            let (field, problem) = DecodingDiagnostics.describe(error)
            throw CatalogError(file: file, field: field, problem: problem)
        }
        try catalog.validate(file: file)
        return catalog
    }

    /// Reads, parses and validates a catalog file (`.yaml`/`.yml` as YAML, anything else as JSON).
    public static func load(from path: String) throws(CatalogError) -> Catalog {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CatalogError(file: path, field: "", problem: "cannot read the file (missing or unreadable)")
        }
        return try parse(data, format: ConfigFormat(path: path), file: path)
    }

    /// Pretty JSON with stable key order.
    public func jsonText() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}

/// The text formats of configuration files.
public enum ConfigFormat: Sendable {
    case json, yaml

    /// YAML for `.yaml` and `.yml`, JSON otherwise.
    public init(path: String) {
        let lowered = path.lowercased()
        self = lowered.hasSuffix(".yaml") || lowered.hasSuffix(".yml") ? .yaml : .json
    }
}
