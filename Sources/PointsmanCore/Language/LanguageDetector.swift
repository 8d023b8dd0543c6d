/// Tells which language a prompt is written in, from its script and, for Latin script, from common words and
/// letters. No model: a few hundred microseconds of counting at most, so every decision can carry it.
///
/// Codes: `en`, `fr`, `es`, `de`, `pt`, `it`, `zh`, `ja`, `ko`, `ru`, `ar`, or `und` when the text has no letters.
public enum LanguageDetector {
    /// Every code `detect` can return (a bounded set: safe as a metric label).
    public static let codes = ["en", "fr", "es", "de", "pt", "it", "zh", "ja", "ko", "ru", "ar", "und"]

    /// The language of `text`: the language its instruction is written in. Material the prompt quotes or hands over
    /// after a colon ("Traduis en anglais : …", "请把下面这段英文翻译成中文：…", "¿Qué significa 'to be or not to be'?")
    /// often says more words than the instruction, so the instruction is read first: the text before the first colon,
    /// then the text outside quotes, then the whole text; the first of these that gives evidence of a language (its
    /// script, or common words and letters) decides. A text with no evidence at all is English (`und` without letters).
    public static func detect(_ text: String) -> String {
        let text = text.scannedEnds
        let quoted = mayQuote(text)
        let outside = quoted ? outsideQuotes(text) : text
        // A head of one Latin word ("Comment:", "Document:") is a label more often than an instruction.
        if let colon = outside.firstIndex(where: { $0 == ":" || $0 == "：" }),
           case let head = String(outside[..<colon]),
           head.split(whereSeparator: { !$0.isLetter }).count > 1 || head.unicodeScalars.contains(where: { $0.value >= 0x0400 }),
           let language = evidence(head) {
            // Kanji alone do not tell Japanese from Chinese: the kana of the rest do.
            if language == "zh", evidence(text) == "ja" { return "ja" }
            return language
        }
        if quoted, outside != text, let unquoted = evidence(outside) { return unquoted }
        if let whole = evidence(text) { return whole }
        return text.contains(where: \.isLetter) ? "en" : "und"
    }

    /// The language `text` gives evidence of, or nil when it gives none (no letters, or Latin letters without a common
    /// word or telltale letter of any language).
    static func evidence(_ text: String) -> String? {
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
        guard letters > 0 else { return nil }
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

    /// Whether `text` has a quote character at all (one pass over its bytes, so the common case costs little).
    static func mayQuote(_ text: String) -> Bool {
        // ", ', and the lead byte of “ ” „ ‘ ’ (E2 80 …), « » (C2 AB / C2 BB), 「 」 『 』 (E3 80 …).
        text.utf8.contains { $0 == 0x22 || $0 == 0x27 || $0 == 0xE2 || $0 == 0xC2 || $0 == 0xE3 }
    }

    /// `text` without what it quotes: spans inside “…”, «…», „…“, "…", 「…」, 『…』, ‘…’, and '…' when that quote
    /// opens a span (at the start or after a space, colon or bracket) rather than marking an elision ("l'eau").
    /// An unclosed quote keeps the rest of the text. Linear in the text's length: once a closing quote is known not to
    /// follow, later opening quotes of its kind do not look for it again.
    static func outsideQuotes(_ text: String) -> String {
        let pairs: [Character: Character] = ["“": "”", "«": "»", "„": "“", "\"": "\"", "「": "」", "『": "』", "‘": "’", "'": "'"]
        var result = ""
        var index = text.startIndex
        var previous: Character = " "
        // Whether a closing quote can close depends on the text around it only, never on the opening quote, so a
        // search that reached the end without one finds none from any later opening either.
        var absent: Set<Character> = []
        while index < text.endIndex {
            let character = text[index]
            if let closing = pairs[character], !absent.contains(closing),
               character != "'" || previous.isWhitespace || previous == ":" || previous == "：" || previous == "(" {
                let afterOpening = text.index(after: index)
                var end = afterOpening
                while end < text.endIndex {
                    if text[end] == closing {
                        let next = text.index(after: end)
                        // A straight single quote closes only before a space, punctuation or the end.
                        if closing != "'" || next == text.endIndex || !(text[next].isLetter || text[next].isNumber) { break }
                    }
                    end = text.index(after: end)
                }
                if end < text.endIndex {
                    result.append(" ")
                    index = text.index(after: end)
                    previous = " "
                    continue
                }
                absent.insert(closing)
            }
            result.append(character)
            previous = character
            index = text.index(after: index)
        }
        return result
    }

    /// Common words of each Latin-script language (function words, request verbs and nouns, language names,
    /// elisions); a word shared by several languages counts for each, divided among them.
    static let commonWords: [String: Set<String>] = [
        "en": ["the", "and", "is", "are", "of", "to", "in", "what", "how", "you", "my", "for", "with", "this", "that",
               "it", "can", "do", "does", "i", "me", "please", "write", "a", "an", "on", "be", "about", "why", "which",
               "should", "would", "from", "your", "have", "if", "or", "not", "give", "make",
               "into", "translate", "summarize", "explain", "what's", "list", "show", "using", "there", "some", "all", "use",
               "get", "need", "want", "like", "just", "help", "tell", "find", "know", "they", "them", "their", "our",
               "we", "he", "she", "his", "than", "then", "who", "when", "where", "these", "those", "been", "any",
               "each", "out", "up", "it's", "don't", "i'm", "can't"],
        "fr": ["le", "la", "les", "des", "est", "et", "un", "une", "du", "que", "qui", "pour", "dans", "avec", "je",
               "tu", "vous", "il", "elle", "nous", "mon", "ma", "mes", "ce", "cette", "pas", "sur", "comment",
               "pourquoi", "quel", "quelle", "au", "aux", "peux", "est-ce", "moi", "ne", "fais", "écris", "explique",
               "j'ai", "c'est", "d'un", "d'une", "l'", "qu'est-ce", "par", "plus", "ou", "où", "on", "quand", "parmi",
               "entre", "sans", "sous", "chez", "faire", "dois", "veux", "avoir", "être", "tout", "tous", "leur",
               "aussi", "très", "bien", "mais", "donc", "fichier", "fichiers", "combien", "quelle", "mettre", "ça",
               "de", "en", "d'", "qu'", "n'", "s'", "j'", "m'", "t'", "c'", "ces", "ses", "sa", "se", "y", "été", "fait",
               "merci", "bonjour", "salut", "anglais", "français", "française", "espagnol", "allemand", "chinois",
               "japonais", "italien", "arabe", "traduire", "traduis", "traduction", "résume", "résumé", "idées",
               "selon", "chaque", "vers", "après", "avant", "votre", "notre", "nos", "vos", "cet", "ont", "sont",
               "suis", "peut", "faut", "donne", "moins", "rien", "encore", "déjà", "voici", "pourriez", "pouvez",
               "livre", "texte", "mots", "calcule", "trouve", "aide", "aider", "exemple", "quoi", "dire", "dis",
               "expliquer", "pourrais", "voudrais", "aimerais", "aujourd'", "beaucoup", "petit", "petite", "nouveau",
               "nouvelle", "autre", "autres", "même", "comme", "alors", "parce", "lequel", "laquelle"],
        "es": ["el", "la", "los", "las", "de", "es", "y", "un", "una", "que", "qué", "para", "con", "por", "en", "mi",
               "tu", "yo", "del", "al", "cómo", "como", "por qué", "cuál", "puedes", "necesito", "quiero", "hola",
               "pero", "muy", "este", "esta", "sobre", "dame", "escribe", "explica", "también", "hay", "más", "lo",
               "cuánto", "cuántos", "entre", "sin", "desde", "hasta", "hacer", "tengo", "tiene", "ser", "está",
               "están", "mejor", "archivo", "ayuda", "ayúdame", "porque", "cuando", "donde", "qué", "eso", "esto",
               "le", "les", "su", "sus", "nos", "gracias", "buenas", "buenos", "noches", "días", "inglés", "español",
               "francés", "alemán", "japonés", "chino", "traduce", "traduzca", "traducción", "resumen", "ejemplo",
               "todos", "todas", "todo", "aquí", "nada", "algo", "usted", "podemos", "podría", "sería", "hoy",
               "ayudas", "ayudar", "dime", "hazme", "explícame", "escríbeme", "pásame", "porfa", "fácil", "mañana",
               "año", "años", "día", "ahora", "entonces", "ella", "él", "ellos", "nosotros", "mis", "tus", "se", "si",
               "sí", "cual", "esa", "ese", "esos", "esas", "estos", "estas", "hace", "puede", "pueden", "fue",
               "después", "antes", "siempre", "nunca", "cada", "otro", "otra", "mismo", "bueno", "buena", "nuevo",
               "nueva", "pequeño", "libro", "canción", "correo", "frase", "texto", "lista", "tabla", "calcula",
               "resuelve", "haz", "contarle"],
        "de": ["der", "die", "das", "und", "ist", "ein", "eine", "nicht", "ich", "du", "sie", "wie", "was", "warum",
               "mit", "für", "auf", "zu", "von", "den", "dem", "mir", "mich", "bitte", "kannst", "können", "ich",
               "schreib", "schreibe", "erkläre", "es", "im", "auch", "wir", "mein", "meine", "oder", "aber", "über",
               "ein", "einen", "einem", "mit", "nach", "bei", "aus", "wenn", "dass", "sind", "hat", "habe", "wird",
               "kann", "soll", "muss", "noch", "nur", "schon", "sehr", "welche", "datei", "zwischen", "ohne",
               "danke", "hallo", "guten", "morgen", "abend", "englisch", "deutsch", "französisch", "spanisch",
               "italienisch", "japanisch", "chinesisch", "übersetze", "übersetz", "übersetzen", "übersetzung",
               "zusammenfassung", "fasse", "beispiel", "alle", "alles", "hier", "nichts", "etwas", "könnten",
               "könntest", "würde", "würdest", "heute", "hilf", "gib", "mach", "erklär", "ihr", "ihn", "ihm", "uns",
               "euch", "sein", "seine", "ihre", "unser", "dieser", "diese", "dieses", "diesen", "macht", "vor",
               "immer", "nie", "jeden", "jede", "jeder", "andere", "neue", "groß", "klein", "buch", "lied", "satz",
               "liste", "tabelle", "berechne", "löse", "finde", "wer", "welcher", "welches", "wieso", "weshalb",
               "dann", "jetzt", "jahr", "jahre", "anleitung", "tipps", "gegen", "zum", "zur", "vom", "beim", "ins",
               "als", "wo", "sich", "gibt", "geht", "bist", "einer", "eines", "keine", "kein", "doch", "ja", "nein",
               "hab", "mehr", "draus", "machen"],
        "pt": ["o", "a", "os", "as", "de", "do", "da", "dos", "das", "é", "e", "um", "uma", "que", "para", "com", "em",
               "no", "na", "meu", "minha", "você", "eu", "como", "por que", "qual", "pode", "preciso", "quero", "não",
               "isso", "este", "esta", "sobre", "escreva", "explique", "também", "mais", "pra", "tô",
               "ao", "aos", "pelo", "pela", "num", "numa", "quanto", "quantos", "entre", "sem", "até", "fazer",
               "tenho", "tem", "ser", "está", "estão", "melhor", "arquivo", "ajuda", "porque", "quando", "onde", "ou",
               "vocês", "obrigado", "obrigada", "oi", "olá", "tudo", "bem", "boa", "bom", "noite", "dia", "inglês",
               "português", "francês", "alemão", "japonês", "chinês", "espanhol", "italiano", "traduz", "traduza",
               "traduzir", "tradução", "resumo", "resuma", "exemplo", "todos", "todas", "aqui", "nada", "algo",
               "podemos", "poderia", "seria", "hoje", "ajude", "lhe", "nos", "seu", "sua", "seus", "suas", "ela", "ele",
               "eles", "elas", "nós", "isto", "essa", "esse", "faça", "explica", "explicação", "escreve", "mim", "dos",
               "das", "mas", "já", "ainda", "sempre", "nunca", "cada", "outro", "outra", "mesmo", "muito", "muita",
               "pouco", "livro", "texto", "frase", "lista", "tabela", "calcule", "resolva", "quem", "quais", "então",
               "agora", "ano", "anos", "vez", "se", "me", "te", "último", "loja", "por"],
        "it": ["il", "lo", "la", "gli", "le", "di", "è", "e", "un", "una", "che", "per", "con", "in", "mi", "ti", "io",
               "tu", "del", "della", "come", "perché", "quale", "puoi", "voglio", "ho", "non", "questo", "questa",
               "sono", "scrivi", "spiega", "anche", "più", "ciao", "mio", "mia", "su", "nel", "alla",
               "dei", "delle", "degli", "al", "ai", "dal", "dalla", "quanto", "quanti", "tra", "fra", "senza", "fare",
               "devo", "ha", "essere", "molto", "meglio", "file", "aiuto", "aiutami", "quando", "dove", "cosa", "o",
               "sei", "siamo", "grazie", "buongiorno", "buonasera", "inglese", "italiano", "francese", "tedesco",
               "spagnolo", "giapponese", "cinese", "portoghese", "traduci", "tradurre", "traduzione", "riassunto",
               "riassumi", "sintesi", "esempio", "tutti", "tutte", "tutto", "qui", "qua", "niente", "qualcosa",
               "potrebbe", "potresti", "sarebbe", "oggi", "dammi", "fammi", "spiegami", "scrivimi", "lei", "lui",
               "loro", "noi", "voi", "suo", "sua", "suoi", "nostro", "vostro", "questi", "queste", "quello", "quella",
               "quelli", "fa", "può", "possono", "dopo", "prima", "sempre", "ogni", "altro", "altra", "stesso",
               "bene", "buono", "nuovo", "piccolo", "libro", "canzone", "testo", "frase", "elenco", "tabella",
               "calcola", "risolvi", "trova", "chi", "quali", "xke", "allora", "adesso", "ora", "anno", "anni",
               "giorno", "breve", "idee", "trama", "differenza", "sull'", "dell'", "nell'", "all'", "dall'", "un'",
               "l'", "c'", "se", "si", "annullare", "ultimo"],
    ]

    /// Letters that belong to one language much more than the others.
    static let telltaleLetters: [Character: String] = [
        "ñ": "es", "¿": "es", "¡": "es", "ã": "pt", "õ": "pt", "ß": "de", "ä": "de", "ö": "de", "ü": "de",
        "ç": "fr", "è": "fr", "ê": "fr", "û": "fr", "œ": "fr", "à": "fr", "ù": "fr", "î": "fr", "ì": "it", "ò": "it",
    ]

    /// Word endings that belong to one language much more than the others (read on words that are not common words;
    /// the first that matches counts).
    static let telltaleEndings: [(ending: String, language: String)] = [
        ("ción", "es"), ("ciones", "es"), ("dad", "es"), ("zione", "it"), ("zioni", "it"), ("ità", "it"),
        ("ção", "pt"), ("ções", "pt"), ("ées", "fr"), ("ée", "fr"), ("eaux", "fr"), ("eux", "fr"), ("ungen", "de"),
        ("keit", "de"), ("heit", "de"), ("lich", "de"), ("isch", "de"),
    ]

    /// `telltaleEndings` by index into `latinCodes`, longest ending first.
    static let telltaleEndingIndices: [Character: [(ending: String, index: Int)]] = Dictionary(
        grouping: telltaleEndings
            .compactMap { entry in latinCodes.firstIndex(of: entry.language).map { (ending: entry.ending, index: $0) } }
            .sorted { $0.ending.count > $1.ending.count },
        by: { $0.ending.last! })

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

    /// The Latin-script language with the most evidence (English wins ties), or nil when no language has any.
    static func latinLanguage(_ text: String) -> String? {
        var scores = [Double](repeating: 0, count: latinCodes.count)
        let lowered = text.lowercased()
        var wordStart: String.Index?
        func flush(_ end: String.Index) {
            guard let start = wordStart else { return }
            wordStart = nil
            let word = lowered[start..<end]
            if let hit = wordLanguages[String(word)] {
                for index in hit.indices { scores[index] += hit.weight }
            } else if word.utf8.count > 4, word.count > 4, let last = word.last, let candidates = telltaleEndingIndices[last],
                      let ending = candidates.first(where: { word.hasSuffix($0.ending) }) {
                scores[ending.index] += 0.5
            }
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
        // English wins ties: it is the most common language of prompts, and of code. Among other languages tied for the
        // best score, the first code in alphabetical order wins.
        var best: Int?
        for index in scores.indices where scores[index] > 0 && (best == nil || scores[index] > scores[best!]) { best = index }
        guard let best else { return nil }
        guard let english = latinCodes.firstIndex(of: "en"), scores[best] > scores[english] else { return "en" }
        return latinCodes[best]
    }
}
