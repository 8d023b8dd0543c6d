import Foundation
import Hummingbird
import NIOCore

extension Request {
    /// The body as a JSON object, within `limit` bytes; errors are OpenAI-shaped 400 and 413 responses.
    func jsonObject(limit: Int) async throws -> [String: Any] {
        let buffer: ByteBuffer
        do { buffer = try await body.collect(upTo: limit) } catch is NIOTooManyBytesError {
            throw OpenAIError.tooLarge(limit)
        }
        guard buffer.readableBytes > 0 else { throw OpenAIError.badJSON("the body is empty") }
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) } catch {
            throw OpenAIError.badJSON("the body is not JSON")
        }
        guard let dictionary = object as? [String: Any] else { throw OpenAIError.badJSON("the body is not a JSON object") }
        return dictionary
    }
}

/// A JSON response.
func jsonResponse(_ object: Any, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
    var fields = headers
    fields[.contentType] = "application/json"
    return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
}

/// An `Encodable` value as a JSON response.
func jsonResponse<T: Encodable>(encoding value: T, status: HTTPResponse.Status = .ok) -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    let data = (try? encoder.encode(value)) ?? Data()
    return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
}

/// The text of a chat message's content: a string, or the text parts of a list.
func messageText(_ content: Any?) -> String? {
    if let string = content as? String { return string }
    if let parts = content as? [[String: Any]] {
        return parts.compactMap { $0["type"] as? String == "text" ? $0["text"] as? String : nil }.joined(separator: "\n")
    }
    return nil
}
