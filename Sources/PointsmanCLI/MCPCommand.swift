import ArgumentParser
import Foundation
import Logging
import MCP
import PointsmanCore
import PointsmanMCP

struct MCPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp",
        abstract: "Serve Pointsman's tools (route, ask, pipeline, compare) and resources to an MCP client over standard input and output.",
        discussion: """
        This is the command an MCP client (a desktop assistant, an IDE agent) launches. Standard output carries the \
        protocol only; notes and logs go to standard error. The catalog, rules and centroid files are reloaded when they \
        change, and the client is told. `pointsman serve` offers the same server over Streamable HTTP at /mcp.
        """)

    @OptionGroup var routing: RoutingOptions
    @OptionGroup var endpoint: EndpointOptions

    @Option(name: .long, help: "Seconds between checks of the catalog, rules and centroid files for changes (0: no hot reload).")
    var watch: Double = 2

    @Option(name: .long, help: "How many recent decisions the pointsman://decisions resource lists.")
    var decisions: Int = 50

    @Option(name: .long, help: "max_tokens of an ask call that gives none.")
    var maxTokens: Int = 512

    func validate() throws {
        guard watch >= 0, watch <= 86_400 else { throw ValidationError("--watch must be 0 (off) or a number of seconds up to a day") }
        guard decisions >= 1 else { throw ValidationError("--decisions must be positive") }
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be positive") }
    }

    func run() async throws {
        var logger = Logger(label: "pointsman.mcp")
        logger.logLevel = .warning
        let (store, encoder, embeddingClient) = try await routing.makeStore()
        if watch > 0 { await store.startWatching(every: .milliseconds(Int(watch * 1000))) }
        let client = try endpoint.makeClient()
        let toolbox = RoutingToolbox(
            store: store, backend: client, history: DecisionHistory(capacity: decisions),
            configuration: MCPToolConfiguration(defaultMaxTokens: maxTokens, decisionsShown: decisions, detector: store.detector),
            countTokens: { text in
                if let tokenizer = encoder?.tokenizer { return tokenizer.encode(text, truncate: false).count }
                return (text.utf8.count + 3) / 4
            },
            logger: logger)
        let server = PointsmanMCPServer(toolbox: toolbox, version: Pointsman.configuration.version)
        do {
            try await server.run(transport: StdioTransport(logger: logger))
        } catch {
            await store.stopWatching()
            try? await client.shutdown()
            try? await embeddingClient?.shutdown()
            throw error
        }
        await store.stopWatching()
        try await client.shutdown()
        try? await embeddingClient?.shutdown()
    }
}
