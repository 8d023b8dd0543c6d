import PointsmanInterfaces

/// Supplies the catalog in force: a fixed value, or a hot-reloading store.
public protocol CatalogSource: Sendable {
    /// The current catalog (always a complete, validated one).
    func current() async -> Catalog
}

/// A catalog that never changes.
public struct FixedCatalog: CatalogSource {
    public let catalog: Catalog
    public init(_ catalog: Catalog) { self.catalog = catalog }
    public func current() async -> Catalog { catalog }
}

/// A prompt that cannot be routed.
public enum RoutingError: Error, Sendable, Equatable, CustomStringConvertible {
    case emptyPrompt
    case emptyPromptInBatch(index: Int)
    case noUserTurn

    public var description: String {
        switch self {
        case .emptyPrompt: "the prompt is empty"
        case .emptyPromptInBatch(let index): "prompt \(index + 1) of the batch is empty"
        case .noUserTurn: "the conversation has no user message with text"
        }
    }
}

/// Detection plus selection: turns a prompt or a conversation into a `RouteDecision`.
public struct Router: Sendable {
    /// Where the catalog comes from.
    public let catalog: any CatalogSource
    /// The capability detector.
    public let detector: any IntentDetector
    /// The model selector.
    public let selector: ModelSelector
    /// The routing table's version (`RoutingSetup.version`), stamped on every decision; nil when unknown.
    public let version: String?

    /// Creates a router.
    public init(catalog: any CatalogSource, detector: any IntentDetector, selector: ModelSelector = ModelSelector(),
                version: String? = nil) {
        self.catalog = catalog
        self.detector = detector
        self.selector = selector
        self.version = version
    }

    /// Routes one prompt to a model that can serve `needs` (throws `UnservableRequestError` when none can).
    /// `quality` trades cost against quality (see `RoutingQuality`).
    public func route(_ prompt: String, needs: RequestNeeds = .none, quality: RoutingQuality = .balanced) async throws -> RouteDecision {
        guard !prompt.trimmingWhitespace().isEmpty else { throw RoutingError.emptyPrompt }
        let detection = try await detector.detect(prompt)
        return try decide(detection, prompt: prompt, catalog: await catalog.current(), needs: needs, quality: quality)
    }

    /// Routes many prompts in one batch; decisions in input order.
    /// `needs`, when given, holds one entry per prompt (a prompt without one has no needs).
    public func route(batch prompts: [String], needs: [RequestNeeds]? = nil, quality: RoutingQuality = .balanced)
        async throws -> [RouteDecision]
    {
        if let index = prompts.firstIndex(where: { $0.trimmingWhitespace().isEmpty }) {
            throw RoutingError.emptyPromptInBatch(index: index)
        }
        let detections = try await detector.detect(batch: prompts)
        let current = await catalog.current()
        return try detections.indices.map { index in
            let need = needs.flatMap { $0.indices.contains(index) ? $0[index] : nil } ?? .none
            return try decide(detections[index], prompt: prompts[index], catalog: current, needs: need, quality: quality)
        }
    }

    /// Routes a conversation: the detector decides from the conversation (the embedding detector blends earlier user
    /// turns into the last one; the regex detector reads the last user turn); escalation reads the last user turn.
    /// The chosen model can serve `needs` (throws `UnservableRequestError` when no model can).
    public func route(messages: [ChatMessage], needs: RequestNeeds = .none, quality: RoutingQuality = .balanced)
        async throws -> RouteDecision
    {
        guard let last = messages.last(where: { $0.role == .user && !$0.content.trimmingWhitespace().isEmpty }) else {
            throw RoutingError.noUserTurn
        }
        let detection = try await detector.detect(conversation: messages)
        return try decide(detection, prompt: last.content, catalog: await catalog.current(), needs: needs, quality: quality)
    }

    func decide(_ detection: Detection, prompt: String, catalog: Catalog, needs: RequestNeeds, quality: RoutingQuality)
        throws -> RouteDecision
    {
        let selection = try selector.select(
            capability: detection.capability, prompt: prompt, in: catalog, needs: needs, quality: quality)
        return RouteDecision(
            capability: detection.capability, selected: selection.model,
            confidence: detection.confidence, method: detection.method, escalated: selection.escalated,
            reasons: detection.reasons + selection.reasons, scores: detection.scores, label: detection.label,
            language: detection.language ?? LanguageDetector.detect(prompt), fallback: detection.fallbackReason, routingVersion: version)
    }
}

