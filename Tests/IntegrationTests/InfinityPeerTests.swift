import Foundation
import MiniLMEncoder
import OpenAIClient
import PointsmanCore
import PointsmanTestSupport
import Testing
import VectorMath

func goldenItems() throws -> [(text: String, embedding: [Float])] {
    try Fixture.goldenEdgeCaseEmbeddings()
}

func cosine(_ a: [Float], _ b: [Float]) -> Double {
    var dot = 0.0, na = 0.0, nb = 0.0
    for i in a.indices {
        dot += Double(a[i]) * Double(b[i]); na += Double(a[i] * a[i]); nb += Double(b[i] * b[i])
    }
    return dot / (na.squareRoot() * nb.squareRoot())
}

@Suite("Against the real infinity-emb peer (all-MiniLM-L6-v2)", .serialized)
struct InfinityPeerTests {
    @Test("remote embeddings, float and base64, match the golden vectors and the native encoder")
    func embeddings() async throws {
        let url = try Peers.infinity()
        let client = try OpenAIClient(configuration: .init(baseURL: url, embeddingBatchSize: 8))
        let items = try goldenItems().filter { !$0.text.isEmpty }
        let floats = try await client.embeddings(items.map(\.text), model: "all-MiniLM-L6-v2", encoding: .float)
        let base64 = try await client.embeddings(items.map(\.text), model: "all-MiniLM-L6-v2", encoding: .base64)
        let remote = RemoteEmbeddingProvider(client: client, model: "all-MiniLM-L6-v2")
        let print = try await remote.fingerprint()
        try await client.shutdown()
        for (index, item) in items.enumerated() {
            #expect(cosine(floats[index], item.embedding) > 0.9999, "\(item.text.prefix(30))")
            #expect(base64[index] == floats[index])
        }
        // The remote vectors are interchangeable with the native encoder's.
        let native = try MiniLMEncoder(configuration: .init(directory: ModelDirectory(path: TestPaths.modelDirectory)))
        #expect(print.isCompatible(with: native.currentFingerprint))
        #expect(print.dimension == 384 && print.normalized)
        #expect(print.endpoint == url)
    }

    @Test("routing through the peer: the sentence-vector centroids fit it, the lead-token ones are refused by name")
    func routingThroughThePeer() async throws {
        let url = try Peers.infinity()
        let client = try OpenAIClient(configuration: .init(baseURL: url, embeddingBatchSize: 8))
        let remote = RemoteEmbeddingProvider(client: client, model: "all-MiniLM-L6-v2")
        do {
            let print = try await remote.fingerprint()
            let sentence = try CentroidArtifact.load(from: TestPaths.repositoryFile("centroids/tasks-sentence.json"))
            try sentence.checkCompatible(with: print, file: "tasks-sentence.json")
            let detector = CentroidIntentDetector(centroids: FixedCentroids(sentence), embedder: remote, fallback: nil)
            let decisions = try await detector.detect(batch: [
                "Write a Python function that merges two sorted lists", "Translate 'good morning' into Spanish",
                "What is 12% of 250?",
            ])
            #expect(decisions.map(\.capability) == ["code", "translation", "math"])
            #expect(decisions.allSatisfy { $0.method == .embedding })
            let lead = try CentroidArtifact.load(from: TestPaths.repositoryFile("centroids/tasks.json"))
            #expect(lead.embedder.leadTokens == 2)
            #expect {
                try lead.checkCompatible(with: print, file: "tasks.json")
            } throws: { error in
                "\(error)".contains("first 2 tokens")
            }
        } catch {
            try await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }
}
