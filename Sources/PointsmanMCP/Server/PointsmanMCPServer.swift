import Foundation
import Logging
import MCP
import PointsmanCore

/// Builds MCP servers over a `RoutingToolbox`: one per connection (stdio has one; Streamable HTTP has one per session).
/// Each server lists the tools and resources, answers calls with progress notifications, and tells its client when a
/// reload changed the catalog or centroids (tools and resources list-changed: the tool schemas list the catalog's models).
public struct PointsmanMCPServer: Sendable {
    public let toolbox: RoutingToolbox
    /// The version reported to clients.
    public let version: String

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

    /// A new server with every handler registered (not started).
    public func makeServer() async -> Server {
        let server = Server(
            name: "pointsman", version: version, title: "Pointsman model router", instructions: Self.instructions,
            capabilities: .init(
                logging: nil,
                resources: .init(subscribe: false, listChanged: true),
                tools: .init(listChanged: true)))
        let toolbox = toolbox
        await server.withMethodHandler(ListTools.self) { _ in
            ListTools.Result(tools: await toolbox.tools())
        }
        await server.withMethodHandler(CallTool.self) { [weak server] params in
            let progress: ToolProgress
            if let token = params._meta?.progressToken, let server {
                progress = ToolProgress { value, total, message in
                    try? await server.notify(ProgressNotification.message(
                        .init(progressToken: token, progress: value, total: total, message: message)))
                }
            } else {
                progress = .none
            }
            return try await toolbox.call(params.name, arguments: params.arguments, progress: progress,
                                          apiKey: Self.presentedKey(Server.currentHandlerContext?.httpContext))
        }
        await server.withMethodHandler(ListResources.self) { _ in
            ListResources.Result(resources: toolbox.resources())
        }
        await server.withMethodHandler(ReadResource.self) { params in
            ReadResource.Result(contents: try await toolbox.read(params.uri))
        }
        return server
    }

    /// The API key an HTTP client presented (`Authorization: Bearer …` or `x-api-key`); nil over stdio.
    static func presentedKey(_ request: HTTPRequest?) -> String? {
        guard let request else { return nil }
        if let authorization = request.header("Authorization"), authorization.lowercased().hasPrefix("bearer ") {
            return String(authorization.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        }
        return request.header("x-api-key")
    }

    /// Serves one connection until it closes: stdio for `pointsman mcp`.
    public func run(transport: any Transport) async throws {
        let server = await makeServer()
        try await server.start(transport: transport)
        let watcher = announceReloads(to: server)
        await server.waitUntilCompleted()
        watcher.cancel()
        await server.stop()
    }

    /// Sends list-changed notifications to `server`'s client after every reload that changed the routing files,
    /// until cancelled.
    public func announceReloads(to server: Server) -> Task<Void, Never> {
        let store = toolbox.store
        return Task { [weak server] in
            for await _ in await store.versionChanges() {
                guard let server else { return }
                try? await server.notify(ToolListChangedNotification.message())
                try? await server.notify(ResourceListChangedNotification.message())
            }
        }
    }
}
