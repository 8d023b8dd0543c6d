import Foundation
import Synchronization

/// The model a conversation is on, remembered between its turns.
public struct SessionEntry: Sendable, Equatable {
    /// The alias that answered the last turn.
    public var model: String
    /// The conversation's capability: the one its model was chosen for.
    public var capability: String
    /// When the last turn was routed.
    public var lastSeen: ContinuousClock.Instant

    public init(model: String, capability: String, lastSeen: ContinuousClock.Instant) {
        self.model = model
        self.capability = capability
        self.lastSeen = lastSeen
    }
}

/// Where conversations' models are remembered between turns: this process's `SessionTable`, or a store replicas
/// share. Neither call may fail a request: a store that cannot answer says nil (the turn is routed afresh).
public protocol SessionStore: Sendable {
    /// The session's entry, or nil when it is unknown or expired.
    func session(_ key: String) async -> SessionEntry?
    /// Remembers the session's model after a turn.
    func remember(_ key: String, _ entry: SessionEntry) async
}

extension SessionTable: SessionStore {
    public func session(_ key: String) async -> SessionEntry? { entry(key) }
    public func remember(_ key: String, _ entry: SessionEntry) async { record(key, entry) }
}

/// Which model each conversation is on: at most `capacity` sessions (the least recently used go first), each
/// forgotten `ttl` after its last turn. Safe to share between concurrent requests.
public final class SessionTable: Sendable {
    public let capacity: Int
    public let ttl: Duration
    private let storage: Mutex<LRUStorage<String, SessionEntry>>

    public init(capacity: Int, ttl: Duration) {
        self.capacity = max(1, capacity)
        self.ttl = ttl
        storage = Mutex(LRUStorage(capacity: max(1, capacity)))
    }

    /// The session's entry, or nil when it is unknown or expired (an expired entry is dropped).
    public func entry(_ key: String, now: ContinuousClock.Instant = .now) -> SessionEntry? {
        storage.withLock { lru in
            guard let entry = lru.value(for: key) else { return nil }
            guard now - entry.lastSeen <= ttl else {
                lru.remove(key)
                return nil
            }
            return entry
        }
    }

    /// Remembers the session's model after a turn.
    public func record(_ key: String, _ entry: SessionEntry) {
        storage.withLock { $0.store(entry, for: key) }
    }

    /// Sessions held (expired ones included until they are looked up or pushed out).
    public var count: Int { storage.withLock { $0.count } }
}

/// Keeps a conversation on its model from turn to turn: a new turn switches only when its capability differs with
/// enough confidence, when it escalates, or when the session's model can no longer serve it.
public struct SessionStickiness: Sendable {
    /// The confidence a turn of another capability needs to move the conversation to another model.
    public var switchConfidence: Double

    public init(switchConfidence: Double = 0.6) {
        self.switchConfidence = switchConfidence
    }

    /// What happened to a turn.
    public enum Outcome: String, Sendable {
        /// First turn of the session (or its entry expired).
        case new
        /// The session's model answers.
        case kept
        /// The turn moved the session to another model.
        case switched
    }

    /// The decision for this turn given the session's entry, with the reason appended, and the entry to remember.
    public func apply(_ decision: RouteDecision, previous: SessionEntry?, catalog: Catalog, needs: RequestNeeds,
                      now: ContinuousClock.Instant = .now) -> (decision: RouteDecision, entry: SessionEntry, outcome: Outcome) {
        var result = decision
        func switched(_ why: String) -> (RouteDecision, SessionEntry, Outcome) {
            result.reasons.append("switched session model: \(why)")
            return (result, SessionEntry(model: decision.model, capability: decision.capability, lastSeen: now), .switched)
        }
        guard let previous else {
            return (decision, SessionEntry(model: decision.model, capability: decision.capability, lastSeen: now), .new)
        }
        if decision.model == previous.model {
            result.reasons.append("kept session model \(previous.model)")
            return (result, SessionEntry(model: previous.model, capability: previous.capability, lastSeen: now), .kept)
        }
        guard let model = catalog.model(previous.model) else {
            return switched("\(previous.model) is no longer in the catalog")
        }
        let problems = needs.unmet(by: model)
        guard problems.isEmpty else {
            return switched("\(previous.model) cannot serve this turn (\(problems.joined(separator: ", ")))")
        }
        if decision.escalated { return switched("this turn escalates to \(decision.model)") }
        if decision.capability != previous.capability, decision.confidence >= switchConfidence {
            return switched("\(decision.capability) at confidence \(Self.two(decision.confidence)) (at least "
                            + "\(Self.two(switchConfidence))) after \(previous.capability)")
        }
        result.selected = model
        result.reasons.append(decision.capability == previous.capability
            ? "kept session model \(previous.model) (same capability \(previous.capability))"
            : "kept session model \(previous.model): \(decision.capability) at confidence \(Self.two(decision.confidence)) "
                + "is below \(Self.two(switchConfidence))")
        return (result, SessionEntry(model: previous.model, capability: previous.capability, lastSeen: now), .kept)
    }

    static func two(_ value: Double) -> String { String(format: "%.2f", value) }
}
