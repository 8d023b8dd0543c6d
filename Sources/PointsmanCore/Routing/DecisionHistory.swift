import Foundation

/// The most recent routing decisions of a process, newest first, in a fixed amount of memory. The service records
/// the decisions of chat requests, `/v1/route` and the MCP tools `route` and `ask` (not the pipeline's inner steps);
/// MCP clients read them as a resource. Prompts are not kept.
public final class DecisionHistory: @unchecked Sendable {  // `entries` and `next` are guarded by `lock`
    /// One decision, as clients see it.
    public struct Entry: Sendable, Codable, Equatable {
        /// When it was made (ISO 8601, UTC).
        public var time: String
        /// What asked: `chat`, `route`, `mcp` and so on.
        public var source: String
        public var capability: String
        public var model: String
        public var confidence: Double
        public var method: String
        public var escalated: Bool
        public var language: String
        public var reasons: [String]
        public var routingVersion: String?

        enum CodingKeys: String, CodingKey {
            case time, source, capability, model, confidence, method, escalated, language, reasons
            case routingVersion = "routing_version"
        }
    }

    /// How many decisions are kept.
    public let capacity: Int
    private let lock = NSLock()
    private var entries: [Entry] = []
    private var next = 0

    /// Keeps the last `capacity` decisions (at least one).
    public init(capacity: Int = 100) {
        self.capacity = max(1, capacity)
        entries.reserveCapacity(self.capacity)
    }

    /// Records a decision made for `source`.
    public func record(_ decision: RouteDecision, source: String, at date: Date = Date()) {
        let entry = Entry(
            time: date.formatted(.iso8601), source: source, capability: decision.capability, model: decision.model,
            confidence: decision.confidence, method: decision.method.rawValue, escalated: decision.escalated,
            language: decision.language, reasons: decision.reasons, routingVersion: decision.routingVersion)
        lock.withLock {
            if entries.count < capacity {
                entries.append(entry)
            } else {
                entries[next] = entry
            }
            next = (next + 1) % capacity
        }
    }

    /// Up to `limit` of the most recent decisions, newest first.
    public func recent(_ limit: Int? = nil) -> [Entry] {
        lock.withLock {
            let count = min(limit ?? entries.count, entries.count)
            guard count > 0 else { return [] }
            // `next` is where the following entry goes: the newest is just before it.
            return (1...count).map { entries[(next - $0 + entries.count) % entries.count] }
        }
    }
}
