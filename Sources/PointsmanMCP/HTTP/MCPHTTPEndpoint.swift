import Foundation
import Logging
import MCP

/// MCP's Streamable HTTP transport for a web framework to mount (the service mounts it at `/mcp`): one MCP session per
/// client, created by its `initialize` request and named by the `Mcp-Session-Id` header afterwards. Sessions are
/// bounded in number (the least recently used one is closed to make room) and closed after a spell of inactivity.
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

        public init(maxSessions: Int = 256, idleTimeout: Duration = .seconds(1800)) {
            self.maxSessions = max(1, maxSessions)
            self.idleTimeout = idleTimeout
        }
    }

    private struct Session {
        var server: Server
        var transport: StatefulHTTPServerTransport
        var watcher: Task<Void, Never>
        var lastUsed: ContinuousClock.Instant
    }

    private struct FixedSessionID: SessionIDGenerator {
        let id: String
        func generateSessionID() -> String { id }
    }

    private let factory: PointsmanMCPServer
    private let limits: Limits
    private let validation: any HTTPRequestValidationPipeline
    private let logger: Logger
    private var sessions: [String: Session] = [:]

    /// `localOnly`: check `Host` and `Origin` against loopback names (DNS rebinding protection, for a service bound
    /// to loopback); otherwise only the service's API keys guard the endpoint.
    public init(server: PointsmanMCPServer, limits: Limits = Limits(), localOnly: Bool, logger: Logger = Logger(label: "pointsman.mcp")) {
        factory = server
        self.limits = limits
        self.logger = logger
        validation = StandardValidationPipeline(validators: [
            localOnly ? OriginValidator.localhost() : OriginValidator.disabled,
            AcceptHeaderValidator(mode: .sseRequired),
            ContentTypeValidator(),
            ProtocolVersionValidator(),
            SessionValidator(),
        ])
    }

    /// Open sessions.
    public var sessionCount: Int { sessions.count }

    /// Answers one request to the endpoint.
    public func handle(method: String, path: String, headers: [String: String], body: Data?) async -> Reply {
        expireIdleSessions()
        let request = HTTPRequest(method: method, headers: headers, body: body, path: path)
        if let id = request.header(HTTPHeaderName.sessionID) {
            guard var session = sessions[id] else {
                return Self.reply(.error(statusCode: 404, .invalidRequest("Not Found: the MCP session does not exist or has expired; initialize a new one")))
            }
            session.lastUsed = .now
            sessions[id] = session
            let response = await session.transport.handleRequest(request)
            if method.uppercased() == "DELETE", response.statusCode == 200 { await close(id) }
            return Self.reply(response)
        }
        guard method.uppercased() == "POST", let body, Self.isInitialize(body) else {
            return Self.reply(.error(statusCode: 400, .invalidRequest("Bad Request: send an initialize request first, then the Mcp-Session-Id header it returns")))
        }
        return await open(request)
    }

    /// Closes every session (at shutdown).
    public func closeAll() async {
        for id in Array(sessions.keys) { await close(id) }
    }

    private func open(_ request: HTTPRequest) async -> Reply {
        if sessions.count >= limits.maxSessions, let oldest = sessions.min(by: { $0.value.lastUsed < $1.value.lastUsed })?.key {
            logger.info("closing the least recently used MCP session to make room", metadata: ["sessions": "\(sessions.count)"])
            await close(oldest)
        }
        let id = UUID().uuidString
        let transport = StatefulHTTPServerTransport(sessionIDGenerator: FixedSessionID(id: id), validationPipeline: validation)
        let server = await factory.makeServer()
        do {
            try await server.start(transport: transport)
        } catch {
            logger.error("could not start an MCP session", metadata: ["error": "\(error)"])
            await transport.disconnect()
            return Self.reply(.error(statusCode: 500, .internalError("the MCP session could not start")))
        }
        sessions[id] = Session(server: server, transport: transport, watcher: factory.announceReloads(to: server), lastUsed: .now)
        let response = await transport.handleRequest(request)
        if case .error = response { await close(id) }
        return Self.reply(response)
    }

    private func close(_ id: String) async {
        guard let session = sessions.removeValue(forKey: id) else { return }
        session.watcher.cancel()
        await session.server.stop()
    }

    private func expireIdleSessions() {
        let now = ContinuousClock.now
        for (id, session) in sessions where now - session.lastUsed > limits.idleTimeout {
            sessions[id] = nil
            session.watcher.cancel()
            Task { await session.server.stop() }
        }
    }

    /// Whether a body is a JSON-RPC `initialize` request.
    static func isInitialize(_ body: Data) -> Bool {
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else { return false }
        return object["method"] as? String == "initialize" && object["id"] != nil
    }

    private static func reply(_ response: HTTPResponse) -> Reply {
        switch response {
        case .stream(let events, let headers):
            return Reply(status: 200, headers: headers, body: .events(events))
        default:
            return Reply(status: response.statusCode, headers: response.headers, body: response.bodyData.map(Reply.Body.data) ?? .empty)
        }
    }
}
