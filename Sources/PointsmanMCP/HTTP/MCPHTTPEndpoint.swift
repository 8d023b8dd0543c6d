import Foundation
import Logging
import MCP

/// MCP's Streamable HTTP transport for a web framework to mount (the service mounts it at `/mcp`): one MCP session per
/// client, created by its `initialize` request and named by the `Mcp-Session-Id` header afterwards. Sessions are
/// bounded in number (the least recently used one is closed to make room), in what they send (the SDK keeps every
/// event a session sent, for resumption, so a session past its byte budget is closed at its next request and the
/// client starts a new one) and in idle time. Closing a session cancels the calls it is running.
public actor MCPHTTPEndpoint {
    /// An HTTP answer, framework-free.
    public struct Reply: Sendable {
        public enum Body: Sendable {
            case empty
            case data(Data)
            /// Server-sent events, written as they come.
            case events(AsyncThrowingStream<Data, any Error>)
        }

        public var status: Int
        public var headers: [String: String]
        public var body: Body
    }

    /// Limits of the session table.
    public struct Limits: Sendable {
        /// Sessions open at once.
        public var maxSessions: Int
        /// A session unused this long is closed.
        public var idleTimeout: Duration
        /// A session that has sent more than this many bytes is closed at its next request.
        public var maxSessionBytes: Int

        public init(maxSessions: Int = 64, idleTimeout: Duration = .seconds(1800), maxSessionBytes: Int = 8 << 20) {
            self.maxSessions = max(1, maxSessions)
            self.idleTimeout = idleTimeout
            self.maxSessionBytes = max(1, maxSessionBytes)
        }
    }

    /// Which `Host` and `Origin` headers are accepted (protection against DNS rebinding from a browser page).
    public enum OriginPolicy: Sendable {
        /// Both must name loopback: for a service bound to loopback.
        case loopback
        /// An `Origin`, when sent, must name loopback: for a service bound elsewhere without API keys.
        case loopbackOrigins
        /// No check: the service's API keys guard the endpoint.
        case none
    }

    private struct Entry {
        var session: MCPSession
        var transport: StatefulHTTPServerTransport
        var lastUsed: ContinuousClock.Instant
        var sent: ByteCounter
    }

    private struct FixedSessionID: SessionIDGenerator {
        let id: String
        func generateSessionID() -> String { id }
    }

    private let factory: PointsmanMCPServer
    private let limits: Limits
    private let validation: any HTTPRequestValidationPipeline
    private let logger: Logger
    private var sessions: [String: Entry] = [:]
    /// Sessions being opened (their slots are taken before the first suspension).
    private var opening = 0

    public init(server: PointsmanMCPServer, limits: Limits = Limits(), origins: OriginPolicy,
                logger: Logger = Logger(label: "pointsman.mcp")) {
        factory = server
        self.limits = limits
        self.logger = logger
        let originCheck: any HTTPRequestValidator = switch origins {
        case .loopback: LoopbackValidator(checkHost: true)
        case .loopbackOrigins: LoopbackValidator(checkHost: false)
        case .none: OriginValidator.disabled
        }
        validation = StandardValidationPipeline(validators: [
            originCheck, AcceptHeaderValidator(mode: .sseRequired), ContentTypeValidator(), ProtocolVersionValidator(),
            SessionValidator(),
        ])
    }

    /// Open sessions.
    public var sessionCount: Int { sessions.count }

    /// Answers one request to the endpoint. `headers` must include `Host` when the request had one.
    public func handle(method: String, path: String, headers: [String: String], body: Data?) async -> Reply {
        await expireIdleSessions()
        let request = HTTPRequest(method: method, headers: headers, body: body, path: path)
        if let id = request.header(HTTPHeaderName.sessionID) {
            guard var entry = sessions[id] else {
                return Self.reply(.error(statusCode: 404, .invalidRequest("Not Found: the MCP session does not exist or has expired; initialize a new one")))
            }
            if entry.sent.value > limits.maxSessionBytes {
                logger.info("closing an MCP session past its byte budget", metadata: ["bytes": "\(entry.sent.value)"])
                await close(id)
                return Self.reply(.error(statusCode: 404, .invalidRequest("Not Found: the MCP session reached its size limit; initialize a new one")))
            }
            entry.lastUsed = .now
            sessions[id] = entry
            let response = await entry.transport.handleRequest(request)
            if method.uppercased() == "DELETE", response.statusCode == 200 { await close(id) }
            return Self.reply(response, counting: entry.sent)
        }
        guard method.uppercased() == "POST", let body, Self.isInitialize(body) else {
            return Self.reply(.error(statusCode: 400, .invalidRequest("Bad Request: send an initialize request first, then the Mcp-Session-Id header it returns")))
        }
        return await open(request)
    }

    /// Closes every session (at shutdown), cancelling their calls.
    public func closeAll() async {
        for id in Array(sessions.keys) { await close(id) }
    }

    private func open(_ request: HTTPRequest) async -> Reply {
        // A request the transport would refuse takes no slot and closes no session.
        let context = HTTPValidationContext(httpMethod: "POST", sessionID: nil, isInitializationRequest: true,
                                            supportedProtocolVersions: Version.supported)
        if let refusal = validation.validate(request, context: context) { return Self.reply(refusal) }
        // Make room before the first suspension, so concurrent opens cannot overfill the table.
        var evicted: [MCPSession] = []
        while sessions.count + opening >= limits.maxSessions,
              let oldest = sessions.min(by: { $0.value.lastUsed < $1.value.lastUsed })?.key {
            if let entry = sessions.removeValue(forKey: oldest) { evicted.append(entry.session) }
        }
        guard sessions.count + opening < limits.maxSessions else {
            return Self.reply(.error(statusCode: 503, .internalError("too many MCP sessions are opening; retry shortly")))
        }
        opening += 1
        defer { opening -= 1 }
        if !evicted.isEmpty { logger.info("closed the least recently used MCP session to make room") }
        for session in evicted { await session.close() }

        let id = UUID().uuidString
        let transport = StatefulHTTPServerTransport(sessionIDGenerator: FixedSessionID(id: id), validationPipeline: validation)
        let session = await factory.makeSession()
        do {
            try await session.server.start(transport: transport)
        } catch {
            logger.error("could not start an MCP session", metadata: ["error": "\(error)"])
            await session.close()
            return Self.reply(.error(statusCode: 500, .internalError("the MCP session could not start")))
        }
        let sent = ByteCounter()
        sessions[id] = Entry(session: session, transport: transport, lastUsed: .now, sent: sent)
        let response = await transport.handleRequest(request)
        if case .error = response { await close(id) }
        return Self.reply(response, counting: sent)
    }

    private func close(_ id: String) async {
        guard let entry = sessions.removeValue(forKey: id) else { return }
        await entry.session.close()
    }

    private func expireIdleSessions() async {
        let now = ContinuousClock.now
        for (id, entry) in sessions where now - entry.lastUsed > limits.idleTimeout {
            await close(id)
        }
    }

    /// Whether a body is a JSON-RPC `initialize` request.
    static func isInitialize(_ body: Data) -> Bool {
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else { return false }
        return object["method"] as? String == "initialize" && object["id"] != nil
    }

    private static func reply(_ response: HTTPResponse, counting sent: ByteCounter? = nil) -> Reply {
        switch response {
        case .stream(let events, let headers):
            guard let sent else { return Reply(status: 200, headers: headers, body: .events(events)) }
            let (counted, continuation) = AsyncThrowingStream.makeStream(of: Data.self)
            let relay = Task {
                do {
                    for try await chunk in events {
                        sent.add(chunk.count)
                        continuation.yield(chunk)
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in relay.cancel() }
            return Reply(status: 200, headers: headers, body: .events(counted))
        default:
            let data = response.bodyData
            sent?.add(data?.count ?? 0)
            return Reply(status: response.statusCode, headers: response.headers, body: data.map(Reply.Body.data) ?? .empty)
        }
    }
}

/// Bytes a session has sent.
final class ByteCounter: @unchecked Sendable {  // guarded by `lock`
    private let lock = NSLock()
    private var total = 0
    func add(_ count: Int) { lock.withLock { total += count } }
    var value: Int { lock.withLock { total } }
}

/// Accepts requests whose `Origin`, when present, and (with `checkHost`) whose `Host` name a loopback address, with or
/// without a port.
struct LoopbackValidator: HTTPRequestValidator {
    let checkHost: Bool

    static func isLoopback(_ host: String?) -> Bool {
        guard var host = host?.lowercased() else { return false }
        if host.hasPrefix("[") { host = String(host.dropFirst().prefix { $0 != "]" }) }
        return ["localhost", "127.0.0.1", "::1"].contains(host)
    }

    func validate(_ request: HTTPRequest, context: HTTPValidationContext) -> HTTPResponse? {
        if checkHost, let host = request.header(HTTPHeaderName.host) {
            // "name:port", "[v6]:port" or a bare name.
            let name = host.hasPrefix("[") ? host : String(host.prefix { $0 != ":" })
            guard Self.isLoopback(name) else {
                return .error(statusCode: 421, .invalidRequest("Misdirected Request: Host header not allowed"), sessionID: context.sessionID)
            }
        }
        if let origin = request.header(HTTPHeaderName.origin) {
            let host = URL(string: origin)?.host(percentEncoded: false)
            guard Self.isLoopback(host) else {
                return .error(statusCode: 403, .invalidRequest("Forbidden: Origin not allowed"), sessionID: context.sessionID)
            }
        }
        return nil
    }
}
