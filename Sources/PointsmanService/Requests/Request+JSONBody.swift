import Foundation
import Hummingbird
import NIOCore

extension Request {
    /// The body's bytes, within `limit`; an empty body or one over the limit is an OpenAI-shaped 400 or 413.
    func bodyBytes(limit: Int) async throws -> ByteBuffer {
        let buffer: ByteBuffer
        do { buffer = try await body.collect(upTo: limit) } catch is NIOTooManyBytesError {
            throw OpenAIError.tooLarge(limit)
        } catch {
            // The connection closed before the body was complete (a sender cut off for being too slow, or gone).
            throw OpenAIError(.requestTimeout, "the request body did not arrive in time", code: "body_timeout")
        }
        guard buffer.readableBytes > 0 else { throw OpenAIError.badJSON("the body is empty") }
        return buffer
    }

    /// The body as typed JSON fields (every value kept as sent), within `limit` bytes.
    func jsonFields(limit: Int) async throws -> [String: JSONValue] {
        let buffer = try await bodyBytes(limit: limit)
        let value: JSONValue
        do { value = try JSONDecoder().decode(JSONValue.self, from: Data(buffer.readableBytesView)) } catch {
            throw OpenAIError.badJSON("the body is not JSON")
        }
        guard case .object(let fields) = value else { throw OpenAIError.badJSON("the body is not a JSON object") }
        return fields
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
