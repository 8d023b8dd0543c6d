import Foundation
import PointsmanCore
import PointsmanTestSupport
import Testing

@Suite("Capability filters before the cheapest pick")
struct CapabilityFilterTests {
    static func model(_ alias: String, _ capabilities: [String], priority: Int, context: Int? = nil,
                      tools: Bool? = nil, vision: Bool? = nil, json: Bool? = nil, fallbacks: [String] = []) -> ModelEntry {
        var entry = ModelEntry(alias: alias, capabilities: capabilities, priority: priority, contextLength: context,
                               fallbacks: fallbacks)
        entry.supportsTools = tools
        entry.supportsVision = vision
        entry.supportsJSON = json
        return entry
    }

    static let catalog = Catalog(defaultModel: "mid", models: [
        model("small", ["code"], priority: 1, context: 4096, tools: false, vision: false, json: false),
        model("coder", ["code"], priority: 2, context: 16384, tools: true, vision: false),
        model("mid", ["general"], priority: 3, context: 32768, tools: true, vision: false, json: true),
        model("eyes", ["vision_chat"], priority: 4, context: 8192, tools: false, vision: true, json: true),
        model("big", ["general", "code"], priority: 9, context: 131072, tools: true, vision: false, json: true),
    ])

    @Test("no needs: the cheapest model that declares the capability, as before")
    func noNeeds() throws {
        let selection = try ModelSelector().select(capability: "code", prompt: "", in: Self.catalog, needs: .none)
        #expect(selection.model.alias == "small")
    }

    @Test("each need passes over the models that cannot serve it, and the reasons say which and why", arguments: [
        (RequestNeeds(tools: true), "coder", "no tool calls"),
        (RequestNeeds(json: true), "coder", "passed over small (no JSON output)"),
        (RequestNeeds(promptTokens: 6000), "coder", "context 4096 tokens < 6000 needed"),
        (RequestNeeds(promptTokens: 3000, maxOutputTokens: 2000), "coder", "(prompt 3000 + output 2000)"),
        (RequestNeeds(promptTokens: 20000), "big", "context 16384 tokens < 20000 needed"),
    ])
    func filters(needs: RequestNeeds, expected: String, reason: String) throws {
        let selection = try ModelSelector().select(capability: "code", prompt: "", in: Self.catalog, needs: needs)
        #expect(selection.model.alias == expected)
        #expect(selection.reasons.contains { $0.contains(reason) }, "\(selection.reasons)")
    }

    @Test("when no model that declares the capability can, the nearest able model by priority answers, larger first")
    func nearestLarger() throws {
        // Images: no code model reads them; "eyes" (priority 4) is the nearest able model above the code models.
        let image = try ModelSelector().select(capability: "code", prompt: "", in: Self.catalog, needs: RequestNeeds(vision: true))
        #expect(image.model.alias == "eyes")
        #expect(image.reasons.contains { $0.contains("nearest model that can: eyes") })
        // A capability nobody declares goes to the default model, unless it cannot serve the request.
        let unknown = try ModelSelector().select(capability: "poetry", prompt: "", in: Self.catalog, needs: RequestNeeds(vision: true))
        #expect(unknown.model.alias == "eyes")
        #expect(unknown.reasons.contains { $0.contains("default model mid") })
        // Nothing larger can: the nearest smaller one does.
        let smaller = Catalog(defaultModel: "top", models: [
            Self.model("low", ["general"], priority: 1, tools: true),
            Self.model("lower", ["general"], priority: 0, tools: true),
            Self.model("top", ["code"], priority: 5, tools: false),
        ])
        #expect(try ModelSelector().select(capability: "code", prompt: "", in: smaller, needs: RequestNeeds(tools: true)).model.alias == "low")
    }

    @Test("a request no model can serve is an error naming the need and each model's shortfall")
    func unservable() {
        #expect {
            _ = try ModelSelector().select(capability: "code", prompt: "", in: Self.catalog,
                                           needs: RequestNeeds(promptTokens: 200_000, tools: true))
        } throws: { error in
            let text = (error as? UnservableRequestError)?.description ?? ""
            return text.contains("tool calls, 200000 tokens of context") && text.contains("small: context 4096 tokens < 200000 needed, no tool calls")
                && text.contains("big: context 131072 tokens < 200000 needed")
        }
    }

    @Test("escalation only goes to a model that can serve the request")
    func escalation() throws {
        var catalog = Self.catalog
        catalog.escalation = EscalationRule(target: "big", keywords: ["security"])
        let plain = try ModelSelector().select(capability: "code", prompt: "check security", in: catalog, needs: RequestNeeds(tools: true))
        #expect(plain.model.alias == "big" && plain.escalated)
        let image = try ModelSelector().select(capability: "code", prompt: "check security", in: catalog, needs: RequestNeeds(vision: true))
        #expect(image.model.alias == "eyes" && !image.escalated)
        #expect(image.reasons.contains { $0.contains("not escalated to big") && $0.contains("no image input") })
    }

    @Test("a model that does not declare a feature is taken as able; a catalog round-trips the flags")
    func undeclared() throws {
        let catalog = Catalog(defaultModel: "a", models: [ModelEntry(alias: "a", capabilities: ["general"], priority: 1)])
        let selection = try ModelSelector().select(capability: "general", prompt: "", in: catalog,
                                                   needs: RequestNeeds(promptTokens: 1_000_000, tools: true, vision: true, json: true))
        #expect(selection.model.alias == "a")
        let text = try Self.catalog.jsonText()
        #expect(text.contains("\"supports_tools\"") && text.contains("\"supports_vision\"") && text.contains("\"supports_json\""))
        let file = TestPaths.temporaryDirectory("filters") + "/catalog.json"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try Catalog.load(from: file) == Self.catalog)
    }

    @Test("the router passes needs to the selector")
    func router() async throws {
        let router = Router(catalog: FixedCatalog(Self.catalog), detector: try RegexIntentDetector(rules: .workshop))
        let decision = try await router.route("Refactor this Python function", needs: RequestNeeds(tools: true))
        #expect(decision.capability == "code" && decision.model == "coder")
        await #expect(throws: UnservableRequestError.self) {
            _ = try await router.route(messages: [.user("Refactor this Python function")],
                                       needs: RequestNeeds(promptTokens: 500_000))
        }
    }
}

@Suite("Cost-quality knob")
struct RoutingQualityTests {
    static let catalog: Catalog = {
        var small = ModelEntry(alias: "small", capabilities: ["code"], priority: 2, costPer1KInput: 0.0001, costPer1KOutput: 0.0001)
        small.supportsTools = false
        let cheaper = ModelEntry(alias: "cheaper", capabilities: ["code"], priority: 3, costPer1KInput: 0.00001, costPer1KOutput: 0.00002)
        let top = ModelEntry(alias: "top", capabilities: ["code", "general"], priority: 9, costPer1KInput: 0.01, costPer1KOutput: 0.02)
        let middle = ModelEntry(alias: "middle", capabilities: ["code"], priority: 5, costPer1KInput: 0.001, costPer1KOutput: 0.001)
        return Catalog(defaultModel: "top", escalation: EscalationRule(target: "top", keywords: ["security"]),
                       models: [small, cheaper, top, middle])
    }()

    @Test("economy: the cheapest capable model by price, never escalated; balanced: lowest priority; best: top tier",
          arguments: [(RoutingQuality.economy, "cheaper"), (.balanced, "small"), (.best, "top")])
    func order(quality: RoutingQuality, expected: String) throws {
        let selection = try ModelSelector().select(capability: "code", prompt: "", in: Self.catalog, needs: .none, quality: quality)
        #expect(selection.model.alias == expected)
    }

    @Test("economy does not escalate; balanced and best do; filters still apply to every choice")
    func escalationAndFilters() throws {
        let selector = ModelSelector()
        let economy = try selector.select(capability: "code", prompt: "check security", in: Self.catalog, needs: .none, quality: .economy)
        #expect(economy.model.alias == "cheaper" && !economy.escalated)
        #expect(economy.reasons.contains { $0.contains("economy: not escalated to top") })
        #expect(try selector.select(capability: "code", prompt: "check security", in: Self.catalog, needs: .none, quality: .balanced).escalated)
        // small cannot call tools: balanced passes over it to the next by priority.
        let tools = try selector.select(capability: "code", prompt: "", in: Self.catalog, needs: RequestNeeds(tools: true), quality: .balanced)
        #expect(tools.model.alias == "cheaper")
        #expect(RoutingQuality(name: " Best ") == .best && RoutingQuality(name: "cheap") == nil)
    }
}
