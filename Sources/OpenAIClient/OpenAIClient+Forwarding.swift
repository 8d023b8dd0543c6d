import AsyncHTTPClient
import NIOCore

/// What an upstream answered to a forwarded request, once its head arrived.
public enum ForwardedResponse: Sendable {
    /// A success status: the response, its body (JSON or an SSE stream) still to be read.
    case accepted(HTTPClientResponse)
    /// A client error (4xx other than 429) that another model would not fix: status, headers and body, for the
    /// caller to pass on as it is.
    case rejected(status: Int, contentType: String?, body: ByteBuffer)
}

extension OpenAIClient {
    /// Sends a chat-completions body as it is (a proxy's request) to `baseURL` (else the client's), with this
    /// client's URL joining, key, timeouts and retry rule. Connection failures, timeouts, 429 and 5xx are retried up to
    /// `maxRetries` times and then thrown as `OpenAIClientError`, which a caller may answer with another model.
    /// `firstByteTimeout` overrides the configured request timeout for the wait for the response head.
    public func forwardChatCompletion(_ body: ByteBuffer, baseURL: String? = nil, firstByteTimeout: Duration? = nil)
        async throws -> ForwardedResponse
    {
        let target = url("/chat/completions", base: baseURL)
        let timeout = firstByteTimeout ?? configuration.requestTimeout
        var attempt = 0
        while true {
            var request = self.request(target)
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(body)
            let response: HTTPClientResponse
            do {
                response = try await http.execute(request, timeout: .nanoseconds(Int64(timeout.nanoseconds)), logger: logger)
            } catch {
                let failure = classify(error, url: target, timeout: timeout)
                if let typed = failure as? OpenAIClientError, typed.isRetryable, attempt < configuration.maxRetries {
                    attempt += 1
                    try await Task.sleep(for: retryDelay(attempt: attempt, retryAfter: nil))
                    continue
                }
                throw failure
            }
            let status = Int(response.status.code)
            if (200..<300).contains(status) { return .accepted(response) }
            let bytes = (try? await response.body.collect(upTo: 1 << 20)) ?? ByteBuffer()
            guard status == 429 || status >= 500 else {
                return .rejected(status: status, contentType: response.headers.first(name: "Content-Type"), body: bytes)
            }
            if attempt < configuration.maxRetries {
                attempt += 1
                try await Task.sleep(for: retryDelay(attempt: attempt, retryAfter: response.headers.first(name: "Retry-After")))
                continue
            }
            if status == 429 {
                let message = httpError(status: status, body: bytes, url: target, model: nil)
                throw OpenAIClientError.rateLimited(url: target, retryAfter: response.headers.first(name: "Retry-After"),
                                                    message: "\(message)")
            }
            throw httpError(status: status, body: bytes, url: target, model: nil)
        }
    }
}
