import Foundation

struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init(intValue: Int) {
        self.stringValue = String(intValue)
        self.intValue = intValue
    }
}

/// A key the schema does not know.
struct UnknownFieldError: Error {
    var path: [any CodingKey]
    var key: String
    var allowed: [String]
}

extension Decoder {
    /// Fails when the keyed container at this level has a key outside `keys`, so typos in config files are caught.
    func rejectUnknownKeys<K: CodingKey & CaseIterable>(_ keys: K.Type) throws {
        let container = try container(keyedBy: AnyCodingKey.self)
        let allowed = Set(K.allCases.map(\.stringValue))
        if let unknown = container.allKeys.map(\.stringValue).sorted().first(where: { !allowed.contains($0) }) {
            throw UnknownFieldError(path: codingPath, key: unknown, allowed: K.allCases.map(\.stringValue))
        }
    }
}

/// Turns decoding failures into a field path and a problem a person can act on.
enum DecodingDiagnostics {
    static func path(_ keys: [any CodingKey]) -> String {
        var out = ""
        for key in keys {
            if let index = key.intValue {
                out += "[\(index)]"
            } else {
                out += out.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return out
    }

    /// (field, problem) for an error thrown while decoding.
    static func describe(_ error: any Error) -> (field: String, problem: String) {
        if let unknown = error as? UnknownFieldError {
            let field = path(unknown.path + [AnyCodingKey(stringValue: unknown.key)])
            return (field, "unknown field \"\(unknown.key)\" (allowed: \(unknown.allowed.joined(separator: ", ")))")
        }
        guard let decoding = error as? DecodingError else {
            return ("", "\(error)")
        }
        switch decoding {
        case .keyNotFound(let key, let context):
            return (path(context.codingPath + [key]), "required field is missing")
        case .typeMismatch(let type, let context):
            return (path(context.codingPath), "expected \(describe(type))")
        case .valueNotFound(let type, let context):
            return (path(context.codingPath), "expected \(describe(type)), found null")
        case .dataCorrupted(let context):
            let underlying = (context.underlyingError as NSError?)?.userInfo["NSDebugDescription"] as? String
            return (path(context.codingPath), underlying ?? context.debugDescription)
        @unknown default:
            return ("", "\(decoding)")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type: "an integer"
        case is Double.Type, is Float.Type: "a number"
        case is Bool.Type: "true or false"
        default:
            String(describing: type).hasPrefix("Array") ? "a list" : "an object"
        }
    }
}

extension String {
    func trimmingWhitespace() -> String { trimmingCharacters(in: .whitespacesAndNewlines) }
}
