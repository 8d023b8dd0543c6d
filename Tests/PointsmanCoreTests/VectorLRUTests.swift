import Foundation
import PointsmanCore
import PointsmanInterfaces
import Testing
import VectorMath

/// An embedder that counts the texts it is asked for and returns a vector derived from each text.
final class CountingEmbedder: EmbeddingProvider, @unchecked Sendable {
    private let lock = NSLock()
    private var asked: [String] = []
    let leadTokens: Int?

    init(leadTokens: Int? = nil) { self.leadTokens = leadTokens }

    var texts: [String] { lock.withLock { asked } }

    func fingerprint() async throws -> EmbedderFingerprint {
        EmbedderFingerprint(model: "counting", dimension: 2, normalized: false, leadTokens: leadTokens)
    }

    func embed(_ texts: [String]) async throws -> Matrix {
        lock.withLock { asked += texts }
        return try Matrix(rows: texts.count, cols: 2, values: texts.flatMap { [Float($0.count), Float(leadTokens ?? 0)] })
    }
}

@Suite("Routing-vector LRU")
struct VectorLRUTests {
    @Test("least recently used out first; a lookup refreshes; hits and misses are counted")
    func eviction() {
        let cache = VectorLRU(capacity: 2)
        cache.store([1], fingerprint: "f", text: "a")
        cache.store([2], fingerprint: "f", text: "b")
        #expect(cache.vector(fingerprint: "f", text: "a") == [1])  // a is now the most recent
        cache.store([3], fingerprint: "f", text: "c")               // evicts b
        #expect(cache.vector(fingerprint: "f", text: "b") == nil)
        #expect(cache.vector(fingerprint: "f", text: "a") == [1])
        #expect(cache.vector(fingerprint: "f", text: "c") == [3])
        #expect(cache.vector(fingerprint: "g", text: "a") == nil)   // another embedder's vectors never match
        let stats = cache.statistics
        #expect(stats.count == 2 && stats.hits == 3 && stats.misses == 2)
        // Many more than the capacity: the size stays bounded and the newest are kept.
        for i in 0..<1000 { cache.store([Float(i)], fingerprint: "f", text: "t\(i)") }
        #expect(cache.statistics.count == 2)
        #expect(cache.vector(fingerprint: "f", text: "t999") == [999] && cache.vector(fingerprint: "f", text: "t998") == [998])
    }

    @Test("a cached embedder embeds only what it has not seen, returns rows in order, and keeps poolings apart")
    func provider() async throws {
        let base = CountingEmbedder(leadTokens: 2)
        let cache = VectorLRU(capacity: 100)
        let cached = try await LRUCachedEmbeddingProvider(base: base, cache: cache)
        let first = try await cached.embed(["hello", "longer text", "hello"])
        #expect(first.values == [5, 2, 11, 2, 5, 2])
        let second = try await cached.embed(["longer text", "new", "hello"])
        #expect(second.values == [11, 2, 3, 2, 5, 2])
        #expect(base.texts == ["hello", "longer text", "new"])
        let other = try await LRUCachedEmbeddingProvider(base: CountingEmbedder(leadTokens: 0), cache: cache)
        #expect(try await other.embed(["hello"]).values == [5, 0])
    }
}
