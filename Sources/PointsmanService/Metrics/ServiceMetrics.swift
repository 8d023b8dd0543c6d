import Foundation
import Prometheus
import PointsmanCore
import Synchronization

/// The service's Prometheus metrics, in one registry that `/metrics` renders.
public final class ServiceMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()

    private static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "pointsman", metricName: metric, unitName: unit, helpText: help)
    }

    private var requestsName: MetricNameDescriptor { Self.name("http_requests", "total", "HTTP requests by route and status") }
    private var decisionsName: MetricNameDescriptor { Self.name("routing_decisions", "total", "Routing decisions by capability, model, method, A/B arm and prompt language") }
    private var fallbacksName: MetricNameDescriptor { Self.name("routing_fallbacks", "total", "Decisions the regex rules made, by arm and reason (low_confidence, embedder_timeout, embedder_error)") }
    private var feedbackName: MetricNameDescriptor { Self.name("feedback", "total", "Feedback received, by rating (bad, neutral, good, none) and whether it names the right capability") }
    private var reloadsName: MetricNameDescriptor { Self.name("reloads", "total", "Reloads of catalog, rules and centroids by result") }
    private var upstreamFailuresName: MetricNameDescriptor { Self.name("upstream_failures", "total", "Upstream attempts that failed before the first byte, by model") }
    let embedSeconds: DurationHistogram
    let scoreSeconds: DurationHistogram
    let upstreamSeconds: DurationHistogram
    let batchSize: ValueHistogram
    let queueDepth: Gauge
    private let versionInfo = Mutex<(version: String, gauge: Gauge)?>(nil)
    private let cacheCounts = Mutex<(cache: VectorLRU?, hits: Int, misses: Int)>((nil, 0, 0))
    let cacheHits: Counter
    let cacheMisses: Counter
    let cacheEntries: Gauge

    public init() {
        let fast: [Duration] = [.microseconds(100), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
                                .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1)]
        embedSeconds = registry.makeDurationHistogram(descriptor: Self.name("embed", "seconds", "Encoder time per batch"), buckets: fast)
        scoreSeconds = registry.makeDurationHistogram(descriptor: Self.name("route", "seconds", "Routing decision time (embedding and scoring)"), buckets: fast)
        upstreamSeconds = registry.makeDurationHistogram(
            descriptor: Self.name("upstream", "seconds", "Upstream chat time to the response head"),
            buckets: fast + [.seconds(5), .seconds(30)])
        batchSize = registry.makeValueHistogram(descriptor: Self.name("embed_batch", "texts", "Texts per encoder call"), buckets: [1, 2, 4, 8, 16, 32, 64])
        queueDepth = registry.makeGauge(descriptor: Self.name("embed_queue", "texts", "Texts waiting for the encoder"))
        let lookups = Self.name("embedding_cache_lookups", "total", "Routing-vector cache lookups by result (hit: not embedded again)")
        cacheHits = registry.makeCounter(descriptor: lookups, labels: [("result", "hit")])
        cacheMisses = registry.makeCounter(descriptor: lookups, labels: [("result", "miss")])
        cacheEntries = registry.makeGauge(descriptor: Self.name("embedding_cache", "vectors", "Routing vectors held in the cache"))
    }

    /// Reports `cache`'s hits, misses and size on every `/metrics` render.
    public func observe(_ cache: VectorLRU) {
        cacheCounts.withLock { $0.cache = cache }
    }

    private func updateCacheMetrics() {
        cacheCounts.withLock { state in
            guard let cache = state.cache else { return }
            let now = cache.statistics
            cacheHits.increment(by: Int64(now.hits - state.hits))
            cacheMisses.increment(by: Int64(now.misses - state.misses))
            cacheEntries.set(Double(now.count))
            state.hits = now.hits
            state.misses = now.misses
        }
    }

    func request(route: String, status: Int) {
        registry.makeCounter(descriptor: requestsName, labels: [("route", route), ("status", String(status))]).increment()
    }

    /// Counts a decision. Every label is bounded by configuration: capabilities and models by the loaded files,
    /// methods and arms by the code, languages by `LanguageDetector.codes`.
    func decision(capability: String, model: String, method: String, arm: String, language: String, fallback: String?) {
        registry.makeCounter(descriptor: decisionsName, labels: [("capability", capability), ("model", model), ("method", method),
                                                                  ("arm", arm), ("language", language)]).increment()
        if let fallback { registry.makeCounter(descriptor: fallbacksName, labels: [("arm", arm), ("reason", fallback)]).increment() }
    }

    /// Counts one feedback.
    func feedback(rating: Int?, corrected: Bool) {
        let name = switch rating { case .some(-1): "bad"; case .some(0): "neutral"; case .some(1): "good"; default: "none" }
        registry.makeCounter(descriptor: feedbackName, labels: [("rating", name), ("corrected", corrected ? "true" : "false")]).increment()
    }

    func reload(result: String) {
        registry.makeCounter(descriptor: reloadsName, labels: [("result", result)]).increment()
    }

    /// Counts a reload attempt and shows the routing version in force.
    func reloaded(_ result: RoutingStore.ReloadResult) {
        reload(result: result.ok ? "success" : "failure")
        routingVersion(result.routingVersion)
    }

    /// `pointsman_routing_version_info{version="…"} 1` for the routing version in force; the previous version's
    /// series is removed, so the page holds one such line whatever the number of reloads.
    public func routingVersion(_ version: String) {
        versionInfo.withLock { current in
            guard current?.version != version else { return }
            if let old = current?.gauge { registry.unregisterGauge(old) }
            let gauge = registry.makeGauge(
                descriptor: Self.name("routing_version", "info", "The routing version in force (hash of catalog, rules and centroids)"),
                labels: [("version", version)])
            gauge.set(Double(1))
            current = (version, gauge)
        }
    }

    /// Counts a conversation turn by what session stickiness did (new, kept, switched).
    func session(outcome: String) {
        registry.makeCounter(descriptor: Self.name("session_turns", "total", "Routed conversation turns by session outcome (new, kept, switched)"),
                             labels: [("outcome", outcome)]).increment()
    }

    /// Adds an answer's cost and tokens, by client key (the ledger's key id, bounded by the configured keys) and model.
    func spend(key: String, model: String, cost: Double, tokens: Int) {
        registry.makeCounter(descriptor: Self.name("spend", "total", "Spend from answered requests, in the catalog's price unit, by key id and model"),
                             labels: [("key", key), ("model", model)]).increment(by: cost)
        registry.makeCounter(descriptor: Self.name("tokens", "total", "Prompt plus completion tokens of answered requests, by key id and model"),
                             labels: [("key", key), ("model", model)]).increment(by: Int64(tokens))
    }

    /// Counts a request refused at a hard budget limit.
    func budgetRefusal() {
        registry.makeCounter(descriptor: Self.name("budget_refusals", "total", "Requests refused at a hard budget limit")).increment()
    }

    func upstreamFailure(model: String) {
        registry.makeCounter(descriptor: upstreamFailuresName, labels: [("model", model)]).increment()
    }

    /// The Prometheus text exposition.
    public func render() -> String {
        updateCacheMetrics()
        return registry.emitToString()
    }
}
