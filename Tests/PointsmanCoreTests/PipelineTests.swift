import Foundation
import PointsmanCore
import PointsmanInterfaces
import PointsmanTestSupport
import Testing

/// An in-process chat backend: answers per model, can fail chosen models, records every request.
final class ScriptedBackend: ChatBackend, @unchecked Sendable {
    private let lock = NSLock()
    private var _requests: [ChatRequest] = []
    let failing: Set<String>
    let usage: TokenUsage?

    init(failing: Set<String> = [], usage: TokenUsage? = TokenUsage(promptTokens: 100, completionTokens: 50, totalTokens: 150)) {
        self.failing = failing
        self.usage = usage
    }

    var requests: [ChatRequest] { lock.withLock { _requests } }

    func answer(_ request: ChatRequest) throws -> ChatCompletion {
        lock.withLock { _requests.append(request) }
        if failing.contains(request.model) { throw CocoaError(.fileNoSuchFile) }
        let prompt = request.messages.last?.content ?? ""
        if prompt.hasPrefix("Break the task") {
            return ChatCompletion(content: "Here is the plan:\n1. Refactor the slow loop code\n2. Summarize the performance gains\n3. Translate the summary into French", usage: usage)
        }
        return ChatCompletion(content: "[\(request.model)] \(prompt.prefix(30))", usage: usage)
    }

    func complete(_ request: ChatRequest) async throws -> ChatCompletion { try answer(request) }

    func stream(_ request: ChatRequest) async throws -> AsyncThrowingStream<ChatChunk, any Error> {
        let completion = try answer(request)
        return AsyncThrowingStream { continuation in
            for word in completion.content.split(separator: " ", omittingEmptySubsequences: false).enumerated() {
                continuation.yield(ChatChunk(delta: (word.offset == 0 ? "" : " ") + word.element))
            }
            continuation.yield(ChatChunk(delta: "", finishReason: "stop", usage: completion.usage))
            continuation.finish()
        }
    }
}

final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var parts: [String] = []
    func append(_ s: String) { lock.withLock { parts.append(s) } }
    var all: [String] { lock.withLock { parts } }
}

@Suite("plan -> solve -> refine")
struct PipelineTests {
    func router() throws -> Router {
        Router(catalog: FixedCatalog(.shipped), detector: try RegexIntentDetector(rules: .shipped))
    }

    @Test("every call's model must fit its prompt and max tokens: a window too small passes the call to a larger model")
    func contextWindow() async throws {
        var catalog = Catalog.shipped
        // deepseek-coder-1.3b with a window too small for the step plus 350 output tokens: the nearest larger model
        // that declares code (gpt-oss-20b) solves the code step.
        catalog.models[catalog.models.firstIndex { $0.alias == "deepseek-coder-1.3b" }!].contextLength = 300
        let router = Router(catalog: FixedCatalog(catalog), detector: try RegexIntentDetector(rules: .shipped),
                            version: "test")
        let trace = try TraceRecorder()
        let pipeline = Pipeline(router: router, invoker: ModelInvoker(backend: ScriptedBackend(), trace: trace))
        let result = try await pipeline.run(task: "Speed up a slow Python loop and summarize the gains",
                                            options: .init(steps: 3, deterministic: true), runID: "ctx")
        #expect(result.steps.first?.capability == "code" && result.steps.first?.model == "gpt-oss-20b")
        // Every trace line carries the routing version.
        #expect(await trace.events.allSatisfy { $0.routingVersion == "test" })
        // No model can hold 200,000 output tokens: the run fails with an error that says so.
        await #expect(throws: UnservableRequestError.self) {
            _ = try await pipeline.run(task: "Summarize the gains", options: .init(maxTokens: 200_000, deterministic: true))
        }
    }

    @Test("each step goes to its capability's model; refine streams; costs add up")
    func run() async throws {
        let backend = ScriptedBackend()
        let trace = try TraceRecorder()
        let pipeline = Pipeline(router: try router(), invoker: ModelInvoker(backend: backend, trace: trace))
        let pieces = Collected()
        let result = try await pipeline.run(
            task: "Speed up a slow Python loop and summarize the gains", options: .init(steps: 3, deterministic: true),
            runID: "run-1", onFinalDelta: { pieces.append($0) })
        #expect(result.steps.map(\.capability) == ["code", "summarize", "translation"])
        #expect(result.steps.map(\.model) == ["deepseek-coder-1.3b", "phi-4-mini", "qwen2.5-1.5b"])
        #expect(result.finalModel == "phi-4-mini")
        #expect(pieces.all.count > 1)
        #expect(pieces.all.joined() == result.final)
        #expect(result.calls == 5)
        // Costs from the catalog: 100 in, 50 out per call.
        let expected = [("phi-4-mini", 1), ("deepseek-coder-1.3b", 1), ("phi-4-mini", 1), ("qwen2.5-1.5b", 1), ("phi-4-mini", 1)]
            .map { Catalog.shipped.model($0.0)!.cost(promptTokens: 100, completionTokens: 50) }.reduce(0, +)
        #expect(abs(result.totalCost - expected) < 1e-12)
        let events = await trace.events
        #expect(events.map(\.phase) == ["plan", "solve", "solve", "solve", "refine"])
        #expect(events.map(\.step) == [0, 1, 2, 3, 4])
        #expect(events.allSatisfy { $0.task == "run-1" && $0.error == nil && !$0.cached && $0.totalTokens == 150 })
        // Deterministic mode: temperature 0 and a seed on every call.
        #expect(backend.requests.allSatisfy { $0.parameters.temperature == 0 && $0.parameters.seed == 7 })
    }

    @Test("a failing model falls back in catalog order and every attempt is traced")
    func fallback() async throws {
        let backend = ScriptedBackend(failing: ["deepseek-coder-1.3b"])
        let trace = try TraceRecorder()
        let invoker = ModelInvoker(backend: backend, trace: trace)
        let outcome = try await invoker.call(
            model: Catalog.shipped.model("deepseek-coder-1.3b")!, messages: [.user("fix this code")],
            parameters: .init(), catalog: .shipped,
            context: .init(task: "t", step: 1, phase: "solve", capability: "code", method: .regex))
        #expect(outcome.model.alias == "phi-4-mini")
        let events = await trace.events
        #expect(events.map(\.model) == ["deepseek-coder-1.3b", "phi-4-mini"])
        #expect(events.map(\.attempt) == [1, 2])
        #expect(events[0].error != nil && events[0].cost == nil)
        #expect(events[1].error == nil)
    }

    @Test("when every model fails the error lists each attempt")
    func allFail() async throws {
        let backend = ScriptedBackend(failing: ["mistral-7b-v0.2", "phi-4-mini", "qwen2.5-1.5b", "qwen2.5-0.5b"])
        let invoker = ModelInvoker(backend: backend)
        await #expect(throws: AllModelsFailedError.self) {
            _ = try await invoker.call(
                model: Catalog.shipped.model("mistral-7b")!, messages: [.user("a poem")], parameters: .init(),
                catalog: .shipped, context: .init(task: "t", step: 1, phase: "solve", capability: "creative", method: .regex))
        }
        #expect(backend.requests.map(\.model) == ["mistral-7b-v0.2", "phi-4-mini"])
    }

    @Test("a second deterministic run is served from the cache, and the trace says so")
    func cache() async throws {
        let backend = ScriptedBackend()
        let cache = CompletionCache(configuration: .init(capacity: 64))
        let trace = try TraceRecorder()
        let pipeline = Pipeline(router: try router(), invoker: ModelInvoker(backend: backend, cache: cache, trace: trace))
        let first = try await pipeline.run(task: "Refactor code and summarize", options: .init(deterministic: true))
        let callsAfterFirst = backend.requests.count
        let second = try await pipeline.run(task: "Refactor code and summarize", options: .init(deterministic: true))
        #expect(backend.requests.count == callsAfterFirst)
        #expect(second.final == first.final)
        #expect(second.cachedCalls == second.calls)
        let events = await trace.events
        #expect(events.suffix(second.calls).allSatisfy { $0.cached })
    }

    @Test("non-deterministic calls are not cached by default")
    func nondeterministicNotCached() async throws {
        let cache = CompletionCache()
        let request = ChatRequest(model: "m", messages: [.user("x")], parameters: .init(temperature: 0.7))
        await cache.store(ChatCompletion(content: "a"), for: request)
        #expect(await cache.lookup(request) == nil)
        let deterministic = ChatRequest(model: "m", messages: [.user("x")], parameters: .init(temperature: 0))
        await cache.store(ChatCompletion(content: "b"), for: deterministic)
        #expect(await cache.lookup(deterministic)?.content == "b")
    }

    @Test("the LRU evicts the least recently used entry, and the disk store survives a new cache")
    func lruAndDisk() async throws {
        let dir = TestPaths.temporaryDirectory("cache")
        let cache = CompletionCache(configuration: .init(capacity: 2, directory: dir))
        func request(_ s: String) -> ChatRequest { ChatRequest(model: "m", messages: [.user(s)], parameters: .init(temperature: 0)) }
        await cache.store(ChatCompletion(content: "1"), for: request("1"))
        await cache.store(ChatCompletion(content: "2"), for: request("2"))
        _ = await cache.lookup(request("1"))
        await cache.store(ChatCompletion(content: "3"), for: request("3"))
        let memoryOnly = CompletionCache(configuration: .init(capacity: 2))
        #expect(await memoryOnly.lookup(request("1")) == nil)
        let reopened = CompletionCache(configuration: .init(capacity: 2, directory: dir))
        #expect(await reopened.lookup(request("2"))?.content == "2")
        #expect(CompletionCache.key(for: request("1")) != CompletionCache.key(for: request("2")))
        #expect(CompletionCache.key(for: request("1")) == CompletionCache.key(for: request("1")))
    }

    @Test("the trace file holds one JSON object per call with every field, nulls where unknown")
    func traceFile() async throws {
        let path = TestPaths.temporaryDirectory("trace") + "/trace.jsonl"
        let trace = try TraceRecorder(path: path)
        let invoker = ModelInvoker(backend: ScriptedBackend(usage: nil), trace: trace)
        _ = try await invoker.call(
            model: Catalog.shipped.model("phi-4-mini")!, messages: [.user("hello")], parameters: .init(),
            catalog: .shipped, context: .init(task: "t", step: 2, phase: "solve", capability: "general", method: .regex))
        await trace.close()
        let lines = try TestPaths.jsonLines(path)
        #expect(lines.count == 1)
        let line = lines[0]
        for key in ["task", "step", "phase", "capability", "method", "model", "attempt", "latency_ms", "prompt_tokens",
                    "completion_tokens", "total_tokens", "cost", "cached", "error", "timestamp"] {
            #expect(line.keys.contains(key), "\(key)")
        }
        #expect(line["prompt_tokens"] is NSNull)
        #expect(line["cost"] is NSNull)
        #expect(line["model"] as? String == "phi-4-mini")
    }
}
