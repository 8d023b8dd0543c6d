import Foundation
import Logging
import MCP
import OpenAIClient
import PointsmanCore
import PointsmanInterfaces

/// Tells an MCP client how far a tool call got (`notifications/progress`); a call without a progress token gets
/// `none`. Values only grow.
public struct ToolProgress: Sendable {
    let report: @Sendable (_ progress: Double, _ total: Double?, _ message: String) async -> Void

    public init(_ report: @escaping @Sendable (_ progress: Double, _ total: Double?, _ message: String) async -> Void) {
        self.report = report
    }

    /// Reports nothing.
    public static let none = ToolProgress { _, _, _ in }
}

/// Limits and defaults of the MCP tools.
public struct MCPToolConfiguration: Sendable {
    /// `max_tokens` of `ask` when the call gives none.
    public var defaultMaxTokens: Int
    /// The largest prompt or task accepted, in UTF-8 bytes.
    public var maxPromptBytes: Int
    /// How many recent decisions `pointsman://decisions` lists.
    public var decisionsShown: Int
    /// Which detector `route`, `ask` and the pipeline use (the others are only in `compare`).
    public var detector: DetectorKind

    public init(defaultMaxTokens: Int = 512, maxPromptBytes: Int = 1 << 20, decisionsShown: Int = 50,
                detector: DetectorKind = .hybrid) {
        self.defaultMaxTokens = defaultMaxTokens
        self.maxPromptBytes = maxPromptBytes
        self.decisionsShown = decisionsShown
        self.detector = detector
    }
}

/// The work behind Pointsman's MCP tools and resources: routing with the store's current files, answers through a
/// `ChatBackend` (with the catalog's fallbacks), the pipeline, and the decision history. Transport-free: the MCP
/// server and the tests call it directly.
public struct RoutingToolbox: Sendable {
    public let store: RoutingStore
    public let backend: any ChatBackend
    public let history: DecisionHistory
    public let configuration: MCPToolConfiguration
    /// Counts a text's tokens for the context-window check (the native tokenizer, or an estimate).
    public let countTokens: @Sendable (String) -> Int
    /// Budget guardrails for the models `ask` and `pipeline` call (nil: none).
    public let spend: (any ToolSpendPolicy)?
    let logger: Logger

    public init(store: RoutingStore, backend: any ChatBackend, history: DecisionHistory = DecisionHistory(),
                configuration: MCPToolConfiguration = MCPToolConfiguration(),
                countTokens: @escaping @Sendable (String) -> Int = { ($0.utf8.count + 3) / 4 },
                spend: (any ToolSpendPolicy)? = nil, logger: Logger = Logger(label: "pointsman.mcp")) {
        self.spend = spend
        self.store = store
        self.backend = backend
        self.history = history
        self.configuration = configuration
        self.countTokens = countTokens
        self.logger = logger
    }

    /// The tools, described for the catalog in force.
    public func tools() async -> [Tool] {
        ToolDefinitions.all(catalog: await store.current().catalog)
    }

    /// Runs tool `name`. Every failure is a tool error (`isError`) whose text says what went wrong in terms the
    /// caller can act on; internal details go to the log only. Cancellation ends the call (and its upstream request).
    /// `apiKey` is the key the client presented (over HTTP), for budgets.
    public func call(_ name: String, arguments: [String: Value]?, progress: ToolProgress = .none,
                     apiKey: String? = nil) async throws -> CallTool.Result {
        do {
            switch name {
            case "route": return try await route(ToolArguments(tool: name, values: arguments, allowed: ["prompt", "messages", "quality"]))
            case "ask":
                return try await ask(ToolArguments(tool: name, values: arguments,
                                                   allowed: ["prompt", "messages", "capability", "model", "max_tokens", "temperature", "quality"]),
                                     progress: progress, apiKey: apiKey)
            case "pipeline":
                return try await pipeline(ToolArguments(tool: name, values: arguments, allowed: ["task", "steps", "max_tokens", "quality"]),
                                          progress: progress, apiKey: apiKey)
            case "compare": return try await compare(ToolArguments(tool: name, values: arguments, allowed: ["prompt"]))
            default:
                return Self.failure("unknown tool '\(name)'; the tools are \(ToolDefinitions.names.joined(separator: ", "))")
            }
        } catch let error as ToolInputError {
            return Self.failure(error.description)
        } catch let refusal as SpendRefusal {
            return Self.failure("\(name): budget exceeded: \(refusal.description)")
        } catch let error as UnservableRequestError {
            return Self.failure(error.description)
        } catch let error as RoutingError {
            return Self.failure("\(name): \(error.description)")
        } catch let failure as AllModelsFailedError {
            for attempt in failure.attempts {
                logger.warning("upstream attempt failed", metadata: ["model": "\(attempt.model)", "error": "\(attempt.error)"])
            }
            let tried = failure.attempts.map { "\($0.model) (\(Self.reason($0.error)))" }.joined(separator: ", ")
            return Self.failure("\(name): no model answered; tried \(tried)")
        } catch is CancellationError {
            throw CancellationError()
        } catch where Task.isCancelled {
            throw CancellationError()
        } catch {
            logger.error("tool failed", metadata: ["tool": "\(name)", "error": "\(error)"])
            return Self.failure("\(name) failed: \(Self.reason(error))")
        }
    }

    // MARK: - The tools

    func route(_ arguments: ToolArguments) async throws -> CallTool.Result {
        let messages = try arguments.conversation()
        try checkSize(messages.map(\.content), arguments.tool)
        let quality = try arguments.quality()
        let snapshot = await store.current()
        let decision = try await router(snapshot).route(messages: messages, needs: needs(messages, maxTokens: nil, snapshot.catalog), quality: quality)
        history.record(decision, source: "mcp")
        let summary = "\(decision.capability) -> \(decision.model) (\(decision.method.rawValue), confidence \(String(format: "%.2f", decision.confidence)))"
        let view = DecisionView(decision)
        return try CallTool.Result(content: [.text(text: summary, annotations: nil, _meta: nil),
                                             .text(text: try Self.json(view), annotations: nil, _meta: nil)],
                                   structuredContent: view)
    }

    func ask(_ arguments: ToolArguments, progress: ToolProgress, apiKey: String? = nil) async throws -> CallTool.Result {
        let messages = try arguments.conversation()
        try checkSize(messages.map(\.content), arguments.tool)
        let capability = try arguments.string("capability")
        let modelName = try arguments.string("model")
        let maxTokens = try arguments.integer("max_tokens", in: 1...32768) ?? configuration.defaultMaxTokens
        let temperature = try arguments.number("temperature", in: 0...2)
        var quality = try arguments.quality()
        let softLimit = try await admit(apiKey)
        if softLimit != nil { quality = .economy }
        let snapshot = await store.current()
        let catalog = snapshot.catalog
        let needs = needs(messages, maxTokens: maxTokens, catalog)
        let prompt = messages.last { $0.role == .user }?.content ?? ""

        let decision: RouteDecision
        switch (capability, modelName) {
        case (.some, .some):
            throw ToolInputError("ask: give 'capability' or 'model', not both")
        case (nil, let name?):
            guard let entry = catalog.model(name) else {
                throw ToolInputError("ask: unknown model '\(name)'; the catalog has \(catalog.models.map(\.alias).joined(separator: ", "))")
            }
            let problems = needs.unmet(by: entry)
            guard problems.isEmpty else {
                throw ToolInputError("ask: model '\(name)' cannot serve this request: \(problems.joined(separator: ", "))")
            }
            decision = RouteDecision(capability: entry.capabilities.first ?? "general", selected: entry, confidence: 1,
                                     method: .requested, escalated: false, reasons: ["model named by the caller"],
                                     scores: [:], label: nil, routingVersion: snapshot.setup.version)
        case (let name?, nil):
            guard catalog.capabilities.contains(name) else {
                throw ToolInputError("ask: unknown capability '\(name)'; the catalog knows \(catalog.capabilities.joined(separator: ", "))")
            }
            let selection = try snapshot.router.selector.select(capability: name, prompt: prompt, in: catalog, needs: needs, quality: quality)
            decision = RouteDecision(capability: name, selected: selection.model, confidence: 1, method: .requested,
                                     escalated: selection.escalated, reasons: ["capability named by the caller"] + selection.reasons,
                                     scores: [:], label: nil, routingVersion: snapshot.setup.version)
        case (nil, nil):
            await progress.report(0, nil, "routing")
            decision = try await router(snapshot).route(messages: messages, needs: needs, quality: quality)
        }
        history.record(decision, source: "mcp")
        await progress.report(1, nil, "asking \(decision.model) (\(decision.capability))")

        // Streamed, so the client hears the answer grow; progress goes out at most every 250 ms.
        let (received, sink) = AsyncStream.makeStream(of: Int.self)
        let reporter = Task {
            var characters = 0, step = 1.0
            var last = ContinuousClock.now
            for await count in received {
                characters += count
                if ContinuousClock.now - last >= .milliseconds(250) {
                    last = .now
                    step += 1
                    await progress.report(step, nil, "received \(characters) character\(characters == 1 ? "" : "s") from \(decision.model)")
                }
            }
        }
        let outcome: ModelInvoker.Outcome
        do {
            defer { sink.finish() }
            // The chosen model, then those of its fallbacks that can serve the request.
            let able = catalog.models.filter { $0.alias == decision.model || needs.unmet(by: $0).isEmpty }
            outcome = try await ModelInvoker(backend: metered(apiKey, catalog)).call(
                model: decision.selected, messages: messages, parameters: ChatParameters(maxTokens: maxTokens, temperature: temperature),
                catalog: Catalog(defaultModel: decision.model, models: able),
                context: .init(task: "mcp", step: 0, phase: "ask", capability: decision.capability, method: decision.method,
                               routingVersion: decision.routingVersion),
                onDelta: { sink.yield($0.count) })
        } catch {
            // No progress may follow the result: the reporter is done before the error goes back.
            await reporter.value
            throw error
        }
        await reporter.value
        // Some servers send no usage with a stream (llama.cpp ignores include_usage): then the tokens are counted here.
        var usage = outcome.completion.usage.map(UsageView.init)
        var estimated = false
        if usage?.promptTokens == nil || usage?.completionTokens == nil {
            let prompt = messages.reduce(0) { $0 + 4 + countTokens($1.content) }
            let completion = countTokens(outcome.completion.content)
            usage = UsageView(promptTokens: prompt, completionTokens: completion, totalTokens: prompt + completion)
            estimated = true
        }
        let cost = outcome.cost ?? usage.flatMap { u in
            u.promptTokens.flatMap { p in u.completionTokens.map { outcome.model.cost(promptTokens: p, completionTokens: $0) } }
        }
        let answer = AskAnswer(answer: outcome.completion.content, model: outcome.model.alias,
                               fellBack: outcome.model.alias != decision.model, decision: DecisionView(decision),
                               usage: usage, usageEstimated: estimated, cost: cost,
                               finishReason: outcome.completion.finishReason, budget: softLimit.map { "soft limit: \($0)" })
        return try CallTool.Result(content: [.text(text: outcome.completion.content, annotations: nil, _meta: nil)],
                                   structuredContent: answer)
    }

    func pipeline(_ arguments: ToolArguments, progress: ToolProgress, apiKey: String? = nil) async throws -> CallTool.Result {
        let task = try arguments.requiredText("task")
        try checkSize([task], arguments.tool)
        let steps = try arguments.integer("steps", in: 1...10) ?? 3
        let maxTokens = try arguments.integer("max_tokens", in: 1...32768) ?? 350
        var quality = try arguments.quality()
        if try await admit(apiKey) != nil { quality = .economy }
        let snapshot = await store.current()
        let pipeline = Pipeline(router: router(snapshot), invoker: ModelInvoker(backend: metered(apiKey, snapshot.catalog)))
        let options = Pipeline.Options(steps: steps, maxTokens: maxTokens, countTokens: countTokens, quality: quality)
        // Pipeline progress arrives synchronously; it is sent in order from one task.
        let (events, sink) = AsyncStream.makeStream(of: Pipeline.Progress.self)
        let reporter = Task {
            for await event in events {
                await progress.report(Double(event.completed), event.total.map(Double.init), event.message)
            }
        }
        let result: Pipeline.Result
        do {
            defer { sink.finish() }
            result = try await pipeline.run(task: task, options: options, onProgress: { sink.yield($0) })
        } catch {
            await reporter.value
            throw error
        }
        await reporter.value
        return try CallTool.Result(content: [.text(text: result.final, annotations: nil, _meta: nil)], structuredContent: result)
    }

    func compare(_ arguments: ToolArguments) async throws -> CallTool.Result {
        let prompt = try arguments.requiredText("prompt")
        try checkSize([prompt], arguments.tool)
        let snapshot = await store.current()
        var comparison = Comparison(regex: nil, embedding: nil, hybrid: nil, notes: [])
        for kind in [DetectorKind.regex, .embedding, .hybrid] {
            guard snapshot.setup.supports(kind) else {
                comparison.notes.append("\(kind.rawValue): unavailable (no centroid file is loaded)")
                continue
            }
            do {
                let decision = DecisionView(try await snapshot.setup.router(kind).route(prompt))
                switch kind {
                case .regex: comparison.regex = decision
                case .embedding: comparison.embedding = decision
                case .hybrid: comparison.hybrid = decision
                }
            } catch let error as RoutingError {
                throw error
            } catch {
                logger.warning("compare: detector failed", metadata: ["detector": "\(kind.rawValue)", "error": "\(error)"])
                comparison.notes.append("\(kind.rawValue): failed (\(Self.reason(error)))")
            }
        }
        let decided = [comparison.regex, comparison.embedding, comparison.hybrid].compactMap { $0 }
        comparison.agree = Set(decided.map(\.capability)).count <= 1
        let lines = [("regex", comparison.regex), ("embedding", comparison.embedding), ("hybrid", comparison.hybrid)]
            .compactMap { name, d in d.map { "\(name): \($0.capability) -> \($0.model) (confidence \(String(format: "%.2f", $0.confidence)))" } }
            + comparison.notes
        return try CallTool.Result(content: [.text(text: lines.joined(separator: "\n"), annotations: nil, _meta: nil),
                                             .text(text: try Self.json(comparison), annotations: nil, _meta: nil)],
                                   structuredContent: comparison)
    }

    // MARK: - Helpers

    /// The soft limit passed, if any; throws `SpendRefusal` past a hard one.
    func admit(_ apiKey: String?) async throws -> String? {
        guard let spend else { return nil }
        if case .soft(let why) = try await spend.admit(apiKey: apiKey) { return why }
        return nil
    }

    /// The backend, recording spend when a policy is set.
    func metered(_ apiKey: String?, _ catalog: Catalog) -> any ChatBackend {
        guard let spend else { return backend }
        return SpendMeteringBackend(base: backend, policy: spend, apiKey: apiKey, catalog: catalog, countTokens: countTokens)
    }

    func router(_ snapshot: RoutingStore.Snapshot) -> Router {
        configuration.detector == store.detector ? snapshot.router : snapshot.setup.router(configuration.detector)
    }

    func needs(_ messages: [ChatMessage], maxTokens: Int?, _ catalog: Catalog) -> RequestNeeds {
        RequestNeeds(promptTokens: RequestNeeds.promptTokens(messages.map(\.content), maxOutputTokens: maxTokens, catalog: catalog, count: countTokens),
                     maxOutputTokens: maxTokens)
    }

    func checkSize(_ texts: [String], _ tool: String) throws(ToolInputError) {
        let bytes = texts.reduce(0) { $0 + $1.utf8.count }
        guard bytes <= configuration.maxPromptBytes else {
            throw ToolInputError("\(tool): the text is \(bytes) bytes; the limit is \(configuration.maxPromptBytes)")
        }
    }

    static func failure(_ text: String) -> CallTool.Result {
        CallTool.Result(content: [.text(text: text, annotations: nil, _meta: nil)], isError: true)
    }

    /// A few words on a failure, never an upstream URL or a library's error type.
    static func reason(_ error: any Error) -> String {
        if let failure = error as? OpenAIClientError { return failure.summary }
        if error is EmbedderTimeout { return "the embedder timed out" }
        return "internal error"
    }
}
