import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import PointsmanCore

/// Forwards chat requests to OpenAI-compatible upstreams without buffering streamed answers.
public struct UpstreamProxy: Sendable {
    let http: HTTPClient
    let configuration: ServiceConfiguration

    public init(http: HTTPClient, configuration: ServiceConfiguration) {
        self.http = http
        self.configuration = configuration
    }

    /// What an attempt produced.
    enum Attempt {
        /// A success status: the response whose body is still to be read.
        case success(HTTPClientResponse)
        /// A client error the caller should see as is (status and body).
        case clientError(status: Int, body: ByteBuffer)
        /// A failure before the first byte that a fallback may fix.
        case failed(String)
    }

    /// POSTs `body` to the model's endpoint (its own base URL or the service's upstream).
    func post(_ body: Data, model: ModelEntry?) async -> Attempt {
        var base = model?.baseURL ?? configuration.upstreamURL
        while base.hasSuffix("/") { base.removeLast() }
        let url = base + "/chat/completions"
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "application/json, text/event-stream")
        if let key = configuration.upstreamAPIKey, !key.isEmpty { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let timeout = configuration.upstreamTimeout
            let response = try await http.execute(request, timeout: .nanoseconds(timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000))
            let status = Int(response.status.code)
            if (200..<300).contains(status) { return .success(response) }
            let bytes = (try? await response.body.collect(upTo: 1 << 20)) ?? ByteBuffer()
            if status == 429 || status >= 500 { return .failed("\(url) answered HTTP \(status)") }
            return .clientError(status: status, body: bytes)
        } catch {
            let text = "\(error)"
            return .failed("\(url) unreachable: " + (text.contains("Connection refused") ? "connection refused" : text))
        }
    }
}
