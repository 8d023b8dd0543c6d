import Foundation
import PointsmanInterfaces

/// plan → solve → refine across specialised models.
public struct Pipeline: Sendable {
    /// Options of one run.
    public struct Options: Sendable {
        /// Most steps the plan may have (and, in deterministic mode, the number asked for).
        public var steps: Int
        public var maxTokens: Int
        public var temperature: Double
        /// Temperature 0, a fixed seed, a fixed step count: identical runs give identical calls (and cache hits).
        public var deterministic: Bool
        public var seed: Int
        /// Counts a prompt's tokens for the context-window check of every call (plan, steps, refine); the default
        /// estimates one token per 4 bytes of UTF-8.
        public var countTokens: @Sendable (String) -> Int
        /// The cost–quality trade-off of every call (see `RoutingQuality`).
        public var quality: RoutingQuality

        public init(steps: Int = 3, maxTokens: Int = 350, temperature: Double = 0.4, deterministic: Bool = false, seed: Int = 7,
                    countTokens: @escaping @Sendable (String) -> Int = { ($0.utf8.count + 3) / 4 },
                    quality: RoutingQuality = .balanced) {
            self.quality = quality
            self.steps = steps
            self.maxTokens = maxTokens
            self.temperature = temperature
            self.deterministic = deterministic
            self.seed = seed
            self.countTokens = countTokens
        }

        /// What a call with `prompt` needs in `catalog`: room for it and the answer.
        func needs(_ prompt: String, in catalog: Catalog) -> RequestNeeds {
            RequestNeeds(promptTokens: RequestNeeds.promptTokens([prompt], maxOutputTokens: maxTokens, catalog: catalog, count: countTokens),
                         maxOutputTokens: maxTokens)
        }

        var parameters: ChatParameters {
            deterministic
                ? ChatParameters(maxTokens: maxTokens, temperature: 0, seed: seed)
                : ChatParameters(maxTokens: maxTokens, temperature: temperature)
        }
    }

    /// One solved step.
    public struct StepResult: Sendable, Codable {
        public var step: String
        public var capability: String
        public var method: DetectionMethod
        public var model: String
        public var escalated: Bool
        public var output: String
        public var cached: Bool
    }

    /// Everything a run produced.
    public struct Result: Sendable, Codable {
        public var task: String
        public var runID: String
        public var plan: String
        public var steps: [StepResult]
        public var final: String
        public var finalModel: String
        /// Sum of the known call costs.
        public var totalCost: Double
        /// Calls whose cost is unknown (the server reported no token counts).
        public var callsWithoutCost: Int
        public var calls: Int
        public var cachedCalls: Int
        public var totalTokens: Int

        enum CodingKeys: String, CodingKey {
            case task, runID = "run_id", plan, steps, final, finalModel = "final_model", totalCost = "total_cost"
            case callsWithoutCost = "calls_without_cost", calls, cachedCalls = "cached_calls", totalTokens = "total_tokens"
        }
    }

    public let router: Router
    public let invoker: ModelInvoker
    public let parser: PlanParser

    public init(router: Router, invoker: ModelInvoker, parser: PlanParser = PlanParser()) {
        self.router = router
        self.invoker = invoker
        self.parser = parser
    }

    /// Where a run is: reported before each model call, and once when the run is done.
    public struct Progress: Sendable, Equatable {
        /// `plan`, `solve`, `refine` or `done`.
        public var phase: String
        /// Model calls finished so far.
        public var completed: Int
        /// Model calls the run will make (nil until the plan is known).
        public var total: Int?
        /// What is happening, for people.
        public var message: String
    }

    /// Runs the pipeline on `task`. `onFinalDelta` receives the final answer piece by piece (streamed); `onProgress`
    /// hears before each call and when the run is done.
    public func run(
        task: String, options: Options, runID: String = UUID().uuidString.lowercased(),
        onFinalDelta: (@Sendable (String) -> Void)? = nil, onProgress: (@Sendable (Progress) -> Void)? = nil
    ) async throws -> Result {
        guard !task.trimmingWhitespace().isEmpty else { throw RoutingError.emptyPrompt }
        let catalog = await router.catalog.current()
        let parameters = options.parameters
        var outcomes: [ModelInvoker.Outcome] = []

        // Plan with the general model (no escalation: the plan prompt is ours, not the user's).
        let planPrompt = "Break the task into \(options.steps) ordered steps. Answer with a numbered list, one step per line, and nothing else. Task: \(task)"
        let planner = try router.selector.select(capability: "general", prompt: "", in: catalog, needs: options.needs(planPrompt, in: catalog), quality: options.quality).model
        onProgress?(Progress(phase: "plan", completed: 0, total: nil, message: "planning with \(planner.alias)"))
        let plan = try await invoker.call(
            model: planner, messages: [.user(planPrompt)], parameters: parameters, catalog: catalog,
            context: .init(task: runID, step: 0, phase: "plan", capability: "general", method: .regex,
                           routingVersion: router.version))
        outcomes.append(plan)
        var steps = parser.steps(from: plan.completion.content, limit: options.steps)
        if steps.isEmpty { steps = [task] }

        // Solve each step with the model its capability calls for (escalation applies per step).
        var results: [StepResult] = []
        for (index, step) in steps.enumerated() {
            let decision = try await router.route(step, needs: options.needs(step, in: catalog), quality: options.quality)
            onProgress?(Progress(phase: "solve", completed: index + 1, total: steps.count + 2,
                                 message: "step \(index + 1) of \(steps.count): \(decision.capability) -> \(decision.model)"))
            let outcome = try await invoker.call(
                model: decision.selected, messages: [.user(step)], parameters: parameters, catalog: catalog,
                context: .init(task: runID, step: index + 1, phase: "solve", capability: decision.capability,
                               method: decision.method, routingVersion: decision.routingVersion))
            outcomes.append(outcome)
            results.append(StepResult(
                step: step, capability: decision.capability, method: decision.method, model: outcome.model.alias,
                escalated: decision.escalated, output: outcome.completion.content, cached: outcome.cached))
        }

        // Refine with the summarize model.
        let combined = results.enumerated().map { "Step \($0.offset + 1): \($0.element.step)\n\($0.element.output)" }
            .joined(separator: "\n\n")
        let refinePrompt = "Task: \(task)\n\nCondense these results into one cohesive answer to the task:\n\n\(combined)"
        let refiner = try router.selector.select(capability: "summarize", prompt: "", in: catalog, needs: options.needs(refinePrompt, in: catalog), quality: options.quality).model
        onProgress?(Progress(phase: "refine", completed: steps.count + 1, total: steps.count + 2,
                             message: "refining with \(refiner.alias)"))
        let final = try await invoker.call(
            model: refiner, messages: [.user(refinePrompt)], parameters: parameters, catalog: catalog,
            context: .init(task: runID, step: steps.count + 1, phase: "refine", capability: "summarize", method: .regex,
                           routingVersion: router.version),
            onDelta: onFinalDelta)
        outcomes.append(final)
        onProgress?(Progress(phase: "done", completed: steps.count + 2, total: steps.count + 2, message: "done"))

        return Result(
            task: task, runID: runID, plan: plan.completion.content, steps: results, final: final.completion.content,
            finalModel: final.model.alias,
            totalCost: outcomes.compactMap(\.cost).reduce(0, +),
            callsWithoutCost: outcomes.filter { $0.cost == nil }.count,
            calls: outcomes.count, cachedCalls: outcomes.filter(\.cached).count,
            totalTokens: outcomes.compactMap { $0.completion.usage?.totalTokens }.reduce(0, +))
    }
}
