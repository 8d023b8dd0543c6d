import Foundation
@testable import PointsmanCore
import PointsmanInterfaces
import Testing

@Suite("Languages: detection, translation intent and the translation guard")
struct LanguageTests {
    @Test("script and common words tell the language", arguments: [
        ("Write a Python function that reverses a list", "en"),
        ("Écris-moi un poème sur la pluie, s'il te plaît", "fr"),
        ("¿Cuál es la capital de Australia y por qué no es Sídney?", "es"),
        ("Kannst du mir bitte erklären, wie ein Kühlschrank funktioniert?", "de"),
        ("Você pode me explicar como funciona o PIX?", "pt"),
        ("Mi spieghi perché il cielo è blu?", "it"),
        ("帮我写一个Python函数，计算列表的平均值", "zh"),
        ("このメールを丁寧な日本語に直してください", "ja"),
        ("Объясни, как работает фотосинтез", "ru"),
        ("12 + 30 = ?", "und"),
    ])
    func detect(text: String, language: String) {
        #expect(LanguageDetector.detect(text) == language)
        #expect(LanguageDetector.codes.contains(LanguageDetector.detect(text)))
    }

    @Test("the instruction decides, not the material it quotes or hands over after a colon", arguments: [
        ("请把下面这段英文翻译成中文： The committee has decided to postpone the annual meeting until further notice", "zh"),
        ("Pourriez-vous traduire cette notice de l'allemand vers le français : « Vor Gebrauch gut schütteln. »", "fr"),
        ("Por favor, traduzca del francés al español: 'Veuillez trouver ci-joint le devis demandé.'", "es"),
        ("mi traduci questo messaggio? 'Bonjour, je passerai jeudi vers 10h pour relever le compteur'", "it"),
        ("Translate this into French: Je voudrais réserver une table pour deux personnes ce soir", "en"),
        ("次の英文を自然な日本語に訳してください。 Please be advised that the office will be closed from December 29", "ja"),
        ("要約：当院では4月1日より、初診の方は原則として予約制とさせていただきます。", "ja"),  // kana after the colon
        ("Comment: \"go back to where you came from\". Is this comment toxic? Answer yes or no.", "en"),  // a one-word label
        ("Translate 你好世界 into English", "en"),
        ("l'eau, c'est la vie", "fr"),  // elisions are not quotes
    ])
    func instruction(text: String, language: String) {
        #expect(LanguageDetector.detect(text) == language, "\(text)")
    }

    @Test("short requests without function words are told by request words and endings")
    func shortRequests() {
        #expect(LanguageDetector.detect("capitale australia") == "en")  // no evidence at all: English
        #expect(LanguageDetector.detect("riassunto breve 1984 orwell") == "it")
        #expect(LanguageDetector.detect("übersetzung bitte") == "de")
        #expect(LanguageDetector.detect("traduction du contrat") == "fr")
        #expect(LanguageDetector.detect("explicação fotossíntese") == "pt")
        #expect(LanguageDetector.detect("Zusammenfassung Wirtschaftlichkeit") == "de")  // common word, then an ending
        #expect(LanguageDetector.detect("population growth statement") == "en")  // English endings are no evidence
    }

    @Test("quotes: quoted spans drop out, an unclosed quote keeps the rest, and unclosed quotes by the hundred thousand cost linear time",
          .timeLimit(.minutes(1)))
    func quotes() {
        #expect(LanguageDetector.outsideQuotes("Traduis “the cat” en anglais") == "Traduis   en anglais")
        #expect(LanguageDetector.outsideQuotes("l'eau et 'hello' puis «bonjour") == "l'eau et   puis «bonjour")
        #expect(LanguageDetector.outsideQuotes("say \"hi\" then “open and 'more") == "say   then “open and 'more")
        // Each unclosed quote used to search the rest of the text again: 200,000 of them took minutes.
        let unclosed = String(repeating: "“ « ‘ ", count: 100_000)
        #expect(LanguageDetector.outsideQuotes(unclosed) == unclosed)
    }

    @Test("a prompt of more than 16 KB is read by its ends: the detector and the rules see its first and last 4,096 scalars",
          .timeLimit(.minutes(1)))
    func hugePrompts() throws {
        let french = String(repeating: "le chat est sur la table et nous sommes dans la maison ", count: 400)
        let english = "Please write a short note about this, and keep it simple for the reader. "
        let middle = String(repeating: "x", count: 20_000)
        #expect(LanguageDetector.detect(String(repeating: english, count: 60) + french + String(repeating: english, count: 60)) == "en")
        #expect(LanguageDetector.detect(french + middle + french) == "fr")
        let short = "summarize " + String(repeating: "word ", count: 100)
        #expect(short.scannedEnds == short)
        let long = "summarize " + middle + " translate"
        #expect(long.scannedEnds.count == 2 * String.scanKept + 3 && long.scannedEnds.hasPrefix("summarize"))
        // Cut by scalars: combining marks cannot make a megabyte look short.
        let marked = String(repeating: "if\u{301}\u{301}\u{301}\u{301} ", count: 40_000)
        #expect(marked.scannedEnds.unicodeScalars.count == 2 * String.scanKept + 3)
        let rules = try RegexIntentDetector(rules: RegexRuleSet(defaultCapability: "general", rules: [
            RegexRule(pattern: #"\bburied\b"#, capability: "qa"), RegexRule(pattern: #"\bif\b.+\bthen\b"#, capability: "reasoning"),
        ]))
        #expect(rules.classify("buried " + middle).capability == "qa")
        #expect(rules.classify(middle + " buried " + middle).capability == "general")
        // A long line of "if" with no "then" once made that rule backtrack over the whole line for every "if".
        #expect(rules.classify(String(repeating: "if ", count: 300_000)).capability == "general")
    }

    @Test("translation cues in every supported language; prompts that merely are in another language have none")
    func cues() {
        for asks in ["Translate 'good night' into Spanish", "Traduis cette phrase en anglais : je suis fatigué",
                     "¿Cómo se dice 'mariposa' en alemán?", "Übersetze bitte ins Englische: Guten Morgen",
                     "Como se diz 'obrigado' em francês?", "Come si dice 'cane' in inglese?", "把这句话翻译成英文：你好",
                     "「ありがとう」を英語に訳してください", "How would a native speaker say 'I'm beat'?",
                     "이 문장을 영어로 번역해 줘", "Переведи это на английский", "ترجم هذه الجملة إلى الفرنسية"] {
            #expect(TranslationIntent.mayAskForTranslation(asks), "\(asks)")
        }
        for other in ["Écris-moi un poème sur la pluie", "¿Cuál es la capital de Australia?", "Wie funktioniert ein Kühlschrank?",
                      "帮我写一个Python函数", "東京でおすすめのラーメン屋は？", "Summarize this article in three bullet points"] {
            #expect(!TranslationIntent.mayAskForTranslation(other), "\(other)")
        }
    }

    @Test("the guard moves a translation decision without a cue to the next-best capability, and says so")
    func guardMoves() async throws {
        struct Fixed: IntentDetector {
            func detect(_ prompt: String) async throws -> Detection {
                Detection(capability: "translation", confidence: 0.6, scores: ["translation": 0.6, "creative": 0.5, "qa": 0.2],
                          method: .embedding, label: "translation", reasons: ["centroid translation"])
            }
        }
        let guarded = TranslationGuard(Fixed())
        let moved = try await guarded.detect("Écris-moi un poème sur la pluie")
        #expect(moved.capability == "creative" && moved.label == "creative")
        #expect(moved.reasons.last?.contains("translation guard") == true)
        let kept = try await guarded.detect("Traduis en anglais : il pleut")
        #expect(kept.capability == "translation" && kept.reasons.count == 1)
        // A translation asked in an earlier turn still counts (the detector blends the last four user turns).
        let conversation = try await guarded.detect(conversation: [.user("Traduis en anglais : il pleut"), .user("et celle-ci : il neige")])
        #expect(conversation.capability == "translation")
        let unrelated = try await guarded.detect(conversation: [.user("Bonjour"), .user("Écris-moi un poème")])
        #expect(unrelated.capability == "creative")
    }

    @Test("ties between Latin-script languages go to the first code alphabetically, and English wins ties with it")
    func latinTies() {
        #expect(LanguageDetector.detect("la") == "es")  // fr, es, it list it: a third each
        #expect(LanguageDetector.detect("o") == "it")  // it and pt
        #expect(LanguageDetector.detect("la the") == "en")
        #expect(LanguageDetector.detect("l'eau") == "fr")  // the apostrophe ends "l'", a French word
        #expect(LanguageDetector.detect("ça") == "fr")
        #expect(LanguageDetector.detect("12 + 7") == "und")
    }

    @Test("decisions carry the prompt's language, in JSON too")
    func decisionLanguage() async throws {
        let router = Router(catalog: FixedCatalog(.shipped), detector: TranslationGuard(try RegexIntentDetector(rules: .shipped)))
        let decision = try await router.route("Écris une fonction Python qui trie une liste")
        #expect(decision.language == "fr" && decision.capability == "code")
        let json = String(decoding: try JSONEncoder().encode(decision), as: UTF8.self)
        #expect(json.contains(#""language":"fr""#))
    }

    @Test("the rules know the capabilities' words in the supported languages; the seed's French keywords escalate")
    func multilingualRules() async throws {
        let rules = try RegexIntentDetector(rules: .shipped)
        let cases: [(String, String)] = [
            ("Résume ce texte en trois phrases", "summarize"), ("Extrae todas las fechas de este correo", "extraction"),
            ("Berechne 15 % von 240", "math"), ("Scrivi una poesia sul mare", "creative"),
            ("把这段话翻译成英文", "translation"), ("用Python写一个函数", "code"), ("この記事を要約して", "summarize"),
        ]
        for (prompt, capability) in cases {
            #expect(try await rules.detect(prompt).capability == capability, "\(prompt)")
        }
        // "According to" in French, Spanish, Portuguese and Italian is not a function; a function to write still is.
        for idiom in ["Classe ces avis en fonction de leur ton", "Ordena las ciudades en función de su población",
                      "Classifique os pedidos em função do prazo", "Raggruppa i clienti in funzione della spesa"] {
            #expect(try await rules.detect(idiom).capability != "code", "\(idiom)")
        }
        for request in ["Écris une fonction de tri en Go", "Escribe una función que invierta una cadena",
                        "Crie uma função que some dois números", "Scrivi una funzione che conti le vocali"] {
            #expect(try await rules.detect(request).capability == "code", "\(request)")
        }
        let router = Router(catalog: FixedCatalog(.shipped), detector: rules)
        let decision = try await router.route("Comment optimiser la sécurité de notre API ?")
        #expect(decision.escalated && decision.model == "gpt-oss-20b")
    }
}
