import Crypto
import Foundation
import PointsmanInterfaces

/// How two detectors share traffic.
public enum ABMode: Sendable, Equatable {
    /// Route with A; also compute B's decision and record both.
    case shadow
    /// Send `share` (0…1) of the traffic to B, by a stable hash of the request or user id.
    case split(share: Double)
}

/// One routed request as the A/B trace records it.
public struct ABDecisionRecord: Sendable, Codable, Equatable {
    public var id: String
    /// The arm whose decision was used: "A" or "B".
    public var arm: String
    public var prompt: String?
    public var a: RouteDecision?
    public var b: RouteDecision?
    public var aLatencyMs: Double?
    public var bLatencyMs: Double?
    /// Cost estimate of the used decision's model for the prompt's tokens, when known.
    public var cost: Double?
    /// A true label, when the caller knows it (offline replays, labeled traffic).
    public var label: String?
    public var timestamp: String

    enum CodingKeys: String, CodingKey {
        case id, arm, prompt, a, b, aLatencyMs = "a_latency_ms", bLatencyMs = "b_latency_ms", cost, label, timestamp
    }
}

/// Runs two routers side by side, in shadow or split mode, and reports both decisions.
public struct ABRouter: Sendable {
    public let a: Router
    public let b: Router
    public let mode: ABMode
    /// Record the prompt text in traces (off by default: prompts may be private).
    public let recordPrompts: Bool

    public init(a: Router, b: Router, mode: ABMode, recordPrompts: Bool = false) {
        self.a = a
        self.b = b
        self.mode = mode
        self.recordPrompts = recordPrompts
    }

    /// The arm an id belongs to in split mode: stable for the id, B for a `share` of all ids.
    public static func arm(for id: String, share: Double) -> String {
        let digest = SHA256.hash(data: Data(id.utf8))
        let value = digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return Double(value) / Double(UInt64.max) < share ? "B" : "A"
    }

    /// Routes `prompt` for request/user `id`; returns the decision used and the record to trace.
    public func route(_ prompt: String, id: String, label: String? = nil) async throws -> (decision: RouteDecision, record: ABDecisionRecord) {
        try await route(text: prompt, id: id, label: label) { try await $0.route(prompt) }
    }

    /// Routes a conversation for request/user `id` exactly as `Router.route(messages:)` does on each arm (earlier
    /// user turns blended in); the record's prompt is the last user turn.
    public func route(messages: [ChatMessage], id: String, label: String? = nil, needs: RequestNeeds = .none,
                      quality: RoutingQuality = .balanced) async throws -> (decision: RouteDecision, record: ABDecisionRecord)
    {
        let last = messages.last { $0.role == .user }?.content ?? ""
        return try await route(text: last, id: id, label: label) {
            try await $0.route(messages: messages, needs: needs, quality: quality)
        }
    }

    private func route(
        text prompt: String, id: String, label: String?, with decide: @Sendable @escaping (Router) async throws -> RouteDecision
    ) async throws -> (decision: RouteDecision, record: ABDecisionRecord) {
        let clock = ContinuousClock()
        @Sendable func timed(_ router: Router) async throws -> (RouteDecision, Double) {
            let start = clock.now
            let decision = try await decide(router)
            let elapsed = clock.now - start
            return (decision, Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
        }
        var record = ABDecisionRecord(id: id, arm: "A", prompt: recordPrompts ? prompt : nil, a: nil, b: nil,
                                      aLatencyMs: nil, bLatencyMs: nil, cost: nil, label: label,
                                      timestamp: ISO8601DateFormatter().string(from: Date()))
        let used: RouteDecision
        switch mode {
        case .shadow:
            async let first = timed(a)
            async let second = timed(b)
            let (decisionA, latencyA) = try await first
            record.a = decisionA
            record.aLatencyMs = latencyA
            if let (decisionB, latencyB) = try? await second {
                record.b = decisionB
                record.bLatencyMs = latencyB
            }
            used = decisionA
        case .split(let share):
            let arm = Self.arm(for: id, share: share)
            record.arm = arm
            let (decision, latency) = try await timed(arm == "A" ? a : b)
            if arm == "A" { record.a = decision; record.aLatencyMs = latency } else { record.b = decision; record.bLatencyMs = latency }
            used = decision
        }
        let tokens = max(1, prompt.utf8.count / 4)  // rough: a token is about four bytes of English
        record.cost = used.selected.cost(promptTokens: tokens, completionTokens: 0)
        return (used, record)
    }
}

/// Appends A/B decision records to a JSON Lines file.
public actor ABTraceWriter {
    private let handle: FileHandle

    public init(path: String) throws {
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
    }

    public func write(_ record: ABDecisionRecord) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        if var line = try? encoder.encode(record) {
            line.append(0x0A)
            try? handle.write(contentsOf: line)
        }
    }

    public func close() {
        try? handle.synchronize()
        try? handle.close()
    }
}
