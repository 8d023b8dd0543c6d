import Foundation

/// What a client said about a routed request: the capability that would have been right, a rating, or both.
public struct RoutingFeedback: Sendable, Codable, Equatable {
    public var id: UUID
    /// The request's `x-request-id`, which joins the feedback to its decision-log row.
    public var requestID: String
    public var time: Date
    /// The key id of the client that sent it (`anonymous` without keys).
    public var keyID: String
    /// The capability that should have been chosen.
    public var capability: String?
    /// -1 (bad), 0 (neutral) or 1 (good).
    public var rating: Int?
    public var comment: String?

    enum CodingKeys: String, CodingKey {
        case id, requestID = "request_id", time, keyID = "key_id", capability, rating, comment
    }

    public init(id: UUID = UUID(), requestID: String, time: Date = Date(), keyID: String, capability: String? = nil,
                rating: Int? = nil, comment: String? = nil) {
        self.id = id
        self.requestID = requestID
        self.time = time
        self.keyID = keyID
        self.capability = capability
        self.rating = rating
        self.comment = comment
    }
}

/// A logged decision with the capability feedback says was right, when there is one: what replays and retraining
/// read.
public struct LoggedDecision: Sendable, Equatable {
    public var record: DecisionLogRecord
    /// The capability of the latest feedback that names one.
    public var correctedCapability: String?

    public init(record: DecisionLogRecord, correctedCapability: String? = nil) {
        self.record = record
        self.correctedCapability = correctedCapability
    }
}

/// Where feedback is kept. `record` throws when it cannot keep it now (the client may retry).
public protocol FeedbackStore: Sendable {
    func record(_ feedback: RoutingFeedback) async throws
}
