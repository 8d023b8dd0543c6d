import MiniLMEncoder
import PointsmanCore

/// How the CLI counts a prompt's tokens for the context-window check: with the native tokenizer when the local
/// encoder is loaded, else one token per 4 bytes of UTF-8 (an estimate either way for the answering model's vocabulary).
enum TokenCounting {
    static func counter(for setup: RoutingSetup) -> @Sendable (String) -> Int {
        if let encoder = setup.embedder as? MiniLMEncoder {
            let tokenizer = encoder.tokenizer
            return { tokenizer.encode($0, truncate: false).count }
        }
        return { ($0.utf8.count + 3) / 4 }
    }
}
