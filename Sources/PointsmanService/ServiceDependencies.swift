import Foundation
import Logging
import PointsmanCore
import PointsmanMCP

/// What the routes work with. `buildApplication` wires the real implementations; tests may build one from fakes
/// (no sockets, no model files).
public struct ServiceDependencies: Sendable {
    public var configuration: ServiceConfiguration
    /// The routing state (catalog, rules, centroids), reloaded together.
    public var state: RoutingStore
    /// The micro-batched local encoder for `/v1/embeddings` and routing; nil: no encoder (regex routing only).
    public var batcher: EmbeddingBatcher?
    /// The published model's vectors for `/v1/embeddings` when `batcher`'s encoder carries an adapter (nil: it
    /// carries none, or there is no encoder).
    public var stockEmbeddings: StockEmbeddings?
    /// Where chat requests go.
    public var upstream: any ChatForwarding
    public var metrics: ServiceMetrics
    /// The A/B decision trace, if one is written.
    public var trace: ABTraceWriter?
    /// Which model each conversation is on (nil: no session stickiness).
    public var sessions: (any SessionStore)?
    /// Where spend is recorded (nil: not recorded, no budget enforced).
    public var ledger: (any SpendLedger)?
    /// The most recent routing decisions (chat, `/v1/route`, MCP), for the MCP resource.
    public var history: DecisionHistory
    /// Where one record per served request goes (nil: no decision log).
    public var decisionLog: (any DecisionLog)?
    /// Where `POST /v1/feedback` keeps feedback (nil: the route answers 404).
    public var feedbackStore: (any FeedbackStore)?
    /// The MCP endpoint mounted at `/mcp` (nil: not mounted).
    public var mcp: MCPHTTPEndpoint?

    /// Creates the dependencies.
    public init(configuration: ServiceConfiguration, state: RoutingStore, batcher: EmbeddingBatcher? = nil,
                upstream: any ChatForwarding, metrics: ServiceMetrics = ServiceMetrics(), trace: ABTraceWriter? = nil,
                ledger: (any SpendLedger)? = nil, history: DecisionHistory? = nil, mcp: MCPHTTPEndpoint? = nil,
                decisionLog: (any DecisionLog)? = nil) {
        self.ledger = ledger
        self.decisionLog = decisionLog
        self.history = history ?? DecisionHistory(capacity: configuration.decisionHistory)
        self.mcp = mcp
        self.configuration = configuration
        self.state = state
        self.batcher = batcher
        self.upstream = upstream
        self.metrics = metrics
        self.trace = trace
        sessions = configuration.sessionCapacity > 0
            ? SessionTable(capacity: configuration.sessionCapacity, ttl: configuration.sessionTTL) : nil
    }
}
