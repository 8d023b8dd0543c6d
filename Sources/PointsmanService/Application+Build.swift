import Foundation
import Hummingbird
import Logging
import MiniLMEncoder
import NIOCore
import PointsmanInterfaces
import OpenAIClient
import ServiceLifecycle
import UnixSignals
import PointsmanCore
import PointsmanMCP
import PointsmanPostgres

/// Wires the real implementations: the micro-batched encoder, the routing store, the upstream client, metrics, the A/B
/// trace, and the background services (file watching, SIGHUP reload, client shutdown).
public func buildApplication(
    configuration: ServiceConfiguration, encoder: MiniLMEncoder?, version: String = "dev",
    logger: Logger = Logger(label: "pointsman.serve")
) async throws -> some ApplicationProtocol {
    let metrics = ServiceMetrics()
    let batcher = encoder.map {
        EmbeddingBatcher(encoder: $0, maxTexts: configuration.batchMaxTexts, maxTokens: configuration.batchMaxTokens, maxWait: configuration.batchMaxWait,
                         queueLimit: configuration.queueLimit, metrics: metrics)
    }
    // An adapted encoder's vectors are not the published model's: requests that do not name the adapted model get a
    // stock encoder's, loaded on first use.
    let stockEmbeddings = encoder.flatMap {
        StockEmbeddings(adapted: $0) {
            EmbeddingBatcher(encoder: $0, maxTexts: configuration.batchMaxTexts, maxTokens: configuration.batchMaxTokens,
                             maxWait: configuration.batchMaxWait, queueLimit: configuration.queueLimit)
        }
    }
    // Routing vectors go through an in-memory LRU; /v1/embeddings asks the batcher directly.
    let vectorCache = configuration.embeddingCacheEntries > 0 ? VectorLRU(capacity: configuration.embeddingCacheEntries) : nil
    if let vectorCache { metrics.observe(vectorCache) }
    let routingEmbedder: (any LeadTokenEmbedder)? = batcher.map { batcher -> any LeadTokenEmbedder in
        guard let vectorCache else { return batcher }
        return LRUCachedLeadTokenEmbedder(base: batcher, cache: vectorCache)
    }
    let state = try await RoutingStore(
        files: configuration.routingFiles, embedder: routingEmbedder, detector: .hybrid,
        options: RoutingSetup.Options(ruleCandidates: configuration.ruleCandidates),
        ab: configuration.abMode.map {
            RoutingStore.ABConfiguration(b: configuration.abDetector, mode: $0, recordPrompts: configuration.logPrompts)
        },
        logger: logger)
    metrics.routingVersion(await state.current().setup.version)
    // The proxy makes one attempt per model: the catalog's fallbacks, not retries, answer a failing upstream.
    let upstream = try UpstreamClients(base: OpenAIClientConfiguration(
        baseURL: configuration.upstreamURL, apiKey: configuration.upstreamAPIKey,
        requestTimeout: configuration.upstreamTimeout, idleTimeout: configuration.upstreamIdleTimeout, maxRetries: 0))
    let trace = try configuration.tracePath.map { try ABTraceWriter(path: $0) }
    try configuration.budget?.validate()
    // With a database, spend is shared by every replica; it must answer at start (a replica does not start half-set-up).
    var database: PointsmanDatabase?
    if let url = configuration.databaseURL { database = try await PointsmanDatabase.open(url: url, logger: logger) }
    let ledger: any SpendLedger = try database.map { PostgresSpendLedger(database: $0) }
        ?? FileSpendLedger(path: configuration.spendLedgerPath)
    // Decision records go to the database in the background; while it is down they wait in memory, then in a file.
    let decisionLog = database.map {
        PostgresDecisionLog(database: $0, spillPath: configuration.decisionSpillPath
                                ?? (NSTemporaryDirectory() as NSString).appendingPathComponent("pointsman-decision-spill-\(configuration.port).jsonl"),
                            memoryLimit: configuration.decisionMemoryLimit)
    }
    try await decisionLog?.start()
    var dependencies = ServiceDependencies(
        configuration: configuration, state: state, batcher: batcher, upstream: upstream, metrics: metrics, trace: trace,
        ledger: ledger, decisionLog: decisionLog)
    dependencies.stockEmbeddings = stockEmbeddings
    dependencies.feedbackStore = database.map { PostgresFeedbackStore(database: $0) }
    if let database, configuration.sessionCapacity > 0 {
        // Conversations stay on their model whichever replica takes the turn.
        dependencies.sessions = PostgresSessionStore(database: database, ttl: configuration.sessionTTL,
                                                     capacity: configuration.sessionCapacity)
    }
    if configuration.mcpEnabled {
        // MCP tools call models through the proxy's clients: one attempt per model, each model's connect and idle
        // timeouts.
        dependencies.mcp = dependencies.makeMCPEndpoint(
            backend: CatalogTimedBackend(clients: upstream, state: state), version: version, logger: logger)
    }
    let mcp = dependencies.mcp
    let router = buildRouter(dependencies)
    var app = Application(
        router: router,
        server: .http1(configuration: .init(
            additionalChannelHandlers: [RequestHeadTimeoutHandler(
                timeout: .nanoseconds(EmbeddingBatcher.nanoseconds(configuration.headerTimeout)),
                bodyTimeout: .nanoseconds(EmbeddingBatcher.nanoseconds(configuration.bodyTimeout)),
                minimumBytesPerSecond: configuration.minimumBodyBytesPerSecond,
                rateGrace: .nanoseconds(EmbeddingBatcher.nanoseconds(configuration.bodyRateGrace)))],
            idleTimeout: .nanoseconds(EmbeddingBatcher.nanoseconds(configuration.idleTimeout)))),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "pointsman"),
        logger: logger)
    app.addServices(ReloadService(state: state, metrics: metrics, interval: configuration.watchInterval),
                    UpstreamClientService(client: upstream, trace: trace, mcp: mcp, database: database,
                                          decisionLog: decisionLog))
    return app
}

extension ServiceDependencies {
    /// The MCP endpoint over this service's routing state, decision history, budget and spend ledger: models called
    /// by MCP tools count against the same limits, per API key, as chat requests. Mounted at `/mcp`.
    public func makeMCPEndpoint(backend: any ChatBackend, version: String, logger: Logger) -> MCPHTTPEndpoint {
        let toolbox = RoutingToolbox(
            store: state, backend: backend, history: history, countTokens: { self.countTokens($0) },
            spend: ServiceSpending(configuration: configuration, ledger: ledger, metrics: metrics, logger: logger), logger: logger)
        let loopback = ["127.0.0.1", "localhost", "::1"].contains(configuration.host)
        return MCPHTTPEndpoint(
            server: PointsmanMCPServer(toolbox: toolbox, version: version),
            limits: .init(maxSessions: configuration.mcpMaxSessions, idleTimeout: configuration.mcpSessionIdle,
                          maxSessionBytes: configuration.mcpSessionMaxBytes),
            origins: loopback ? .loopback : configuration.apiKeys.isEmpty ? .loopbackOrigins : .none, logger: logger)
    }
}

/// The routes, without any server: tested through `app.test(.router)`.
public func buildRouter(_ d: ServiceDependencies) -> Hummingbird.Router<BasicRequestContext> {
    let router = Hummingbird.Router(context: BasicRequestContext.self)
    // A server span per request (a no-op unless the process bootstrapped a tracer: `serve --otlp-endpoint`); the
    // route, embed and upstream spans below are its children.
    router.add(middleware: TracingMiddleware(recordingHeaders: [.requestID]))
    router.add(middleware: RoutingVersionMiddleware(state: d.state))
    router.add(middleware: RequestOutcomeMiddleware(metrics: d.metrics))
    router.add(middleware: APIKeyMiddleware(keys: d.configuration.apiKeys, adminKeys: d.configuration.adminKeys))
    router.get("/healthz") { _, _ in jsonResponse(["status": "ok"]) }
    router.get("/readyz") { _, _ in await d.ready() }
    router.get("/metrics") { _, _ in
        Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                 body: .init(byteBuffer: ByteBuffer(string: d.metrics.render())))
    }
    router.get("/v1/models") { _, _ in await d.models() }
    router.post("/v1/route") { request, context in try await d.route(request, context: context) }
    router.post("/v1/feedback") { request, context in try await d.feedback(request, context: context) }
    router.post("/v1/embeddings") { request, context in try await d.embeddings(request, context: context) }
    router.post("/v1/chat/completions") { request, context in try await d.chatCompletions(request, context: context) }
    router.post("/v1/messages") { request, context in try await d.messages(request, context: context) }
    router.post("/v1/responses") { request, context in try await d.responses(request, context: context) }
    router.post("/admin/reload") { _, _ in await d.reload() }
    router.get("/v1/spend") { request, _ in try await d.spend(request) }
    if let endpoint = d.mcp {
        for method in [HTTPRequest.Method.post, .get, .delete] {
            router.on("/mcp", method: method) { request, _ in try await d.mcp(request, endpoint: endpoint) }
        }
    }
    // A known path asked with the wrong method is a 405 that names the allowed one, not a 404.
    for (path, allowed) in [("/v1/route", "POST"), ("/v1/embeddings", "POST"), ("/v1/chat/completions", "POST"), ("/v1/messages", "POST"), ("/v1/responses", "POST"),
                            ("/admin/reload", "POST"), ("/v1/models", "GET"), ("/v1/spend", "GET"), ("/healthz", "GET"), ("/readyz", "GET"),
                            ("/metrics", "GET")] {
        let methods: [HTTPRequest.Method] = allowed == "POST" ? [.get, .put, .delete, .patch] : [.post, .put, .delete, .patch]
        for method in methods {
            router.on(RouterPath(path), method: method) { _, _ -> Response in
                throw OpenAIError(.methodNotAllowed, "\(path) accepts \(allowed) only", code: "method_not_allowed",
                                  headers: [.allow: allowed])
            }
        }
    }
    return router
}

/// Reloads on SIGHUP and, when asked, whenever a watched file changes.
struct ReloadService: Service {
    let state: RoutingStore
    let metrics: ServiceMetrics
    let interval: Duration?

    func run() async throws {
        try await cancelWhenGracefulShutdown { try await self.loop() }
    }

    private func loop() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in await UnixSignalsSequence(trapping: .sighup) {
                    metrics.reloaded(await state.reload())
                }
            }
            if let interval {
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: interval)
                        if let result = await state.reloadIfChanged() { metrics.reloaded(result) }
                    }
                }
            }
            await group.waitForAll()
        }
    }
}

/// Keeps the upstream client alive for the service's life and shuts it down cleanly.
struct UpstreamClientService: Service {
    let client: UpstreamClients
    let trace: ABTraceWriter?
    let mcp: MCPHTTPEndpoint?
    let database: PointsmanDatabase?
    let decisionLog: PostgresDecisionLog?

    func run() async throws {
        try? await gracefulShutdown()
        await mcp?.closeAll()
        // Held decision records go to the database now, or stay in the spill file for the next start.
        await decisionLog?.close()
        database?.close()
        await trace?.close()
        try await client.shutdown()
    }
}
