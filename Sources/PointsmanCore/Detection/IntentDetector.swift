import PointsmanInterfaces

/// How a decision was reached.
public enum DetectionMethod: String, Sendable, Codable, Equatable {
    /// A regex rule decided.
    case regex
    /// Cosine similarity against trained centroids decided.
    case embedding
    /// The embedding detector was unsure or unavailable and the regex rules decided.
    case fallback
    /// Nothing was detected: the caller named the capability or the model (an MCP `ask` with `capability` or `model`).
    case requested
}

/// Why the regex rules decided instead of the centroids.
public enum FallbackReason: String, Sendable, Codable, Equatable, CaseIterable {
    /// The centroids were unsure (below the label's threshold).
    case lowConfidence = "low_confidence"
    /// The embedder gave no answer in time (usually load: the service's queue was long).
    case embedderTimeout = "embedder_timeout"
    /// The embedder failed (an endpoint down, a bad answer).
    case embedderError = "embedder_error"
}

/// What a detector concluded about a prompt.
public struct Detection: Sendable, Equatable {
    /// The capability the prompt needs.
    public var capability: String
    /// How sure the detector is, 0…1.
    public var confidence: Double
    /// Score per capability (detector-specific scale; higher is better).
    public var scores: [String: Double]
    /// How the decision was made.
    public var method: DetectionMethod
    /// The centroid label that won (embedding detector), or nil.
    public var label: String?
    /// Human-readable reasons, e.g. the rule that matched or why a fallback happened.
    public var reasons: [String]
    /// Why the rules decided, when `method` is `fallback`.
    public var fallbackReason: FallbackReason?
    /// The prompt's language (a `LanguageDetector` code) when the detector already worked it out, else nil.
    public var language: String?

    /// Creates a detection.
    public init(
        capability: String, confidence: Double, scores: [String: Double], method: DetectionMethod,
        label: String? = nil, reasons: [String] = []
    ) {
        self.capability = capability
        self.confidence = confidence
        self.scores = scores
        self.method = method
        self.label = label
        self.reasons = reasons
    }
}

/// Decides which capability a prompt needs.
public protocol IntentDetector: Sendable {
    /// Detects the capability of one prompt.
    func detect(_ prompt: String) async throws -> Detection
    /// Detects many prompts; results in input order. Detectors that batch (embeddings) override this.
    func detect(batch prompts: [String]) async throws -> [Detection]
    /// Detects the capability a conversation needs next. By default: its last user turn.
    func detect(conversation: [ChatMessage]) async throws -> Detection
}

extension IntentDetector {
    public func detect(batch prompts: [String]) async throws -> [Detection] {
        var out: [Detection] = []
        out.reserveCapacity(prompts.count)
        for prompt in prompts { out.append(try await detect(prompt)) }
        return out
    }

    public func detect(conversation: [ChatMessage]) async throws -> Detection {
        guard let last = conversation.last(where: { $0.role == .user && !$0.content.trimmingWhitespace().isEmpty }) else {
            throw RoutingError.noUserTurn
        }
        return try await detect(last.content)
    }
}
