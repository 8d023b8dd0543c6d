import Foundation
import MiniLMEncoder
import PointsmanTestSupport
import Testing
import VectorMath

/// One golden item: text, reference token ids, reference embedding.
struct GoldenItem: Sendable {
    var text: String
    var tokenIDs: [Int32]
    var untruncatedIDs: [Int32]?
    var embedding: [Float]?
}

/// The golden files, each read once; a missing or broken file fails the tests that use it, with its name.
enum Golden {
    private static let edgeCaseItems = Result { () throws -> [GoldenItem] in
        let relative = "golden/minilm_golden.json"
        guard let items = try Fixture.jsonObject(relative)["items"] as? [[String: Any]] else {
            throw FixtureError(path: TestPaths.fixture(relative), problem: "no `items` list")
        }
        return try items.map { try item($0, in: relative) }
    }
    private static let trainPromptItems = Result { try lines("golden/tokens_train_prompts.jsonl") }
    private static let embeddingSampleItems = Result { try lines("golden/embeddings_train_sample.jsonl") }

    /// The 29 edge cases with ids and embeddings.
    static func edgeCases() throws -> [GoldenItem] { try edgeCaseItems.get() }
    /// Token ids of 3,960 real prompts.
    static func trainPrompts() throws -> [GoldenItem] { try trainPromptItems.get() }
    /// Ids and embeddings of 200 of them.
    static func embeddingSample() throws -> [GoldenItem] { try embeddingSampleItems.get() }

    private static func lines(_ relative: String) throws -> [GoldenItem] {
        try Fixture.jsonLines(relative).map { try item($0, in: relative) }
    }

    static func item(_ object: [String: Any], in relative: String) throws -> GoldenItem {
        guard let text = object["text"] as? String, let ids = object["token_ids"] as? [NSNumber] else {
            throw FixtureError(path: TestPaths.fixture(relative), problem: "a row lacks `text` or `token_ids`")
        }
        return GoldenItem(
            text: text,
            tokenIDs: ids.map { $0.int32Value },
            untruncatedIDs: (object["token_ids_untruncated"] as? [NSNumber])?.map { $0.int32Value },
            embedding: (object["embedding"] as? [NSNumber])?.map { $0.floatValue })
    }
}

/// The encoder shared by the tests in this target (loading takes a moment).
let sharedEncoder: Result<MiniLMEncoder, EncoderError> = Result { () throws(EncoderError) -> MiniLMEncoder in
    try MiniLMEncoder(configuration: .init(directory: ModelDirectory(path: TestPaths.modelDirectory)))
}

func loadedEncoder() throws -> MiniLMEncoder { try sharedEncoder.get() }

func cosine(_ a: [Float], _ b: [Float]) -> Double {
    var dot = 0.0, na = 0.0, nb = 0.0
    for i in a.indices {
        dot += Double(a[i]) * Double(b[i])
        na += Double(a[i]) * Double(a[i])
        nb += Double(b[i]) * Double(b[i])
    }
    return dot / (na.squareRoot() * nb.squareRoot())
}

func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

@Suite("Tokenizer matches the reference BertTokenizer")
struct TokenizerGoldenTests {
    @Test("29 edge cases: ids, truncation and untruncated ids")
    func edgeCases() throws {
        let tokenizer = try loadedEncoder().tokenizer
        #expect(try Golden.edgeCases().count == 29)
        for item in try Golden.edgeCases() {
            #expect(tokenizer.encode(item.text) == item.tokenIDs, "text: \(item.text.debugDescription)")
            if let full = item.untruncatedIDs {
                #expect(tokenizer.encode(item.text, truncate: false) == full, "untruncated: \(item.text.prefix(40))")
                #expect(item.tokenIDs.count == 256)
            }
        }
    }

    @Test("3,960 real training prompts")
    func trainPrompts() throws {
        let tokenizer = try loadedEncoder().tokenizer
        #expect(try Golden.trainPrompts().count == 3960)
        var mismatches: [String] = []
        for item in try Golden.trainPrompts() where tokenizer.encode(item.text) != item.tokenIDs {
            mismatches.append(item.text)
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches, first: \(mismatches.prefix(3))")
    }

    @Test("WordPiece pieces carry ## and unknown words become [UNK]")
    func wordPieces() throws {
        let tokenizer = try loadedEncoder().tokenizer
        #expect(tokenizer.tokenize("unaffable") == ["una", "##ffa", "##ble"])
        #expect(tokenizer.tokenize(String(repeating: "x", count: 101)) == ["[UNK]"])
        #expect(tokenizer.tokenize("Hello, WORLD!") == ["hello", ",", "world", "!"])
    }
}

@Suite("Embeddings match the sentence-transformers reference")
struct EmbeddingGoldenTests {
    static let minimumCosine = 0.99999
    static let maximumDifference: Float = 1e-4

    func check(_ items: [GoldenItem], batchSize: Int) async throws {
        let base = try loadedEncoder()
        var configuration = base.configuration
        configuration.batchSize = batchSize
        let encoder = try MiniLMEncoder(configuration: configuration)
        let withVectors = items.filter { $0.embedding != nil }
        #expect(!withVectors.isEmpty)
        if batchSize == 1 {
            for item in withVectors {
                let vector = try await encoder.embed([item.text]).row(0)
                let reference = item.embedding!
                #expect(cosine(vector, reference) >= Self.minimumCosine, "\(item.text.prefix(40))")
                #expect(maxAbsDifference(vector, reference) <= Self.maximumDifference, "\(item.text.prefix(40))")
            }
        } else {
            let vectors = try await encoder.embed(withVectors.map(\.text))
            #expect(vectors.rows == withVectors.count)
            for (row, item) in withVectors.enumerated() {
                let vector = vectors.row(row)
                #expect(cosine(vector, item.embedding!) >= Self.minimumCosine, "\(item.text.prefix(40))")
                #expect(maxAbsDifference(vector, item.embedding!) <= Self.maximumDifference, "\(item.text.prefix(40))")
            }
        }
    }

    @Test("edge cases, one at a time") func edgeCasesSingle() async throws { try await check(try Golden.edgeCases(), batchSize: 1) }
    @Test("edge cases, batched") func edgeCasesBatched() async throws { try await check(try Golden.edgeCases(), batchSize: 8) }
    @Test("200 training prompts, one at a time") func sampleSingle() async throws { try await check(try Golden.embeddingSample(), batchSize: 1) }
    @Test("200 training prompts, batched by 32") func sampleBatched() async throws { try await check(try Golden.embeddingSample(), batchSize: 32) }

    @Test("fingerprint names the model, dimension, normalisation and weights hash")
    func fingerprint() async throws {
        let print = try await loadedEncoder().fingerprint()
        #expect(print.model == "all-MiniLM-L6-v2")
        #expect(print.dimension == 384)
        #expect(print.normalized)
        #expect(print.weightsHash == ModelDirectory.miniLMHashes[ModelDirectory.weightsFile])
    }
}

@Suite("Lead-token pooling for routing vectors")
struct LeadTokenPoolingTests {
    @Test("a lead-2 vector is the unit mean of the last layer plus the unit mean of its first two text tokens")
    func leadVectorFromHiddenStates() async throws {
        let plain = try loadedEncoder()
        let lead = try plain.withLeadTokens(2)
        let texts = ["Summarize this article about rivers in two sentences", "hi", ""]
        let vectors = try await lead.embed(texts)
        for (row, text) in texts.enumerated() {
            let ids = plain.tokenizer.encode(text)
            let hidden = try plain.model.hiddenStates([ids])
            let width = hidden.cols
            func unit(_ v: [Float]) -> [Float] {
                let n = max(v.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
                return v.map { $0 / n }
            }
            var mean = [Float](repeating: 0, count: width)
            for r in 0..<hidden.rows { for j in 0..<width { mean[j] += hidden.row(r)[j] / Float(hidden.rows) } }
            let textTokens = min(2, ids.count - 2)
            var expected = unit(mean)
            if textTokens > 0 {
                var head = [Float](repeating: 0, count: width)
                for r in 1...textTokens { for j in 0..<width { head[j] += hidden.row(r)[j] } }
                expected = unit(zip(expected, unit(head)).map { $0 + $1 })
            }
            #expect(maxAbsDifference(vectors.row(row), expected) < 1e-5, "\(text)")
        }
        // The plain vectors are untouched (the reference's), and differ from the lead vectors for real text.
        let plainVectors = try await plain.embed(texts)
        #expect(maxAbsDifference(plainVectors.row(0), vectors.row(0)) > 0.01)
        #expect(try await lead.withLeadTokens(0).embed(texts) == plainVectors)
    }

    @Test("the fingerprint records the lead tokens, and plain and lead vectors never count as comparable")
    func fingerprint() async throws {
        let plain = try loadedEncoder()
        let lead = try plain.withLeadTokens(2)
        #expect(plain.currentFingerprint.leadTokens == nil)
        #expect(lead.currentFingerprint.leadTokens == 2)
        #expect(lead.currentFingerprint.weightsHash == plain.currentFingerprint.weightsHash)
        #expect(!lead.currentFingerprint.isCompatible(with: plain.currentFingerprint))
        #expect(lead.currentFingerprint.key != plain.currentFingerprint.key)
        #expect(lead.currentFingerprint.description.contains("first 2 tokens"))
        #expect(throws: EncoderError.self) { try plain.withLeadTokens(-1) }
    }
}
