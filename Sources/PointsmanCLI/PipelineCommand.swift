import ArgumentParser
import Foundation
import OpenAIClient
import PointsmanCore

struct PipelineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Run plan -> solve -> refine across specialised models.")

    @Argument(help: "The task, or - to read it from standard input.")
    var task: String

    @Option(name: .long, help: "Most steps in the plan.")
    var steps: Int = 3

    @Option(name: .long, help: "Max tokens per model call (each call's prompt plus these must fit the chosen model's context_length).")
    var maxTokens: Int = 350

    @Option(name: .long, help: "Cost-quality trade-off of every call: economy, balanced or best.")
    var quality: RoutingQuality = .balanced

    @Option(name: .long, help: "Sampling temperature (ignored with --deterministic).")
    var temperature: Double = 0.4

    @Flag(name: .long, help: "Temperature 0, fixed seed and step count; identical runs are answered from the cache.")
    var deterministic = false

    @Option(name: .long, help: "Seed sent in deterministic mode.")
    var seed: Int = 7

    @Option(name: .long, help: "Append one JSON object per model call to this JSON Lines file.")
    var trace: String?

    @Option(name: .long, help: "Folder of the on-disk sub-step cache (default: memory only).")
    var cacheDir: String?

    @Flag(name: .long, help: "Print the whole result as JSON instead of streaming the final answer.")
    var json = false

    @OptionGroup var routing: RoutingOptions
    @OptionGroup var endpoint: EndpointOptions

    func validate() throws {
        guard (1...20).contains(steps) else { throw ValidationError("--steps must be between 1 and 20") }
        guard maxTokens > 0 else { throw ValidationError("--max-tokens must be positive") }
        guard (0...2).contains(temperature) else { throw ValidationError("--temperature must be between 0 and 2") }
    }

    func run() async throws {
        let text = try InputReader.text(task, what: "task")
        let (setup, kind, embeddingClient) = try await routing.makeSetup()
        let router = setup.router(kind)
        let recorder: TraceRecorder
        do { recorder = try TraceRecorder(path: trace) } catch {
            throw CLIFailure("cannot write the trace file \(trace ?? ""): \(error.localizedDescription)")
        }
        let cache = CompletionCache(configuration: .init(directory: cacheDir))
        let client = try endpoint.makeClient()
        let pipeline = Pipeline(router: router, invoker: ModelInvoker(backend: client, cache: cache, trace: recorder))
        let options = Pipeline.Options(
            steps: steps, maxTokens: maxTokens, temperature: temperature, deterministic: deterministic, seed: seed,
            countTokens: TokenCounting.counter(for: setup), quality: quality)
        let result: Pipeline.Result
        do {
            let printer: (@Sendable (String) -> Void)? = json ? nil : { @Sendable text in Terminal.write(text) }
            result = try await pipeline.run(task: text, options: options, onFinalDelta: printer)
        } catch {
            await recorder.close()
            try? await client.shutdown()
            try? await embeddingClient?.shutdown()
            throw error
        }
        await recorder.close()
        try await client.shutdown()
        try? await embeddingClient?.shutdown()
        if json {
            print(JSONOutput.pretty(result))
            return
        }
        Terminal.write("\n\n")
        for (index, step) in result.steps.enumerated() {
            print("step \(index + 1): \(step.capability) -> \(step.model)\(step.cached ? " (cached)" : ""): \(step.step)")
        }
        let cost = String(format: "%.6f", result.totalCost)
        print("calls: \(result.calls) (\(result.cachedCalls) cached), tokens: \(result.totalTokens), cost: \(cost)"
              + (result.callsWithoutCost > 0 ? " (+\(result.callsWithoutCost) calls without token counts)" : ""))
    }
}
