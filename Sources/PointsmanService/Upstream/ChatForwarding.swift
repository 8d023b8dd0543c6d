import Foundation
import NIOCore
import OpenAIClient
import PointsmanCore
import PointsmanInterfaces

/// How long one upstream attempt may take: to connect, to the response head, and between two pieces of the answer;
/// nil: the service's defaults.
public struct UpstreamTimeouts: Sendable, Hashable {
    public var connect: Duration?
    public var firstByte: Duration?
    public var idle: Duration?

    public init(connect: Duration? = nil, firstByte: Duration? = nil, idle: Duration? = nil) {
        self.connect = connect
        self.firstByte = firstByte
        self.idle = idle
    }

    /// A catalog entry's timeouts.
    public init(_ entry: ModelEntry) {
        func duration(_ seconds: Double?) -> Duration? { seconds.map { .milliseconds(Int(($0 * 1000).rounded())) } }
        self.init(connect: duration(entry.connectTimeoutSeconds), firstByte: duration(entry.firstByteTimeoutSeconds),
                  idle: duration(entry.idleTimeoutSeconds))
    }
}

/// Sends chat-completions bodies upstream as they are. The service uses `UpstreamClients` (the OpenAI client's URL
/// joining, key, timeouts, retry rule and error types); tests may pass a fake.
public protocol ChatForwarding: Sendable {
    /// Forwards `body` to `baseURL` (nil: the default upstream) and returns once the response head arrived.
    func forwardChatCompletion(_ body: ByteBuffer, baseURL: String?, timeouts: UpstreamTimeouts) async throws -> ForwardedResponse
}

/// OpenAI clients for the upstreams, one per distinct connect and idle timeout (the HTTP client fixes those per
/// connection pool), made when first needed and shut down together.
public final class UpstreamClients: ChatForwarding, @unchecked Sendable {  // the dictionary is guarded by `lock`
    /// The defaults every client starts from.
    public let base: OpenAIClientConfiguration
    private let lock = NSLock()
    private var clients: [String: OpenAIClient] = [:]

    public init(base: OpenAIClientConfiguration) throws {
        self.base = base
        clients[Self.key(base)] = try OpenAIClient(configuration: base)
    }

    static func key(_ c: OpenAIClientConfiguration) -> String { "\(c.connectTimeout)|\(c.idleTimeout)" }

    /// The configuration a call with `timeouts` runs with.
    public func configuration(for timeouts: UpstreamTimeouts) -> OpenAIClientConfiguration {
        var configuration = base
        if let connect = timeouts.connect { configuration.connectTimeout = connect }
        if let idle = timeouts.idle { configuration.idleTimeout = idle }
        return configuration
    }

    /// The client for `timeouts`, made on first use.
    public func client(for timeouts: UpstreamTimeouts) throws -> OpenAIClient {
        let configuration = configuration(for: timeouts)
        let key = Self.key(configuration)
        return try lock.withLock {
            if let existing = clients[key] { return existing }
            let made = try OpenAIClient(configuration: configuration)
            clients[key] = made
            return made
        }
    }

    /// How many connection pools exist (one per distinct connect and idle timeout used so far).
    public var poolCount: Int { lock.withLock { clients.count } }

    public func forwardChatCompletion(_ body: ByteBuffer, baseURL: String?, timeouts: UpstreamTimeouts) async throws -> ForwardedResponse {
        try await client(for: timeouts).forwardChatCompletion(body, baseURL: baseURL, firstByteTimeout: timeouts.firstByte)
    }

    /// Closes every pool.
    public func shutdown() async throws {
        for client in lock.withLock({ Array(clients.values) }) { try await client.shutdown() }
    }
}

/// The proxy's upstream clients as a `ChatBackend` (for MCP tools): each call goes through the client with its catalog
/// entry's connect and idle timeouts, found by the request's alias in the catalog in force.
struct CatalogTimedBackend: ChatBackend {
    let clients: UpstreamClients
    let state: RoutingStore

    func client(for request: ChatRequest) async throws -> OpenAIClient {
        let catalog = await state.current().catalog
        let entry = request.alias.flatMap(catalog.model)
        return try clients.client(for: entry.map(UpstreamTimeouts.init) ?? UpstreamTimeouts())
    }

    func complete(_ request: ChatRequest) async throws -> ChatCompletion {
        try await client(for: request).complete(request)
    }

    func stream(_ request: ChatRequest) async throws -> AsyncThrowingStream<ChatChunk, any Error> {
        try await client(for: request).stream(request)
    }
}
