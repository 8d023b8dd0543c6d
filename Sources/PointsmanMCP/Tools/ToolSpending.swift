import Foundation
import PointsmanCore
import PointsmanInterfaces

/// A budget's answer before a tool calls a model.
public enum SpendAdmission: Sendable, Equatable {
    /// Within every limit.
    case within
    /// Past a soft limit: the call runs on the cheapest capable model, without escalation. The text says which limit.
    case soft(String)
}

/// A hard budget limit stops the call; the text says which limit, and goes to the client as a tool error.
public struct SpendRefusal: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Budget guardrails for the models MCP tools call. The service plugs in its spend ledger and budget, so calls made
/// through `/mcp` count against the same limits, per API key, as chat requests.
public protocol ToolSpendPolicy: Sendable {
    /// Before any model call of a tool: throws `SpendRefusal` past a hard limit. `apiKey` is the key the client
    /// presented, if any.
    func admit(apiKey: String?) async throws -> SpendAdmission
    /// After each model call that answered.
    func record(apiKey: String?, model: ModelEntry, promptTokens: Int, completionTokens: Int) async
}

/// Wraps a backend so that every answer is recorded with a `ToolSpendPolicy`: the upstream's token counts, or counts
/// of the texts when it reports none (streams from some servers). The catalog entry, for prices, is the one the
/// request names (`alias`).
struct SpendMeteringBackend: ChatBackend {
    let base: any ChatBackend
    let policy: any ToolSpendPolicy
    let apiKey: String?
    let catalog: Catalog
    let countTokens: @Sendable (String) -> Int

    func entry(for request: ChatRequest) -> ModelEntry? {
        request.alias.flatMap(catalog.model)
    }

    func promptTokens(_ request: ChatRequest) -> Int {
        request.messages.reduce(0) { $0 + 4 + countTokens($1.content) }
    }

    func complete(_ request: ChatRequest) async throws -> ChatCompletion {
        let completion = try await base.complete(request)
        if let model = entry(for: request) {
            await policy.record(apiKey: apiKey, model: model,
                                promptTokens: completion.usage?.promptTokens ?? promptTokens(request),
                                completionTokens: completion.usage?.completionTokens ?? countTokens(completion.content))
        }
        return completion
    }

    func stream(_ request: ChatRequest) async throws -> AsyncThrowingStream<ChatChunk, any Error> {
        let upstream = try await base.stream(request)
        let model = entry(for: request)
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: ChatChunk.self)
        let relay = Task {
            var text = ""
            var usage: TokenUsage?
            do {
                for try await chunk in upstream {
                    text += chunk.delta
                    if let reported = chunk.usage { usage = reported }
                    continuation.yield(chunk)
                }
                // What was generated is spent, whether or not the caller read it all.
                if let model {
                    await policy.record(apiKey: apiKey, model: model,
                                        promptTokens: usage?.promptTokens ?? promptTokens(request),
                                        completionTokens: usage?.completionTokens ?? countTokens(text))
                }
                continuation.finish()
            } catch {
                if let model, !text.isEmpty {
                    await policy.record(apiKey: apiKey, model: model, promptTokens: promptTokens(request),
                                        completionTokens: countTokens(text))
                }
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in relay.cancel() }
        return stream
    }
}
