/// Who said a chat message.
public enum ChatRole: String, Sendable, Codable, Hashable {
    case system, user, assistant, tool, developer
}

/// One chat message.
public struct ChatMessage: Sendable, Codable, Hashable {
    public var role: ChatRole
    public var content: String

    public init(role: ChatRole, content: String) {
        self.role = role
        self.content = content
    }

    /// A user message.
    public static func user(_ content: String) -> ChatMessage { ChatMessage(role: .user, content: content) }
    /// A system message.
    public static func system(_ content: String) -> ChatMessage { ChatMessage(role: .system, content: content) }
}

/// Sampling parameters of a chat call.
public struct ChatParameters: Sendable, Codable, Hashable {
    public var maxTokens: Int?
    public var temperature: Double?
    public var topP: Double?
    public var seed: Int?

    public init(maxTokens: Int? = nil, temperature: Double? = nil, topP: Double? = nil, seed: Int? = nil) {
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.topP = topP
        self.seed = seed
    }

    /// Whether identical calls should give identical answers (temperature 0).
    public var isDeterministic: Bool { temperature == 0 }

    enum CodingKeys: String, CodingKey {
        case maxTokens = "max_tokens", temperature, topP = "top_p", seed
    }
}

/// A chat call to one model.
public struct ChatRequest: Sendable, Hashable {
    /// The model id sent upstream.
    public var model: String
    /// The conversation.
    public var messages: [ChatMessage]
    /// Sampling parameters.
    public var parameters: ChatParameters
    /// The model's own endpoint (…/v1), when it differs from the client's default.
    public var baseURL: String?
    /// The catalog alias the call is for, when a router chose it (never sent upstream): backends that need the
    /// catalog entry (its prices, its timeouts) find it by this.
    public var alias: String?

    public init(model: String, messages: [ChatMessage], parameters: ChatParameters = ChatParameters(), baseURL: String? = nil,
                alias: String? = nil) {
        self.model = model
        self.messages = messages
        self.parameters = parameters
        self.baseURL = baseURL
        self.alias = alias
    }
}

/// Token counts as the server reported them; nil where it reported none.
public struct TokenUsage: Sendable, Codable, Hashable {
    public var promptTokens: Int?
    public var completionTokens: Int?
    public var totalTokens: Int?

    public init(promptTokens: Int? = nil, completionTokens: Int? = nil, totalTokens: Int? = nil) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.totalTokens = totalTokens
    }

    /// The largest token count taken at face value (2^40): far beyond any context window, small enough that sums and
    /// prices of such counts cannot overflow.
    public static let maximumCount = 1 << 40

    /// `count` when a server or client could mean it (0 through `maximumCount`), else nil: a negative or absurd count
    /// must neither lower a budget's spend nor reach a metric counter, which only goes up.
    public static func plausible(_ count: Int) -> Int? { (0...maximumCount).contains(count) ? count : nil }

    /// `count` brought within 0 through `maximumCount`.
    public static func clamped(_ count: Int) -> Int { min(max(count, 0), maximumCount) }

    enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens", completionTokens = "completion_tokens", totalTokens = "total_tokens"
    }
}

/// A finished chat answer.
public struct ChatCompletion: Sendable, Codable, Hashable {
    public var content: String
    /// The model the server says answered.
    public var model: String?
    public var finishReason: String?
    public var usage: TokenUsage?

    public init(content: String, model: String? = nil, finishReason: String? = nil, usage: TokenUsage? = nil) {
        self.content = content
        self.model = model
        self.finishReason = finishReason
        self.usage = usage
    }
}

/// One piece of a streamed answer.
public struct ChatChunk: Sendable, Hashable {
    /// New text (may be empty).
    public var delta: String
    public var finishReason: String?
    /// Present on the chunk that carries usage, if the server sends one.
    public var usage: TokenUsage?

    public init(delta: String, finishReason: String? = nil, usage: TokenUsage? = nil) {
        self.delta = delta
        self.finishReason = finishReason
        self.usage = usage
    }
}

/// Something that answers chat calls: the OpenAI-compatible client, or a fake in tests.
public protocol ChatBackend: Sendable {
    /// One complete answer.
    func complete(_ request: ChatRequest) async throws -> ChatCompletion
    /// A streamed answer. Errors before the first chunk are thrown here; later ones end the stream.
    func stream(_ request: ChatRequest) async throws -> AsyncThrowingStream<ChatChunk, any Error>
}
