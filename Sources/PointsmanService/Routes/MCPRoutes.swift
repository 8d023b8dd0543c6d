import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PointsmanMCP

extension ServiceDependencies {
    /// `/mcp` (POST, GET, DELETE): the Model Context Protocol over Streamable HTTP, handed to the MCP endpoint's
    /// session table. API keys are checked by the middleware like every other route.
    func mcp(_ request: Request, endpoint: MCPHTTPEndpoint) async throws -> Response {
        var headers: [String: String] = [:]
        for field in request.headers where field.name.canonicalName != PointsmanMCPServer.presentedKeyHeader {
            // Repeated fields are joined as HTTP allows; MCP reads only single-valued ones.
            let name = field.name.canonicalName
            headers[name] = headers[name].map { $0 + ", " + field.value } ?? field.value
        }
        // HTTP/1 `Host` arrives as the request's authority, not as a field; the DNS-rebinding check needs it.
        if let authority = request.head.authority { headers["host"] = authority }
        // The key the key check accepted, read the same way, for budgets (never a copy the client sent).
        if let key = APIKeyMiddleware<BasicRequestContext>.presentedKey(request) {
            headers[PointsmanMCPServer.presentedKeyHeader] = key
        }
        var body: Data?
        if request.method == .post {
            let buffer: ByteBuffer
            do { buffer = try await request.body.collect(upTo: configuration.maxBodyBytes) } catch is NIOTooManyBytesError {
                throw OpenAIError.tooLarge(configuration.maxBodyBytes)
            } catch {
                throw OpenAIError(.requestTimeout, "the request body did not arrive in time", code: "body_timeout")
            }
            body = Data(buffer.readableBytesView)
        }
        let reply = await endpoint.handle(method: request.method.rawValue, path: request.uri.path, headers: headers, body: body)
        var fields = HTTPFields()
        for (name, value) in reply.headers {
            if let name = HTTPField.Name(name) { fields[name] = value }
        }
        let status = HTTPResponse.Status(code: reply.status)
        switch reply.body {
        case .empty:
            return Response(status: status, headers: fields)
        case .data(let data):
            return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
        case .events(let events):
            return Response(status: status, headers: fields, body: .init { writer in
                do {
                    for try await chunk in events { try await writer.write(ByteBuffer(bytes: chunk)) }
                } catch {
                    // The session closed under the stream (DELETE, expiry, shutdown): end the response.
                }
                try await writer.finish(nil)
            })
        }
    }
}
