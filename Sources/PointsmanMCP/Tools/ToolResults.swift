import PointsmanCore
import PointsmanInterfaces

/// A routing decision as the tools return it (`structuredContent`).
struct DecisionView: Codable, Sendable, Equatable {
    var capability: String
    var model: String
    var upstreamModel: String
    var confidence: Double
    var method: String
    var escalated: Bool
    var language: String
    var reasons: [String]
    /// The three best capability scores, when a detector scored them.
    var topScores: [String: Double]
    var routingVersion: String?

    enum CodingKeys: String, CodingKey {
        case capability, model, upstreamModel = "upstream_model", confidence, method, escalated, language, reasons
        case topScores = "top_scores", routingVersion = "routing_version"
    }

    init(_ decision: RouteDecision) {
        capability = decision.capability
        model = decision.model
        upstreamModel = decision.upstreamModel
        confidence = decision.confidence
        method = decision.method.rawValue
        escalated = decision.escalated
        language = decision.language
        reasons = decision.reasons
        topScores = Dictionary(uniqueKeysWithValues: decision.scores.sorted { $0.value > $1.value }.prefix(3).map { ($0.key, $0.value) })
        routingVersion = decision.routingVersion
    }
}

/// Token counts of an answer.
struct UsageView: Codable, Sendable, Equatable {
    var promptTokens: Int?
    var completionTokens: Int?
    var totalTokens: Int?

    enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens", completionTokens = "completion_tokens", totalTokens = "total_tokens"
    }

    init(promptTokens: Int?, completionTokens: Int?, totalTokens: Int?) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.totalTokens = totalTokens
    }

    init(_ usage: TokenUsage) {
        promptTokens = usage.promptTokens
        completionTokens = usage.completionTokens
        totalTokens = usage.totalTokens
    }
}

/// What `ask` returns.
struct AskAnswer: Codable, Sendable {
    var answer: String
    /// The model that answered (a fallback when the chosen one failed).
    var model: String
    var fellBack: Bool
    var decision: DecisionView
    var usage: UsageView?
    /// Whether `usage` was counted here (the native tokenizer) because the upstream reported none.
    var usageEstimated: Bool
    /// From the catalog's prices and `usage`.
    var cost: Double?
    var finishReason: String?
    /// Set when a soft budget limit made the call run on the cheapest capable model.
    var budget: String?

    enum CodingKeys: String, CodingKey {
        case answer, model, fellBack = "fell_back", decision, usage, usageEstimated = "usage_estimated", cost
        case finishReason = "finish_reason", budget
    }
}

/// What `compare` returns: each detector's decision, or a note saying why it has none.
struct Comparison: Codable, Sendable {
    var regex: DecisionView?
    var embedding: DecisionView?
    var hybrid: DecisionView?
    var agree = true
    var notes: [String]
}
