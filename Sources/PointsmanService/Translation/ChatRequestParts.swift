/// Pieces of a Chat Completions request that both translators build the same way.
enum ChatRequestParts {
    /// The body's `model`, which must be a string.
    static func model(_ body: [String: JSONValue]) throws(RequestError) -> JSONValue {
        guard let model = body["model"] else { throw .missing("model") }
        guard case .string = model else { throw .wrongType("model", "a string", found: model) }
        return model
    }

    /// A chat function tool from a name, an optional description and a JSON schema (an empty object schema if none).
    static func functionTool(name: String, description: JSONValue?, parameters: JSONValue?) -> JSONValue {
        var function: [String: JSONValue] = ["name": .string(name)]
        if let description { function["description"] = description }
        function["parameters"] = parameters ?? .object(["type": .string("object")])
        return .object(["type": .string("function"), "function": .object(function)])
    }
}

/// What one chat-completions stream chunk carries, read once for either stream translator.
struct ChatStreamChunk {
    /// Prompt and completion tokens, when the chunk reports them.
    var usage: (input: Int, output: Int)?
    var finishReason: String?
    /// New answer text (nil when the chunk adds none).
    var text: String?
    /// Pieces of tool calls, to gather with `ToolCallAccumulator`.
    var toolCalls: [JSONValue] = []

    init(_ chunk: [String: JSONValue]) {
        let counts = AnthropicTranslation.usageCounts(chunk)
        if counts != (0, 0) { usage = counts }
        guard case .array(let choices)? = chunk["choices"], case .object(let choice)? = choices.first else { return }
        if case .string(let reason)? = choice["finish_reason"] { finishReason = reason }
        guard case .object(let delta)? = choice["delta"] else { return }
        if case .string(let content)? = delta["content"], !content.isEmpty { text = content }
        if case .array(let calls)? = delta["tool_calls"] { toolCalls = calls }
    }
}
