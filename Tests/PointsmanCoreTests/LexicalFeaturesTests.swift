import Foundation
@testable import PointsmanCore
import PointsmanInterfaces
import PointsmanTestSupport
import Testing
import VectorMath

/// An embedder that cannot tell prompts apart: every text gets the same vector.
struct ConstantEmbedder: EmbeddingProvider {
    func fingerprint() async throws -> EmbedderFingerprint {
        EmbedderFingerprint(model: "constant", dimension: 2, normalized: true, weightsHash: "c1")
    }

    func embed(_ texts: [String]) async throws -> Matrix {
        try Matrix(rowVectors: texts.map { _ in [0.6, 0.8] })
    }
}

@Suite("Lexical features")
struct LexicalFeaturesTests {
    @Test("terms are lowercased words of two or more letters or digits, then adjacent word pairs")
    func terms() {
        #expect(LexicalFeatures.terms(of: "Translate THIS, please!") ==
                ["translate", "this", "please", "translate this", "this please"])
        #expect(LexicalFeatures.terms(of: "Write a poem") == ["write", "poem", "write poem"])
        #expect(LexicalFeatures.terms(of: "x") == [])
        #expect(LexicalFeatures.terms(of: "Résumé 2024") == ["résumé", "2024", "résumé 2024"])
    }

    @Test("the vocabulary keeps terms in enough rows, most frequent first, with smoothed idf")
    func fit() {
        let texts = ["translate this text", "translate that text", "summarize this text", "a poem"]
        let features = LexicalFeatures.fit(texts, weight: 1, maxTerms: 3, minDocumentFrequency: 2)
        // df: text 3, then "this", "this text" and "translate" 2 each (ties by name); "poem" and the other pairs are in
        // one row only.
        #expect(features.terms == ["text", "this", "this text"])
        let n: Float = 4
        #expect(abs(features.idf[0] - (Foundation.log((1 + n) / (1 + 3)) + 1)) < 1e-6)
        #expect(abs(features.idf[1] - (Foundation.log((1 + n) / (1 + 2)) + 1)) < 1e-6)
        #expect(LexicalFeatures.fit(texts, weight: 1, maxTerms: 100, minDocumentFrequency: 2).terms ==
                ["text", "this", "this text", "translate"])
    }

    @Test("a text's vector is its tf-idf, normalised and weighted; unknown words give zeros")
    func vector() {
        let features = LexicalFeatures(weight: 2, terms: ["translate", "poem"], idf: [1, 3])
        let v = features.vector("Translate translate this poem")
        // tf: translate 1 + ln 2, poem 1; times idf 1 and 3; then scaled to length 2.
        let raw: [Float] = [1 + Foundation.log(2), 3]
        let norm = (raw[0] * raw[0] + raw[1] * raw[1]).squareRoot()
        #expect(abs(v[0] - 2 * raw[0] / norm) < 1e-5)
        #expect(abs(v[1] - 2 * raw[1] / norm) < 1e-5)
        #expect(features.vector("nothing known here") == [0, 0])
    }

    @Test("routing vectors are the unit embedding followed by the word vector, normalised")
    func augment() throws {
        let features = LexicalFeatures(weight: 1, terms: ["poem"], idf: [1])
        let rows = try features.augment(try Matrix(rowVectors: [[3, 4], [3, 4]]), texts: ["a poem", "a story"])
        #expect(rows.cols == 3)
        let s = Float(0.5).squareRoot()
        #expect(zip(rows.row(0), [0.6 * s, 0.8 * s, s]).allSatisfy { abs($0 - $1) < 1e-6 })
        #expect(zip(rows.row(1), [0.6, 0.8, 0]).allSatisfy { abs($0 - $1) < 1e-6 })
        #expect(throws: VectorMathError.self) { try features.augment(try Matrix(rowVectors: [[1, 0]]), texts: []) }
    }

    @Test("a text's weighted terms are the nonzero entries of its vector, in column order")
    func weightedTerms() throws {
        let artifact = try CentroidArtifact.load(from: TestPaths.repositoryFile("centroids/tasks.json"))
        let lexical = try #require(artifact.lexical)
        for text in ["Résume ce texte en trois phrases", "把这段话翻译成英文", "zzzz qqqq", "?! …", ""] {
            // The definition, written out: sublinear counts of the known terms times their idf, scaled to `weight`.
            var counts: [Int: Int] = [:]
            for term in lexical.terms(of: text) { if let column = lexical.terms.firstIndex(of: term) { counts[column, default: 0] += 1 } }
            let raw = counts.mapValues { (1 + Foundation.log(Float($0))) }.map { ($0.key, $0.value * lexical.idf[$0.key]) }
            let norm = raw.reduce(Float(0)) { $0 + $1.1 * $1.1 }.squareRoot()
            let sparse = lexical.weightedTerms(text)
            #expect(sparse.map(\.column) == counts.keys.sorted())
            for (column, value) in raw {
                let entry = sparse.first { $0.column == column }
                #expect(abs((entry?.value ?? -1) - value / norm * lexical.weight) < 1e-5)
            }
            let dense = lexical.vector(text)
            #expect(dense.count == lexical.terms.count && dense.indices.filter { dense[$0] != 0 } == counts.keys.sorted())
        }
        // No word at all: no term, where the dense vector is all zeros.
        #expect(lexical.weightedTerms("?! …").isEmpty && lexical.weightedTerms("").isEmpty)
        #expect(!lexical.weightedTerms("Résume ce texte").isEmpty)
    }

    @Test("scoring prompts part by part gives the one-pass scores of their routing vectors")
    func splitScoring() throws {
        // The shipped task router: embeddings followed by 8,192 word and character n-gram columns.
        let artifact = try CentroidArtifact.load(from: TestPaths.repositoryFile("centroids/tasks.json"))
        let classifier = CentroidClassifier(artifact: artifact)
        let texts = ["Summarize the following email thread in three bullet points for my manager",
                     "Écris un poème sur la mer", "请把这段话翻译成英文", "?! …", "Solve 3x + 5 = 20", ""]
        var generator = SeededGenerator(seed: 11)
        var values = (0..<(texts.count * artifact.embedder.dimension)).map { _ in Float.random(in: -1...1, using: &generator) }
        // One prompt with an all-zero embedding: only its words count.
        for c in 0..<artifact.embedder.dimension { values[4 * artifact.embedder.dimension + c] = 0 }
        let embeddings = try Matrix(rows: texts.count, cols: artifact.embedder.dimension, values: values)
        #expect(classifier.scoresByParts)
        let split = try classifier.score(embeddings, texts: texts)
        let onePass = try classifier.score(routingVectors: try classifier.routingVectors(embeddings, texts: texts))
        // One prompt at a time too, as the service scores them (sgemv for the embedding's columns).
        let single = try texts.indices.map { try classifier.score(embeddings.rows([$0]), texts: [texts[$0]])[0] }
        #expect(split.count == texts.count)
        for (a, b) in zip(split + single, onePass + onePass) {
            #expect(a.label == b.label)
            #expect(abs(a.confidence - b.confidence) < 1e-4)
            #expect(abs(a.margin - b.margin) < 1e-5)
            #expect(zip(a.labelCosines, b.labelCosines).allSatisfy { abs($0 - $1) < 1e-5 })
        }
        // The words do move the scores: the same embeddings without them score differently.
        let noWords = try classifier.score(embeddings, texts: texts.map { _ in "" })
        #expect(zip(split, noWords).contains { abs($0.labelCosines[0] - $1.labelCosines[0]) > 1e-3 })
        #expect(throws: VectorMathError.self) { try classifier.score(embeddings, texts: Array(texts.dropLast())) }
    }

    @Test("when the embeddings cannot separate the labels, the words do: training and routing use them")
    func wordsSeparate() async throws {
        let dir = TestPaths.temporaryDirectory("lexical")
        var lines: [String] = []
        for i in 0..<12 {
            lines.append(#"{"text": "translate sentence \#(i) please", "label": "translation", "group": "t\#(i % 3)"}"#)
            lines.append(#"{"text": "summarize report \#(i) please", "label": "summarize", "group": "s\#(i % 3)"}"#)
        }
        try lines.joined(separator: "\n").write(toFile: dir + "/d.jsonl", atomically: true, encoding: .utf8)
        var config = TrainingConfiguration(name: "words", data: [dir + "/d.jsonl"], k: 1, seed: 3,
                                           refinement: .init(scale: 10, epochs: 20, learningRate: 0.05, batchSize: 8))
        config.lexical = .init(weight: 1, maxTerms: 50, minDocumentFrequency: 2)
        let artifact = try await CentroidTrainer(embedder: ConstantEmbedder(), cache: nil).train(config)
        let lexical = try #require(artifact.lexical)
        #expect(lexical.terms.contains("translate") && lexical.terms.contains("summarize"))
        #expect(artifact.centroids.cols == 2 + lexical.terms.count)
        try artifact.validate(file: "memory")
        #expect(artifact.validation?.accuracy == 1)
        let detector = CentroidIntentDetector(centroids: FixedCentroids(artifact), embedder: ConstantEmbedder(), fallback: nil)
        let decisions = try await detector.detect(batch: ["please translate this", "summarize it please"])
        #expect(decisions.map(\.capability) == ["translation", "summarize"])
        // A conversation blends its turns' words as well as their embeddings.
        let conversation = try await detector.detect(conversation: [
            ChatMessage(role: .user, content: "summarize the report"),
            ChatMessage(role: .assistant, content: "Done."),
            ChatMessage(role: .user, content: "now translate it please"),
        ])
        #expect(conversation.capability == "translation")
        // Without the words, the same data cannot be learned: every prompt looks alike.
        config.lexical = nil
        let blind = try await CentroidTrainer(embedder: ConstantEmbedder(), cache: nil).train(config)
        let blindDecisions = try await CentroidIntentDetector(centroids: FixedCentroids(blind), embedder: ConstantEmbedder(),
                                                              fallback: nil).detect(batch: ["please translate this", "summarize it please"])
        #expect(blindDecisions[0].capability == blindDecisions[1].capability)
    }

    @Test("lexical settings are read from config files and checked")
    func configuration() throws {
        let dir = TestPaths.temporaryDirectory("lexical")
        try #"{"name": "x", "data": ["a.jsonl"], "lexical": {"weight": 1.5, "max_terms": 100}}"#
            .write(toFile: dir + "/ok.config.json", atomically: true, encoding: .utf8)
        let ok = try TrainingConfiguration.load(from: dir + "/ok.config.json")
        #expect(ok.lexical == .init(weight: 1.5, maxTerms: 100, minDocumentFrequency: 2))
        try #"{"name": "x", "data": ["a.jsonl"], "lexical": {"wieght": 1}}"#
            .write(toFile: dir + "/typo.config.json", atomically: true, encoding: .utf8)
        #expect { _ = try TrainingConfiguration.load(from: dir + "/typo.config.json") } throws: { "\($0)".contains("wieght") }
        for bad in [#"{"weight": 0}"#, #"{"max_terms": 0}"#, #"{"min_df": 0}"#] {
            try #"{"name": "x", "data": ["a.jsonl"], "lexical": \#(bad)}"#
                .write(toFile: dir + "/bad.config.json", atomically: true, encoding: .utf8)
            #expect(throws: DatasetError.self) { try TrainingConfiguration.load(from: dir + "/bad.config.json").validate() }
        }
        var both = ok
        both.refinement?.linearMap = true
        #expect { try both.validate() } throws: { "\($0)".contains("cannot be combined") }
    }

    @Test("centroid files keep the word features, and inconsistent ones are refused by name")
    func files() throws {
        let dir = TestPaths.temporaryDirectory("lexical")
        var a = try artifact()
        a.lexical = LexicalFeatures(weight: 1.5, terms: ["translate", "poem"], idf: [1.2, 2.5])
        a.centroids = try Matrix(rowVectors: a.centroids.rowVectors.map { $0 + [0, 0] })
        try a.write(to: dir + "/lex.json")
        #expect(try CentroidArtifact.load(from: dir + "/lex.json") == a)
        try artifact().write(to: dir + "/plain.json")
        #expect(!(try String(contentsOfFile: dir + "/plain.json", encoding: .utf8)).contains("lexical"))
        func refused(_ change: (inout CentroidArtifact) -> Void, _ message: String) {
            var broken = a
            change(&broken)
            #expect { try broken.validate(file: "x.json") } throws: { "\($0)".contains(message) }
        }
        refused({ $0.lexical?.idf = [1] }, "idf has 1 values for 2 terms")
        refused({ $0.lexical?.terms = ["poem", "poem"] }, "empty or repeated")
        refused({ $0.lexical?.idf = [1, -1] }, "idf values")
        refused({ $0.lexical?.weight = 0 }, "weight")
        refused({ $0.lexical = LexicalFeatures(weight: 1, terms: ["a", "b", "c"], idf: [1, 1, 1]) }, "expected 7 (dimension 4 + 3 lexical terms)")
        refused({ $0.linearMap = Matrix(rows: 4, cols: 4) }, "cannot be combined")
    }
}

@Suite("Word features: character n-grams")
struct CharacterNGramTests {
    @Test("character n-grams give text without spaces terms, and match across inflections")
    func grams() {
        let chinese = LexicalFeatures.terms(of: "翻译成英文", characterNGrams: [2])
        #expect(chinese.contains("#翻译") && chinese.contains("#英文"))
        let french = Set(LexicalFeatures.terms(of: "traduis traduire", characterNGrams: [3]))
        #expect(french.contains("#tra") && french.contains("#rad") && french.contains("#adu"))
        // Without n-grams the terms are exactly the words and pairs, as before.
        #expect(LexicalFeatures.terms(of: "traduis traduire", characterNGrams: []) == ["traduis", "traduire", "traduis traduire"])
    }

    @Test("a vocabulary with n-grams keeps them through its file form")
    func roundTrip() throws {
        let fitted = LexicalFeatures.fit(["翻译成英文", "翻译成法文", "写一首诗"], weight: 1, maxTerms: 50, minDocumentFrequency: 2,
                                         characterNGrams: [2])
        #expect(fitted.terms.contains("#翻译"))
        let decoded = try JSONDecoder().decode(LexicalFeatures.self, from: JSONEncoder().encode(fitted))
        #expect(decoded == fitted && decoded.characterNGrams == [2])
        #expect(decoded.vector("翻译成中文").contains { $0 > 0 })
    }
}
