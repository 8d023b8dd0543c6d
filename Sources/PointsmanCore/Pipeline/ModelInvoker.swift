import Foundation
import PointsmanInterfaces

/// Calls a model through a `ChatBackend`, answering from the cache where allowed and trying the catalog's fallbacks
/// in order when the model fails. Every attempt is traced.
public struct ModelInvoker: Sendable {
    /// Where calls go.
    public let backend: any ChatBackend
    /// The sub-step cache, if any.
    public let cache: CompletionCache?
    /// The trace, if any.
    public let trace: TraceRecorder?

    public init(backend: any ChatBackend, cache: CompletionCache? = nil, trace: TraceRecorder? = nil) {
        self.backend = backend
        self.cache = cache
        self.trace = trace
    }

    /// What the call is part of, for the trace.
    public struct CallContext: Sendable {
        public var task: String
        public var step: Int
        public var phase: String
        public var capability: String
        public var method: DetectionMethod
        /// The routing table's version that chose the model (`RouteDecision.routingVersion`), when known.
        public var routingVersion: String?

        public init(task: String, step: Int, phase: String, capability: String, method: DetectionMethod,
                    routingVersion: String? = nil) {
            self.task = task
            self.step = step
            self.phase = phase
            self.capability = capability
            self.method = method
            self.routingVersion = routingVersion
        }
    }

    /// The answer and the model that gave it.
    public struct Outcome: Sendable {
        public var completion: ChatCompletion
        public var model: ModelEntry
        public var cached: Bool
        public var cost: Double?
    }


    /// A complete (non-streamed) answer. With `onDelta`, the answer is streamed and each piece handed over as it
    /// arrives; a fallback happens only when a model fails before its first piece.
    public func call(
        model: ModelEntry, messages: [ChatMessage], parameters: ChatParameters, catalog: Catalog,
        context: CallContext, onDelta: (@Sendable (String) -> Void)? = nil
    ) async throws -> Outcome {
        try await FallbackChain(model, in: catalog).run { entry, index in
            let request = ChatRequest(model: entry.upstreamID, messages: messages, parameters: parameters, baseURL: entry.baseURL,
                                      alias: entry.alias)
            let started = Date()
            let clock = ContinuousClock.now
            if let cache, let hit = await cache.lookup(request) {
                onDelta?(hit.content)
                let cost = Self.cost(of: hit.usage, for: entry)
                await record(context, entry, attempt: index + 1, since: clock, at: started, usage: hit.usage,
                             cost: cost, cached: true, error: nil)
                return Outcome(completion: hit, model: entry, cached: true, cost: cost)
            }
            var startedStreaming = false
            do {
                let completion: ChatCompletion
                if let onDelta {
                    var text = ""
                    var usage: TokenUsage?
                    var finish: String?
                    let stream = try await backend.stream(request)
                    for try await chunk in stream {
                        if !chunk.delta.isEmpty {
                            startedStreaming = true
                            text += chunk.delta
                            onDelta(chunk.delta)
                        }
                        if let u = chunk.usage { usage = u }
                        if let f = chunk.finishReason { finish = f }
                    }
                    // A stream ends quietly when its consumer is cancelled: a cut-off answer is neither complete nor
                    // cached.
                    try Task.checkCancellation()
                    completion = ChatCompletion(content: text, model: entry.upstreamID, finishReason: finish, usage: usage)
                } else {
                    completion = try await backend.complete(request)
                }
                let cost = Self.cost(of: completion.usage, for: entry)
                await record(context, entry, attempt: index + 1, since: clock, at: started, usage: completion.usage,
                             cost: cost, cached: false, error: nil)
                await cache?.store(completion, for: request)
                return Outcome(completion: completion, model: entry, cached: false, cost: cost)
            } catch {
                await record(context, entry, attempt: index + 1, since: clock, at: started, usage: nil, cost: nil,
                             cached: false, error: String(describing: error))
                // A model that already streamed part of its answer cannot be replaced by another.
                throw startedStreaming ? FallbackChain.Stop(error) : error
            }
        }
    }

    static func cost(of usage: TokenUsage?, for model: ModelEntry) -> Double? {
        guard let usage, let prompt = usage.promptTokens, let completion = usage.completionTokens else { return nil }
        return model.cost(promptTokens: prompt, completionTokens: completion)
    }

    private func record(
        _ context: CallContext, _ model: ModelEntry, attempt: Int, since clock: ContinuousClock.Instant, at date: Date,
        usage: TokenUsage?, cost: Double?, cached: Bool, error: String?
    ) async {
        guard let trace else { return }
        let elapsed = ContinuousClock.now - clock
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        await trace.record(TraceEvent(
            task: context.task, step: context.step, phase: context.phase, capability: context.capability,
            method: context.method, model: model.alias, attempt: attempt, latencyMs: (ms * 1000).rounded() / 1000,
            usage: usage, cost: cost, cached: cached, error: error, timestamp: date, routingVersion: context.routingVersion))
    }
}
