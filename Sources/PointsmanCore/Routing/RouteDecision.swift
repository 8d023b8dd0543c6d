/// Where a prompt goes and why. It carries the selected catalog entry, so nobody looks the model up again.
public struct RouteDecision: Sendable, Equatable, Codable {
    /// The capability the prompt needs.
    public var capability: String
    /// The selected catalog entry (endpoint, prices, fallbacks included).
    public var selected: ModelEntry
    /// Detector confidence, 0…1.
    public var confidence: Double
    /// How the capability was decided.
    public var method: DetectionMethod
    /// Whether escalation changed the model.
    public var escalated: Bool
    /// Why, step by step.
    public var reasons: [String]
    /// Score per capability.
    public var scores: [String: Double]
    /// The centroid label that won, or nil when the embedding detector abstained or did not run.
    public var label: String?
    /// The language the prompt is written in (`LanguageDetector`'s code).
    public var language: String
    /// Why the regex rules decided, when `method` is `fallback` (`embedder_timeout` means the embedder was too slow,
    /// usually under load); nil otherwise.
    public var fallback: FallbackReason?
    /// The version of the routing table that decided (`RoutingSetup.version`), when known.
    public var routingVersion: String?

    /// The chosen model's alias.
    public var model: String { selected.alias }
    /// The model id sent upstream.
    public var upstreamModel: String { selected.upstreamID }

    enum CodingKeys: String, CodingKey {
        case capability, model, upstreamModel = "upstream_model", confidence, method, escalated, reasons, scores, label,
             language, fallback, routingVersion = "routing_version"
    }

    /// Creates a decision.
    public init(
        capability: String, selected: ModelEntry, confidence: Double, method: DetectionMethod,
        escalated: Bool, reasons: [String], scores: [String: Double], label: String?, language: String = "und",
        fallback: FallbackReason? = nil, routingVersion: String? = nil
    ) {
        self.capability = capability
        self.selected = selected
        self.confidence = confidence
        self.method = method
        self.escalated = escalated
        self.reasons = reasons
        self.scores = scores
        self.label = label
        self.language = language
        self.fallback = fallback
        self.routingVersion = routingVersion
    }

    /// Reads a decision as traces record it. The JSON names the model by alias and upstream id only, so the entry
    /// of a decoded decision knows just those two (enough to replay and compare decisions).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        capability = try c.decode(String.self, forKey: .capability)
        let alias = try c.decode(String.self, forKey: .model)
        let upstream = try c.decodeIfPresent(String.self, forKey: .upstreamModel)
        selected = ModelEntry(alias: alias, capabilities: [], priority: 0, upstreamModel: upstream == alias ? nil : upstream)
        confidence = try c.decode(Double.self, forKey: .confidence)
        method = try c.decode(DetectionMethod.self, forKey: .method)
        escalated = try c.decode(Bool.self, forKey: .escalated)
        reasons = try c.decode([String].self, forKey: .reasons)
        scores = try c.decode([String: Double].self, forKey: .scores)
        label = try c.decodeIfPresent(String.self, forKey: .label)
        language = try c.decodeIfPresent(String.self, forKey: .language) ?? "und"
        fallback = try c.decodeIfPresent(FallbackReason.self, forKey: .fallback)
        routingVersion = try c.decodeIfPresent(String.self, forKey: .routingVersion)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(capability, forKey: .capability)
        try c.encode(model, forKey: .model)
        try c.encode(upstreamModel, forKey: .upstreamModel)
        try c.encode(confidence, forKey: .confidence)
        try c.encode(method, forKey: .method)
        try c.encode(escalated, forKey: .escalated)
        try c.encode(reasons, forKey: .reasons)
        try c.encode(scores, forKey: .scores)
        try c.encode(label, forKey: .label)  // explicit null when absent
        try c.encode(language, forKey: .language)
        try c.encode(fallback, forKey: .fallback)  // explicit null when the rules did not take over
        try c.encodeIfPresent(routingVersion, forKey: .routingVersion)
    }
}
