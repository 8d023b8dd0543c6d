import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import PointsmanInterfaces
import VectorMath

/// Options of an `OpenAIClient`. The API key is never printed (see `description`).
public struct OpenAIClientConfiguration: Sendable, CustomStringConvertible {
    /// Base URL ending in `/v1`, e.g. `http://localhost:5273/v1`.
    public var baseURL: String
    /// Bearer token, if the server wants one.
    public var apiKey: String?
    /// Time allowed to open a connection.
    public var connectTimeout: Duration
    /// Time allowed for a whole non-streamed request.
    public var requestTimeout: Duration
    /// Time allowed for a whole streamed request.
    public var streamTimeout: Duration
    /// Longest silence allowed between two pieces of a response body.
    public var idleTimeout: Duration
    /// Retries after the first attempt (connection errors, 429, 5xx; never once a stream has started).
    public var maxRetries: Int
    /// First backoff delay; doubles each retry, with ±50% jitter, capped by `maxBackoff`.
    public var initialBackoff: Duration
    public var maxBackoff: Duration
    /// Texts per `/embeddings` request.
    public var embeddingBatchSize: Int

    public init(
        baseURL: String, apiKey: String? = nil, connectTimeout: Duration = .seconds(5),
        requestTimeout: Duration = .seconds(120), streamTimeout: Duration = .seconds(600),
        idleTimeout: Duration = .seconds(60), maxRetries: Int = 2, initialBackoff: Duration = .milliseconds(250),
        maxBackoff: Duration = .seconds(8), embeddingBatchSize: Int = 64
    ) {
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.connectTimeout = connectTimeout
        self.requestTimeout = requestTimeout
        self.streamTimeout = streamTimeout
        self.idleTimeout = idleTimeout
        self.maxRetries = maxRetries
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.embeddingBatchSize = embeddingBatchSize
    }

    public var description: String {
        "OpenAIClientConfiguration(baseURL: \(baseURL), apiKey: \(apiKey == nil ? "none" : "<redacted>"))"
    }
}

/// A client of OpenAI-compatible servers (Foundry Local, Ollama, vLLM, llama.cpp, OpenAI): chat completions, plain
/// and streamed, embeddings and the model list, with timeouts, retries with backoff, and typed errors.
public final class OpenAIClient: ChatBackend, Sendable {
    /// Options in force.
    public let configuration: OpenAIClientConfiguration
    let http: HTTPClient
    let logger: Logger

    /// Creates a client with its own connection pool; call `shutdown()` when done.
    public init(configuration: OpenAIClientConfiguration, logger: Logger = Logger(label: "pointsman.openai")) throws {
        guard let url = URL(string: configuration.baseURL), let scheme = url.scheme, ["http", "https"].contains(scheme),
              url.host != nil
        else { throw OpenAIClientError.invalidConfiguration("base URL \"\(configuration.baseURL)\" is not an http(s) URL") }
        self.configuration = configuration
        self.logger = logger
        var http = HTTPClient.Configuration()
        http.timeout = .init(connect: .nanoseconds(Int64(configuration.connectTimeout.nanoseconds)),
                             read: .nanoseconds(Int64(configuration.idleTimeout.nanoseconds)))
        http.decompression = .enabled(limit: .ratio(50))
        // Fail fast on a refused connection and let our own retry policy (and the catalog's fallbacks) decide.
        http.connectionPool.retryConnectionEstablishment = false
        self.http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: http)
    }

    /// Closes the connection pool.
    public func shutdown() async throws {
        try await http.shutdown()
    }

    /// A client dropped without `shutdown()` (a caller that left early on an error) still closes its pool instead of
    /// tripping async-http-client's leak check. Already shut down: nothing to do.
    deinit {
        try? http.syncShutdown()
    }

    // MARK: URLs and requests

    func url(_ path: String, base: String? = nil) -> String {
        var root = base ?? configuration.baseURL
        while root.hasSuffix("/") { root.removeLast() }
        return root + path
    }

    func request(_ url: String, method: HTTPMethod = .POST, body: Data? = nil) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json, text/event-stream")
        request.headers.add(name: "User-Agent", value: "pointsman")
        if let key = configuration.apiKey, !key.isEmpty {
            request.headers.add(name: "Authorization", value: "Bearer \(key)")
        }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        return request
    }

    /// Sends a request, retrying retryable failures; returns a response with a success status (body not yet read).
    func send(_ make: () -> HTTPClientRequest, url: String, timeout: Duration, model: String?) async throws -> HTTPClientResponse {
        var attempt = 0
        while true {
            do {
                let response: HTTPClientResponse
                do {
                    response = try await http.execute(make(), timeout: .nanoseconds(Int64(timeout.nanoseconds)), logger: logger)
                } catch {
                    throw classify(error, url: url, timeout: timeout)
                }
                if (200..<300).contains(response.status.code) { return response }
                let body = try? await response.body.collect(upTo: 1 << 20)
                let failure = httpError(status: Int(response.status.code), body: body, url: url, model: model)
                if failure.isRetryable, attempt < configuration.maxRetries {
                    attempt += 1
                    let delay = retryDelay(attempt: attempt, retryAfter: response.headers.first(name: "Retry-After"))
                    logger.debug("retrying", metadata: ["url": "\(url)", "status": "\(response.status.code)", "delay": "\(delay)"])
                    try await Task.sleep(for: delay)
                    continue
                }
                throw failure
            } catch let error as OpenAIClientError {
                guard error.isRetryable, attempt < configuration.maxRetries, !isHTTP(error) else { throw error }
                attempt += 1
                try await Task.sleep(for: retryDelay(attempt: attempt, retryAfter: nil))
            }
        }
    }

    private func isHTTP(_ error: OpenAIClientError) -> Bool {
        if case .http = error { return true }
        return false
    }

    /// The delay before retry number `attempt` (1-based): `Retry-After` when the server gave one (seconds or an
    /// HTTP date, capped by `maxBackoff`), else exponential backoff with jitter.
    func retryDelay(attempt: Int, retryAfter: String?) -> Duration {
        if let retryAfter {
            if let seconds = Double(retryAfter.trimmingCharacters(in: .whitespaces)), seconds >= 0 {
                return min(.milliseconds(Int(seconds * 1000)), configuration.maxBackoff)
            }
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
            if let date = formatter.date(from: retryAfter) {
                let seconds = max(0, date.timeIntervalSinceNow)
                return min(.milliseconds(Int(seconds * 1000)), configuration.maxBackoff)
            }
        }
        let base = Double(configuration.initialBackoff.nanoseconds) * pow(2, Double(attempt - 1))
        let jittered = base * Double.random(in: 0.5...1.5)
        return min(.nanoseconds(Int64(jittered)), configuration.maxBackoff)
    }

    func classify(_ error: any Error, url: String, timeout: Duration) -> any Error {
        if error is CancellationError { return error }
        if let client = error as? HTTPClientError {
            switch client {
            case .deadlineExceeded: return OpenAIClientError.timedOut(url: url, after: timeout)
            case .readTimeout: return OpenAIClientError.streamStalled(url: url, after: configuration.idleTimeout)
            case .connectTimeout: return OpenAIClientError.unreachable(url: url, reason: "connect timed out after \(configuration.connectTimeout)")
            case .remoteConnectionClosed: return OpenAIClientError.unreachable(url: url, reason: "the server closed the connection")
            default: break
            }
        }
        let text = "\(error)"
        if text.contains("Connection refused") || text.contains("errno: 111") {
            return OpenAIClientError.unreachable(url: url, reason: "connection refused")
        }
        return OpenAIClientError.unreachable(url: url, reason: text)
    }

    func httpError(status: Int, body: ByteBuffer?, url: String, model: String?) -> OpenAIClientError {
        var message = body.map { String(buffer: $0) } ?? ""
        var code: String?
        if let data = message.data(using: .utf8),
           let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            if let error = json["error"] as? [String: Any] {
                message = (error["message"] as? String) ?? message
                code = error["code"] as? String ?? error["type"] as? String
            } else if let text = json["error"] as? String {
                message = text
            } else if let text = json["detail"] as? String {
                message = text
            }
        }
        message = message.trimmingCharacters(in: .whitespacesAndNewlines)
        if message.count > 500 { message = String(message.prefix(500)) + "…" }
        if message.isEmpty { message = HTTPResponseStatus(statusCode: status).reasonPhrase }
        if let model, status == 404 || code == "model_not_found",
           code == "model_not_found" || message.lowercased().contains("model") {
            return .modelNotFound(model: model, url: url, message: message)
        }
        return .http(status: status, url: url, message: message)
    }

    func readJSON(_ response: HTTPClientResponse, url: String) async throws -> [String: Any] {
        let body: ByteBuffer
        do { body = try await response.body.collect(upTo: 64 << 20) } catch {
            throw classify(error, url: url, timeout: configuration.requestTimeout)
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any] else {
            throw OpenAIClientError.malformedResponse(url: url, reason: "body is not a JSON object: \(String(buffer: body).prefix(200))")
        }
        return object
    }
}

extension Duration {
    var nanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}
