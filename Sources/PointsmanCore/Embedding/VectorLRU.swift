import Crypto
import Foundation
import PointsmanInterfaces
import Synchronization
import VectorMath

/// A bounded in-memory cache of vectors keyed by (embedder fingerprint, text), least recently used out first. Safe
/// to share between concurrent requests; lookups and inserts take one lock for a few dictionary operations.
public final class VectorLRU: Sendable {
    /// The text is kept as its sha256, so an entry's size does not depend on how long the prompt was.
    struct Key: Hashable {
        var fingerprint: String
        var text: Data

        init(fingerprint: String, text: String) {
            self.fingerprint = fingerprint
            self.text = Data(SHA256.hash(data: Data(text.utf8)))
        }
    }

    /// Most vectors kept.
    public let capacity: Int
    private let storage: Mutex<(lru: LRUStorage<Key, [Float]>, hits: Int, misses: Int)>

    /// A cache of at most `capacity` vectors (at least 1).
    public init(capacity: Int) {
        self.capacity = max(1, capacity)
        storage = Mutex((LRUStorage(capacity: max(1, capacity)), 0, 0))
    }

    /// The cached vector, marked as just used; nil (counted as a miss) when absent.
    public func vector(fingerprint: String, text: String) -> [Float]? {
        storage.withLock { s in
            guard let vector = s.lru.value(for: Key(fingerprint: fingerprint, text: text)) else {
                s.misses += 1
                return nil
            }
            s.hits += 1
            return vector
        }
    }

    /// Stores a vector, evicting the least recently used one when full.
    public func store(_ vector: [Float], fingerprint: String, text: String) {
        storage.withLock { $0.lru.store(vector, for: Key(fingerprint: fingerprint, text: text)) }
    }

    /// Vectors held, lookups that found a vector, lookups that did not.
    public var statistics: (count: Int, hits: Int, misses: Int) {
        storage.withLock { ($0.lru.count, $0.hits, $0.misses) }
    }
}

/// An embedder that answers from a `VectorLRU` and embeds only the texts it misses, in one call to its base.
public struct LRUCachedEmbeddingProvider: EmbeddingProvider {
    public let base: any EmbeddingProvider
    public let cache: VectorLRU
    /// The base's fingerprint key (vectors of differently pooled embedders never mix).
    public let fingerprintKey: String
    private let identity: EmbedderFingerprint

    /// Wraps `base`, whose fingerprint is asked once here.
    public init(base: any EmbeddingProvider, cache: VectorLRU) async throws {
        self.base = base
        self.cache = cache
        identity = try await base.fingerprint()
        fingerprintKey = identity.key
    }

    public func fingerprint() async throws -> EmbedderFingerprint { identity }

    public func embed(_ texts: [String]) async throws -> Matrix {
        var rows: [[Float]?] = texts.map { cache.vector(fingerprint: fingerprintKey, text: $0) }
        // Each missing text is embedded once, however often it appears.
        var missing: [String] = []
        var seen: Set<String> = []
        for (index, text) in texts.enumerated() where rows[index] == nil && seen.insert(text).inserted { missing.append(text) }
        if !missing.isEmpty {
            let computed = try await base.embed(missing)
            var fresh: [String: [Float]] = [:]
            for (row, text) in missing.enumerated() {
                let vector = computed.row(row)
                cache.store(vector, fingerprint: fingerprintKey, text: text)
                fresh[text] = vector
            }
            for index in rows.indices where rows[index] == nil { rows[index] = fresh[texts[index]] }
        }
        let dimension = rows.first??.count ?? identity.dimension
        return try Matrix(rows: texts.count, cols: dimension, values: rows.flatMap { $0 ?? [] })
    }
}

/// A pooling embedder whose pooled views answer from a shared `VectorLRU` (keyed by each view's fingerprint).
public struct LRUCachedLeadTokenEmbedder: LeadTokenEmbedder {
    public let base: any LeadTokenEmbedder
    public let cache: VectorLRU

    public init(base: any LeadTokenEmbedder, cache: VectorLRU) {
        self.base = base
        self.cache = cache
    }

    public func fingerprint() async throws -> EmbedderFingerprint { try await base.fingerprint() }

    public func embed(_ texts: [String]) async throws -> Matrix { try await base.embed(texts) }

    public func embedder(leadTokens count: Int) throws -> any EmbeddingProvider {
        LazyLRUView(base: try base.embedder(leadTokens: count), cache: cache)
    }
}

/// A cached view whose fingerprint is read on first use (making a view cannot suspend).
struct LazyLRUView: EmbeddingProvider {
    let base: any EmbeddingProvider
    let cache: VectorLRU

    func fingerprint() async throws -> EmbedderFingerprint { try await base.fingerprint() }

    func embed(_ texts: [String]) async throws -> Matrix {
        try await LRUCachedEmbeddingProvider(base: base, cache: cache).embed(texts)
    }
}
