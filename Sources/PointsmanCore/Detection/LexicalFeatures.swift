import Foundation
import VectorMath

/// Word features appended to a prompt's embedding before the cosine against the centroids.
///
/// A sentence vector says what a prompt is about more than what it asks for; the words themselves ("translate",
/// "summarize", "options:") often say the latter. The vocabulary is the prompt's words (runs of letters and digits,
/// lowercased, two characters or more) and adjacent word pairs, learned from the training rows: terms in at least
/// `minDocumentFrequency` rows, the `maxTerms` most frequent. A prompt's term vector is tf-idf with a sublinear term
/// frequency (`1 + ln count`) and a smoothed idf (`ln((1 + n) / (1 + df)) + 1`), normalised; the routing vector is
/// `normalize([embedding ; weight × terms])`, and the centroids live in that space. Routing scores it by parts: one BLAS
/// pass over the centroids' embedding columns, plus the prompt's own terms (`weightedTerms`).
///
/// With `characterNGrams` (e.g. 2 and 3), the terms also include the character n-grams of every word, marked with a
/// leading `#`: they give lexical signal to languages written without spaces (Chinese, Japanese: a whole clause is
/// one "word") and match across inflections ("traduis", "traduire", "traducción" share `#tra`, `#rad`).
public struct LexicalFeatures: Sendable, Codable, Equatable {
    /// The term vector's weight against the unit embedding.
    public var weight: Float
    /// The vocabulary; a term's index is its column after the embedding's.
    public var terms: [String]
    /// Inverse document frequency per term.
    public var idf: [Float]
    /// Lengths of the character n-grams taken from each word (empty: words and word pairs only).
    public var characterNGrams: [Int]
    private let columns: [String: Int]

    public init(weight: Float, terms: [String], idf: [Float], characterNGrams: [Int] = []) {
        self.weight = weight
        self.terms = terms
        self.idf = idf
        self.characterNGrams = characterNGrams
        var columns: [String: Int] = [:]
        for (index, term) in terms.enumerated() where columns[term] == nil { columns[term] = index }
        self.columns = columns
    }

    enum CodingKeys: String, CodingKey { case weight, terms, idf, characterNGrams = "char_ngrams" }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(weight: try c.decode(Float.self, forKey: .weight), terms: try c.decode([String].self, forKey: .terms),
                  idf: try c.decode([Float].self, forKey: .idf),
                  characterNGrams: try c.decodeIfPresent([Int].self, forKey: .characterNGrams) ?? [])
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(weight, forKey: .weight)
        try c.encode(terms, forKey: .terms)
        try c.encode(idf, forKey: .idf)
        if !characterNGrams.isEmpty { try c.encode(characterNGrams, forKey: .characterNGrams) }
    }

    public static func == (a: LexicalFeatures, b: LexicalFeatures) -> Bool {
        a.weight == b.weight && a.terms == b.terms && a.idf == b.idf && a.characterNGrams == b.characterNGrams
    }

    /// This vocabulary's terms of a text (see `terms(of:characterNGrams:)`).
    public func terms(of text: String) -> [String] { Self.terms(of: text, characterNGrams: characterNGrams) }

    /// The terms of a text, with repeats: its words, its adjacent word pairs ("write a" is not one: "a" is too short
    /// to be a word), then the character n-grams of each word of the given lengths, as `#gram`.
    public static func terms(of text: String, characterNGrams: [Int]) -> [String] {
        let words = terms(of: text)
        guard !characterNGrams.isEmpty else { return words }
        var grams: [String] = []
        for word in words where !word.contains(" ") {
            // An ASCII word's characters are its bytes: slicing those skips the grapheme breaking.
            if word.utf8.allSatisfy({ $0 < 0x80 }) {
                let bytes = Array(word.utf8)
                for n in characterNGrams where n >= 1 && bytes.count >= n {
                    for start in 0...(bytes.count - n) {
                        grams.append(String(unsafeUninitializedCapacity: n + 1) { buffer in
                            buffer[0] = 0x23  // #
                            for offset in 0..<n { buffer[offset + 1] = bytes[start + offset] }
                            return n + 1
                        })
                    }
                }
                continue
            }
            let characters = Array(word)
            for n in characterNGrams where n >= 1 && characters.count >= n {
                for start in 0...(characters.count - n) { grams.append("#" + String(characters[start..<(start + n)])) }
            }
        }
        return words + grams
    }

    /// The terms of a text, with repeats: its words, then its adjacent word pairs ("write a" is not one: "a" is too
    /// short to be a word). A word is a run of letters and digits, lowercased.
    public static func terms(of text: String) -> [String] {
        let words = text.utf8.allSatisfy({ $0 < 0x80 }) ? asciiWords(text) : words(text)
        guard words.count > 1 else { return words }
        return words + (1..<words.count).map { words[$0 - 1] + " " + words[$0] }
    }

    /// The words of any text, character by character.
    static func words(_ text: String) -> [String] {
        var words: [String] = []
        var current = ""
        for character in text.lowercased() {
            if character.isLetter || character.isNumber {
                current.append(character)
            } else {
                if current.count >= 2 { words.append(current) }
                current = ""
            }
        }
        if current.count >= 2 { words.append(current) }
        return words
    }

    /// The words of an ASCII text, byte by byte: the same words as `words(_:)` (in ASCII the letters are A–Z and
    /// a–z, the digits 0–9, and lowercasing maps A–Z only), without Unicode property look-ups.
    static func asciiWords(_ text: String) -> [String] {
        var words: [String] = []
        var current: [UInt8] = []
        func end() {
            if current.count >= 2 { words.append(String(decoding: current, as: UTF8.self)) }
            current.removeAll(keepingCapacity: true)
        }
        for byte in text.utf8 {
            switch byte {
            case 0x41...0x5A: current.append(byte + 0x20)
            case 0x61...0x7A, 0x30...0x39: current.append(byte)
            default: end()
            }
        }
        end()
        return words
    }

    /// Learns the vocabulary and idf from training texts.
    public static func fit(_ texts: [String], weight: Float, maxTerms: Int, minDocumentFrequency: Int = 2,
                           characterNGrams: [Int] = []) -> LexicalFeatures {
        var frequency: [String: Int] = [:]
        for text in texts {
            for term in Set(terms(of: text, characterNGrams: characterNGrams)) { frequency[term, default: 0] += 1 }
        }
        let kept = frequency.filter { $0.value >= minDocumentFrequency }
            .sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .prefix(maxTerms)
        let n = Float(texts.count)
        return LexicalFeatures(weight: weight, terms: kept.map(\.key),
                               idf: kept.map { Foundation.log((1 + n) / (1 + Float($0.value))) + 1 },
                               characterNGrams: characterNGrams)
    }

    /// The weighted, normalised tf-idf vector of one text (all zeros when none of its terms is known).
    public func vector(_ text: String) -> [Float] {
        var values = [Float](repeating: 0, count: terms.count)
        for (column, value) in weightedTerms(text) { values[column] = value }
        return values
    }

    /// The nonzero entries of `vector(text)`, in column order: a prompt has a few dozen of the thousands of terms.
    public func weightedTerms(_ text: String) -> [(column: Int, value: Float)] {
        var counts: [Int: Int] = [:]
        for term in terms(of: text) { if let column = columns[term] { counts[column, default: 0] += 1 } }
        // In column order, so that the sum (and the training built on it) does not depend on hashing order.
        var entries = counts.sorted { $0.key < $1.key }.map { (column: $0.key, value: (1 + Foundation.log(Float($0.value))) * idf[$0.key]) }
        let norm = entries.reduce(Float(0)) { $0 + $1.value * $1.value }
        guard norm > 0 else { return [] }
        let factor = weight / norm.squareRoot()
        for index in entries.indices { entries[index].value *= factor }
        return entries
    }

    /// Routing vectors: each unit embedding row followed by its text's weighted term vector, normalised.
    public func augment(_ embeddings: Matrix, texts: [String]) throws -> Matrix {
        guard embeddings.rows == texts.count else {
            throw VectorMathError.dimensionMismatch("\(embeddings.rows) embeddings for \(texts.count) texts")
        }
        var unit = embeddings
        unit.normalizeRows()
        var augmented = try Matrix(rowVectors: texts.indices.map { unit.row($0) + vector(texts[$0]) })
        augmented.normalizeRows()
        return augmented
    }
}
