import Foundation

/// One served request as the decision log keeps it: what decided, what was chosen, what it cost. A/B analysis,
/// replays against new centroid files and feedback all join on `requestID`.
public struct DecisionLogRecord: Sendable, Codable, Equatable {
    /// The record's own id: a record written twice (a write retried after a timeout) is kept once.
    public var id: UUID
    /// The id the service gave the request (its `x-request-id` header).
    public var requestID: String
    public var time: Date
    /// What asked: `chat` (chat, Messages and Responses APIs) or `route` (`/v1/route`).
    public var source: String
    /// The routing version stamp (`x-pointsman-routing-version`) that decided.
    public var routingVersion: String?
    /// The A/B arm whose decision was used (`A` without A/B).
    public var arm: String
    /// The detector that decided (`hybrid`, `embedding`, `regex`), or `requested` for a model asked by name.
    public var detector: String
    /// The routed capability; nil for a model asked by name.
    public var capability: String?
    /// The model that answered (or was chosen, for `/v1/route`).
    public var model: String
    public var confidence: Double?
    /// How the capability was decided (`embedding`, `fallback`, …).
    public var method: String?
    /// The prompt's language code.
    public var language: String?
    /// Time to decide the route, in milliseconds.
    public var routeMilliseconds: Double?
    /// Time from the request's arrival to the end of its answer, in milliseconds.
    public var totalMilliseconds: Double?
    public var promptTokens: Int?
    public var completionTokens: Int?
    /// Cost at the catalog's prices.
    public var cost: Double?
    /// The HTTP status the client got.
    public var status: Int
    /// The last user turn, only when the service logs prompts.
    public var prompt: String?
    /// The key id of the client (`anonymous` without keys): feedback counts only from the key that made the request.
    public var keyID: String?

    enum CodingKeys: String, CodingKey {
        case id, requestID = "request_id", time, source, routingVersion = "routing_version", arm, detector, capability,
             model, confidence, method, language, routeMilliseconds = "route_ms", totalMilliseconds = "total_ms",
             promptTokens = "prompt_tokens", completionTokens = "completion_tokens", cost, status, prompt,
             keyID = "key_id"
    }

    /// Creates a record; `id` is a fresh time-ordered id (`UUID.timeOrdered(at: time)`) unless given.
    public init(id: UUID? = nil, requestID: String, time: Date = Date(), source: String, routingVersion: String? = nil,
                arm: String = "A", detector: String, capability: String? = nil, model: String, confidence: Double? = nil,
                method: String? = nil, language: String? = nil, routeMilliseconds: Double? = nil,
                totalMilliseconds: Double? = nil, promptTokens: Int? = nil, completionTokens: Int? = nil,
                cost: Double? = nil, status: Int = 200, prompt: String? = nil, keyID: String? = nil) {
        self.id = id ?? .timeOrdered(at: time)
        self.keyID = keyID
        self.requestID = requestID
        self.time = time
        self.source = source
        self.routingVersion = routingVersion
        self.arm = arm
        self.detector = detector
        self.capability = capability
        self.model = model
        self.confidence = confidence
        self.method = method
        self.language = language
        self.routeMilliseconds = routeMilliseconds
        self.totalMilliseconds = totalMilliseconds
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.cost = cost
        self.status = status
        self.prompt = prompt
    }

    /// A record of `decision`'s fields (nil: a model asked by name, `detector` says so).
    public init(requestID: String, source: String, decision: RouteDecision?, model: String, detector: String,
                arm: String = "A", time: Date = Date()) {
        self.init(requestID: requestID, time: time, source: source, routingVersion: decision?.routingVersion, arm: arm,
                  detector: decision == nil ? "requested" : detector, capability: decision?.capability, model: model,
                  confidence: decision?.confidence, method: decision?.method.rawValue, language: decision?.language)
    }
}

/// Where decision records go. `append` must return at once whatever the storage is doing: routing never waits for
/// the log.
public protocol DecisionLog: Sendable {
    /// Takes one record; it is stored later, in a batch.
    func append(_ record: DecisionLogRecord) async
}

/// The JSON Lines form of decision records (spill files, exports), with dates in ISO 8601 with milliseconds.
public enum DecisionLogLines {
    static let dateStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    /// One record as one line, newline included.
    public static func encode(_ record: DecisionLogRecord) throws -> Data {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(date.formatted(dateStyle))
        }
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var line = try encoder.encode(record)
        line.append(0x0A)
        return line
    }

    /// A line's record; nil for a blank line.
    public static func decode(_ line: some StringProtocol) throws -> DecisionLogRecord? {
        let text = line.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            if let date = try? dateStyle.parse(text) { return date }
            if let date = try? Date.ISO8601FormatStyle().parse(text) { return date }
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an ISO 8601 date: \(text)"))
        }
        return try decoder.decode(DecisionLogRecord.self, from: Data(text.utf8))
    }
}
