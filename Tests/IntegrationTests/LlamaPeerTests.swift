import Foundation
import OpenAIClient
import PointsmanCore
import PointsmanInterfaces
import PointsmanTestSupport
import Testing

/// A catalog whose every model is served by the llama peer (single-model mode answers any model name).
func peerCatalog(_ url: String, deadFirst: Bool = false) throws -> Catalog {
    let live = ["phi-4-mini", "deepseek-coder-1.3b", "qwen2.5-0.5b", "qwen2.5-1.5b"]
    var models = live.enumerated().map { index, alias in
        ModelEntry(alias: alias, capabilities: Catalog.shipped.model(alias)!.capabilities, priority: index + 1,
                   upstreamModel: "smollm2-135m-instruct", baseURL: url, costPer1KInput: 0.001 * Double(index + 1),
                   costPer1KOutput: 0.002 * Double(index + 1), fallbacks: [])
    }
    if deadFirst {
        models.append(ModelEntry(alias: "dead", capabilities: ["code"], priority: 0, upstreamModel: "smollm2-135m-instruct",
                                 baseURL: "http://127.0.0.1:9/v1", fallbacks: ["deepseek-coder-1.3b"]))
    }
    let catalog = Catalog(defaultModel: "phi-4-mini", escalation: nil, models: models)
    try catalog.validate(file: "<peer catalog>")
    return catalog
}

func peerClient(_ url: String) throws -> OpenAIClient {
    try OpenAIClient(configuration: .init(baseURL: url, requestTimeout: .seconds(120), maxRetries: 1))
}

@Suite("Against the real llama-cpp-python peer (SmolLM2-135M-Instruct)", .serialized)
struct LlamaPeerTests {
    @Test("a chat call returns text and token usage")
    func chat() async throws {
        let url = try Peers.llama()
        let client = try peerClient(url)
        let answer = try await client.complete(ChatRequest(
            model: "smollm2-135m-instruct", messages: [.user("What is the capital of France? Answer in one word.")],
            parameters: .init(maxTokens: 12, temperature: 0, seed: 1)))
        try await client.shutdown()
        #expect(!answer.content.isEmpty)
        #expect((answer.usage?.promptTokens ?? 0) > 0)
        #expect((answer.usage?.completionTokens ?? 0) > 0)
        #expect(answer.usage?.totalTokens == (answer.usage?.promptTokens ?? 0) + (answer.usage?.completionTokens ?? 0))
    }

    @Test("a streamed call arrives in several chunks and equals the plain answer at temperature 0")
    func stream() async throws {
        let url = try Peers.llama()
        let client = try peerClient(url)
        let request = ChatRequest(model: "smollm2-135m-instruct", messages: [.user("Count from one to five in words.")],
                                  parameters: .init(maxTokens: 24, temperature: 0, seed: 1))
        var chunks: [ChatChunk] = []
        for try await chunk in try await client.stream(request) { chunks.append(chunk) }
        let plain = try await client.complete(request)
        try await client.shutdown()
        #expect(chunks.filter { !$0.delta.isEmpty }.count > 3)
        #expect(chunks.map(\.delta).joined() == plain.content)
        #expect(chunks.last?.finishReason != nil)
    }

    @Test("the model list names the served model")
    func models() async throws {
        let client = try peerClient(try Peers.llama())
        let ids = try await client.models()
        try await client.shutdown()
        #expect(ids.contains("smollm2-135m-instruct"))
    }

    @Test("a dead endpoint falls back to the next model, and the trace shows both attempts")
    func fallback() async throws {
        let url = try Peers.llama()
        let catalog = try peerCatalog(url, deadFirst: true)
        let client = try OpenAIClient(configuration: .init(baseURL: url, maxRetries: 0))
        let trace = try TraceRecorder()
        let outcome = try await ModelInvoker(backend: client, trace: trace).call(
            model: catalog.model("dead")!, messages: [.user("Write hello world in Python.")],
            parameters: .init(maxTokens: 16, temperature: 0), catalog: catalog,
            context: .init(task: "fb", step: 1, phase: "solve", capability: "code", method: .regex))
        try await client.shutdown()
        #expect(outcome.model.alias == "deepseek-coder-1.3b")
        #expect(!outcome.completion.content.isEmpty)
        let events = await trace.events
        #expect(events.map(\.model) == ["dead", "deepseek-coder-1.3b"])
        #expect(events[0].error?.contains("127.0.0.1:9") == true)
        #expect(events[1].error == nil)
    }

    @Test("a deterministic pipeline: trace checked field by field, then a second run served from the cache")
    func pipeline() async throws {
        let url = try Peers.llama()
        let catalog = try peerCatalog(url)
        let client = try peerClient(url)
        let path = TestPaths.temporaryDirectory("pipeline") + "/trace.jsonl"
        let trace = try TraceRecorder(path: path)
        let cache = CompletionCache()
        let router = Router(catalog: FixedCatalog(catalog), detector: try RegexIntentDetector(rules: .shipped))
        let pipeline = Pipeline(router: router, invoker: ModelInvoker(backend: client, cache: cache, trace: trace))
        let options = Pipeline.Options(steps: 3, maxTokens: 48, deterministic: true)
        let task = "Write a Python function that sums a list, then summarize how it works."
        let deltas = Collected()
        let first = try await pipeline.run(task: task, options: options, runID: "run-a", onFinalDelta: { deltas.append($0) })
        let second = try await pipeline.run(task: task, options: options, runID: "run-b")
        await trace.close()
        try await client.shutdown()

        #expect(!first.final.isEmpty)
        #expect(deltas.all.joined() == first.final)
        #expect(first.cachedCalls == 0)
        #expect(second.final == first.final)
        #expect(second.cachedCalls == second.calls)

        let lines = try TestPaths.jsonLines(path)
        #expect(lines.count == first.calls + second.calls)
        let firstRun = lines.filter { $0["task"] as? String == "run-a" }
        let secondRun = lines.filter { $0["task"] as? String == "run-b" }
        #expect(firstRun.count == first.calls)
        #expect(firstRun.map { $0["step"] as? Int } == Array(0..<first.calls))
        #expect(firstRun.first?["phase"] as? String == "plan")
        #expect(firstRun.last?["phase"] as? String == "refine")
        #expect(firstRun.first?["capability"] as? String == "general")
        #expect(firstRun.last?["capability"] as? String == "summarize")
        for (index, line) in firstRun.enumerated() {
            #expect(line["attempt"] as? Int == 1)
            #expect(line["cached"] as? Bool == false)
            #expect(line["error"] is NSNull)
            #expect((line["latency_ms"] as? Double ?? 0) > 0)
            #expect(["regex", "embedding", "fallback"].contains(line["method"] as? String ?? ""))
            let model = line["model"] as? String ?? ""
            #expect(catalog.model(model) != nil)
            if line["phase"] as? String == "refine" {
                // llama-cpp-python sends no usage chunk when streaming: unknown tokens and cost are null, not 0.
                #expect(line["total_tokens"] is NSNull)
                #expect(line["cost"] is NSNull)
            } else {
                let prompt = line["prompt_tokens"] as? Int ?? 0, completion = line["completion_tokens"] as? Int ?? 0
                #expect(prompt > 0 && completion > 0, "call \(index)")
                #expect(line["total_tokens"] as? Int == prompt + completion)
                let entry = catalog.model(model)!
                let expected = entry.cost(promptTokens: prompt, completionTokens: completion)
                #expect(abs((line["cost"] as? Double ?? -1) - expected) < 1e-12)
            }
        }
        #expect(secondRun.count == second.calls)
        #expect(secondRun.allSatisfy { $0["cached"] as? Bool == true })
        let knownCosts = firstRun.compactMap { $0["cost"] as? Double }.reduce(0, +)
        #expect(abs(first.totalCost - knownCosts) < 1e-12)
        #expect(first.callsWithoutCost == 1)
    }
}

final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var parts: [String] = []
    func append(_ s: String) { lock.withLock { parts.append(s) } }
    var all: [String] { lock.withLock { parts } }
}
