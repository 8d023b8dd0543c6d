import Foundation

/// A BERT WordPiece tokenizer that reproduces the reference `BertTokenizer` of Hugging Face (fast variant, as used by
/// sentence-transformers): text cleanup, CJK splitting, accent stripping by NFD, per-character lower case, whitespace
/// and punctuation splitting, then greedy longest-match WordPiece with the `##` prefix.
public struct BertTokenizer: Sendable {
    /// Token → id.
    public let vocabulary: [String: Int32]
    /// id → token.
    public let tokens: [String]
    /// Lower-case the text.
    public let lowercase: Bool
    /// Strip accents (defaults to `lowercase`, as in the reference).
    public let stripAccents: Bool
    /// Put spaces around CJK ideographs.
    public let splitChineseCharacters: Bool
    /// Longest sequence, [CLS] and [SEP] included.
    public let maxLength: Int
    /// Words longer than this many characters become [UNK].
    public let maxCharactersPerWord = 100
    /// Special ids.
    public let unknownID: Int32, classID: Int32, separatorID: Int32, paddingID: Int32

    /// Loads `vocab.txt` (one token per line; the line number is the id).
    public init(
        vocabularyFile path: String, lowercase: Bool = true, stripAccents: Bool? = nil,
        splitChineseCharacters: Bool = true, maxLength: Int = 256
    ) throws(EncoderError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .fileMissing(path)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw .tokenizer("\(path) is not UTF-8")
        }
        var lines = text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        let tokens = lines.map { $0.hasSuffix("\r") ? String($0.dropLast()) : $0 }
        try self.init(tokens: tokens, lowercase: lowercase, stripAccents: stripAccents,
                      splitChineseCharacters: splitChineseCharacters, maxLength: maxLength)
    }

    /// A tokenizer over the given vocabulary (index = id).
    public init(
        tokens: [String], lowercase: Bool = true, stripAccents: Bool? = nil,
        splitChineseCharacters: Bool = true, maxLength: Int = 256
    ) throws(EncoderError) {
        var vocabulary = [String: Int32](minimumCapacity: tokens.count)
        for (id, token) in tokens.enumerated() where vocabulary[token] == nil {
            vocabulary[token] = Int32(id)
        }
        func id(_ token: String) throws(EncoderError) -> Int32 {
            guard let id = vocabulary[token] else { throw .tokenizer("vocabulary has no \(token) token") }
            return id
        }
        guard maxLength >= 2 else { throw .tokenizer("max length \(maxLength) leaves no room for [CLS] and [SEP]") }
        self.vocabulary = vocabulary
        self.tokens = tokens
        self.lowercase = lowercase
        self.stripAccents = stripAccents ?? lowercase
        self.splitChineseCharacters = splitChineseCharacters
        self.maxLength = maxLength
        unknownID = try id("[UNK]")
        classID = try id("[CLS]")
        separatorID = try id("[SEP]")
        paddingID = try id("[PAD]")
    }

    /// Token ids with [CLS] and [SEP]; truncated to `maxLength` unless `truncate` is false.
    public func encode(_ text: String, truncate: Bool = true) -> [Int32] {
        let limit = truncate ? maxLength - 2 : Int.max
        var ids: [Int32] = [classID]
        for word in words(text) {
            if ids.count - 1 >= limit { break }
            appendWordPieces(of: word, to: &ids)
        }
        if ids.count - 1 > limit { ids.removeLast(ids.count - 1 - limit) }
        ids.append(separatorID)
        return ids
    }

    /// The WordPiece strings of `text`, without special tokens or truncation.
    public func tokenize(_ text: String) -> [String] {
        var ids: [Int32] = []
        for word in words(text) { appendWordPieces(of: word, to: &ids) }
        return ids.map { tokens[Int($0)] }
    }

    /// The normalised, pre-tokenised words of `text`.
    func words(_ text: String) -> [[Unicode.Scalar]] {
        // Clean: drop NUL, U+FFFD and control/format/unassigned characters; whitespace becomes a space;
        // CJK ideographs become words of their own.
        var cleaned = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            let value = scalar.value
            if value == 0 || value == 0xFFFD || Self.isControl(scalar) { continue }
            if Self.isWhitespace(scalar) {
                cleaned.append(" ")
            } else if splitChineseCharacters && Self.isChineseCharacter(value) {
                cleaned.append(" ")
                cleaned.append(scalar)
                cleaned.append(" ")
            } else {
                cleaned.append(scalar)
            }
        }
        var normalized = String(cleaned)
        if stripAccents {
            normalized = normalized.decomposedStringWithCanonicalMapping
        }
        var words: [[Unicode.Scalar]] = []
        var current: [Unicode.Scalar] = []
        func flush() {
            if !current.isEmpty { words.append(current); current.removeAll(keepingCapacity: true) }
        }
        for scalar in normalized.unicodeScalars {
            if stripAccents && scalar.properties.generalCategory == .nonspacingMark { continue }
            let mapped: [Unicode.Scalar]
            if lowercase {
                let lower = scalar.properties.lowercaseMapping
                mapped = lower.count == 1 && lower.unicodeScalars.first == scalar ? [scalar] : Array(lower.unicodeScalars)
            } else {
                mapped = [scalar]
            }
            for c in mapped {
                if Self.isWhitespace(c) {
                    flush()
                } else if Self.isPunctuation(c) {
                    flush()
                    words.append([c])
                } else {
                    current.append(c)
                }
            }
        }
        flush()
        return words
    }

    private func appendWordPieces(of word: [Unicode.Scalar], to ids: inout [Int32]) {
        if word.count > maxCharactersPerWord {
            ids.append(unknownID)
            return
        }
        var pieces: [Int32] = []
        var start = 0
        while start < word.count {
            var end = word.count
            var found: Int32?
            while start < end {
                var candidate = start > 0 ? "##" : ""
                candidate.unicodeScalars.append(contentsOf: word[start..<end])
                if let id = vocabulary[candidate] {
                    found = id
                    break
                }
                end -= 1
            }
            guard let id = found else {
                ids.append(unknownID)
                return
            }
            pieces.append(id)
            start = end
        }
        ids.append(contentsOf: pieces)
    }

    static func isWhitespace(_ c: Unicode.Scalar) -> Bool {
        c == " " || c == "\t" || c == "\n" || c == "\r" || c.properties.isWhitespace
    }

    static func isControl(_ c: Unicode.Scalar) -> Bool {
        if c == "\t" || c == "\n" || c == "\r" { return false }
        switch c.properties.generalCategory {
        case .control, .format, .unassigned, .privateUse, .surrogate: return true
        default: return false
        }
    }

    static func isPunctuation(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) {
            return true
        }
        switch c.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    static func isChineseCharacter(_ v: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0x20000...0x2A6DF).contains(v)
            || (0x2A700...0x2B73F).contains(v) || (0x2B740...0x2B81F).contains(v) || (0x2B820...0x2CEAF).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0x2F800...0x2FA1F).contains(v)
    }
}
