import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// An error in the OpenAI error shape, `{"error": {"message", "type", "param", "code"}}`, that knows its status.
public struct OpenAIError: HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var message: String
    public var type: String
    public var code: String?
    public var param: String?
    public var extraHeaders: HTTPFields

    public init(_ status: HTTPResponse.Status, _ message: String, type: String? = nil, code: String? = nil, param: String? = nil,
                headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.type = type ?? (status.code >= 500 ? "server_error" : status == .unauthorized ? "authentication_error" : "invalid_request_error")
        self.code = code
        self.param = param
        self.extraHeaders = headers
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        // Anthropic clients read errors in Anthropic's shape.
        if request.uri.path == "/v1/messages" {
            var headers = extraHeaders
            headers[.contentType] = "application/json"
            let body = AnthropicTranslation.jsonText(.object(AnthropicTranslation.errorBody(status: Int(status.code), message: message)))
            return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        var error: [String: Any] = ["message": message, "type": type]
        error["code"] = code ?? NSNull()
        error["param"] = param ?? NSNull()
        let data = (try? JSONSerialization.data(withJSONObject: ["error": error], options: [.sortedKeys])) ?? Data()
        var headers = extraHeaders
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A request body problem, with its field.
    init(_ error: RequestError) {
        self.init(.badRequest, error.message, code: error.code, param: error.param)
    }

    static func badJSON(_ detail: String) -> OpenAIError { OpenAIError(.badRequest, "invalid JSON body: \(detail)", code: "invalid_json") }
    static func missing(_ field: String) -> OpenAIError { OpenAIError(.badRequest, "missing required field \"\(field)\"", code: "missing_field", param: field) }
    static func wrongType(_ field: String, _ expected: String) -> OpenAIError {
        OpenAIError(.badRequest, "field \"\(field)\" must be \(expected)", code: "invalid_type", param: field)
    }
    static func tooLarge(_ limit: Int) -> OpenAIError {
        OpenAIError(.contentTooLarge, "request body exceeds the limit of \(limit) bytes", code: "body_too_large")
    }
    static func overloaded(retryAfter seconds: Int) -> OpenAIError {
        OpenAIError(.serviceUnavailable, "the embedding queue is full; retry later", code: "overloaded", headers: [.retryAfter: String(seconds)])
    }
}
