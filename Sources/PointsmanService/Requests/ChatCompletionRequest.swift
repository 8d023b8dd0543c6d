import Foundation
import PointsmanCore
import PointsmanInterfaces

/// One message of a chat request as it arrives: its role and content read, every other field (tool calls, names,
/// vendor fields) kept as it came and forwarded unchanged.
public struct IncomingMessage: Sendable, Equatable, Encodable {
    /// Who said it.
    public var role: ChatRole
    /// The content as sent: a string, a list of content parts, or null.
    public var content: JSONValue
    /// Every other field.
    public var otherFields: [String: JSONValue]

    /// The message's text: the string, or the text parts of a list joined by newlines; "" for null or no text parts.
    public var text: String {
        switch content {
        case .string(let text): return text
        case .array(let parts):
            return parts.compactMap { part -> String? in
                guard case .object(let fields) = part, fields["type"] == .string("text"),
                      case .string(let text)? = fields["text"] else { return nil }
                return text
            }.joined(separator: "\n")
        default: return ""
        }
    }

    /// The message as the router reads it.
    public var chatMessage: ChatMessage { ChatMessage(role: role, content: text) }

    /// Reads one message; `path` (e.g. `messages[2]`) names it in errors.
    init(_ value: JSONValue, path: String) throws(RequestError) {
        guard case .object(var fields) = value else { throw .wrongType(path, "a message object", found: value) }
        guard let roleValue = fields.removeValue(forKey: "role") else { throw .missing("\(path).role") }
        guard case .string(let name) = roleValue, let role = ChatRole(rawValue: name) else {
            throw .wrongType("\(path).role", "one of system, user, assistant, tool, developer", found: roleValue)
        }
        let content = fields.removeValue(forKey: "content") ?? .null
        switch content {
        case .string, .null: break
        case .array(let parts):
            for (index, part) in parts.enumerated() {
                guard case .object = part else {
                    throw .wrongType("\(path).content[\(index)]", "a content part object", found: part)
                }
            }
        default: throw .wrongType("\(path).content", "a string, a list of content parts, or null", found: content)
        }
        self.role = role
        self.content = content
        self.otherFields = fields
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyCodingKey.self)
        for (key, value) in otherFields { try c.encode(value, forKey: AnyCodingKey(key)) }
        try c.encode(role.rawValue, forKey: AnyCodingKey("role"))
        try c.encode(content, forKey: AnyCodingKey("content"))
    }
}

/// Reads the `messages` list shared by `/v1/chat/completions` and `/v1/route`.
/// Reads the `pointsman` object of a request body: `{"quality": "economy" | "balanced" | "best"}`.
func routingQuality(_ value: JSONValue?) throws(RequestError) -> RoutingQuality? {
    switch value {
    case nil, .null?: return nil
    case .object(let fields)?:
        if let unknown = fields.keys.sorted().first(where: { $0 != "quality" }) {
            throw RequestError(message: "pointsman.\(unknown) is not a known field (pointsman accepts quality)",
                               code: "invalid_value", param: "pointsman.\(unknown)")
        }
        switch fields["quality"] {
        case nil, .null?: return nil
        case .string(let name)?:
            guard let quality = RoutingQuality(name: name) else {
                throw RequestError(message: "pointsman.quality must be economy, balanced or best, got \"\(name)\"",
                                   code: "invalid_value", param: "pointsman.quality")
            }
            return quality
        case let other?: throw .wrongType("pointsman.quality", "\"economy\", \"balanced\" or \"best\"", found: other)
        }
    case let other?: throw .wrongType("pointsman", "an object", found: other)
    }
}

func incomingMessages(_ value: JSONValue?, field: String = "messages") throws(RequestError) -> [IncomingMessage] {
    guard let value else { throw .missing(field) }
    guard case .array(let list) = value else { throw .wrongType(field, "a list of message objects", found: value) }
    guard !list.isEmpty else { throw .empty(field) }
    var messages: [IncomingMessage] = []
    for (index, item) in list.enumerated() { messages.append(try IncomingMessage(item, path: "\(field)[\(index)]")) }
    return messages
}

/// A `POST /v1/chat/completions` body: the fields routing reads, typed and checked, and every other field (`tools`,
/// `response_format`, `logprobs`, sampling parameters, vendor fields) kept as it came, so the request goes upstream
/// with nothing dropped.
public struct ChatCompletionRequest: Sendable, Equatable, Encodable {
    /// The requested model: the auto name, or a catalog alias.
    public var model: String
    /// The conversation.
    public var messages: [IncomingMessage]
    /// Whether the answer is streamed.
    public var stream: Bool
    /// The client's end-user id, if sent.
    public var user: String?
    /// Every other field, forwarded unchanged.
    public var otherFields: [String: JSONValue]
    /// The body's `pointsman.quality`, if sent (the `pointsman` object is ours and never forwarded).
    public var quality: RoutingQuality?
    /// Whether `stream` was in the body (it is forwarded only then).
    var streamGiven: Bool

    /// Reads and checks a body; a missing or mistyped field is a `RequestError` naming it.
    public init(json body: [String: JSONValue]) throws(RequestError) {
        var fields = body
        guard let modelValue = fields.removeValue(forKey: "model") else { throw .missing("model") }
        guard case .string(let model) = modelValue else { throw .wrongType("model", "a string", found: modelValue) }
        messages = try incomingMessages(fields.removeValue(forKey: "messages"))
        switch fields.removeValue(forKey: "stream") {
        case nil, .null?: stream = false; streamGiven = false
        case .bool(let value)?: stream = value; streamGiven = true
        case let other?: throw .wrongType("stream", "a boolean", found: other)
        }
        switch fields["user"] {
        case nil, .null?: user = nil
        case .string(let value)?: user = value
        case let other?: throw .wrongType("user", "a string", found: other)
        }
        quality = try routingQuality(fields.removeValue(forKey: "pointsman"))
        self.model = model
        otherFields = fields
    }

    /// The conversation as the router reads it.
    public var chatMessages: [ChatMessage] { messages.map(\.chatMessage) }

    /// Whether some user message has text to route by.
    public var hasUserText: Bool {
        messages.contains { $0.role == .user && !$0.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
    }

    /// Whether some user message has content parts other than text (images, audio).
    public var hasUserNonTextContent: Bool {
        messages.contains { message in
            guard message.role == .user, case .array(let parts) = message.content else { return false }
            return parts.contains { part in
                guard case .object(let fields) = part else { return false }
                return fields["type"] != .string("text")
            }
        }
    }

    /// Whether some message holds an image part (`image_url`, `input_image` or `image`).
    public var hasImages: Bool {
        messages.contains { message in
            guard case .array(let parts) = message.content else { return false }
            return parts.contains { part in
                guard case .object(let fields) = part, case .string(let type)? = fields["type"] else { return false }
                return ["image_url", "input_image", "image"].contains(type)
            }
        }
    }

    /// What the request needs from the model beyond a capability. `countTokens` counts a text's tokens (the
    /// service uses the native tokenizer); each message adds 4 tokens for its role and separators. Messages are only
    /// tokenised when some model in `catalog` could lack room for them (see `RequestNeeds.promptTokens`).
    public func needs(catalog: Catalog, countTokens: (String) -> Int) -> RequestNeeds {
        func nonEmptyArray(_ key: String) -> Bool {
            if case .array(let items)? = otherFields[key] { return !items.isEmpty }
            return false
        }
        var json = false
        if case .object(let format)? = otherFields["response_format"], case .string(let type)? = format["type"] {
            json = type == "json_object" || type == "json_schema"
        }
        var output: Int?
        for key in ["max_completion_tokens", "max_tokens"] where output == nil {
            if case .integer(let value)? = otherFields[key], value > 0 { output = Int(clamping: value) }
        }
        let prompt = RequestNeeds.promptTokens(messages.map(\.text), maxOutputTokens: output, catalog: catalog, count: countTokens)
        return RequestNeeds(promptTokens: prompt, maxOutputTokens: output,
                            tools: nonEmptyArray("tools") || nonEmptyArray("functions"), vision: hasImages, json: json)
    }

    /// The body to send upstream for `upstreamModel`: every field as it came, the model replaced. With
    /// `includeUsage`, a stream asks the upstream for a final usage chunk (`stream_options.include_usage`) unless the
    /// client set `stream_options` itself.
    public func upstreamBody(model upstreamModel: String, includeUsage: Bool = false) throws -> Data {
        var copy = self
        copy.model = upstreamModel
        if includeUsage, stream, copy.otherFields["stream_options"] == nil {
            copy.otherFields["stream_options"] = .object(["include_usage": .bool(true)])
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return try encoder.encode(copy)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyCodingKey.self)
        for (key, value) in otherFields { try c.encode(value, forKey: AnyCodingKey(key)) }
        try c.encode(model, forKey: AnyCodingKey("model"))
        try c.encode(messages, forKey: AnyCodingKey("messages"))
        if streamGiven { try c.encode(stream, forKey: AnyCodingKey("stream")) }
    }
}

/// A `POST /v1/route` body: exactly one of `prompt`, `prompts` or `messages`.
public enum RouteRequest: Sendable, Equatable {
    case prompt(String)
    case prompts([String])
    case messages([IncomingMessage])

    /// Reads and checks a body.
    public init(json body: [String: JSONValue]) throws(RequestError) {
        let given = ["prompt", "prompts", "messages"].filter { body[$0] != nil }
        guard given.count <= 1 else {
            throw RequestError(message: "give one of \"prompt\", \"prompts\" or \"messages\", not \(given.joined(separator: " and "))",
                               code: "invalid_request", param: given[1])
        }
        if let value = body["prompt"] {
            guard case .string(let text) = value else { throw .wrongType("prompt", "a string", found: value) }
            guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw .empty("prompt") }
            self = .prompt(text)
        } else if let value = body["prompts"] {
            guard case .array(let list) = value else { throw .wrongType("prompts", "a list of strings", found: value) }
            var texts: [String] = []
            for (index, item) in list.enumerated() {
                guard case .string(let text) = item else { throw .wrongType("prompts[\(index)]", "a string", found: item) }
                texts.append(text)
            }
            guard !texts.isEmpty else { throw .empty("prompts") }
            self = .prompts(texts)
        } else if body["messages"] != nil {
            self = .messages(try incomingMessages(body["messages"]))
        } else {
            throw RequestError(message: "give \"prompt\", \"prompts\" or \"messages\"", code: "missing_field", param: nil)
        }
    }
}

/// A `POST /v1/embeddings` body.
public struct EmbeddingsRequest: Sendable, Equatable {
    /// The texts, in order.
    public var input: [String]
    /// `float` or `base64`.
    public var base64: Bool
    /// The requested model, if any.
    public var model: String?

    /// Reads and checks a body; more than `maxInputs` texts is a client error naming the limit.
    public init(json body: [String: JSONValue], maxInputs: Int) throws(RequestError) {
        switch body["input"] {
        case nil: throw .missing("input")
        case .string(let text)?: input = [text]
        case .array(let list)?:
            var texts: [String] = []
            for (index, item) in list.enumerated() {
                guard case .string(let text) = item else { throw .wrongType("input[\(index)]", "a string", found: item) }
                texts.append(text)
            }
            input = texts
        case let other?: throw .wrongType("input", "a string or a list of strings", found: other)
        }
        guard !input.isEmpty else { throw .empty("input") }
        guard input.count <= maxInputs else {
            throw RequestError(message: "input has \(input.count) items; at most \(maxInputs) are accepted per request",
                               code: "too_many_inputs", param: "input")
        }
        switch body["encoding_format"] {
        case nil, .null?, .string("float")?: base64 = false
        case .string("base64")?: base64 = true
        case let other?: throw .wrongType("encoding_format", "\"float\" or \"base64\"", found: other)
        }
        switch body["model"] {
        case nil, .null?: model = nil
        case .string(let name)?: model = name.isEmpty ? nil : name
        case let other?: throw .wrongType("model", "a string", found: other)
        }
    }
}

/// A request body that is not what the route expects; the message names the field.
public struct RequestError: Error, Sendable, Equatable {
    public var message: String
    public var code: String
    public var param: String?

    static func missing(_ field: String) -> RequestError {
        RequestError(message: "missing required field \"\(field)\"", code: "missing_field", param: field)
    }

    static func wrongType(_ field: String, _ expected: String, found: JSONValue) -> RequestError {
        let what = if case .string(let text) = found { "\"\(text.prefix(40))\"" } else { found.typeName }
        return RequestError(message: "field \"\(field)\" must be \(expected), not \(what)", code: "invalid_type", param: field)
    }

    static func empty(_ field: String) -> RequestError {
        RequestError(message: "\(field) is empty", code: "empty_input", param: field)
    }
}
