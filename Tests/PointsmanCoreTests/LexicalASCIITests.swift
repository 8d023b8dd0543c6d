@testable import PointsmanCore
import Testing

@Suite("Lexical features: ASCII fast path")
struct LexicalASCIITests {
    /// Texts where the byte-by-byte reading could go wrong: capitals, digits, CR LF (one character in Swift), tabs,
    /// punctuation inside words, one-letter words, control characters, and an empty text.
    static let texts = [
        "Summarize THIS e-mail thread in 3 bullet points, pls!", "x", "", "ab\r\ncd\tEF  gh", "C3PO and R2D2's 2024 plans",
        "a b c dd", "\u{1}ctrl\u{7F}del", "snake_case and camelCase, 42x7=294", "   trailing   ",
    ]

    @Test("ASCII text gives the same words byte by byte as character by character")
    func words() {
        for text in Self.texts { #expect(LexicalFeatures.asciiWords(text) == LexicalFeatures.words(text), "\(text)") }
        #expect(LexicalFeatures.asciiWords("Hello, WORLD 42") == ["hello", "world", "42"])
    }

    @Test("character n-grams of ASCII and other words are those of their characters")
    func grams() {
        // The definition, written out: words and pairs, then each word's n-grams of characters.
        func reference(_ text: String, _ lengths: [Int]) -> [String] {
            let terms = LexicalFeatures.terms(of: text)
            var grams: [String] = []
            for word in terms where !word.contains(" ") {
                let characters = Array(word)
                for n in lengths where characters.count >= n {
                    for start in 0...(characters.count - n) { grams.append("#" + String(characters[start..<start + n])) }
                }
            }
            return terms + grams
        }
        for text in Self.texts + ["Traduis ce texte en français", "把这段话翻译成英文", "mixed ASCII et accentué"] {
            #expect(LexicalFeatures.terms(of: text, characterNGrams: [2, 3]) == reference(text, [2, 3]), "\(text)")
            #expect(LexicalFeatures.terms(of: text, characterNGrams: [1, 4]) == reference(text, [1, 4]), "\(text)")
        }
        #expect(LexicalFeatures.terms(of: "Abc", characterNGrams: [2]) == ["abc", "#ab", "#bc"])
    }
}
