/// Where a prompt goes and why.
public struct RouteDecision: Sendable, Equatable, Codable {
    /// The capability the prompt needs.
    public var capability: String
    /// The chosen model's alias.
    public var model: String
    /// The model id sent upstream.
    public var upstreamModel: String
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

    enum CodingKeys: String, CodingKey {
        case capability, model, upstreamModel = "upstream_model", confidence, method, escalated, reasons, scores, label
    }

    /// Creates a decision.
    public init(
        capability: String, model: String, upstreamModel: String, confidence: Double, method: DetectionMethod,
        escalated: Bool, reasons: [String], scores: [String: Double], label: String?
    ) {
        self.capability = capability
        self.model = model
        self.upstreamModel = upstreamModel
        self.confidence = confidence
        self.method = method
        self.escalated = escalated
        self.reasons = reasons
        self.scores = scores
        self.label = label
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
    }
}
