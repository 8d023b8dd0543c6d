import Foundation

/// OpenAI Responses ⇄ Chat Completions, as pure functions on JSON values: no HTTP here. The service is stateless,
/// so a request carries its whole conversation in `input` (`previous_response_id` is refused with a clear error).
public enum ResponsesTranslation {
    /// A Responses request body as a Chat Completions body: `instructions`, `input` (a string, or message,
    /// function-call and function-call-output items with text and image parts), function tools, `tool_choice`,
    /// `max_output_tokens`, sampling, `user`.
    public static func chatRequest(fromResponses body: [String: JSONValue]) throws(RequestError) -> [String: JSONValue] {
        var chat: [String: JSONValue] = ["model": try ChatRequestParts.model(body)]
        if let previous = body["previous_response_id"], previous != .null {
            throw RequestError(message: "previous_response_id is not supported: Pointsman keeps no conversation state, send the whole conversation in input",
                               code: "unsupported_parameter", param: "previous_response_id")
        }
        var messages: [JSONValue] = []
        switch body["instructions"] {
        case nil, .null?: break
        case .string(let text)?: messages.append(.object(["role": .string("system"), "content": .string(text)]))
        case let other?: throw .wrongType("instructions", "a string", found: other)
        }
        switch body["input"] {
        case .string(let text)?:
            guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw .empty("input") }
            messages.append(.object(["role": .string("user"), "content": .string(text)]))
        case .array(let items)?:
            guard !items.isEmpty else { throw .empty("input") }
            var pendingCalls: [JSONValue] = []
            func flushCalls() {
                if pendingCalls.isEmpty { return }
                messages.append(.object(["role": .string("assistant"), "content": .null, "tool_calls": .array(pendingCalls)]))
                pendingCalls = []
            }
            for (index, item) in items.enumerated() {
                let at = "input[\(index)]"
                guard case .object(let fields) = item else { throw .wrongType(at, "an input item object", found: item) }
                var type = "message"
                if case .string(let given)? = fields["type"] { type = given }
                switch type {
                case "message":
                    flushCalls()
                    messages.append(try message(fields, path: at))
                case "function_call":
                    guard case .string(let callID)? = fields["call_id"], case .string(let name)? = fields["name"] else {
                        throw .wrongType(at, "a function_call with call_id and name", found: item)
                    }
                    pendingCalls.append(.object(["id": .string(callID), "type": .string("function"), "function": .object([
                        "name": .string(name), "arguments": fields["arguments"] ?? .string("{}"),
                    ])]))
                case "reasoning", "item_reference":
                    // Reasoning summaries and references to stored items carry nothing a chat upstream can use.
                    continue
                case "function_call_output":
                    flushCalls()
                    guard case .string(let callID)? = fields["call_id"] else { throw .missing("\(at).call_id") }
                    var output = ""
                    if case .string(let text)? = fields["output"] { output = text } else if let other = fields["output"] {
                        output = AnthropicTranslation.jsonText(other)
                    }
                    messages.append(.object(["role": .string("tool"), "tool_call_id": .string(callID), "content": .string(output)]))
                default:
                    throw .wrongType("\(at).type", "message, function_call or function_call_output", found: .string(type))
                }
            }
            flushCalls()
            guard messages.contains(where: { $0 != .null && !(Self.isSystem($0)) }) else { throw .empty("input") }
        case nil: throw .missing("input")
        case let other?: throw .wrongType("input", "a string or a list of input items", found: other)
        }
        chat["messages"] = .array(messages)
        switch body["max_output_tokens"] {
        case nil, .null?: break
        case .integer(let value)? where value > 0: chat["max_tokens"] = .integer(value)
        case let other?: throw .wrongType("max_output_tokens", "a positive integer", found: other)
        }
        for key in ["temperature", "top_p", "stream", "user", "parallel_tool_calls"] { if let value = body[key] { chat[key] = value } }
        if let pointsman = body["pointsman"] { chat["pointsman"] = pointsman }
        // Structured output: text.format json_schema or json_object becomes response_format.
        if case .object(let text)? = body["text"], case .object(let format)? = text["format"], case .string(let type)? = format["type"] {
            switch type {
            case "json_object": chat["response_format"] = .object(["type": .string("json_object")])
            case "json_schema":
                var schema: [String: JSONValue] = [:]
                for key in ["name", "schema", "strict", "description"] { if let value = format[key] { schema[key] = value } }
                chat["response_format"] = .object(["type": .string("json_schema"), "json_schema": .object(schema)])
            default: break
            }
        }
        if case .array(let tools)? = body["tools"], !tools.isEmpty {
            chat["tools"] = .array(try tools.enumerated().map { (index, tool) throws(RequestError) -> JSONValue in
                guard case .object(let fields) = tool, fields["type"] == .string("function"), case .string(let name)? = fields["name"] else {
                    throw .wrongType("tools[\(index)]", "a function tool with a name (other tool types are not served)", found: tool)
                }
                return ChatRequestParts.functionTool(name: name, description: fields["description"], parameters: fields["parameters"])
            })
        }
        switch body["tool_choice"] {
        case nil, .null?: break
        case .string(let choice)?: chat["tool_choice"] = .string(choice)
        case .object(let choice)?:
            guard case .string(let name)? = choice["name"] else { throw .missing("tool_choice.name") }
            chat["tool_choice"] = .object(["type": .string("function"), "function": .object(["name": .string(name)])])
        case let other?: throw .wrongType("tool_choice", "a string or a function choice", found: other)
        }
        return chat
    }

    static func isSystem(_ message: JSONValue) -> Bool {
        if case .object(let fields) = message { return fields["role"] == .string("system") }
        return false
    }

    static func message(_ fields: [String: JSONValue], path: String) throws(RequestError) -> JSONValue {
        guard case .string(var role)? = fields["role"], ["user", "assistant", "system", "developer"].contains(role) else {
            throw .wrongType("\(path).role", "user, assistant, system or developer", found: fields["role"] ?? .null)
        }
        if role == "developer" { role = "system" }
        switch fields["content"] {
        case .string(let text)?: return .object(["role": .string(role), "content": .string(text)])
        case .array(let parts)?:
            var out: [JSONValue] = []
            for (index, part) in parts.enumerated() {
                guard case .object(let p) = part, case .string(let type)? = p["type"] else {
                    throw .wrongType("\(path).content[\(index)]", "a content part with a type", found: part)
                }
                switch type {
                case "refusal":
                    continue
                case "input_text", "output_text", "text":
                    out.append(.object(["type": .string("text"), "text": p["text"] ?? .string("")]))
                case "input_image":
                    guard let url = p["image_url"] else { throw .missing("\(path).content[\(index)].image_url") }
                    out.append(.object(["type": .string("image_url"), "image_url": .object(["url": url])]))
                default:
                    throw .wrongType("\(path).content[\(index)].type", "input_text, output_text or input_image", found: .string(type))
                }
            }
            if role != "user" {
                // Chat takes plain text for the other roles.
                let text = out.compactMap { part -> String? in
                    guard case .object(let f) = part, case .string(let t)? = f["text"] else { return nil }
                    return t
                }.joined()
                return .object(["role": .string(role), "content": .string(text)])
            }
            return .object(["role": .string(role), "content": AnthropicTranslation.userContent(out)])
        case let other: throw .wrongType("\(path).content", "a string or a list of content parts", found: other ?? .null)
        }
    }

    /// A Chat Completions answer as a Responses object for `model`.
    public static func response(fromChat object: [String: JSONValue], model: String, id: String, createdAt: Int) -> [String: JSONValue] {
        var output: [JSONValue] = []
        var finish: String?
        if case .array(let choices)? = object["choices"], case .object(let choice)? = choices.first {
            if case .string(let reason)? = choice["finish_reason"] { finish = reason }
            if case .object(let message)? = choice["message"] {
                if case .string(let text)? = message["content"], !text.isEmpty {
                    output.append(messageItem(id: "msg_\(id)", text: text, status: "completed"))
                }
                if case .array(let calls)? = message["tool_calls"] {
                    for (index, call) in calls.enumerated() {
                        guard case .object(let c) = call, case .object(let f)? = c["function"] else { continue }
                        let callID: JSONValue = c["id"] ?? .string("call_\(index)")
                        output.append(functionItem(id: "fc_\(id)_\(index)", callID: callID, name: f["name"] ?? .string(""),
                                                   arguments: f["arguments"] ?? .string("{}"), status: "completed"))
                    }
                }
            }
        }
        let usage = AnthropicTranslation.usageCounts(object)
        return envelope(id: id, model: model, createdAt: createdAt, status: finish == "length" ? "incomplete" : "completed",
                        output: output, usage: usage)
    }

    static func envelope(id: String, model: String, createdAt: Int, status: String, output: [JSONValue],
                         usage: (input: Int, output: Int)?) -> [String: JSONValue] {
        var object: [String: JSONValue] = [
            "id": .string("resp_\(id)"), "object": .string("response"), "created_at": .integer(Int64(createdAt)),
            "status": .string(status), "model": .string(model), "output": .array(output), "error": .null,
            "incomplete_details": status == "incomplete" ? .object(["reason": .string("max_output_tokens")]) : .null,
            "parallel_tool_calls": .bool(true), "tool_choice": .string("auto"), "tools": .array([]), "metadata": .object([:]),
        ]
        if let usage {
            object["usage"] = .object(["input_tokens": .integer(Int64(usage.input)), "output_tokens": .integer(Int64(usage.output)),
                                       "total_tokens": .integer(Int64(usage.input + usage.output))])
        }
        return object
    }

    static func messageItem(id: String, text: String, status: String) -> JSONValue {
        .object(["type": .string("message"), "id": .string(id), "status": .string(status), "role": .string("assistant"),
                 "content": .array([.object(["type": .string("output_text"), "text": .string(text), "annotations": .array([])])])])
    }

    static func functionItem(id: String, callID: JSONValue, name: JSONValue, arguments: JSONValue, status: String) -> JSONValue {
        .object(["type": .string("function_call"), "id": .string(id), "call_id": callID, "name": name,
                 "arguments": arguments, "status": .string(status)])
    }
}

/// Turns a Chat Completions stream into the Responses event stream, chunk by chunk: `response.created`, then per
/// output item `response.output_item.added`, its deltas (`response.output_text.delta` within a content part, or
/// `response.function_call_arguments.delta`) and their `…done` events, then `response.completed` with the whole
/// response and usage.
public struct ResponsesStreamTranslator: Sendable {
    let model: String
    let id: String
    let createdAt: Int
    private var started = false
    private var sequence = 0
    private var output: [JSONValue] = []
    /// The item being streamed: a message's text, or a function call's arguments.
    private var open: (kind: String, index: Int, itemID: String, text: String, callID: JSONValue, name: JSONValue)?
    /// The function calls so far, their arguments gathered piece by piece.
    private var toolCalls = ToolCallAccumulator()
    private var finish: String?
    private var usage: (input: Int, output: Int)?

    public init(model: String, id: String, createdAt: Int) {
        self.model = model
        self.id = id
        self.createdAt = createdAt
    }

    private mutating func event(_ type: String, _ fields: [String: JSONValue]) -> String {
        var data = fields
        data["type"] = .string(type)
        data["sequence_number"] = .integer(Int64(sequence))
        sequence += 1
        return "event: \(type)\ndata: \(AnthropicTranslation.jsonText(.object(data)))\n\n"
    }

    /// The events for one chat chunk (a parsed `data:` payload).
    public mutating func events(for chunk: [String: JSONValue]) -> String {
        var out = ""
        if !started {
            started = true
            let created = ResponsesTranslation.envelope(id: id, model: model, createdAt: createdAt, status: "in_progress", output: [], usage: nil)
            out += event("response.created", ["response": .object(created)])
        }
        let piece = ChatStreamChunk(chunk)
        if let counts = piece.usage { usage = counts }
        if let reason = piece.finishReason { finish = reason }
        if let text = piece.text {
            if open?.kind != "message" {
                out += close()
                let itemID = "msg_\(id)_\(output.count)"
                open = ("message", output.count, itemID, "", .null, .null)
                out += event("response.output_item.added", ["output_index": .integer(Int64(output.count)), "item": .object([
                    "type": .string("message"), "id": .string(itemID), "status": .string("in_progress"), "role": .string("assistant"),
                    "content": .array([])])])
                out += event("response.content_part.added", ["item_id": .string(itemID), "output_index": .integer(Int64(output.count)),
                    "content_index": .integer(0), "part": .object(["type": .string("output_text"), "text": .string(""), "annotations": .array([])])])
            }
            open?.text += text
            out += event("response.output_text.delta", ["item_id": .string(open?.itemID ?? ""), "output_index": .integer(Int64(open?.index ?? 0)),
                                                        "content_index": .integer(0), "delta": .string(text)])
        }
        toolCalls.add(piece.toolCalls)
        return out
    }

    /// The closing events after the upstream's last chunk. Function calls go out here, each as one complete item:
    /// upstreams may interleave the pieces of several calls.
    public mutating func finishEvents() -> String {
        var out = started ? "" : events(for: [:])
        out += close()
        for call in toolCalls.calls {
            let itemID = "fc_\(id)_\(output.count)"
            open = ("function", output.count, itemID, call.arguments, .string(call.id), .string(call.name))
            out += event("response.output_item.added", ["output_index": .integer(Int64(output.count)), "item":
                ResponsesTranslation.functionItem(id: itemID, callID: .string(call.id), name: .string(call.name), arguments: .string(""),
                                                  status: "in_progress")])
            if !call.arguments.isEmpty {
                out += event("response.function_call_arguments.delta", ["item_id": .string(itemID),
                    "output_index": .integer(Int64(output.count)), "delta": .string(call.arguments)])
            }
            out += close()
        }
        let status = finish == "length" ? "incomplete" : "completed"
        let response = ResponsesTranslation.envelope(id: id, model: model, createdAt: createdAt, status: status, output: output,
                                                     usage: usage ?? (0, 0))
        out += event(status == "completed" ? "response.completed" : "response.incomplete", ["response": .object(response)])
        return out
    }

    /// The error event that ends a stream the upstream cut.
    public mutating func errorEvent(_ message: String) -> String {
        event("error", ["code": .string("upstream_interrupted"), "message": .string(message), "param": .null])
    }

    private mutating func close() -> String {
        guard let item = open else { return "" }
        open = nil
        var out = ""
        if item.kind == "message" {
            out += event("response.output_text.done", ["item_id": .string(item.itemID), "output_index": .integer(Int64(item.index)),
                                                       "content_index": .integer(0), "text": .string(item.text)])
            out += event("response.content_part.done", ["item_id": .string(item.itemID), "output_index": .integer(Int64(item.index)),
                "content_index": .integer(0), "part": .object(["type": .string("output_text"), "text": .string(item.text), "annotations": .array([])])])
            let done = ResponsesTranslation.messageItem(id: item.itemID, text: item.text, status: "completed")
            output.append(done)
            out += event("response.output_item.done", ["output_index": .integer(Int64(item.index)), "item": done])
        } else {
            out += event("response.function_call_arguments.done", ["item_id": .string(item.itemID), "output_index": .integer(Int64(item.index)),
                                                                   "arguments": .string(item.text)])
            let done = ResponsesTranslation.functionItem(id: item.itemID, callID: item.callID, name: item.name,
                                                         arguments: .string(item.text), status: "completed")
            output.append(done)
            out += event("response.output_item.done", ["output_index": .integer(Int64(item.index)), "item": done])
        }
        return out
    }
}

/// The stream translator a client's format needs (none for Chat Completions).
enum StreamTranslation: Sendable {
    case anthropic(AnthropicStreamTranslator)
    case responses(ResponsesStreamTranslator)

    mutating func events(for chunk: [String: JSONValue]) -> String {
        switch self {
        case .anthropic(var t): defer { self = .anthropic(t) }; return t.events(for: chunk)
        case .responses(var t): defer { self = .responses(t) }; return t.events(for: chunk)
        }
    }

    mutating func finishEvents() -> String {
        switch self {
        case .anthropic(var t): defer { self = .anthropic(t) }; return t.finishEvents()
        case .responses(var t): defer { self = .responses(t) }; return t.finishEvents()
        }
    }

    mutating func errorEvent(_ message: String) -> String {
        switch self {
        case .anthropic: return AnthropicStreamTranslator.errorEvent(message)
        case .responses(var t): defer { self = .responses(t) }; return t.errorEvent(message)
        }
    }
}
