/// The part of a prompt that is embedded for routing. Long prompts usually carry the instruction at the start or the
/// end ("Summarize the following: …", "… Answer:") around pasted material whose topic says nothing about the task; the
/// view keeps the first `headWords` and last `tailWords` words so the instruction is not drowned out. Training and
/// routing apply the same view (it is stored in the centroid file).
public struct PromptView: Sendable, Codable, Equatable {
    public var headWords: Int
    public var tailWords: Int

    public init(headWords: Int, tailWords: Int) {
        self.headWords = headWords
        self.tailWords = tailWords
    }

    enum CodingKeys: String, CodingKey { case headWords = "head_words", tailWords = "tail_words" }

    /// The text to embed: unchanged when short, else the head and tail joined by " … ".
    public func apply(_ text: String) -> String {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" })
        guard words.count > headWords + tailWords else { return text }
        return (words.prefix(headWords) + ["…"] + words.suffix(tailWords)).joined(separator: " ")
    }
}
