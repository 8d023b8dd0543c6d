import Foundation
@testable import PointsmanCore
import PointsmanInterfaces
import PointsmanTestSupport
import Testing
import VectorMath

/// Records the texts of every embedding call and embeds them with `KeywordEmbedder`.
actor TextLog {
    var calls: [[String]] = []
    func record(_ texts: [String]) { calls.append(texts) }
}

struct RecordingEmbedder: EmbeddingProvider {
    let log = TextLog()
    func fingerprint() async throws -> EmbedderFingerprint { try await KeywordEmbedder().fingerprint() }
    func embed(_ texts: [String]) async throws -> Matrix {
        await log.record(texts)
        return try await KeywordEmbedder().embed(texts)
    }
}

let frenchGlossaryText = """
    # a small French glossary for tests
    @language fr
    @suffix ez er
    @suffix e er
    @suffix s
    écrire\twrite
    un\ta
    poème\tpoem
    sur\ton
    la\tthe
    mer\tsea
    pour\tfor
    moi\tme
    ne\t
    calcul\tsum
    code\tcode
    """

@Suite("Glossary")
struct GlossaryTests {
    func french() throws -> Glossary { try Glossary.parse(frenchGlossaryText, file: "fr.tsv") }

    @Test("a glossary file is read: language, suffix rules in order, entries lowercased")
    func parse() throws {
        let g = try Glossary.parse("@language it\r\n@suffix i o\r\n@suffix a\r\nScrivere\twrite \r\n# note\r\n\r\ngatto\tcat\r\n", file: "it.tsv")
        #expect(g.language == "it")
        #expect(g.suffixes == [.init(strip: "i", append: "o"), .init(strip: "a", append: "")])
        #expect(g.entries == ["scrivere": "write", "gatto": "cat"])
    }

    @Test("a broken glossary file is refused with the line and the problem")
    func refused() {
        func fails(_ text: String, _ message: String) {
            #expect { _ = try Glossary.parse(text, file: "g.tsv") } throws: { "\($0)".contains(message) && "\($0)".contains("g.tsv") }
        }
        fails("a\tb\n", "no @language line")
        fails("@language fr\n", "no entries")
        fails("@language xx\na\tb\n", "@language xx is not")
        fails("@language en\na\tb\n", "@language en is not")
        fails("@language fr\n@language it\na\tb\n", "a second @language")
        fails("@language fr\nbonjour hello\n", "g.tsv:2")
        fails("@language fr\nbonjour\thello\tthere\n", "one tab")
        fails("@language fr\nbon;jour\thello\n", "neither a word")
        fails("@language fr\n-jour\thello\n", "neither a word")
        fails("@language fr\nbon -\thello\n", "neither a word")
        fails("@language fr\n@suffix\na\tb\n", "@suffix needs")
        fails("@language fr\n@prefix re\na\tb\n", "unknown directive @prefix")
    }

    @Test("words are found as written, lowercased, or through the first suffix rule that leads to an entry")
    func lookup() throws {
        let g = try french()
        #expect(g.english(for: "Poème") == "poem")
        #expect(g.english(for: "écrivez") == nil)  // "écriv" + "er" is not an entry
        #expect(g.english(for: "écrire") == "write")
        #expect(g.english(for: "poèmes") == "poem")  // "s" stripped
        #expect(g.english(for: "calcule") == nil)  // "calculer" is no entry, and no rule strips the "e" alone
        #expect(g.english(for: "mers") == "sea")
        #expect(g.english(for: "las") == nil)  // too short for a rule: a word must keep more than two letters
        #expect(g.english(for: "code2s") == nil)  // words with digits are never stemmed
        #expect(g.english(for: "ne") == "")
    }

    @Test("a segmented glossary cuts runs of Han characters into the longest entries, and reads other runs as words")
    func segmented() throws {
        let g = try Glossary.parse("""
            @language zh
            @segment
            翻\tturn
            翻译\ttranslate
            成\tinto
            英文\tEnglish
            这句话\tthis sentence
            用\tuse
            写\twrite
            一首\t
            诗\tpoem
            python\tsnake
            """, file: "zh.tsv")
        #expect(g.segmented)
        #expect(g.gloss("把这句话翻译成英文。") == "把 this sentence translate into English 。")
        #expect(g.gloss("用python写一首诗") == "use snake write poem")
        #expect(g.gloss("写3首诗") == "write 3 首 poem")
        #expect(g.gloss("翻") == "turn")
        // The same entries without @segment read whole words only.
        let unsegmented = Glossary(language: "zh", entries: g.entries)
        #expect(unsegmented.gloss("翻译成英文") == "翻译成英文")
        #expect { _ = try Glossary.parse("@language zh\n@segment yes\n写\twrite\n", file: "z.tsv") } throws: {
            "\($0)".contains("@segment takes no value")
        }
        // A file keeps the flag.
        let data = try JSONEncoder().encode(g)
        #expect(try JSONDecoder().decode(Glossary.self, from: data) == g)
    }

    @Test("a gloss with no word left is no gloss; a huge text is glossed by its two ends, with the same view")
    func emptyAndLong() throws {
        let g = try french()
        let set = GlossarySet(GlossRecipe(mode: .replace, glossaries: [g]))
        #expect(set.gloss("ne ne ne", language: "fr") == nil)
        #expect(set.gloss("ne poème", language: "fr") == "poem")
        let long = String(repeating: "écrire un poème sur la mer pour moi ", count: 1_000) + "calcul final"
        #expect(long.utf8.count > GlossarySet.longText)
        let capped = try #require(set.gloss(long, language: "fr"))
        #expect(capped.utf8.count < g.gloss(long).utf8.count / 2)
        let view = PromptView(headWords: 24, tailWords: 16)
        #expect(view.apply(capped) == view.apply(g.gloss(long)))
    }

    @Test("changing a segmented glossary's entries lets longer entries match")
    func segmentedEdit() throws {
        var g = Glossary(language: "zh", entries: ["翻": "turn"], segmented: true)
        #expect(g.gloss("翻译") == "turn 译")
        g.entries["翻译"] = "translate"
        #expect(g.gloss("翻译") == "translate")
    }

    @Test("phrases gloss their words together, longest first, before single words; partial phrases fall back to words")
    func phrases() throws {
        let g = try Glossary.parse("""
            @language fr
            @suffix s
            en\tin
            fonction\tfunction
            de\tof
            la\tthe
            trie\tsort
            taille\tsize
            peut\tcan
            être\tbe
            aide\thelp
            à\tto
            en  fonction   de\tbased on
            en fonction de la\tbased on the
            peut-être\tmaybe
            à l'aide de\tusing
            est-ce que\t
            """, file: "fr.tsv")
        #expect(g.entries["en fonction de"] == "based on")  // spaces in a phrase are single
        #expect(g.gloss("Trie en fonction de taille") == "sort based on size")
        #expect(g.gloss("Trie EN Fonction de la taille") == "sort based on the size")  // the longest phrase wins
        #expect(g.gloss("Trie en fonction") == "sort in function")  // a phrase cut short is read word by word
        #expect(g.gloss("en fonction des tailles") == "in function des size")  // phrase words are matched exactly
        #expect(g.gloss("Peut-être à l’aide de la taille") == "maybe using the size")  // ’ matches '
        #expect(g.gloss("peut être") == "can be")  // a hyphen in the phrase is not a space in the text
        #expect(g.gloss("Est-ce que la taille ?") == "the size ?")  // a phrase glossed as nothing is dropped
        // A file keeps the phrases and reads them as phrases again.
        let decoded = try JSONDecoder().decode(Glossary.self, from: try JSONEncoder().encode(g))
        #expect(decoded == g)
        #expect(decoded.gloss("à l'aide de la taille") == "using the size")
        // Entries changed in code index their phrases too.
        var edited = g
        edited.entries["la taille"] = "height"
        #expect(edited.gloss("trie la taille") == "sort height")
        #expect(g.gloss("trie la taille") == "sort the size")
    }

    @Test("the first suffix rule that leads to an entry wins")
    func ruleOrder() throws {
        let entries = ["aimer": "love", "aime": "loves"]
        let first = Glossary(language: "fr", entries: entries, suffixes: [.init(strip: "es", append: "er"), .init(strip: "s", append: "")])
        let second = Glossary(language: "fr", entries: entries, suffixes: [.init(strip: "s", append: ""), .init(strip: "es", append: "er")])
        #expect(first.english(for: "aimes") == "love")
        #expect(second.english(for: "aimes") == "loves")
    }

    @Test("a gloss keeps unknown words, numbers and punctuation, and drops words glossed as nothing")
    func gloss() throws {
        let g = try french()
        #expect(g.gloss("Écrire un poème sur la mer, pour moi !") == "write a poem on the sea , for me !")
        #expect(g.gloss("Je ne veux pas 3 poèmes") == "Je veux pas 3 poem")
        #expect(g.gloss("  ") == "")
        #expect(g.gloss("f(x)=2") == "f ( x ) = 2")
    }

    @Test("only prompts in a glossary's language are glossed")
    func byLanguage() throws {
        let set = GlossarySet(GlossRecipe(mode: .blend, glossaries: [try french()]))
        #expect(set.gloss("Écris un poème sur la mer pour moi, s'il te plaît") != nil)
        #expect(set.gloss("Write a poem about the sea for me, please") == nil)
        #expect(set.gloss("Escribe un poema sobre el mar para mí, por favor") == nil)
        #expect(GlossarySet(nil).gloss("Écris un poème sur la mer pour moi") == nil)
    }

    @Test("blend embeds both texts in one call and adds their unit vectors; replace embeds the gloss alone; encoderTexts names the texts embedded")
    func embedModes() async throws {
        let read = ["poem poem", "code", "sum"]
        let glossed: [String?] = ["code", nil, "poem"]
        let blending = RecordingEmbedder()
        let blended = try await GlossarySet(GlossRecipe(mode: .blend, glossaries: [try french()]))
            .embed(read: read, glossed: glossed) { try await blending.embed($0) }
        #expect(await blending.log.calls == [["poem poem", "code", "code", "sum", "poem"]])  // each prompt's texts together
        let unit = try await KeywordEmbedder().embed(["poem poem", "code", "sum", "poem"])
        func sumUnit(_ a: [Float], _ b: [Float]) -> [Float] {
            let s = zip(a, b).map { $0 + $1 }
            let n = s.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return s.map { $0 / n }
        }
        let expected = [sumUnit(unit.row(0), unit.row(1)), unit.row(1), sumUnit(unit.row(2), unit.row(3))]
        for row in 0..<3 {
            for (x, y) in zip(blended.row(row), expected[row]) { #expect(abs(x - y) < 1e-5) }
        }
        let replacing = RecordingEmbedder()
        _ = try await GlossarySet(GlossRecipe(mode: .replace, glossaries: [try french()]))
            .embed(read: read, glossed: glossed) { try await replacing.embed($0) }
        #expect(await replacing.log.calls == [["code", "code", "poem"]])
        let plain = RecordingEmbedder()
        _ = try await GlossarySet(nil).embed(read: read, glossed: [nil, nil, nil]) { try await plain.embed($0) }
        #expect(await plain.log.calls == [read])
        let blend = GlossarySet(GlossRecipe(mode: .blend, glossaries: [try french()]))
        let replace = GlossarySet(GlossRecipe(mode: .replace, glossaries: [try french()]))
        #expect(blend.encoderTexts(read: "as written", glossed: "gloss") == ["as written", "gloss"])
        #expect(replace.encoderTexts(read: "as written", glossed: "gloss") == ["gloss"])
        #expect(blend.encoderTexts(read: "as written", glossed: nil) == ["as written"])
        #expect(replace.encoderTexts(read: "as written", glossed: nil) == ["as written"])
        let blendCalls = await blending.log.calls, replaceCalls = await replacing.log.calls
        #expect([read.indices.flatMap { blend.encoderTexts(read: read[$0], glossed: glossed[$0]) }] == blendCalls)
        #expect([read.indices.flatMap { replace.encoderTexts(read: read[$0], glossed: glossed[$0]) }] == replaceCalls)
    }

    @Test("with a glossary the detector understands a French prompt the encoder cannot read; English is untouched")
    func detector() async throws {
        var glossed = try artifact()
        glossed.gloss = GlossRecipe(mode: .blend, glossaries: [try french()])
        glossed.version = 3
        try glossed.validate(file: "memory")
        let prompt = "écrire un poème pour moi sur la mer"
        let embedder = RecordingEmbedder()
        let with = try await CentroidIntentDetector(centroids: FixedCentroids(glossed), embedder: embedder, fallback: nil).detect(prompt)
        #expect(with.capability == "creative")
        #expect(await embedder.log.calls == [[prompt, "write a poem for me on the sea"]])
        let without = try await CentroidIntentDetector(centroids: FixedCentroids(try artifact()), embedder: KeywordEmbedder(), fallback: nil)
            .detect(prompt)
        #expect(with.confidence > 0.9 && without.confidence < 0.5)
        let english = RecordingEmbedder()
        _ = try await CentroidIntentDetector(centroids: FixedCentroids(glossed), embedder: english, fallback: nil)
            .detect("write a poem for me about the sea")
        #expect(await english.log.calls == [["write a poem for me about the sea"]])
        // A conversation glosses each user turn in its own language.
        let turns = RecordingEmbedder()
        let conversation = try await CentroidIntentDetector(centroids: FixedCentroids(glossed), embedder: turns, fallback: nil)
            .detect(conversation: [ChatMessage(role: .user, content: "code code"), ChatMessage(role: .user, content: prompt)])
        #expect(conversation.capability == "creative")
        #expect(await turns.log.calls == [["code code", prompt, "write a poem for me on the sea"]])
    }

    @Test("training embeds glossed rows as routing does, stores the glossaries, and the file keeps them")
    func training() async throws {
        let dir = TestPaths.temporaryDirectory("gloss")
        try frenchGlossaryText.write(toFile: dir + "/fr.tsv", atomically: true, encoding: .utf8)
        var lines: [String] = []
        for i in 0..<6 {
            lines.append(#"{"text": "code code \#(i)", "label": "code", "group": "c\#(i % 3)"}"#)
            lines.append(#"{"text": "poem poem \#(i)", "label": "creative", "group": "p\#(i % 3)"}"#)
            lines.append(#"{"text": "écrire un poème pour moi sur la mer \#(i)", "label": "creative", "group": "f\#(i % 3)"}"#)
        }
        try lines.joined(separator: "\n").write(toFile: dir + "/d.jsonl", atomically: true, encoding: .utf8)
        try #"{"name": "g", "data": ["d.jsonl"], "k": 1, "gloss": {"files": ["fr.tsv"]}, "prompt_view": {"head_words": 3, "tail_words": 1}}"#
            .write(toFile: dir + "/g.config.json", atomically: true, encoding: .utf8)
        let config = try TrainingConfiguration.load(from: dir + "/g.config.json")
        #expect(config.gloss == .init(files: [dir + "/fr.tsv"], mode: .blend))
        try config.validate()
        let embedder = RecordingEmbedder()
        let trained = try await CentroidTrainer(embedder: embedder, cache: nil).train(config)
        let embedded = await embedder.log.calls.flatMap { $0 }
        // The gloss first, then the prompt view, for the encoder; the view of the prompt as written beside it (blend).
        #expect(embedded.filter { $0.hasPrefix("write a poem … ") }.count == 6)
        #expect(embedded.filter { $0.hasPrefix("écrire un poème … ") }.count == 6)
        // Routing embeds exactly what training embedded for the same prompt.
        let router = RecordingEmbedder()
        _ = try await CentroidIntentDetector(centroids: FixedCentroids(trained), embedder: router, fallback: nil)
            .detect("écrire un poème pour moi sur la mer 4")
        #expect(await router.log.calls == [["écrire un poème … 4", "write a poem … 4"]])
        #expect(embedded.contains("écrire un poème … 4") && embedded.contains("write a poem … 4"))
        #expect(trained.gloss?.mode == .blend && trained.gloss?.glossaries.map(\.language) == ["fr"])
        try trained.write(to: dir + "/g.json")
        let text = try String(contentsOfFile: dir + "/g.json", encoding: .utf8)
        #expect(text.contains("\"version\" : 3"))
        let loaded = try CentroidArtifact.load(from: dir + "/g.json")
        #expect(loaded.gloss == trained.gloss)
        // Two glossaries for one language are refused by name.
        try "@language fr\nchat\tcat\n".write(toFile: dir + "/fr2.tsv", atomically: true, encoding: .utf8)
        var twice = config
        twice.gloss?.files.append(dir + "/fr2.tsv")
        await #expect { _ = try await CentroidTrainer(embedder: KeywordEmbedder(), cache: nil).train(twice) } throws: {
            "\($0)".contains("a second glossary for fr")
        }
    }

    @Test("the language worked out for the gloss is the decision's; without glossaries the router works it out")
    func languageOnce() async throws {
        var glossed = try artifact()
        glossed.gloss = GlossRecipe(mode: .replace, glossaries: [try french()])
        glossed.version = 3
        let detector = CentroidIntentDetector(centroids: FixedCentroids(glossed), embedder: KeywordEmbedder(), fallback: nil)
        let french = "écrire un poème pour moi sur la mer"
        #expect(try await detector.detect(french).language == "fr")
        #expect(try await detector.detect("write code for me").language == "en")
        let plain = CentroidIntentDetector(centroids: FixedCentroids(try artifact()), embedder: KeywordEmbedder(), fallback: nil)
        #expect(try await plain.detect(french).language == nil)
        for d in [detector, plain] {
            let router = Router(catalog: FixedCatalog(.shipped), detector: d)
            #expect(try await router.route(french).language == "fr")
            #expect(try await router.route("write code for me").language == "en")
        }
    }

    @Test("a file stores a glossary's entries as sorted lines, and a line without a tab is refused")
    func entriesInFile() throws {
        let g = try french()
        let json = String(decoding: try JSONEncoder().encode(g), as: UTF8.self)
        #expect(json.contains(#""entries":"calcul\tsum\ncode\tcode\n"#))
        #expect(try JSONDecoder().decode(Glossary.self, from: Data(json.utf8)) == g)
        let broken = #"{"language": "fr", "entries": "chat\tcat\nchien dog\n", "suffixes": []}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Glossary.self, from: Data(broken.utf8)) }
        var changed = g
        changed.entries["chien"] = "dog"
        #expect(String(decoding: try JSONEncoder().encode(changed), as: UTF8.self).contains(#"chien\tdog"#))
    }

    @Test("gloss settings are checked, and files with broken glosses are refused")
    func checks() throws {
        let dir = TestPaths.temporaryDirectory("gloss")
        for (bad, message) in [(#"{"files": []}"#, "gloss.files"), (#"{"files": ["a"], "mode": "mix"}"#, "mix"),
                               (#"{"file": ["a"]}"#, "file")] {
            try #"{"name": "x", "data": ["a.jsonl"], "gloss": \#(bad)}"#.write(toFile: dir + "/bad.config.json", atomically: true, encoding: .utf8)
            #expect { try TrainingConfiguration.load(from: dir + "/bad.config.json").validate() } throws: { "\($0)".contains(message) }
        }
        try #"{"name": "x", "data": ["a.jsonl"], "gloss": {"files": ["a.tsv"], "mode": "replace"}}"#
            .write(toFile: dir + "/ok.config.json", atomically: true, encoding: .utf8)
        #expect(try TrainingConfiguration.load(from: dir + "/ok.config.json").gloss?.mode == .replace)
        var a = try artifact()
        a.gloss = GlossRecipe(mode: .blend, glossaries: [try Glossary.parse(frenchGlossaryText, file: "fr")])
        #expect { try a.validate(file: "x.json") } throws: { "\($0)".contains("gloss needs version 3") }
        a.version = 3
        try a.validate(file: "x.json")
        func refused(_ change: (inout CentroidArtifact) -> Void, _ message: String) {
            var broken = a
            change(&broken)
            #expect { try broken.validate(file: "x.json") } throws: { "\($0)".contains(message) }
        }
        refused({ $0.gloss?.glossaries = [] }, "no glossaries")
        refused({ artifact in
            let first = artifact.gloss!.glossaries[0]
            artifact.gloss?.glossaries.append(first)
        }, "two glossaries for one language")
        refused({ $0.gloss?.glossaries[0].language = "en" }, "en is not")
        refused({ $0.gloss?.glossaries[0].entries = [:] }, "no entries")
    }

    @Test("the shipped French glossary glosses everyday requests and leaves English words and code alone")
    func shippedFrench() throws {
        let g = try Glossary.load(from: TestPaths.repositoryFile("training/glossary/fr.tsv"))
        #expect(g.language == "fr")
        #expect(g.gloss("Écris un poème sur la mer") == "write a poem on the sea")
        #expect(g.gloss("Résume ce texte en trois phrases") .hasPrefix("summarize this text in"))
        #expect(g.gloss("Traduis cette phrase en anglais") == "translate this sentence in English")
        // English words a suffix rule could mistake for French ones, and code, pass through.
        #expect(g.gloss("for f in *.mp3; do echo done") == "for f in * . mp3 ; do echo done")
        // Phrases: "en fonction de" asks for "based on", not a (programming) function.
        let sorted = g.gloss("Classe ces villes en fonction de leur population")
        #expect(sorted.contains("based on") && !sorted.contains("function"))
        #expect(g.gloss("Écris une fonction Python").contains("function"))
    }
}
