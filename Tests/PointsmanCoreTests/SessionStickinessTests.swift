import PointsmanCore
import Testing

@Suite("Session stickiness")
struct SessionStickinessTests {
    static let catalog = Catalog(defaultModel: "chat", models: [
        ModelEntry(alias: "chat", capabilities: ["general", "creative"], priority: 1, contextLength: 4096),
        ModelEntry(alias: "coder", capabilities: ["code"], priority: 1),
        ModelEntry(alias: "big", capabilities: ["general", "code", "creative"], priority: 9),
    ])

    static func decision(_ capability: String, _ model: String, confidence: Double, escalated: Bool = false) -> RouteDecision {
        RouteDecision(capability: capability, selected: catalog.model(model)!, confidence: confidence, method: .embedding,
                      escalated: escalated, reasons: [], scores: [:], label: capability)
    }

    static let start = ContinuousClock.now
    static let previous = SessionEntry(model: "chat", capability: "creative", lastSeen: start)

    @Test("a first turn is new and remembered as routed")
    func first() {
        let (decision, entry, outcome) = SessionStickiness().apply(Self.decision("code", "coder", confidence: 0.3), previous: nil,
                                                                    catalog: Self.catalog, needs: .none, now: Self.start)
        #expect(outcome == .new && decision.model == "coder" && entry.model == "coder" && entry.capability == "code")
    }

    @Test("an unsure turn of another capability stays on the session's model and says why")
    func keepsWhenUnsure() {
        let (decision, entry, outcome) = SessionStickiness(switchConfidence: 0.6).apply(
            Self.decision("code", "coder", confidence: 0.45), previous: Self.previous, catalog: Self.catalog, needs: .none)
        #expect(outcome == .kept && decision.model == "chat" && decision.capability == "code")
        #expect(decision.reasons.last == "kept session model chat: code at confidence 0.45 is below 0.60")
        #expect(entry.model == "chat" && entry.capability == "creative")
    }

    @Test("a confident turn of another capability, an escalation, or a session model that cannot serve the turn switches",
          arguments: [
            (decision("code", "coder", confidence: 0.8), RequestNeeds.none, "code at confidence 0.80 (at least 0.60) after creative"),
            (decision("general", "big", confidence: 0.9, escalated: true), .none, "this turn escalates to big"),
            (decision("creative", "big", confidence: 0.2), RequestNeeds(promptTokens: 5000), "chat cannot serve this turn (context 4096 tokens < 5000 needed)"),
          ])
    func switches(turn: RouteDecision, needs: RequestNeeds, why: String) {
        let (decision, entry, outcome) = SessionStickiness(switchConfidence: 0.6).apply(turn, previous: Self.previous,
                                                                                        catalog: Self.catalog, needs: needs)
        #expect(outcome == .switched && decision.model == turn.model && entry.model == turn.model)
        #expect(decision.reasons.last == "switched session model: " + why)
    }

    @Test("the same capability stays on the session's model even when the router would pick another")
    func sameCapability() {
        let (decision, _, outcome) = SessionStickiness().apply(Self.decision("creative", "big", confidence: 0.99),
                                                                previous: Self.previous, catalog: Self.catalog, needs: .none)
        #expect(outcome == .kept && decision.model == "chat")
        #expect(decision.reasons.last == "kept session model chat (same capability creative)")
    }

    @Test("a session model gone from the catalog switches")
    func removedModel() {
        let gone = SessionEntry(model: "retired", capability: "creative", lastSeen: Self.start)
        let (decision, _, outcome) = SessionStickiness().apply(Self.decision("creative", "chat", confidence: 0.1),
                                                                previous: gone, catalog: Self.catalog, needs: .none)
        #expect(outcome == .switched && decision.model == "chat")
    }

    @Test("the session table forgets entries after their TTL and holds at most its capacity")
    func table() {
        let table = SessionTable(capacity: 2, ttl: .seconds(60))
        let now = ContinuousClock.now
        table.record("a", SessionEntry(model: "chat", capability: "creative", lastSeen: now))
        #expect(table.entry("a", now: now + .seconds(59))?.model == "chat")
        #expect(table.entry("a", now: now + .seconds(61)) == nil)
        #expect(table.entry("a", now: now) == nil)  // dropped when found expired
        for key in ["b", "c", "d"] { table.record(key, SessionEntry(model: key, capability: "general", lastSeen: now)) }
        #expect(table.count == 2 && table.entry("b", now: now) == nil && table.entry("d", now: now)?.model == "d")
        // A key stored again after being dropped is found again (its old slot was recycled safely).
        table.record("a", SessionEntry(model: "again", capability: "general", lastSeen: now))
        table.record("e", SessionEntry(model: "e", capability: "general", lastSeen: now))
        #expect(table.entry("a", now: now)?.model == "again" && table.count == 2)
    }
}
