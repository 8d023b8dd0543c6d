import PointsmanInterfaces

/// What a request needs from the model that serves it, beyond a capability: room in the context window, tool calls,
/// image input, structured (JSON) output. The selector keeps only the models that can serve it.
public struct RequestNeeds: Sendable, Equatable {
    /// Tokens of the prompt (all messages), counted with the native WordPiece tokenizer: for other vocabularies it
    /// is an estimate. Nil: not counted, the context window is not checked.
    public var promptTokens: Int?
    /// The output tokens the request asks for (`max_tokens`, `max_completion_tokens`); nil: none asked.
    public var maxOutputTokens: Int?
    /// The request defines tools (or functions) the model may call.
    public var tools: Bool
    /// The request holds images.
    public var vision: Bool
    /// The request asks for JSON output (`response_format` `json_object` or `json_schema`).
    public var json: Bool

    /// Nothing beyond a capability.
    public static let none = RequestNeeds()

    public init(promptTokens: Int? = nil, maxOutputTokens: Int? = nil, tools: Bool = false, vision: Bool = false,
                json: Bool = false) {
        // Clamped so that sums of counts can never overflow, whatever a client sends.
        self.promptTokens = promptTokens.map(TokenUsage.clamped)
        self.maxOutputTokens = maxOutputTokens.map(TokenUsage.clamped)
        self.tools = tools
        self.vision = vision
        self.json = json
    }

    /// The tokens of `texts` (each message counted with `count`, plus 4 for its role and separators), or nil when no
    /// model in `catalog` could be short of room for them: a text never has more tokens than UTF-8 bytes plus 2 (the
    /// tokenizer's [CLS] and [SEP]), so short prompts are not tokenised at all.
    public static func promptTokens(_ texts: [String], maxOutputTokens: Int?, catalog: Catalog,
                                    count: (String) -> Int) -> Int? {
        guard let smallest = catalog.models.compactMap(\.contextLength).min() else { return nil }
        let bound = texts.reduce(0) { $0 + $1.utf8.count + 6 } + TokenUsage.clamped(maxOutputTokens ?? 0)
        guard bound > smallest else { return nil }
        return texts.reduce(0) { $0 + 4 + count($1) }
    }

    /// Tokens the context window must hold: the prompt plus the output asked for.
    public var contextTokens: Int? { promptTokens.map { $0 + (maxOutputTokens ?? 0) } }

    /// Why `model` cannot serve the request; empty when it can. A model that does not declare a feature
    /// (`supports_tools` and the like absent) is taken to have it, so catalogs written before the fields keep working.
    public func unmet(by model: ModelEntry) -> [String] {
        var problems: [String] = []
        if let needed = contextTokens, let window = model.contextLength, needed > window {
            let asked = maxOutputTokens.map { " (prompt \(promptTokens ?? 0) + output \($0))" } ?? ""
            problems.append("context \(window) tokens < \(needed) needed\(asked)")
        }
        if tools, model.supportsTools == false { problems.append("no tool calls") }
        if vision, model.supportsVision == false { problems.append("no image input") }
        if json, model.supportsJSON == false { problems.append("no JSON output") }
        return problems
    }

    /// The needs in words, for messages: "tool calls, image input, 9120 tokens of context".
    public var description: String {
        var parts: [String] = []
        if tools { parts.append("tool calls") }
        if vision { parts.append("image input") }
        if json { parts.append("JSON output") }
        if let needed = contextTokens { parts.append("\(needed) tokens of context") }
        return parts.joined(separator: ", ")
    }
}

/// No model in the catalog can serve the request: names what it needs and why each model falls short.
public struct UnservableRequestError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What the request needs.
    public var needs: RequestNeeds
    /// Per model alias, why it cannot serve the request.
    public var models: [(alias: String, problems: [String])]

    public static func == (a: Self, b: Self) -> Bool {
        a.needs == b.needs && a.models.map(\.alias) == b.models.map(\.alias)
            && a.models.map(\.problems) == b.models.map(\.problems)
    }

    public var description: String {
        let why = models.map { "\($0.alias): \($0.problems.joined(separator: ", "))" }.joined(separator: "; ")
        return "no model in the catalog can serve this request (it needs \(needs.description)): \(why)"
    }
}
