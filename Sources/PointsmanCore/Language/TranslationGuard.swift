import PointsmanInterfaces

/// A detector whose `translation` decisions stand only when the prompt may ask for a translation
/// (`TranslationIntent`). A prompt written in French or Chinese looks foreign to an English encoder and English word
/// features, and used to land on `translation` whatever it asked; guarded, it goes to the next-best capability
/// instead, and the reasons say so. Files without a `translation` capability are unaffected.
public struct TranslationGuard: IntentDetector {
    /// The detector whose decisions are checked.
    public let base: any IntentDetector
    /// The capability guarded.
    public static let capability = "translation"

    public init(_ base: any IntentDetector) {
        self.base = base
    }

    public func detect(_ prompt: String) async throws -> Detection {
        Self.check(try await base.detect(prompt), prompt: prompt)
    }

    public func detect(batch prompts: [String]) async throws -> [Detection] {
        zip(try await base.detect(batch: prompts), prompts).map { Self.check($0, prompt: $1) }
    }

    /// The embedding detector blends up to four user turns, so a translation asked two turns ago still counts.
    public func detect(conversation: [ChatMessage]) async throws -> Detection {
        let detection = try await base.detect(conversation: conversation)
        let turns = conversation.filter { $0.role == .user && !$0.content.trimmingWhitespace().isEmpty }.suffix(4)
        return Self.check(detection, prompt: turns.map(\.content).joined(separator: "\n"))
    }

    /// `detection`, or its next-best capability when it says translation and `prompt` asks for none.
    public static func check(_ detection: Detection, prompt: String) -> Detection {
        guard detection.capability == capability, !TranslationIntent.mayAskForTranslation(prompt) else { return detection }
        var guarded = detection
        let next = detection.scores.filter { $0.key != capability }
            .max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }?.key ?? "general"
        guarded.capability = next
        if guarded.label != nil { guarded.label = next }
        guarded.reasons.append("translation guard: the prompt asks for no translation; next best \(next)")
        return guarded
    }
}
