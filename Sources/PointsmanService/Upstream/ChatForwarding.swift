import NIOCore
import OpenAIClient

/// Sends chat-completions bodies upstream as they are. The service uses the OpenAI client (its URL joining, key,
/// timeouts, retry rule and error types); tests may pass a fake.
public protocol ChatForwarding: Sendable {
    /// Forwards `body` to `baseURL` (nil: the default upstream) and returns once the response head arrived, within
    /// `firstByteTimeout` when given.
    func forwardChatCompletion(_ body: ByteBuffer, baseURL: String?, firstByteTimeout: Duration?) async throws -> ForwardedResponse
}

extension OpenAIClient: ChatForwarding {}
