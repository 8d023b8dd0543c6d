import Foundation
import PointsmanInterfaces

/// Anthropic Messages ⇄ OpenAI Chat Completions, as pure functions on JSON values: no HTTP here. Requests go from
/// Messages to Chat Completions (what local upstreams speak); answers, stream events and errors come back.
public enum AnthropicTranslation {
    // MARK: Requests

    /// A Messages request body as a Chat Completions body: system prompt, turns, text and image blocks, tool
    /// definitions, tool calls and results, `max_tokens`, sampling and stop sequences. A malformed body is a
    /// `RequestError` naming the field.
    public static func chatRequest(fromMessages body: [String: JSONValue]) throws(RequestError) -> [String: JSONValue] {
        var chat: [String: JSONValue] = ["model": try ChatRequestParts.model(body)]
        switch body["max_tokens"] {
        case .integer(let value)? where value > 0: chat["max_tokens"] = .integer(value)
        case nil: throw .missing("max_tokens")
        case let other?: throw .wrongType("max_tokens", "a positive integer", found: other)
        }
        var messages: [JSONValue] = []
        switch body["system"] {
        case nil, .null?: break
        case .string(let text)?: messages.append(.object(["role": .string("system"), "content": .string(text)]))
        case .array(let blocks)?:
            let text = try blocks.enumerated().map { (index, block) throws(RequestError) -> String in
                guard case .object(let fields) = block, case .string(let text)? = fields["text"] else {
                    throw .wrongType("system[\(index)]", "a text block", found: block)
                }
                return text
            }.joined(separator: "\n")
            messages.append(.object(["role": .string("system"), "content": .string(text)]))
        case let other?: throw .wrongType("system", "a string or a list of text blocks", found: other)
        }
        guard case .array(let turns)? = body["messages"] else {
            if let found = body["messages"] { throw .wrongType("messages", "a list of messages", found: found) }
            throw .missing("messages")
        }
        guard !turns.isEmpty else { throw .empty("messages") }
        for (index, turn) in turns.enumerated() {
            messages += try chatMessages(from: turn, path: "messages[\(index)]")
        }
        chat["messages"] = .array(messages)
        for key in ["temperature", "top_p", "stream"] { if let value = body[key] { chat[key] = value } }
        if let stops = body["stop_sequences"] { chat["stop"] = stops }
        if case .object(let metadata)? = body["metadata"], case .string(let user)? = metadata["user_id"] { chat["user"] = .string(user) }
        if let pointsman = body["pointsman"] { chat["pointsman"] = pointsman }
        if case .array(let tools)? = body["tools"], !tools.isEmpty {
            chat["tools"] = .array(try tools.enumerated().map { (index, tool) throws(RequestError) -> JSONValue in
                guard case .object(let fields) = tool, case .string(let name)? = fields["name"] else {
                    throw .wrongType("tools[\(index)]", "a tool with a name", found: tool)
                }
                return ChatRequestParts.functionTool(name: name, description: fields["description"], parameters: fields["input_schema"])
            })
        }
        if case .object(let choice)? = body["tool_choice"], case .string(let type)? = choice["type"] {
            switch type {
            case "auto": chat["tool_choice"] = .string("auto")
            case "any": chat["tool_choice"] = .string("required")
            case "none": chat["tool_choice"] = .string("none")
            case "tool":
                guard let name = choice["name"] else { throw .missing("tool_choice.name") }
                chat["tool_choice"] = .object(["type": .string("function"), "function": .object(["name": name])])
            default: throw .wrongType("tool_choice.type", "auto, any, tool or none", found: .string(type))
            }
        }
        return chat
    }

    /// One Messages turn as Chat Completions messages: tool results become `tool` messages (before the turn's other
    /// content), an assistant's tool uses become `tool_calls`.
    static func chatMessages(from turn: JSONValue, path: String) throws(RequestError) -> [JSONValue] {
        guard case .object(let fields) = turn else { throw .wrongType(path, "a message object", found: turn) }
        guard case .string(let role)? = fields["role"], role == "user" || role == "assistant" else {
            throw .wrongType("\(path).role", "user or assistant", found: fields["role"] ?? .null)
        }
        let blocks: [JSONValue]
        switch fields["content"] {
        case .string(let text)?: return [.object(["role": .string(role), "content": .string(text)])]
        case .array(let list)?: blocks = list
        case let other: throw .wrongType("\(path).content", "a string or a list of content blocks", found: other ?? .null)
        }
        var out: [JSONValue] = []
        var parts: [JSONValue] = []
        var toolCalls: [JSONValue] = []
        for (index, block) in blocks.enumerated() {
            let at = "\(path).content[\(index)]"
            guard case .object(let b) = block, case .string(let type)? = b["type"] else {
                throw .wrongType(at, "a content block with a type", found: block)
            }
            switch type {
            case "text":
                parts.append(.object(["type": .string("text"), "text": b["text"] ?? .string("")]))
            case "image":
                guard case .object(let source)? = b["source"] else { throw .missing("\(at).source") }
                let url: String
                if case .string(let data)? = source["data"], case .string(let media)? = source["media_type"] {
                    url = "data:\(media);base64,\(data)"
                } else if case .string(let link)? = source["url"] {
                    url = link
                } else {
                    throw .wrongType("\(at).source", "base64 data with a media_type, or a url", found: .object(source))
                }
                parts.append(.object(["type": .string("image_url"), "image_url": .object(["url": .string(url)])]))
            case "tool_use":
                guard case .string(let id)? = b["id"], case .string(let name)? = b["name"] else {
                    throw .wrongType(at, "a tool_use block with id and name", found: block)
                }
                toolCalls.append(.object(["id": .string(id), "type": .string("function"), "function": .object([
                    "name": .string(name), "arguments": .string(jsonText(b["input"] ?? .object([:]))),
                ])]))
            case "tool_result":
                guard case .string(let id)? = b["tool_use_id"] else { throw .missing("\(at).tool_use_id") }
                var text = ""
                switch b["content"] {
                case .string(let value)?: text = value
                case .array(let inner)?:
                    text = inner.compactMap { item -> String? in
                        guard case .object(let f) = item, case .string(let t)? = f["text"] else { return nil }
                        return t
                    }.joined(separator: "\n")
                default: break
                }
                if b["is_error"] == .bool(true) { text = "Error: " + text }
                out.append(.object(["role": .string("tool"), "tool_call_id": .string(id), "content": .string(text)]))
            default:
                throw .wrongType("\(at).type", "text, image, tool_use or tool_result", found: .string(type))
            }
        }
        if role == "assistant" {
            let text = parts.compactMap { part -> String? in
                guard case .object(let f) = part, case .string(let t)? = f["text"] else { return nil }
                return t
            }.joined()
            var message: [String: JSONValue] = ["role": .string("assistant"), "content": text.isEmpty && !toolCalls.isEmpty ? .null : .string(text)]
            if !toolCalls.isEmpty { message["tool_calls"] = .array(toolCalls) }
            out.append(.object(message))
        } else if !parts.isEmpty {
            out.append(.object(["role": .string("user"), "content": userContent(parts)]))
        }
        return out
    }

    /// Text-only parts as one string (what every local upstream's chat template reads); a list when images are there.
    static func userContent(_ parts: [JSONValue]) -> JSONValue {
        var texts: [String] = []
        for part in parts {
            guard case .object(let f) = part, f["type"] == .string("text"), case .string(let text)? = f["text"] else { return .array(parts) }
            texts.append(text)
        }
        return .string(texts.joined(separator: "\n"))
    }

    // MARK: Answers

    /// A Chat Completions answer as an Anthropic message for `model` (the name the client asked for).
    public static func message(fromChat object: [String: JSONValue], model: String) -> [String: JSONValue] {
        var content: [JSONValue] = []
        var finish: String?
        if case .array(let choices)? = object["choices"], case .object(let choice)? = choices.first {
            if case .string(let reason)? = choice["finish_reason"] { finish = reason }
            if case .object(let message)? = choice["message"] {
                if case .string(let text)? = message["content"], !text.isEmpty {
                    content.append(.object(["type": .string("text"), "text": .string(text)]))
                }
                if case .array(let calls)? = message["tool_calls"] {
                    for call in calls { if let block = toolUseBlock(call) { content.append(block) } }
                }
            }
        }
        let usage = usageCounts(object)
        var id = "msg_pointsman"
        if case .string(let upstream)? = object["id"] { id = "msg_" + upstream }
        return [
            "id": .string(id), "type": .string("message"), "role": .string("assistant"), "model": .string(model),
            "content": .array(content), "stop_reason": .string(stopReason(finish)), "stop_sequence": .null,
            "usage": .object(["input_tokens": .integer(Int64(usage.input)), "output_tokens": .integer(Int64(usage.output))]),
        ]
    }

    /// Chat's `finish_reason` as Anthropic's `stop_reason`.
    public static func stopReason(_ finish: String?) -> String {
        switch finish {
        case "length": "max_tokens"
        case "tool_calls", "function_call": "tool_use"
        case "content_filter": "refusal"
        default: "end_turn"
        }
    }

    static func toolUseBlock(_ call: JSONValue) -> JSONValue? {
        guard case .object(let c) = call, case .object(let function)? = c["function"], case .string(let name)? = function["name"] else {
            return nil
        }
        var input: JSONValue = .object([:])
        if case .string(let arguments)? = function["arguments"], let data = arguments.data(using: .utf8),
           let parsed = try? JSONDecoder().decode(JSONValue.self, from: data) {
            input = parsed
        }
        let id: JSONValue = c["id"] ?? .string("toolu_pointsman")
        return .object(["type": .string("tool_use"), "id": id, "name": .string(name), "input": input])
    }

    static func usageCounts(_ object: [String: JSONValue]) -> (input: Int, output: Int) {
        guard case .object(let usage)? = object["usage"] else { return (0, 0) }
        func count(_ key: String) -> Int {
            if case .integer(let value)? = usage[key] { return Int(value) }
            return 0
        }
        // A count no upstream could mean (negative, or beyond 2^40) makes the whole usage read as none, like a missing
        // one: the tokens are then counted here.
        guard let prompt = TokenUsage.plausible(count("prompt_tokens")),
              let completion = TokenUsage.plausible(count("completion_tokens")) else { return (0, 0) }
        return (prompt, completion)
    }

    // MARK: Errors

    /// An error in Anthropic's shape for an HTTP status.
    public static func errorBody(status: Int, message: String) -> [String: JSONValue] {
        let type = switch status {
        case 404: "not_found_error"
        case 413: "request_too_large"
        case 400, 405, 408, 422: "invalid_request_error"
        case 401: "authentication_error"
        case 403: "permission_error"
        case 429: "rate_limit_error"
        case 503, 529: "overloaded_error"
        default: status >= 500 ? "api_error" : "invalid_request_error"
        }
        return ["type": .string("error"), "error": .object(["type": .string(type), "message": .string(message)])]
    }

    static func jsonText(_ value: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
    }

    /// One server-sent event: `event: NAME` and its JSON data.
    public static func event(_ name: String, _ data: [String: JSONValue]) -> String {
        "event: \(name)\ndata: \(jsonText(.object(data)))\n\n"
    }
}

/// Turns a Chat Completions stream into Anthropic's event sequence, chunk by chunk: `message_start`, then per
/// content block `content_block_start`, its `content_block_delta`s (text, or a tool call's JSON in pieces) and
/// `content_block_stop`, then `message_delta` with the stop reason and usage, and `message_stop`.
public struct AnthropicStreamTranslator: Sendable {
    let model: String
    private var started = false
    private var openBlock: (index: Int, kind: String)?
    private var nextIndex = 0
    /// The tool calls so far, their arguments gathered piece by piece.
    private var toolCalls = ToolCallAccumulator()
    private var finish: String?
    private var usage = (input: 0, output: 0)

    public init(model: String) { self.model = model }

    /// The events for one chat chunk (a parsed `data:` payload).
    public mutating func events(for chunk: [String: JSONValue]) -> String {
        var out = ""
        if !started {
            started = true
            var id = "msg_pointsman"
            if case .string(let upstream)? = chunk["id"] { id = "msg_" + upstream }
            out += AnthropicTranslation.event("message_start", ["type": .string("message_start"), "message": .object([
                "id": .string(id), "type": .string("message"), "role": .string("assistant"), "model": .string(model),
                "content": .array([]), "stop_reason": .null, "stop_sequence": .null,
                "usage": .object(["input_tokens": .integer(0), "output_tokens": .integer(0)]),
            ])])
        }
        let piece = ChatStreamChunk(chunk)
        if let counts = piece.usage { usage = counts }
        if let reason = piece.finishReason { finish = reason }
        if let text = piece.text {
            if openBlock?.kind != "text" {
                out += close()
                out += open(kind: "text", block: ["type": .string("text"), "text": .string("")])
            }
            out += AnthropicTranslation.event("content_block_delta", ["type": .string("content_block_delta"),
                "index": .integer(Int64(openBlock?.index ?? 0)),
                "delta": .object(["type": .string("text_delta"), "text": .string(text)])])
        }
        toolCalls.add(piece.toolCalls)
        return out
    }

    /// The closing events after the upstream's last chunk. Tool calls go out here, each as one complete block:
    /// upstreams may interleave the pieces of several calls, which Anthropic's block order cannot express.
    public mutating func finishEvents() -> String {
        var out = started ? "" : events(for: [:])
        out += close()
        for call in toolCalls.calls {
            out += open(kind: "tool", block: ["type": .string("tool_use"), "id": .string(call.id), "name": .string(call.name),
                                              "input": .object([:])])
            if !call.arguments.isEmpty {
                out += AnthropicTranslation.event("content_block_delta", ["type": .string("content_block_delta"),
                    "index": .integer(Int64(openBlock?.index ?? 0)),
                    "delta": .object(["type": .string("input_json_delta"), "partial_json": .string(call.arguments)])])
            }
            out += close()
        }
        out += AnthropicTranslation.event("message_delta", ["type": .string("message_delta"),
            "delta": .object(["stop_reason": .string(AnthropicTranslation.stopReason(finish)), "stop_sequence": .null]),
            "usage": .object(["input_tokens": .integer(Int64(usage.input)), "output_tokens": .integer(Int64(usage.output))])])
        out += AnthropicTranslation.event("message_stop", ["type": .string("message_stop")])
        return out
    }

    /// The error event that ends a stream the upstream cut.
    public static func errorEvent(_ message: String) -> String {
        AnthropicTranslation.event("error", AnthropicTranslation.errorBody(status: 502, message: message))
    }

    private mutating func open(kind: String, block: [String: JSONValue]) -> String {
        openBlock = (nextIndex, kind)
        nextIndex += 1
        return AnthropicTranslation.event("content_block_start", ["type": .string("content_block_start"),
            "index": .integer(Int64(nextIndex - 1)), "content_block": .object(block)])
    }

    private mutating func close() -> String {
        guard let block = openBlock else { return "" }
        openBlock = nil
        return AnthropicTranslation.event("content_block_stop", ["type": .string("content_block_stop"), "index": .integer(Int64(block.index))])
    }
}

/// Gathers a chat stream's tool calls from their pieces: by `index` when the upstream sends one, else by `id`, else
/// into the last call. Order is the order calls first appeared.
struct ToolCallAccumulator: Sendable {
    struct Call: Sendable {
        var key: String
        var id: String
        var name: String
        var arguments: String
    }

    private(set) var calls: [Call] = []

    mutating func add(_ pieces: [JSONValue]) {
        for piece in pieces {
            guard case .object(let c) = piece else { continue }
            let function: [String: JSONValue] = if case .object(let f)? = c["function"] { f } else { [:] }
            var key: String?
            if case .integer(let index)? = c["index"] { key = "index:\(index)" } else if case .string(let id)? = c["id"] { key = "id:\(id)" }
            let position = key.flatMap { k in calls.firstIndex { $0.key == k } } ?? (key == nil ? calls.indices.last : nil)
            let slot: Int
            if let position { slot = position } else {
                calls.append(Call(key: key ?? "call:\(calls.count)", id: "call_\(calls.count)", name: "", arguments: ""))
                slot = calls.count - 1
            }
            if case .string(let id)? = c["id"], !id.isEmpty { calls[slot].id = id }
            if case .string(let name)? = function["name"], !name.isEmpty { calls[slot].name = name }
            if case .string(let arguments)? = function["arguments"], calls[slot].arguments.utf8.count < 1 << 20 {
                calls[slot].arguments += arguments
            }
        }
    }
}
