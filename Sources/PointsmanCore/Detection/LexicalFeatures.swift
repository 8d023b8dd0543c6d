import Foundation
import VectorMath

/// Word features appended to a prompt's embedding before the cosine against the centroids.
///
/// A sentence vector says what a prompt is about more than what it asks for; the words themselves ("translate",
/// "summarize", "options:") often say the latter. The vocabulary is the prompt's words (runs of letters and digits,
/// lowercased, two characters or more) and adjacent word pairs, learned from the training rows: terms in at least
/// `minDocumentFrequency` rows, the `maxTerms` most frequent. A prompt's term vector is tf-idf with a sublinear term
/// frequency (`1 + ln count`) and a smoothed idf (`ln((1 + n) / (1 + df)) + 1`), normalised; the routing vector is
/// `normalize([embedding ; weight × terms])`, and the centroids live in that space. Routing stays one BLAS pass over
/// the centroid matrix.
public struct LexicalFeatures: Sendable, Codable, Equatable {
    /// The term vector's weight against the unit embedding.
    public var weight: Float
    /// The vocabulary; a term's index is its column after the embedding's.
    public var terms: [String]
    /// Inverse document frequency per term.
    public var idf: [Float]
    private let columns: [String: Int]

    public init(weight: Float, terms: [String], idf: [Float]) {
        self.weight = weight
        self.terms = terms
        self.idf = idf
        var columns: [String: Int] = [:]
        for (index, term) in terms.enumerated() where columns[term] == nil { columns[term] = index }
        self.columns = columns
    }

    enum CodingKeys: String, CodingKey { case weight, terms, idf }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(weight: try c.decode(Float.self, forKey: .weight), terms: try c.decode([String].self, forKey: .terms),
                  idf: try c.decode([Float].self, forKey: .idf))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(weight, forKey: .weight)
        try c.encode(terms, forKey: .terms)
        try c.encode(idf, forKey: .idf)
    }

    public static func == (a: LexicalFeatures, b: LexicalFeatures) -> Bool {
        a.weight == b.weight && a.terms == b.terms && a.idf == b.idf
    }

    /// The terms of a text, with repeats: its words, then its adjacent word pairs ("write a" is not one: "a" is too
    /// short to be a word).
    public static func terms(of text: String) -> [String] {
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
        guard words.count > 1 else { return words }
        return words + (1..<words.count).map { words[$0 - 1] + " " + words[$0] }
    }

    /// Learns the vocabulary and idf from training texts.
    public static func fit(_ texts: [String], weight: Float, maxTerms: Int, minDocumentFrequency: Int = 2) -> LexicalFeatures {
        var frequency: [String: Int] = [:]
        for text in texts {
            for term in Set(terms(of: text)) { frequency[term, default: 0] += 1 }
        }
        let kept = frequency.filter { $0.value >= minDocumentFrequency }
            .sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .prefix(maxTerms)
        let n = Float(texts.count)
        return LexicalFeatures(weight: weight, terms: kept.map(\.key),
                               idf: kept.map { Foundation.log((1 + n) / (1 + Float($0.value))) + 1 })
    }

    /// The weighted, normalised tf-idf vector of one text (all zeros when none of its terms is known).
    public func vector(_ text: String) -> [Float] {
        var counts: [Int: Int] = [:]
        for term in Self.terms(of: text) { if let column = columns[term] { counts[column, default: 0] += 1 } }
        var values = [Float](repeating: 0, count: terms.count)
        var norm: Float = 0
        // In column order, so that the sum (and the training built on it) does not depend on hashing order.
        let columns = counts.keys.sorted()
        for column in columns {
            let value = (1 + Foundation.log(Float(counts[column]!))) * idf[column]
            values[column] = value
            norm += value * value
        }
        guard norm > 0 else { return values }
        let factor = weight / norm.squareRoot()
        for column in columns { values[column] *= factor }
        return values
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
