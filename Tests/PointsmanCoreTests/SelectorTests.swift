import PointsmanCore
import Testing

@Suite("Selection with the workshop's semantics")
struct SelectorTests {
    struct Case: Sendable, CustomStringConvertible {
        var prompt: String
        var capability: String
        var model: String
        var escalated: Bool
        var description: String { prompt }
    }

    static let workshopCases: [Case] = [
        Case(prompt: "Refactor this Python function for readability", capability: "code", model: "deepseek-coder-1.3b", escalated: false),
        Case(prompt: "Summarize the importance of small language models", capability: "summarize", model: "phi-4-mini", escalated: false),
        Case(prompt: "Classify this feedback: The UI is slow but pretty", capability: "classification", model: "qwen2.5-0.5b", escalated: false),
        Case(prompt: "Tell me about the history of Rome", capability: "general", model: "phi-4-mini", escalated: false),
        Case(prompt: "Review our security posture", capability: "general", model: "gpt-oss-20b", escalated: true),
        Case(prompt: "Explain why " + String(repeating: "long ", count: 60) + "prompts escalate", capability: "general", model: "gpt-oss-20b", escalated: true),
        Case(prompt: "Optimize this loop", capability: "code", model: "gpt-oss-20b", escalated: true),
        Case(prompt: "Check this contract for COMPLIANCE issues", capability: "general", model: "gpt-oss-20b", escalated: true),
    ]

    @Test("workshop prompts with the workshop rules and the shipped catalog", arguments: workshopCases)
    func workshop(_ c: Case) async throws {
        let router = Router(catalog: FixedCatalog(.shipped), detector: try RegexIntentDetector(rules: .workshop))
        let decision = try await router.route(c.prompt)
        #expect(decision.capability == c.capability)
        #expect(decision.model == c.model)
        #expect(decision.escalated == c.escalated)
        #expect(decision.method == .regex)
    }

    @Test("a 300-character prompt escalates and says why")
    func longPromptEscalates() async throws {
        let prompt = "Summarize " + String(repeating: "x", count: 290)
        #expect(prompt.count == 300)
        let router = Router(catalog: FixedCatalog(.shipped), detector: try RegexIntentDetector(rules: .workshop))
        let decision = try await router.route(prompt)
        #expect(decision.capability == "summarize")
        #expect(decision.model == "gpt-oss-20b")
        #expect(decision.escalated)
        #expect(decision.reasons.contains { $0.contains("300 characters") })
    }

    static let tieCatalog = Catalog(defaultModel: "b", models: [
        ModelEntry(alias: "zeta", capabilities: ["code"], priority: 1),
        ModelEntry(alias: "alpha", capabilities: ["code"], priority: 1),
        ModelEntry(alias: "cheap", capabilities: ["code"], priority: 0, fallbacks: []),
        ModelEntry(alias: "b", capabilities: ["general"], priority: 5),
    ])

    @Test("lower priority wins; ties go to the alphabetically first alias")
    func priorityAndTies() throws {
        let selector = ModelSelector()
        #expect(selector.select(capability: "code", prompt: "", in: Self.tieCatalog).model.alias == "cheap")
        var catalog = Self.tieCatalog
        catalog.models.removeAll { $0.alias == "cheap" }
        #expect(selector.select(capability: "code", prompt: "", in: catalog).model.alias == "alpha")
        #expect(selector.candidates(for: "code", in: catalog).map(\.alias) == ["alpha", "zeta"])
    }

    @Test("a capability no model declares goes to the default model")
    func undeclaredCapability() {
        let selection = ModelSelector().select(capability: "poetry", prompt: "", in: Self.tieCatalog)
        #expect(selection.model.alias == "b")
        #expect(selection.reasons.first?.contains("no model declares poetry") == true)
    }

    @Test("every capability of the training data has a model in the shipped catalog")
    func shippedCoverage() {
        let selector = ModelSelector()
        for capability in ["code", "math", "summarize", "classification", "qa", "reasoning", "translation", "creative", "extraction", "general"] {
            let chosen = selector.select(capability: capability, prompt: "", in: .shipped)
            #expect(chosen.model.capabilities.contains(capability), "\(capability)")
            #expect(chosen.model.alias != "gpt-oss-20b", "\(capability) should not need the escalation model")
        }
    }
}
