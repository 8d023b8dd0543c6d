/// Tells which language a prompt is written in, from its script and, for Latin script, from common words and
/// letters. No model: a few hundred microseconds of counting at most, so every decision can carry it.
///
/// Codes: `en`, `fr`, `es`, `de`, `pt`, `it`, `zh`, `ja`, `ko`, `ru`, `ar`, or `und` when the text has no letters.
public enum LanguageDetector {
    /// Every code `detect` can return (a bounded set: safe as a metric label).
    public static let codes = ["en", "fr", "es", "de", "pt", "it", "zh", "ja", "ko", "ru", "ar", "und"]

    /// The language of `text`.
    public static func detect(_ text: String) -> String {
        var han = 0, kana = 0, hangul = 0, cyrillic = 0, arabic = 0, latin = 0
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x3040...0x30FF, 0x31F0...0x31FF, 0xFF66...0xFF9D: kana += 1
            case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0xF900...0xFAFF: han += 1
            case 0xAC00...0xD7AF, 0x1100...0x11FF, 0x3130...0x318F: hangul += 1
            case 0x0400...0x04FF: cyrillic += 1
            case 0x0600...0x06FF, 0x0750...0x077F: arabic += 1
            case 0x41...0x5A, 0x61...0x7A, 0xC0...0x24F: latin += 1
            default: break
            }
        }
        let letters = han + kana + hangul + cyrillic + arabic + latin
        guard letters > 0 else { return "und" }
        // Chinese and Japanese prompts often quote English words or code; a few CJK characters per English word
        // already say more than the quoted Latin letters.
        let cjk = han + kana
        if Double(cjk) * 3 >= Double(latin) && cjk > 0 {
            return kana > 0 && Double(kana) >= 0.05 * Double(cjk) ? "ja" : "zh"
        }
        if hangul * 3 >= latin && hangul > 0 { return "ko" }
        if cyrillic * 2 >= latin && cyrillic > 0 { return "ru" }
        if arabic * 2 >= latin && arabic > 0 { return "ar" }
        return latinLanguage(text)
    }

    /// Common function words of each Latin-script language; a word shared by two languages counts for both.
    static let commonWords: [String: Set<String>] = [
        "en": ["the", "and", "is", "are", "of", "to", "in", "what", "how", "you", "my", "for", "with", "this", "that",
               "it", "can", "do", "does", "i", "me", "please", "write", "a", "an", "on", "be", "about", "why", "which",
               "should", "would", "from", "your", "have", "if", "or", "not", "give", "make"],
        "fr": ["le", "la", "les", "des", "est", "et", "un", "une", "du", "que", "qui", "pour", "dans", "avec", "je",
               "tu", "vous", "il", "elle", "nous", "mon", "ma", "mes", "ce", "cette", "pas", "sur", "comment",
               "pourquoi", "quel", "quelle", "au", "aux", "peux", "est-ce", "moi", "ne", "fais", "écris", "explique",
               "j'ai", "c'est", "d'un", "d'une", "l'", "qu'est-ce", "par", "plus", "ou", "où", "on", "quand", "parmi",
               "entre", "sans", "sous", "chez", "faire", "dois", "veux", "avoir", "être", "tout", "tous", "leur",
               "aussi", "très", "bien", "mais", "donc", "fichier", "fichiers", "combien", "quelle", "mettre", "ça"],
        "es": ["el", "la", "los", "las", "de", "es", "y", "un", "una", "que", "qué", "para", "con", "por", "en", "mi",
               "tu", "yo", "del", "al", "cómo", "como", "por qué", "cuál", "puedes", "necesito", "quiero", "hola",
               "pero", "muy", "este", "esta", "sobre", "dame", "escribe", "explica", "también", "hay", "más", "lo",
               "cuánto", "cuántos", "entre", "sin", "desde", "hasta", "hacer", "tengo", "tiene", "ser", "está",
               "están", "mejor", "archivo", "ayuda", "ayúdame", "porque", "cuando", "donde", "qué", "eso", "esto"],
        "de": ["der", "die", "das", "und", "ist", "ein", "eine", "nicht", "ich", "du", "sie", "wie", "was", "warum",
               "mit", "für", "auf", "zu", "von", "den", "dem", "mir", "mich", "bitte", "kannst", "können", "ich",
               "schreib", "schreibe", "erkläre", "es", "im", "auch", "wir", "mein", "meine", "oder", "aber", "über",
               "ein", "einen", "einem", "mit", "nach", "bei", "aus", "wenn", "dass", "sind", "hat", "habe", "wird",
               "kann", "soll", "muss", "noch", "nur", "schon", "sehr", "welche", "datei", "zwischen", "ohne"],
        "pt": ["o", "a", "os", "as", "de", "do", "da", "dos", "das", "é", "e", "um", "uma", "que", "para", "com", "em",
               "no", "na", "meu", "minha", "você", "eu", "como", "por que", "qual", "pode", "preciso", "quero", "não",
               "isso", "este", "esta", "sobre", "escreva", "explique", "também", "mais", "pra", "tô",
               "ao", "aos", "pelo", "pela", "num", "numa", "quanto", "quantos", "entre", "sem", "até", "fazer",
               "tenho", "tem", "ser", "está", "estão", "melhor", "arquivo", "ajuda", "porque", "quando", "onde", "ou"],
        "it": ["il", "lo", "la", "gli", "le", "di", "è", "e", "un", "una", "che", "per", "con", "in", "mi", "ti", "io",
               "tu", "del", "della", "come", "perché", "quale", "puoi", "voglio", "ho", "non", "questo", "questa",
               "sono", "scrivi", "spiega", "anche", "più", "ciao", "mio", "mia", "su", "nel", "alla",
               "dei", "delle", "degli", "al", "ai", "dal", "dalla", "quanto", "quanti", "tra", "fra", "senza", "fare",
               "devo", "ha", "essere", "molto", "meglio", "file", "aiuto", "aiutami", "quando", "dove", "cosa", "o"],
    ]

    /// Letters that belong to one language much more than the others.
    static let telltaleLetters: [Character: String] = [
        "ñ": "es", "¿": "es", "¡": "es", "ã": "pt", "õ": "pt", "ß": "de", "ä": "de", "ö": "de", "ü": "de",
        "ç": "fr", "è": "fr", "ê": "fr", "û": "fr", "œ": "fr", "à": "fr", "ù": "fr", "î": "fr", "ì": "it", "ò": "it",
    ]

    /// The Latin-script languages, in a fixed order (index → code).
    static let latinCodes: [String] = commonWords.keys.sorted()

    /// Each common word's languages (indices into `latinCodes`) and its weight: a word shared by n languages counts
    /// 1/n for each.
    static let wordLanguages: [String: (indices: [Int], weight: Double)] = {
        var languages: [String: [Int]] = [:]
        for (index, code) in latinCodes.enumerated() {
            for word in commonWords[code]! { languages[word, default: []].append(index) }
        }
        return languages.mapValues { ($0, 1 / Double($0.count)) }
    }()

    /// `telltaleLetters` by index into `latinCodes`.
    static let telltaleIndices: [Character: Int] = telltaleLetters.compactMapValues { latinCodes.firstIndex(of: $0) }

    static func latinLanguage(_ text: String) -> String {
        var scores = [Double](repeating: 0, count: latinCodes.count)
        let lowered = text.lowercased()
        var wordStart: String.Index?
        func flush(_ end: String.Index) {
            guard let start = wordStart else { return }
            wordStart = nil
            guard let hit = wordLanguages[String(lowered[start..<end])] else { return }
            for index in hit.indices { scores[index] += hit.weight }
        }
        var position = lowered.startIndex
        while position < lowered.endIndex {
            let character = lowered[position]
            let next = lowered.index(after: position)
            if let index = telltaleIndices[character] { scores[index] += 0.5 }
            if character.isLetter || character == "'" {
                if wordStart == nil { wordStart = position }
                if character == "'" { flush(next) }
            } else {
                flush(position)
            }
            position = next
        }
        flush(lowered.endIndex)
        // English wins ties and texts without evidence: it is the most common language of prompts, and of code. Among
        // other languages tied for the best score, the first code in alphabetical order wins.
        var best: Int?
        for index in scores.indices where scores[index] > 0 && (best == nil || scores[index] > scores[best!]) { best = index }
        guard let best, let english = latinCodes.firstIndex(of: "en"), scores[best] > scores[english] else { return "en" }
        return latinCodes[best]
    }
}
