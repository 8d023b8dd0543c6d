import ArgumentParser
import Foundation
import OpenAIClient
import PointsmanCore
import PointsmanInterfaces

extension RoutingQuality: ExpressibleByArgument {}

enum ABModeChoice: String, ExpressibleByArgument, CaseIterable {
    case shadow, split
}

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

    @Option(name: .long, help: "What the request needs beyond a capability, comma-separated: tools, vision, json. Only models whose catalog entry does not say they lack it are chosen.")
    var needs: String?

    @Option(name: .long, help: "Cost-quality trade-off: economy (cheapest capable model, no escalation), balanced (the workshop's rule) or best (the top-tier capable model).")
    var quality: RoutingQuality = .balanced

    @Option(name: .long, help: "Output tokens to ask for with --run; the prompt's tokens plus these must fit the chosen model's context_length.")
    var maxTokens: Int = 400

    @Option(name: .long, help: "Online A/B: shadow (decide with --detector, also compute --ab-detector) or split (send --ab-share of ids to --ab-detector).")
    var abMode: ABModeChoice?

    @Option(name: .long, help: "The B arm's detector in an A/B run: regex, embedding or hybrid.")
    var abDetector: DetectorKind = .regex

    @Option(name: .long, help: "Share of ids (0-1) routed by the B arm in split mode.")
    var abShare: Double = 0.5

    @Option(name: .long, help: "Append one A/B decision record per prompt to this JSON Lines file.")
    var trace: String?

    @Option(name: .long, help: "With --file JSON Lines: the field that identifies a request or user (split mode hashes it); default: the line number.")
    var idField: String = "id"

    @Option(name: .long, help: "With --file JSON Lines: the field holding a true label, copied into the A/B trace.")
    var labelField: String?

    @Flag(name: .long, help: "Record prompt texts in the A/B trace (off by default).")
    var tracePrompts = false

    @OptionGroup var routing: RoutingOptions
    @OptionGroup var endpoint: EndpointOptions

    func validate() throws {
        if prompt == nil && file == nil { throw ValidationError("give a PROMPT, - for standard input, or --file PATH") }
        if prompt != nil && file != nil { throw ValidationError("give either a PROMPT or --file, not both") }
        if run && file != nil { throw ValidationError("--run sends one prompt; it does not combine with --file") }
        if abMode != nil && trace == nil { throw ValidationError("--ab-mode records both decisions: give --trace FILE") }
        if abMode != nil && run { throw ValidationError("--ab-mode does not combine with --run") }
        guard (0...1).contains(abShare) else { throw ValidationError("--ab-share must be between 0 and 1") }
        guard maxTokens > 0 else { throw ValidationError("--max-tokens must be positive") }
        _ = try requestNeeds(promptTokens: 0)
    }

    /// The needs of one prompt: the features named by --needs, its tokens and --max-tokens.
    func requestNeeds(promptTokens: Int) throws -> RequestNeeds {
        var result = RequestNeeds(promptTokens: promptTokens, maxOutputTokens: maxTokens)
        for word in (needs ?? "").split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() })
        where !word.isEmpty {
            switch word {
            case "tools": result.tools = true
            case "vision": result.vision = true
            case "json": result.json = true
            default: throw ValidationError("--needs: unknown need \"\(word)\" (use tools, vision, json)")
            }
        }
        return result
    }

    func run() async throws {
        let (setup, kind, embeddingClient) = try await routing.makeSetup(also: abMode == nil ? nil : abDetector)
        do {
            if let abMode {
                let ab = setup.abRouter(a: kind, b: abDetector, mode: abMode == .shadow ? .shadow : .split(share: abShare),
                                        recordPrompts: tracePrompts)
                try await routeAB(ab)
            } else {
                try await route(with: setup.router(kind), countTokens: TokenCounting.counter(for: setup))
            }
        } catch {
            try? await embeddingClient?.shutdown()
            throw error
        }
        try? await embeddingClient?.shutdown()
    }

    func route(with router: Router, countTokens: (String) -> Int) async throws {
        if let file {
            let prompts = try InputReader.prompts(file: file)
            for (index, prompt) in prompts.enumerated() {
                if prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                    throw CLIFailure("\(file): prompt \(index + 1) is empty")
                }
            }
            let decisions = try await router.route(
                batch: prompts, needs: try prompts.map { try requestNeeds(promptTokens: countTokens($0)) }, quality: quality)
            for decision in decisions {
                print(json ? JSONOutput.line(decision) : Self.summary(decision))
            }
            return
        }
        let text = try InputReader.text(prompt ?? "-", what: "prompt")
        let decision = try await router.route(text, needs: try requestNeeds(promptTokens: countTokens(text)), quality: quality)
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
                model: decision.selected, messages: [.user(text)],
                parameters: ChatParameters(maxTokens: maxTokens, temperature: 0.5), catalog: await router.catalog.current(),
                context: .init(task: "route", step: 1, phase: "route", capability: decision.capability,
                               method: decision.method, routingVersion: decision.routingVersion),
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

    /// Routes every prompt through both arms and writes the A/B trace.
    func routeAB(_ ab: ABRouter) async throws {
        var items: [(id: String, text: String, label: String?)] = []
        if let file {
            guard let data = FileManager.default.contents(atPath: file), let content = String(data: data, encoding: .utf8) else {
                throw CLIFailure("cannot read \(file) as UTF-8")
            }
            for (number, line) in content.split(separator: "\n").enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
                if line.hasPrefix("{"), let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                   let text = object["text"] as? String {
                    let id = (object[idField] as? String) ?? (object[idField] as? NSNumber)?.stringValue ?? String(number + 1)
                    items.append((id, text, labelField.flatMap { object[$0] as? String }))
                } else {
                    items.append((String(number + 1), String(line), nil))
                }
            }
        } else {
            items = [("1", try InputReader.text(prompt ?? "-", what: "prompt"), nil)]
        }
        guard let trace else { throw CLIFailure("--ab-mode records both decisions: give --trace FILE") }
        let writer: ABTraceWriter
        do { writer = try ABTraceWriter(path: trace) } catch { throw CLIFailure("cannot write the trace file \(trace)") }
        for item in items {
            let (decision, record) = try await ab.route(item.text, id: item.id, label: item.label)
            await writer.write(record)
            print(json ? JSONOutput.line(decision) : "[\(record.arm)] " + Self.summary(decision))
        }
        await writer.close()
    }

    static func summary(_ d: RouteDecision) -> String {
        let confidence = String(format: "%.2f", d.confidence)
        let language = d.language == "en" || d.language == "und" ? "" : ", language: \(d.language)"
        return "\(d.capability) -> \(d.model) (method: \(d.method.rawValue), confidence: \(confidence)\(language)\(d.escalated ? ", escalated" : ""))"
    }
}
