import Foundation
import Logging
import MCP
import PointsmanCore

/// Builds MCP sessions over a `RoutingToolbox`: one per connection (stdio has one; Streamable HTTP has one per
/// session). Each lists the tools and resources, answers calls with progress notifications, and tells its client
/// when a reload changed the catalog or centroids (tools list-changed: the tool schemas list the catalog's models;
/// resource updates for the subscribed resources).
public struct PointsmanMCPServer: Sendable {
    public let toolbox: RoutingToolbox
    /// The version reported to clients.
    public let version: String

    /// The header the service sets to the API key the client presented (its own parsing, the one the key check
    /// used); the service removes any copy a client sends.
    public static let presentedKeyHeader = "x-pointsman-presented-key"

    public init(toolbox: RoutingToolbox, version: String) {
        self.toolbox = toolbox
        self.version = version
    }

    static let instructions = """
    Pointsman routes prompts to the cheapest model that can do the job among the configured local and remote models. \
    Call 'ask' to get an answer from the right model, 'route' to see which model would answer and why, 'pipeline' for \
    multi-step tasks, and 'compare' to see how each detector routes a prompt. The catalog, the centroid file and \
    recent decisions are resources.
    """

    /// A new session: a server with every handler registered (not started), the calls it is running and its
    /// resource subscriptions.
    public func makeSession() async -> MCPSession {
        let session = MCPSession(server: Server(
            name: "pointsman", version: version, title: "Pointsman model router", instructions: Self.instructions,
            capabilities: .init(
                logging: nil,
                resources: .init(subscribe: true, listChanged: false),
                tools: .init(listChanged: true))))
        let server = session.server
        let toolbox = toolbox
        await server.withMethodHandler(ListTools.self) { _ in
            ListTools.Result(tools: await toolbox.tools())
        }
        await server.withMethodHandler(CallTool.self) { [weak server, calls = session.calls] params in
            let progress: ToolProgress
            if let token = params._meta?.progressToken, let server {
                progress = ToolProgress { value, total, message in
                    try? await server.notify(ProgressNotification.message(
                        .init(progressToken: token, progress: value, total: total, message: message)))
                }
            } else {
                progress = .none
            }
            let http = Server.currentHandlerContext?.httpContext
            let apiKey = http?.header(Self.presentedKeyHeader)
            // The call runs as a task the session can cancel when it closes (the SDK stops only its reading loop).
            let work = Task { try await toolbox.call(params.name, arguments: params.arguments, progress: progress, apiKey: apiKey) }
            let id = calls.add(work)
            defer { calls.remove(id) }
            do {
                return try await withTaskCancellationHandler { try await work.value } onCancel: { work.cancel() }
            } catch is CancellationError where http != nil {
                // Over HTTP the request's event stream closes only with a response: a cancelled call answers with an
                // error (clients ignore answers to requests they cancelled) rather than hold its stream open.
                throw MCPError.requestCancelled
            }
        }
        await server.withMethodHandler(ListResources.self) { _ in
            ListResources.Result(resources: toolbox.resources())
        }
        await server.withMethodHandler(ReadResource.self) { params in
            ReadResource.Result(contents: try await toolbox.read(params.uri))
        }
        await server.withMethodHandler(ResourceSubscribe.self) { [subscriptions = session.subscriptions] params in
            guard toolbox.resources().contains(where: { $0.uri == params.uri }) else { throw RoutingToolbox.unknownResource(params.uri) }
            subscriptions.insert(params.uri)
            return Empty()
        }
        await server.withMethodHandler(ResourceUnsubscribe.self) { [subscriptions = session.subscriptions] params in
            subscriptions.remove(params.uri)
            return Empty()
        }
        session.watcher = announceReloads(to: session)
        return session
    }

    /// Serves one connection until it closes: stdio for `pointsman mcp`.
    public func run(transport: any Transport) async throws {
        let session = await makeSession()
        try await session.server.start(transport: transport)
        await session.server.waitUntilCompleted()
        await session.close()
    }

    /// After every reload that changed the routing files: tools list-changed, and an update for each subscribed
    /// resource that depends on them. Ends when the session closes.
    func announceReloads(to session: MCPSession) -> Task<Void, Never> {
        let store = toolbox.store
        return Task { [weak server = session.server, subscriptions = session.subscriptions] in
            for await _ in await store.versionChanges() {
                guard let server else { return }
                try? await server.notify(ToolListChangedNotification.message())
                for uri in [RoutingToolbox.catalogURI, RoutingToolbox.centroidsURI] where subscriptions.contains(uri) {
                    try? await server.notify(ResourceUpdatedNotification.message(.init(uri: uri)))
                }
            }
        }
    }
}

extension MCPError {
    /// The answer to a call cancelled over HTTP.
    static let requestCancelled = MCPError.serverError(code: -32800, message: "request cancelled")
}

/// One MCP connection: its server, the tool calls it is running (cancelled when it closes) and its resource
/// subscriptions.
public final class MCPSession: @unchecked Sendable {  // `watcher` is set once, before the session is shared
    public let server: Server
    let calls = InFlightCalls()
    let subscriptions = SubscriptionSet()
    var watcher: Task<Void, Never>?

    init(server: Server) { self.server = server }

    /// Cancels the running calls (and with them their upstream requests), stops announcing reloads and stops the
    /// server.
    public func close() async {
        calls.cancelAll()
        watcher?.cancel()
        await server.stop()
    }
}

/// The tool calls a session is running.
final class InFlightCalls: @unchecked Sendable {  // guarded by `lock`
    private let lock = NSLock()
    private var tasks: [UUID: Task<CallTool.Result, any Error>] = [:]
    private var closed = false

    func add(_ task: Task<CallTool.Result, any Error>) -> UUID {
        let id = UUID()
        let cancelNow = lock.withLock {
            tasks[id] = task
            return closed
        }
        if cancelNow { task.cancel() }
        return id
    }

    func remove(_ id: UUID) { lock.withLock { tasks[id] = nil } }

    func cancelAll() {
        let running = lock.withLock {
            closed = true
            defer { tasks.removeAll() }
            return Array(tasks.values)
        }
        running.forEach { $0.cancel() }
    }

    var count: Int { lock.withLock { tasks.count } }
}

/// The resource URIs a session subscribed to.
final class SubscriptionSet: @unchecked Sendable {  // guarded by `lock`
    private let lock = NSLock()
    private var uris: Set<String> = []
    func insert(_ uri: String) { _ = lock.withLock { uris.insert(uri) } }
    func remove(_ uri: String) { _ = lock.withLock { uris.remove(uri) } }
    func contains(_ uri: String) -> Bool { lock.withLock { uris.contains(uri) } }
}
