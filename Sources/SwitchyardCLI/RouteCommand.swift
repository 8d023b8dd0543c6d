import ArgumentParser
import Foundation
import OpenAIClient
import SwitchyardCore

struct RouteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "route",
        abstract: "Decide which model should answer a prompt (and optionally ask it).")

    @Argument(help: "The prompt, or - to read it from standard input. Omit with --file.")
    var prompt: String?

    @Option(name: .long, help: "Route many prompts: one per line, or JSON Lines with a \"text\" field.")
    var file: String?

    @Flag(name: .long, help: "Print the decision as one JSON object (one per line with --file).")
    var json = false

    @Flag(name: .long, help: "Send the prompt to the chosen model and stream the answer.")
    var run = false

    @OptionGroup var routing: RoutingOptions
    @OptionGroup var endpoint: EndpointOptions

    func validate() throws {
        if prompt == nil && file == nil { throw ValidationError("give a PROMPT, - for standard input, or --file PATH") }
        if prompt != nil && file != nil { throw ValidationError("give either a PROMPT or --file, not both") }
        if run && file != nil { throw ValidationError("--run sends one prompt; it does not combine with --file") }
    }

    func run() async throws {
        let catalog = try routing.loadCatalog()
        let (detector, embeddingClient) = try await routing.makeDetector()
        do {
            try await route(with: Router(catalog: FixedCatalog(catalog), detector: detector), catalog: catalog)
        } catch {
            try? await embeddingClient?.shutdown()
            throw error
        }
        try? await embeddingClient?.shutdown()
    }

    func route(with router: Router, catalog: Catalog) async throws {
        if let file {
            let prompts = try InputReader.prompts(file: file)
            for (index, prompt) in prompts.enumerated() {
                if prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                    throw CLIFailure("\(file): prompt \(index + 1) is empty")
                }
            }
            let decisions = try await router.route(batch: prompts)
            for decision in decisions {
                print(json ? JSONOutput.line(decision) : Self.summary(decision))
            }
            return
        }
        let text = try InputReader.text(prompt!, what: "prompt")
        let decision = try await router.route(text)
        if json {
            print(JSONOutput.line(decision))
        } else {
            print(Self.summary(decision))
            for reason in decision.reasons { print("  - \(reason)") }
        }
        guard run else { return }
        let client = try endpoint.makeClient()
        do {
            let invoker = ModelInvoker(backend: client)
            let outcome = try await invoker.call(
                model: catalog.model(decision.model)!, messages: [.user(text)],
                parameters: ChatParameters(maxTokens: 400, temperature: 0.5), catalog: catalog,
                context: .init(task: "route", step: 1, phase: "route", capability: decision.capability,
                               method: decision.method),
                onDelta: { @Sendable text in Terminal.write(text) })
            Terminal.write("\n")
            if outcome.model.alias != decision.model {
                FileHandle.standardError.write(Data("(answered by fallback \(outcome.model.alias))\n".utf8))
            }
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    static func summary(_ d: RouteDecision) -> String {
        let confidence = String(format: "%.2f", d.confidence)
        return "\(d.capability) -> \(d.model) (method: \(d.method.rawValue), confidence: \(confidence)\(d.escalated ? ", escalated" : ""))"
    }
}
