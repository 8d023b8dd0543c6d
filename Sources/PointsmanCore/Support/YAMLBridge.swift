import Foundation
import Yams

/// Decodes YAML configuration with the same `Codable` types as JSON.
enum YAMLBridge {
    static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        guard let text = String(data: data, encoding: .utf8) else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "file is not UTF-8"))
        }
        return try YAMLDecoder().decode(type, from: text)
    }
}
