/// Failures of calls to an OpenAI-compatible endpoint, with messages that say what to do.
public enum OpenAIClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No connection could be made.
    case unreachable(url: String, reason: String)
    /// The server answered with an error status.
    case http(status: Int, url: String, message: String)
    /// The server kept answering 429 (too many requests); `retryAfter` is its `Retry-After` header, if it sent one.
    case rateLimited(url: String, retryAfter: String?, message: String)
    /// The server does not serve the requested model.
    case modelNotFound(model: String, url: String, message: String)
    /// The answer is not what the protocol promises.
    case malformedResponse(url: String, reason: String)
    /// The whole request took longer than allowed.
    case timedOut(url: String, after: Duration)
    /// A stream went silent for longer than allowed between chunks.
    case streamStalled(url: String, after: Duration)
    /// The stream ended or broke before `[DONE]`.
    case streamInterrupted(url: String, reason: String)
    /// The configuration cannot work (bad URL).
    case invalidConfiguration(String)

    /// A short reason safe to show to clients: no URL, no upstream message text.
    public var summary: String {
        switch self {
        case .unreachable(_, let reason):
            let known = ["connection refused", "the server closed the connection"]
            return known.contains(reason) ? reason : reason.hasPrefix("connect timed out") ? "connect timed out" : "unreachable"
        case .http(let status, _, _): return "HTTP \(status)"
        case .rateLimited: return "rate limited"
        case .modelNotFound: return "model not found upstream"
        case .malformedResponse: return "malformed response"
        case .timedOut: return "timed out"
        case .streamStalled: return "stalled"
        case .streamInterrupted: return "cut off"
        case .invalidConfiguration: return "misconfigured"
        }
    }

    public var description: String {
        switch self {
        case .unreachable(let url, let reason): "endpoint \(url) is unreachable: \(reason)"
        case .http(let status, let url, let message): "\(url) answered HTTP \(status): \(message)"
        case .rateLimited(let url, let retryAfter, let message):
            "\(url) answered HTTP 429 (retry after \(retryAfter ?? "unspecified")): \(message)"
        case .modelNotFound(let model, let url, let message): "model \"\(model)\" not found at \(url): \(message)"
        case .malformedResponse(let url, let reason): "malformed response from \(url): \(reason)"
        case .timedOut(let url, let after): "request to \(url) timed out after \(after)"
        case .streamStalled(let url, let after): "stream from \(url) stalled: no data for \(after)"
        case .streamInterrupted(let url, let reason): "stream from \(url) was cut off: \(reason)"
        case .invalidConfiguration(let reason): "invalid client configuration: \(reason)"
        }
    }

    /// Whether a retry may help (connection failures, 429, 5xx, timeouts).
    public var isRetryable: Bool {
        switch self {
        case .unreachable, .timedOut, .rateLimited: true
        case .http(let status, _, _): status == 429 || status >= 500
        default: false
        }
    }
}
