import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PointsmanCore
import PointsmanInterfaces
import PointsmanMCP

extension HTTPField.Name {
    static let pointsmanBudget = Self("x-pointsman-budget")!
}

/// Token counts read from an upstream answer (the `usage` object), or counted when it sent none.
struct UsageCount: Sendable, Equatable {
    var promptTokens: Int
    var completionTokens: Int
    /// Whether the counts came from the upstream (else they were counted here).
    var reported: Bool
}

/// Reads `usage` and the streamed text out of a chat-completions SSE stream, chunk by chunk, without holding it.
/// Lines are cut on bytes (LF, CRLF or CR), so a character split across two chunks or a CRLF stream reads right.
public struct StreamUsageReader: Sendable {
    private var pending: [UInt8] = []
    /// The last usage the stream reported.
    public private(set) var usage: (prompt: Int, completion: Int)?
    /// The streamed answer's text, up to 1 MiB (for counting tokens when the upstream reports none).
    public private(set) var text = ""

    public init() {}

    /// One complete line: its raw bytes (with the line end) and, for a `data:` line, its JSON object.
    public struct Line: Sendable {
        public var raw: [UInt8]
        public var object: [String: JSONValue]?
        /// A chunk that carries only usage (`choices` empty): what `stream_options.include_usage` adds.
        public var usageOnly: Bool
    }

    /// Reads a chunk; returns the complete lines it finished, in order (with `payloads`, their parsed objects).
    @discardableResult
    public mutating func read(_ chunk: ByteBuffer, payloads wanted: Bool = false) -> [Line] {
        pending += chunk.readableBytesView
        var lines: [Line] = []
        var start = pending.startIndex
        var index = start
        while index < pending.endIndex {
            let byte = pending[index]
            guard byte == 0x0A || byte == 0x0D else { index += 1; continue }
            var end = index + 1
            if byte == 0x0D {
                // A CR at the very end may be the first half of a CRLF: wait for the next chunk.
                if end == pending.endIndex { break }
                if pending[end] == 0x0A { end += 1 }
            }
            lines.append(parse(Array(pending[start..<index]), raw: Array(pending[start..<end]), wanted: wanted))
            start = end
            index = end
        }
        pending.removeSubrange(pending.startIndex..<start)
        // A line that never ends is not held forever.
        if pending.count > 4 << 20 { pending.removeAll() }
        return lines
    }

    private mutating func parse(_ line: [UInt8], raw: [UInt8], wanted: Bool) -> Line {
        var result = Line(raw: raw, object: nil, usageOnly: false)
        guard let text = String(validating: line, as: UTF8.self)?.trimmingCharacters(in: .whitespaces), text.hasPrefix("data:") else {
            return result
        }
        let payload = text.dropFirst(5).trimmingCharacters(in: .whitespaces)
        // One parse per line, shared by the usage reading and the stream translators.
        guard payload != "[DONE]", let data = payload.data(using: .utf8),
              case .object(let fields)? = try? JSONDecoder().decode(JSONValue.self, from: data) else { return result }
        let piece = ChatStreamChunk(fields)
        if let counts = piece.usage { usage = (counts.input, counts.output) }
        var noChoices = true
        if case .array(let choices)? = fields["choices"] { noChoices = choices.isEmpty }
        if case .object? = fields["usage"] { result.usageOnly = noChoices }
        if let content = piece.text, self.text.utf8.count < 1 << 20 { self.text += content }
        if wanted { result.object = fields }
        return result
    }
}

enum ChatUsage {
    /// `usage.prompt_tokens` and `usage.completion_tokens` of a chat-completions object, if both are there and
    /// plausible (`TokenUsage.plausible`; else the tokens are counted here).
    static func counts(in object: [String: Any]) -> (prompt: Int, completion: Int)? {
        guard let usage = object["usage"] as? [String: Any],
              let prompt = (usage["prompt_tokens"] as? Int).flatMap(TokenUsage.plausible),
              let completion = (usage["completion_tokens"] as? Int).flatMap(TokenUsage.plausible) else { return nil }
        return (prompt, completion)
    }
}

/// The service's budget and spend ledger, as chat requests and MCP tools both use them.
struct ServiceSpending: ToolSpendPolicy {
    let configuration: ServiceConfiguration
    let ledger: (any SpendLedger)?
    let metrics: ServiceMetrics
    let logger: Logger

    /// The ledger's name for the key a client presented (without configured keys, nobody has an identity).
    func keyID(_ apiKey: String?) -> String {
        configuration.apiKeys.isEmpty ? "anonymous" : SpendLedgers.keyID(apiKey)
    }

    /// Where `key` (a key id) stands against the budget: `SpendRefusal` at a hard limit.
    func admit(key: String) async throws -> SpendAdmission {
        guard let ledger, let budget = configuration.budget else { return .within }
        let totals: SpendTotals
        do { totals = try await ledger.totals(key: key, at: Date()) } catch {
            // A ledger that cannot answer does not stop requests; the failure is logged.
            logger.error("spend ledger unavailable; budget not checked", metadata: ["error": "\(error)"])
            return .within
        }
        switch budget.state(of: totals) {
        case .within: return .within
        case .soft(let why): return .soft(why)
        case .hard(let why):
            metrics.budgetRefusal()
            throw SpendRefusal("\(why); try again in the next period")
        }
    }

    /// Records what an answer cost at the model's prices. A ledger failure is logged; the answer is not affected.
    func record(key: String, model: ModelEntry, promptTokens: Int, completionTokens: Int) async {
        let promptTokens = TokenUsage.clamped(promptTokens), completionTokens = TokenUsage.clamped(completionTokens)
        let cost = model.cost(promptTokens: promptTokens, completionTokens: completionTokens)
        metrics.spend(key: key, model: model.alias, cost: cost, tokens: promptTokens + completionTokens)
        guard let ledger else { return }
        do { try await ledger.record(key: key, model: model.alias, cost: cost, at: Date()) } catch {
            logger.error("spend not recorded", metadata: ["error": "\(error)", "model": "\(model.alias)", "cost": "\(cost)"])
        }
    }

    func admit(apiKey: String?) async throws -> SpendAdmission { try await admit(key: keyID(apiKey)) }

    func record(apiKey: String?, model: ModelEntry, promptTokens: Int, completionTokens: Int) async {
        await record(key: keyID(apiKey), model: model, promptTokens: promptTokens, completionTokens: completionTokens)
    }
}

extension ServiceDependencies {
    func spending(_ logger: Logger) -> ServiceSpending {
        ServiceSpending(configuration: configuration, ledger: ledger, metrics: metrics, logger: logger)
    }

    /// Where the caller stands against the budget: throws 429 at a hard limit; returns the soft-limit reason, if any.
    func checkBudget(key: String, logger: Logger) async throws -> String? {
        do {
            if case .soft(let why) = try await spending(logger).admit(key: key) { return why }
            return nil
        } catch let refusal as SpendRefusal {
            throw OpenAIError(.tooManyRequests, "budget exceeded: \(refusal.description)",
                              type: "insufficient_quota", code: "budget_exceeded")
        }
    }

    /// Records what an answer cost: the upstream's token counts times the model's prices, or counted tokens when the
    /// upstream reported none. A ledger failure is logged; the answer is not affected.
    func recordSpend(key: String, model: ModelEntry, usage: UsageCount, logger: Logger) async {
        await spending(logger).record(key: key, model: model, promptTokens: usage.promptTokens, completionTokens: usage.completionTokens)
    }

    /// Token counts of a non-streamed answer.
    func usage(ofAnswer bytes: ByteBuffer, request chat: ChatCompletionRequest) -> UsageCount {
        let object = (try? JSONSerialization.jsonObject(with: Data(bytes.readableBytesView))) as? [String: Any] ?? [:]
        if let counts = ChatUsage.counts(in: object) {
            return UsageCount(promptTokens: counts.prompt, completionTokens: counts.completion, reported: true)
        }
        let text = ((object["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String ?? ""
        return counted(chat, answer: text)
    }

    /// Tokens counted here: the messages (4 each for role and separators) and the answer's text.
    func counted(_ chat: ChatCompletionRequest, answer: String) -> UsageCount {
        UsageCount(promptTokens: chat.messages.reduce(0) { $0 + 4 + countTokens($1.text) },
                   completionTokens: answer.isEmpty ? 0 : countTokens(answer), reported: false)
    }

    /// `GET /v1/spend`: the caller's and the service's spend this UTC day and month, spend per model this month, and
    /// the limits in force.
    func spend(_ request: Request) async throws -> Response {
        guard let ledger else { throw OpenAIError(.notFound, "spend is not recorded by this service", code: "not_found") }
        let key = configuration.apiKeys.isEmpty ? "anonymous" : SpendLedgers.keyID(APIKeyMiddleware<BasicRequestContext>.presentedKey(request))
        let now = Date()
        struct Report: Encodable {
            var key: String
            var periods: [String: String]
            var totals: SpendTotals
            var models: [String: Double]?
            var budget: BudgetPolicy?
        }
        let periods = SpendLedgers.periods(now)
        let models = try await ledger.models(at: now)
        let report = Report(key: key, periods: ["day": periods.day, "month": periods.month],
                            totals: try await ledger.totals(key: key, at: now), models: models, budget: configuration.budget)
        return jsonResponse(encoding: report, status: .ok)
    }
}
