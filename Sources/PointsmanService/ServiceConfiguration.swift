import Foundation
import PointsmanCore

/// Everything the service needs, decided by the executable (flags, environment) and passed in as a value.
public struct ServiceConfiguration: Sendable {
    public var host: String = "127.0.0.1"
    public var port: Int = 8080
    /// The model name that asks for automatic routing.
    public var autoModelName: String = "auto"
    /// Catalog file (nil: the shipped catalog).
    public var catalogPath: String?
    /// Rules file (nil: the shipped rules).
    public var rulesPath: String?
    /// Centroid file (nil: regex routing only).
    public var centroidsPath: String?
    /// Where chat requests go when a model has no base URL of its own.
    public var upstreamURL: String = "http://localhost:5273/v1"
    /// Bearer token for the upstream; never logged.
    public var upstreamAPIKey: String?
    /// Keys clients must send (`Authorization: Bearer …`); empty: no authentication.
    public var apiKeys: [String] = []
    /// Keys that alone may call the `/admin/` routes (a reload rebuilds the whole routing state); empty: those routes
    /// take what every other route takes (a client key when any is configured).
    public var adminKeys: [String] = []
    /// Largest request body accepted (larger: 413).
    public var maxBodyBytes: Int = 1 << 20
    /// Most prompts in one `/v1/route` request, and most bytes of prompt text in all of them together (above: 400).
    public var maxRoutePrompts: Int = 256
    public var maxRoutePromptBytes: Int = 256 * 1024
    /// Most inputs in one `/v1/embeddings` request (above: 400).
    public var maxEmbeddingInputs: Int = 1024
    /// Log prompt texts (off by default).
    public var logPrompts: Bool = false
    /// Hybrid routing, below a centroid's threshold: how many of the centroids' best capabilities the regex rules may
    /// choose from (`Int.max`: any matching rule decides).
    public var ruleCandidates: Int = CentroidIntentDetector.defaultRuleCandidates
    /// The cost–quality trade-off of requests that do not choose one (header `x-pointsman-quality` or the body's
    /// `pointsman.quality`).
    public var quality: RoutingQuality = .balanced
    /// Session stickiness: conversations remembered (0: off), how long after their last turn, and the confidence a
    /// turn of another capability needs to move its conversation to another model.
    public var sessionCapacity: Int = 10_000
    public var sessionTTL: Duration = .seconds(1800)
    public var sessionSwitchConfidence: Double = 0.6
    /// PostgreSQL shared by replicas (`postgres://…`): spend is kept there instead of a file; nil: single process.
    public var databaseURL: String?
    /// With a database: where decision records wait while it is down and memory is full (JSON Lines, written to the
    /// database when it answers again; nil: `decision-spill-PORT.jsonl` in the system's temporary folder).
    public var decisionSpillPath: String?
    /// With a database: most decision records held in memory while it is down before they spill to the file.
    public var decisionMemoryLimit: Int = 10_000
    /// Spending limits (nil: none) and the file spend is kept in across restarts (nil: memory only).
    public var budget: BudgetPolicy?
    public var spendLedgerPath: String?
    /// A/B: the B arm's detector and how traffic is shared; nil: no A/B.
    public var abMode: ABMode?
    public var abDetector: DetectorKind = .regex
    /// JSON Lines file for A/B decision records.
    public var tracePath: String?
    /// Micro-batching of embedding work: most texts per encoder call, most tokens per call (its first text always
    /// fits; see `EmbeddingCallPlanner`), longest wait for company when the encoder is idle (0: start at once; requests
    /// still batch up while a batch computes), most texts queued.
    public var batchMaxTexts: Int = 8
    public var batchMaxTokens: Int = 128
    public var batchMaxWait: Duration = .zero
    public var queueLimit: Int = 1024
    /// Routing vectors kept in memory, keyed by (embedder fingerprint, text), so repeated prompts and earlier turns of
    /// a conversation are not embedded again (0: no cache). About 1.7 KB each for all-MiniLM-L6-v2 (the vector and a
    /// sha256 of the text).
    public var embeddingCacheEntries: Int = 10_000
    /// The MCP endpoint at `/mcp` (Streamable HTTP, behind the same API keys): on or off, most sessions open at once,
    /// how long an unused session lives, and how many bytes a session may send before it is closed (the MCP SDK
    /// keeps every event a session sent, for resumption).
    public var mcpEnabled: Bool = true
    public var mcpMaxSessions: Int = 64
    public var mcpSessionIdle: Duration = .seconds(1800)
    public var mcpSessionMaxBytes: Int = 8 << 20
    /// Recent routing decisions kept for the MCP resource `pointsman://decisions`.
    public var decisionHistory: Int = 100
    /// Longest wait for an answer to start across a model and all its fallbacks (above: 504).
    public var requestDeadline: Duration = .seconds(300)
    /// Seconds allowed for an upstream chat request, and the idle gap in a stream.
    public var upstreamTimeout: Duration = .seconds(120)
    public var upstreamIdleTimeout: Duration = .seconds(60)
    /// Idle connections are closed after this long.
    public var idleTimeout: Duration = .seconds(60)
    /// A connection whose next request head has not fully arrived after this long is closed.
    public var headerTimeout: Duration = .seconds(10)
    /// A request body must be complete this long after its head, and arrive at `minimumBodyBytesPerSecond` on average
    /// after the first `bodyRateGrace`; slower senders have their connection closed.
    public var bodyTimeout: Duration = .seconds(30)
    public var minimumBodyBytesPerSecond: Int = 1024
    public var bodyRateGrace: Duration = .seconds(5)
    /// Poll the catalog, rules and centroid files for changes this often (nil: only on reload requests and SIGHUP).
    public var watchInterval: Duration? = .seconds(2)

    public init() {}

    /// The files routing is built from.
    public var routingFiles: RoutingFiles { RoutingFiles(catalog: catalogPath, rules: rulesPath, centroids: centroidsPath) }
}
