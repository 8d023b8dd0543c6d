/// One model the router can send prompts to.
public struct ModelEntry: Sendable, Equatable, Codable {
    /// The name prompts are routed to (and `model` in API requests).
    public var alias: String
    /// What the model is declared good at, e.g. `code`, `summarize`.
    public var capabilities: [String]
    /// Lower wins among models that declare the same capability.
    public var priority: Int
    /// The id sent upstream (a local alias can map to a cloud deployment); defaults to `alias`.
    public var upstreamModel: String?
    /// The base URL of this model's endpoint (…/v1); defaults to the global endpoint.
    public var baseURL: String?
    /// Notional cost per 1,000 input tokens.
    public var costPer1KInput: Double
    /// Notional cost per 1,000 output tokens.
    public var costPer1KOutput: Double
    /// Context window in tokens.
    public var contextLength: Int?
    /// Aliases tried in order when this model fails.
    public var fallbacks: [String]
    /// Seconds this model may take to start answering (the response head) before it counts as failed and its
    /// fallbacks are tried; nil: the service's upstream timeout.
    public var firstByteTimeoutSeconds: Double?
    /// Seconds allowed to open a connection to this model's endpoint; nil: the service's default.
    public var connectTimeoutSeconds: Double?
    /// Longest silence allowed between two pieces of this model's answer (a stalled stream); nil: the service's default.
    public var idleTimeoutSeconds: Double?
    /// Whether the model can call tools; nil: not declared, taken as able (see `RequestNeeds`).
    public var supportsTools: Bool?
    /// Whether the model reads images; nil: not declared, taken as able.
    public var supportsVision: Bool?
    /// Whether the model can be held to JSON output (`response_format`); nil: not declared, taken as able.
    public var supportsJSON: Bool?

    /// The model id to send upstream.
    public var upstreamID: String { upstreamModel ?? alias }

    /// Creates an entry.
    public init(
        alias: String, capabilities: [String], priority: Int, upstreamModel: String? = nil, baseURL: String? = nil,
        costPer1KInput: Double = 0, costPer1KOutput: Double = 0, contextLength: Int? = nil, fallbacks: [String] = []
    ) {
        self.alias = alias
        self.capabilities = capabilities
        self.priority = priority
        self.upstreamModel = upstreamModel
        self.baseURL = baseURL
        self.costPer1KInput = costPer1KInput
        self.costPer1KOutput = costPer1KOutput
        self.contextLength = contextLength
        self.fallbacks = fallbacks
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case alias, capabilities, priority
        case upstreamModel = "upstream_model", baseURL = "base_url"
        case costPer1KInput = "cost_per_1k_input", costPer1KOutput = "cost_per_1k_output"
        case contextLength = "context_length", fallbacks, firstByteTimeoutSeconds = "first_byte_timeout_seconds"
        case connectTimeoutSeconds = "connect_timeout_seconds", idleTimeoutSeconds = "idle_timeout_seconds"
        case supportsTools = "supports_tools", supportsVision = "supports_vision", supportsJSON = "supports_json"
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        alias = try c.decode(String.self, forKey: .alias)
        capabilities = try c.decode([String].self, forKey: .capabilities)
        priority = try c.decode(Int.self, forKey: .priority)
        upstreamModel = try c.decodeIfPresent(String.self, forKey: .upstreamModel)
        baseURL = try c.decodeIfPresent(String.self, forKey: .baseURL)
        costPer1KInput = try c.decodeIfPresent(Double.self, forKey: .costPer1KInput) ?? 0
        costPer1KOutput = try c.decodeIfPresent(Double.self, forKey: .costPer1KOutput) ?? 0
        contextLength = try c.decodeIfPresent(Int.self, forKey: .contextLength)
        fallbacks = try c.decodeIfPresent([String].self, forKey: .fallbacks) ?? []
        firstByteTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .firstByteTimeoutSeconds)
        connectTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .connectTimeoutSeconds)
        idleTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .idleTimeoutSeconds)
        supportsTools = try c.decodeIfPresent(Bool.self, forKey: .supportsTools)
        supportsVision = try c.decodeIfPresent(Bool.self, forKey: .supportsVision)
        supportsJSON = try c.decodeIfPresent(Bool.self, forKey: .supportsJSON)
    }

    /// Cost of one call with the given token counts.
    public func cost(promptTokens: Int, completionTokens: Int) -> Double {
        Double(promptTokens) / 1000 * costPer1KInput + Double(completionTokens) / 1000 * costPer1KOutput
    }
}

/// When a prompt goes to a bigger model regardless of its capability.
public struct EscalationRule: Sendable, Equatable, Codable {
    /// The alias escalated prompts go to.
    public var target: String
    /// Prompts longer than this many characters escalate.
    public var maxPromptCharacters: Int?
    /// Prompts containing any of these (case-insensitive) escalate.
    public var keywords: [String]

    /// Creates a rule.
    public init(target: String, maxPromptCharacters: Int? = nil, keywords: [String] = []) {
        self.target = target
        self.maxPromptCharacters = maxPromptCharacters
        self.keywords = keywords
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case target, maxPromptCharacters = "max_prompt_characters", keywords
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        target = try c.decode(String.self, forKey: .target)
        maxPromptCharacters = try c.decodeIfPresent(Int.self, forKey: .maxPromptCharacters)
        keywords = try c.decodeIfPresent([String].self, forKey: .keywords) ?? []
    }

    /// Why `prompt` escalates, or nil when it does not.
    public func reason(for prompt: String) -> String? {
        if let limit = maxPromptCharacters, prompt.count > limit {
            return "prompt has \(prompt.count) characters (> \(limit))"
        }
        let lowered = prompt.lowercased()
        if let word = keywords.first(where: { lowered.contains($0.lowercased()) }) {
            return "prompt mentions \"\(word)\""
        }
        return nil
    }
}

/// The models the router chooses from, and the global routing settings.
public struct Catalog: Sendable, Equatable, Codable {
    /// Schema version (1).
    public var version: Int
    /// The model for capabilities no model declares.
    public var defaultModel: String
    /// Escalation to a bigger model, if any.
    public var escalation: EscalationRule?
    /// The models, in file order.
    public var models: [ModelEntry]

    /// Creates a catalog (call `validate` before use).
    public init(version: Int = 1, defaultModel: String, escalation: EscalationRule? = nil, models: [ModelEntry]) {
        self.version = version
        self.defaultModel = defaultModel
        self.escalation = escalation
        self.models = models
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case version, defaultModel = "default_model", escalation, models
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        version = try c.decodeIfPresent(Int.self, forKey: .version) ?? 1
        defaultModel = try c.decode(String.self, forKey: .defaultModel)
        escalation = try c.decodeIfPresent(EscalationRule.self, forKey: .escalation)
        models = try c.decode([ModelEntry].self, forKey: .models)
    }

    /// The default model's entry. A validated catalog always has it; an unvalidated one falls back to its first model.
    public var defaultEntry: ModelEntry {
        model(defaultModel) ?? models.first ?? ModelEntry(alias: defaultModel, capabilities: [], priority: 0)
    }

    /// The entry for an alias.
    public func model(_ alias: String) -> ModelEntry? { models.first { $0.alias == alias } }

    /// The models to try for `model`: itself, then its fallbacks in order (each once).
    public func fallbackChain(for model: ModelEntry) -> [ModelEntry] {
        var seen: Set<String> = [model.alias]
        var out = [model]
        for alias in model.fallbacks where seen.insert(alias).inserted {
            if let entry = self.model(alias) { out.append(entry) }
        }
        return out
    }

    /// Every capability some model declares, sorted.
    public var capabilities: [String] { Array(Set(models.flatMap(\.capabilities))).sorted() }

    /// Checks the catalog's meaning (the decoder checked its shape). `file` names the source in errors.
    public func validate(file: String) throws(CatalogError) {
        func fail(_ field: String, _ problem: String) -> CatalogError {
            CatalogError(file: file, field: field, problem: problem)
        }
        guard version == 1 else { throw fail("version", "unsupported version \(version) (this build reads 1)") }
        guard !models.isEmpty else { throw fail("models", "the catalog lists no models") }
        var seen: Set<String> = []
        for (i, model) in models.enumerated() {
            let at = "models[\(i)]"
            guard !model.alias.trimmingWhitespace().isEmpty else { throw fail("\(at).alias", "alias is empty") }
            guard seen.insert(model.alias).inserted else {
                throw fail("\(at).alias", "duplicate alias \"\(model.alias)\"")
            }
            guard !model.capabilities.isEmpty else {
                throw fail("\(at).capabilities", "model \"\(model.alias)\" declares no capabilities")
            }
            if let empty = model.capabilities.firstIndex(where: { $0.trimmingWhitespace().isEmpty }) {
                throw fail("\(at).capabilities[\(empty)]", "capability is empty")
            }
            guard model.costPer1KInput >= 0, model.costPer1KInput.isFinite else {
                throw fail("\(at).cost_per_1k_input", "cost must be a non-negative number, got \(model.costPer1KInput)")
            }
            guard model.costPer1KOutput >= 0, model.costPer1KOutput.isFinite else {
                throw fail("\(at).cost_per_1k_output", "cost must be a non-negative number, got \(model.costPer1KOutput)")
            }
            for (field, value) in [("first_byte_timeout_seconds", model.firstByteTimeoutSeconds),
                                   ("connect_timeout_seconds", model.connectTimeoutSeconds),
                                   ("idle_timeout_seconds", model.idleTimeoutSeconds)] {
                if let timeout = value, !(timeout > 0 && timeout.isFinite) {
                    throw fail("\(at).\(field)", "the timeout must be a positive number of seconds, got \(timeout)")
                }
            }
            if let context = model.contextLength, context <= 0 {
                throw fail("\(at).context_length", "context length must be positive, got \(context)")
            }
            if let url = model.baseURL, !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
                throw fail("\(at).base_url", "\"\(url)\" is not an http(s) URL")
            }
        }
        for (i, model) in models.enumerated() {
            for (j, fallback) in model.fallbacks.enumerated() {
                guard seen.contains(fallback) else {
                    throw fail("models[\(i)].fallbacks[\(j)]", "fallback \"\(fallback)\" is not in the catalog")
                }
                guard fallback != model.alias else {
                    throw fail("models[\(i)].fallbacks[\(j)]", "model \"\(model.alias)\" lists itself as a fallback")
                }
            }
        }
        guard seen.contains(defaultModel) else {
            throw fail("default_model", "default model \"\(defaultModel)\" is not in the catalog")
        }
        if let escalation {
            guard seen.contains(escalation.target) else {
                throw fail("escalation.target", "escalation target \"\(escalation.target)\" is not in the catalog")
            }
            if let limit = escalation.maxPromptCharacters, limit <= 0 {
                throw fail("escalation.max_prompt_characters", "must be positive, got \(limit)")
            }
        }
    }
}

/// A catalog that does not load or does not validate: names the file, the field and the problem.
public struct CatalogError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file (or source label).
    public var file: String
    /// The field path, e.g. `models[2].fallbacks[0]`; empty for whole-file problems.
    public var field: String
    /// What is wrong.
    public var problem: String

    /// Creates an error.
    public init(file: String, field: String, problem: String) {
        self.file = file
        self.field = field
        self.problem = problem
    }

    public var description: String {
        field.isEmpty ? "\(file): \(problem)" : "\(file): \(field): \(problem)"
    }
}
