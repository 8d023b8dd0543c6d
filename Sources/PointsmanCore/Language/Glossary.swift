import Foundation
import VectorMath

/// A word-by-word English gloss of prompts written in one language, for the encoder's eyes only.
///
/// The shipped encoder (all-MiniLM-L6-v2) was trained on English: a French prompt looks "foreign" to it before it
/// looks like a poem request. Replacing each word the glossary knows by an English equivalent ("Écris un poème sur la
/// mer" → "write a poem on the sea") gives the encoder words it has meaning for. The gloss is crude (one sense per
/// word, no word order or grammar) and is never shown to anyone: only the embedding sees it, while the word features,
/// the rules, the translation guard and the upstream model read the prompt as written.
///
/// Lookup: a word is lowercased and looked up; if absent and made of letters only, each suffix rule in order replaces
/// its ending (`poèmes` → `poème`, `traduisez` → `traduire`) and the result is looked up. Words found nowhere stay as written (names, code,
/// English words; the lexicon's builder adds English words that a suffix rule would mistake for a known word as entries
/// of their own). Punctuation is kept as separate tokens; tokens are joined by single spaces.
///
/// Phrases: an entry whose key is several words (joined by spaces, apostrophes or hyphens: `en fonction de`,
/// `peut-être`, `à l'aide de`) glosses those words together when they come in that order ("en fonction de" means
/// "based on", while word by word it reads "in function of"). At each word the longest phrase that starts there wins,
/// before the word is looked up alone; phrase words are matched lowercased, exactly (no suffix rules), and a typographic
/// apostrophe (’) matches a straight one.
///
/// A `segmented` glossary is for a language written without spaces (Chinese, Japanese): each run of Han or kana characters is
/// cut into the longest entries that match from its start (greedy, left to right), and a character that starts no
/// entry stays as it is.
public struct Glossary: Sendable, Codable, Equatable {
    /// The language this glossary reads (a `LanguageDetector` code).
    public var language: String
    /// Lowercased word → English (an empty English string drops the word from the gloss).
    public var entries: [String: String] {
        didSet {
            entriesText = Self.text(of: entries)
            longestEntry = Self.longestEntry(entries, segmented: segmented)
            phrases = Self.phrases(in: entries)
        }
    }
    /// The entries as a file stores them (sorted `word<TAB>english` lines), kept so that writing and hashing a
    /// centroid file need not sort them again.
    private var entriesText: String
    /// Ending replacements tried in order on a word the entries lack.
    public var suffixes: [SuffixRule]
    /// Runs of Han and kana characters are cut into entries by longest match.
    public var segmented: Bool {
        didSet { longestEntry = Self.longestEntry(entries, segmented: segmented) }
    }
    /// The longest entry in characters (segmented glossaries only; bounded).
    private(set) var longestEntry: Int
    /// The entries of several words, by their first word (normalised as `phraseToken` does), longest first.
    private(set) var phrases: [String: [Phrase]]

    /// An entry of several words.
    struct Phrase: Sendable, Equatable {
        /// Its tokens after the first, normalised (words and the apostrophes and hyphens between them).
        var rest: [String]
        /// Its English (may be empty: the phrase is dropped).
        var english: String
    }

    /// The longest run segmentation tries to match at once.
    static let maxSegmentLength = 8

    /// Replace a word's ending `strip` by `append` before looking it up again.
    public struct SuffixRule: Sendable, Codable, Equatable {
        /// The ending removed.
        public var strip: String
        /// The ending put in its place (may be empty).
        public var append: String

        /// A rule that replaces `strip` by `append`.
        public init(strip: String, append: String) {
            self.strip = strip
            self.append = append
        }
    }

    /// A glossary for `language` (see the type's documentation for how each part is used).
    public init(language: String, entries: [String: String], suffixes: [SuffixRule] = [], segmented: Bool = false) {
        self.language = language
        self.entries = entries
        self.suffixes = suffixes
        self.segmented = segmented
        longestEntry = Self.longestEntry(entries, segmented: segmented)
        entriesText = Self.text(of: entries)
        phrases = Self.phrases(in: entries)
    }

    /// Parses sorted `word<TAB>english` lines byte by byte (nil when a line has no tab).
    static func entries(fromLines lines: inout String) -> [String: String]? {
        lines.makeContiguousUTF8()
        return lines.utf8.withContiguousStorageIfAvailable { bytes -> [String: String]? in
            var entries: [String: String] = [:]
            entries.reserveCapacity(bytes.count / 16)
            var start = 0
            var tab = -1
            for index in 0...bytes.count {
                let byte: UInt8 = index < bytes.count ? bytes[index] : 10
                if byte == 9, tab < 0 {
                    tab = index
                } else if byte == 10 {
                    if index > start {
                        guard tab >= 0 else { return nil }
                        let word = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<tab]), as: UTF8.self)
                        entries[word] = String(decoding: UnsafeBufferPointer(rebasing: bytes[(tab + 1)..<index]), as: UTF8.self)
                    }
                    start = index + 1
                    tab = -1
                }
            }
            return entries
        } ?? nil
    }

    static func text(of entries: [String: String]) -> String {
        entries.keys.sorted().map { "\($0)\t\(entries[$0]!)\n" }.joined()
    }

    enum CodingKeys: String, CodingKey { case language, entries, suffixes, segmented }

    /// In a file the entries are one string of sorted `word<TAB>english` lines: a glossary has tens of thousands of
    /// entries, and one string decodes far faster than as many JSON members.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        language = try c.decode(String.self, forKey: .language)
        var lines = try c.decode(String.self, forKey: .entries)
        guard let entries = Self.entries(fromLines: &lines) else {
            throw DecodingError.dataCorruptedError(forKey: .entries, in: c,
                                                   debugDescription: "the \(language) glossary has an entry line without a tab")
        }
        self.entries = entries
        entriesText = lines
        suffixes = try c.decodeIfPresent([SuffixRule].self, forKey: .suffixes) ?? []
        segmented = try c.decodeIfPresent(Bool.self, forKey: .segmented) ?? false
        longestEntry = Self.longestEntry(entries, segmented: segmented)
        phrases = Self.phrases(in: entries)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(language, forKey: .language)
        try c.encode(entriesText, forKey: .entries)
        try c.encode(suffixes, forKey: .suffixes)
        if segmented { try c.encode(segmented, forKey: .segmented) }
    }

    public static func == (a: Glossary, b: Glossary) -> Bool {
        a.language == b.language && a.entries == b.entries && a.suffixes == b.suffixes && a.segmented == b.segmented
    }

    static func longestEntry(_ entries: [String: String], segmented: Bool) -> Int {
        guard segmented else { return 0 }
        return min(maxSegmentLength, entries.keys.lazy.map(\.count).max() ?? 0)
    }

    /// The phrase index of `entries`: every key that reads as more than one token (only keys with a space, an
    /// apostrophe or a hyphen are tokenised, so a glossary of single words costs one byte scan per key).
    static func phrases(in entries: [String: String]) -> [String: [Phrase]] {
        var index: [String: [Phrase]] = [:]
        var tokens: [Substring] = []
        for (key, english) in entries where key.utf8.contains(where: { $0 == 32 || $0 == 39 || $0 == 45 || $0 == 0xE2 }) {
            tokens.removeAll(keepingCapacity: true)
            tokenize(key, into: &tokens)
            guard tokens.count > 1 else { continue }
            let normalised = tokens.map(phraseToken)
            index[normalised[0], default: []].append(Phrase(rest: Array(normalised.dropFirst()), english: english))
        }
        for first in index.keys {
            index[first]!.sort { $0.rest.count != $1.rest.count ? $0.rest.count > $1.rest.count : $0.rest.lexicographicallyPrecedes($1.rest) }
        }
        return index
    }

    /// A token as phrases are matched: lowercased, with a typographic apostrophe read as a straight one.
    static func phraseToken(_ token: Substring) -> String {
        token == "\u{2019}" ? "'" : token.lowercased()
    }

    /// The longest phrase that starts at `tokens[start]` (a word, `lowered` being its lowercase): its English and how
    /// many tokens it covers.
    private func phrase(at start: Int, lowered: String, in tokens: [Substring]) -> (english: String, count: Int)? {
        guard let candidates = phrases[lowered] else { return nil }
        for candidate in candidates where start + candidate.rest.count < tokens.count {
            var matches = true
            for (offset, expected) in candidate.rest.enumerated() where Self.phraseToken(tokens[start + 1 + offset]) != expected {
                matches = false
                break
            }
            if matches { return (candidate.english, candidate.rest.count + 1) }
        }
        return nil
    }

    /// The English for one word, or nil when the glossary does not know it.
    public func english(for word: some StringProtocol) -> String? {
        english(lowercased: word.lowercased())
    }

    /// `english(for:)` of a word already lowercased.
    private func english(lowercased lower: String) -> String? {
        if let found = entries[lower] { return found }
        guard lower.allSatisfy(\.isLetter) else { return nil }
        for rule in suffixes where lower.count > rule.strip.count + 2 && lower.hasSuffix(rule.strip) {
            let stem = lower.dropLast(rule.strip.count)
            if let found = entries[stem + rule.append] { return found }
        }
        return nil
    }

    /// The gloss of `text`: each known word replaced by its English, unknown words and punctuation kept.
    public func gloss(_ text: String) -> String {
        var tokens: [Substring] = []
        var output: [String] = []
        Self.tokenize(text, into: &tokens)
        output.reserveCapacity(tokens.count)
        var index = 0
        while index < tokens.count {
            let token = tokens[index]
            index += 1
            guard let first = token.first, Self.isWordCharacter(first), !token.allSatisfy(\.isNumber) else {
                output.append(String(token))
                continue
            }
            // Lowercased once: the phrase index and the word lookup both read it.
            let lowered = token.lowercased()
            if !phrases.isEmpty, let found = phrase(at: index - 1, lowered: lowered, in: tokens) {
                if !found.english.isEmpty { output.append(found.english) }
                index += found.count - 1
                continue
            }
            if segmented, token.contains(where: Self.isSegmentable) {
                segment(token, into: &output)
                continue
            }
            append(token, lowered: lowered, to: &output)
        }
        return output.joined(separator: " ")
    }

    /// Appends the English for `word` (`lowered` being its lowercase), nothing when the English is empty, or the word
    /// as written when the glossary does not know it.
    private func append(_ word: Substring, lowered: String, to output: inout [String]) {
        if let english = english(lowercased: lowered) {
            if !english.isEmpty { output.append(english) }
        } else {
            output.append(String(word))
        }
    }

    /// A word with Han or kana characters: other runs are words of their own; each Han or kana run is cut into the
    /// longest entries from its start.
    private func segment(_ token: Substring, into output: inout [String]) {
        var index = token.startIndex
        while index < token.endIndex {
            var end = token.index(after: index)
            let segmentable = Self.isSegmentable(token[index])
            while end < token.endIndex, Self.isSegmentable(token[end]) == segmentable { end = token.index(after: end) }
            let run = token[index..<end]
            if !segmentable {
                if !run.allSatisfy(\.isNumber) { append(run, lowered: run.lowercased(), to: &output) } else { output.append(String(run)) }
            } else {
                var start = run.startIndex
                while start < run.endIndex {
                    var matched: (end: Substring.Index, english: String)?
                    var candidateEnd = start
                    var length = 0
                    var ends: [Substring.Index] = []
                    while candidateEnd < run.endIndex, length < longestEntry {
                        candidateEnd = run.index(after: candidateEnd)
                        length += 1
                        ends.append(candidateEnd)
                    }
                    for candidate in ends.reversed() {
                        if let english = entries[String(run[start..<candidate])] {
                            matched = (candidate, english)
                            break
                        }
                    }
                    if let matched {
                        if !matched.english.isEmpty { output.append(matched.english) }
                        start = matched.end
                    } else {
                        let next = run.index(after: start)
                        output.append(String(run[start..<next]))
                        start = next
                    }
                }
            }
            index = end
        }
    }

    /// Han ideographs and kana: the characters of languages written without spaces.
    static func isSegmentable(_ character: Character) -> Bool {
        guard let scalar = character.unicodeScalars.first else { return false }
        switch scalar.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0xF900...0xFAFF, 0x3040...0x30FF: return true
        default: return false
        }
    }

    static func isWordCharacter(_ character: Character) -> Bool {
        character.isLetter || character.isNumber || character == "_"
    }

    /// Words (runs of letters, digits and `_`) and single non-space characters, in order.
    static func tokenize(_ text: String, into tokens: inout [Substring]) {
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if character.isWhitespace {
                index = text.index(after: index)
            } else if isWordCharacter(character) {
                var end = text.index(after: index)
                while end < text.endIndex, isWordCharacter(text[end]) { end = text.index(after: end) }
                tokens.append(text[index..<end])
                index = end
            } else {
                let next = text.index(after: index)
                tokens.append(text[index..<next])
                index = next
            }
        }
    }
}

extension Glossary {
    /// A word, or words joined by spaces, apostrophes (' or ’) or hyphens, starting and ending with a word.
    static func isWordOrPhrase(_ key: String) -> Bool {
        var tokens: [Substring] = []
        tokenize(key, into: &tokens)
        guard let first = tokens.first?.first, let last = tokens.last?.first,
              isWordCharacter(first), isWordCharacter(last) else { return false }
        return tokens.allSatisfy { token in
            token.first.map(isWordCharacter) == true || token == "'" || token == "\u{2019}" || token == "-"
        }
    }

    /// Reads a glossary file: UTF-8 lines `word<TAB>english` (or `several words<TAB>english`, a phrase), `@language CODE`, `@suffix STRIP APPEND` (APPEND may be
    /// omitted for a bare strip), `@segment` (see `segmented`), `#` comments and blank lines. Later lines for the same
    /// word win.
    public static func load(from path: String) throws(DatasetError) -> Glossary {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DatasetError(file: path, row: nil, problem: "cannot read the glossary file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw DatasetError(file: path, row: nil, problem: "the glossary file is not UTF-8")
        }
        return try parse(text, file: path)
    }

    /// Parses the text of a glossary file (see `load(from:)`).
    public static func parse(_ text: String, file: String) throws(DatasetError) -> Glossary {
        var language: String?
        var entries: [String: String] = [:]
        var suffixes: [SuffixRule] = []
        var segmented = false
        // ("\r\n" is one Character in Swift, so it is a separator of its own.)
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        for (offset, raw) in lines.enumerated() {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            let row = offset + 1
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("@") {
                let parts = line.split(separator: " ", omittingEmptySubsequences: true)
                switch parts[0] {
                case "@language":
                    guard parts.count == 2 else { throw DatasetError(file: file, row: row, problem: "@language needs one code") }
                    let code = String(parts[1])
                    guard LanguageDetector.codes.contains(code), code != "en", code != "und" else {
                        throw DatasetError(file: file, row: row, problem: "@language \(code) is not a non-English language code the detector returns (\(LanguageDetector.codes.joined(separator: ", ")))")
                    }
                    guard language == nil || language == code else {
                        throw DatasetError(file: file, row: row, problem: "a second @language (\(code)) in one glossary")
                    }
                    language = code
                case "@segment":
                    guard parts.count == 1 else { throw DatasetError(file: file, row: row, problem: "@segment takes no value") }
                    segmented = true
                case "@suffix":
                    guard parts.count == 2 || parts.count == 3 else {
                        throw DatasetError(file: file, row: row, problem: "@suffix needs the ending to strip and, optionally, one to append")
                    }
                    suffixes.append(SuffixRule(strip: parts[1].lowercased(), append: parts.count == 3 ? parts[2].lowercased() : ""))
                default:
                    throw DatasetError(file: file, row: row, problem: "unknown directive \(parts[0]) (expected @language, @suffix or @segment)")
                }
                continue
            }
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 2 else {
                throw DatasetError(file: file, row: row, problem: "expected a word and its English separated by one tab")
            }
            let word = fields[0].lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
            guard isWordOrPhrase(word) else {
                throw DatasetError(file: file, row: row, problem: "\"\(fields[0])\" is neither a word (letters, digits, _) nor a phrase of words joined by spaces, apostrophes or hyphens")
            }
            entries[word] = fields[1].trimmingCharacters(in: .whitespaces)
        }
        guard let language else { throw DatasetError(file: file, row: nil, problem: "no @language line") }
        guard !entries.isEmpty else { throw DatasetError(file: file, row: nil, problem: "no entries") }
        return Glossary(language: language, entries: entries, suffixes: suffixes, segmented: segmented)
    }
}

/// How routing uses the glosses of prompts written in a language with a glossary.
public enum GlossMode: String, Sendable, Codable, Equatable, CaseIterable {
    /// Embed the prompt as written and its gloss, and add the two unit vectors (two texts to embed per such prompt).
    case blend
    /// Embed the gloss alone.
    case replace
}

/// The glossaries a centroid file was trained with and how they are used (stored in the file; training and routing
/// apply them the same way).
public struct GlossRecipe: Sendable, Codable, Equatable {
    /// How glosses are embedded.
    public var mode: GlossMode
    /// At most one glossary per language.
    public var glossaries: [Glossary]

    /// A recipe of `mode` over `glossaries`.
    public init(mode: GlossMode, glossaries: [Glossary]) {
        self.mode = mode
        self.glossaries = glossaries
    }
}

/// A recipe's glossaries by language, ready to gloss prompts.
public struct GlossarySet: Sendable, Equatable {
    /// How glosses are embedded (`blend` when there is no recipe; it then never applies).
    public let mode: GlossMode
    /// Language code → glossary.
    public let glossaries: [String: Glossary]

    /// The glossaries of `recipe` (none for nil).
    public init(_ recipe: GlossRecipe?) {
        mode = recipe?.mode ?? .blend
        glossaries = Dictionary((recipe?.glossaries ?? []).map { ($0.language, $0) }, uniquingKeysWith: { _, last in last })
    }

    /// The gloss of `text` when it is written in a language with a glossary, else nil.
    public func gloss(_ text: String) -> String? {
        guard !glossaries.isEmpty else { return nil }
        return gloss(text, language: LanguageDetector.detect(text))
    }

    /// The gloss of `text`, written in `language`, when that language has a glossary and the gloss keeps at least one
    /// word (a prompt of nothing but dropped particles is embedded as written), else nil. A text of more than
    /// `longText` bytes is glossed by its first and last `keptCharacters` characters only, so that a huge prompt costs
    /// a bounded time (the prompt view keeps far fewer words than that anyway).
    public func gloss(_ text: String, language: String) -> String? {
        guard let glossary = glossaries[language] else { return nil }
        let glossed: String
        if text.utf8.count > Self.longText {
            glossed = glossary.gloss(String(text.prefix(Self.keptCharacters))) + " … "
                + glossary.gloss(String(text.suffix(Self.keptCharacters)))
        } else {
            glossed = glossary.gloss(text)
        }
        guard glossed.contains(where: { $0.isLetter || $0.isNumber }) else { return nil }
        return glossed
    }

    /// What training and routing read of prompts (one function, so that both read the same): the prompt view of each
    /// as written, the prompt view of its gloss when its language has a glossary (else nil), and its language when
    /// that had to be worked out (nil when there are no glossaries).
    public func views(of prompts: [String], promptView: PromptView?)
        -> (read: [String], glossed: [String?], languages: [String?])
    {
        let read = prompts.map { promptView?.apply($0) ?? $0 }
        guard !glossaries.isEmpty else {
            let none = [String?](repeating: nil, count: prompts.count)
            return (read, none, none)
        }
        let languages = prompts.map(LanguageDetector.detect)
        let glossed = prompts.indices.map { index in
            gloss(prompts[index], language: languages[index]).map { promptView?.apply($0) ?? $0 }
        }
        return (read, glossed, languages)
    }

    /// Texts longer than this many UTF-8 bytes are glossed by their two ends (the bound the detector and rules use).
    public static let longText = String.scanLimit
    /// How many characters of each end of a long text are glossed.
    public static let keptCharacters = String.scanKept

    /// The texts the encoder embeds for one prompt: what the prompt view keeps of it as written when it has no gloss;
    /// otherwise its gloss alone (`replace`) or both (`blend`, whose unit vectors are then summed and normalised).
    /// Routing, training and `pointsman views` all ask this one function.
    public func encoderTexts(read: String, glossed: String?) -> [String] {
        guard let glossed else { return [read] }
        switch mode {
        case .replace: return [glossed]
        case .blend: return [read, glossed]
        }
    }

    /// Unit routing embeddings of prompts: `read[i]` is what the prompt view keeps of prompt i as written, `glossed[i]`
    /// the same view of its gloss (nil when it has none). One call to `embed` for every text needed; a prompt with
    /// two texts gets the normalised sum of their unit vectors.
    public func embed(read: [String], glossed: [String?],
                      _ embed: ([String]) async throws -> Matrix) async throws -> Matrix {
        precondition(read.count == glossed.count, "one gloss (or nil) per prompt")
        let texts = read.indices.map { encoderTexts(read: read[$0], glossed: glossed[$0]) }
        guard texts.contains(where: { $0.count > 1 }) else { return try await embed(texts.map { $0[0] }) }
        var vectors = try await embed(texts.flatMap { $0 })
        vectors.normalizeRows()
        var blended = Matrix(rows: read.count, cols: vectors.cols)
        var next = 0
        for (index, group) in texts.enumerated() {
            var sum = vectors.row(next)
            for offset in 1..<group.count {
                for (j, value) in vectors.row(next + offset).enumerated() { sum[j] += value }
            }
            blended.setRow(index, sum)
            next += group.count
        }
        blended.normalizeRows()
        return blended
    }
}
