import PointsmanInterfaces
import Synchronization
import VectorMath

/// A bounded in-memory cache of vectors keyed by (embedder fingerprint, text), least recently used out first. Safe
/// to share between concurrent requests; lookups and inserts take one lock for a few dictionary operations.
public final class VectorLRU: Sendable {
    struct Key: Hashable {
        var fingerprint: String
        var text: String
    }

    struct Entry {
        var key: Key
        var vector: [Float]
        var older: Int?
        var newer: Int?
    }

    struct Storage {
        var index: [Key: Int] = [:]
        var entries: [Entry] = []
        var newest: Int?
        var oldest: Int?
        var hits = 0
        var misses = 0

        mutating func unlink(_ slot: Int) {
            let entry = entries[slot]
            if let older = entry.older { entries[older].newer = entry.newer } else { oldest = entry.newer }
            if let newer = entry.newer { entries[newer].older = entry.older } else { newest = entry.older }
            entries[slot].older = nil
            entries[slot].newer = nil
        }

        mutating func makeNewest(_ slot: Int) {
            entries[slot].older = newest
            entries[slot].newer = nil
            if let newest { entries[newest].newer = slot }
            newest = slot
            if oldest == nil { oldest = slot }
        }
    }

    /// Most vectors kept.
    public let capacity: Int
    private let storage = Mutex(Storage())

    /// A cache of at most `capacity` vectors (at least 1).
    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// The cached vector, marked as just used; nil (counted as a miss) when absent.
    public func vector(fingerprint: String, text: String) -> [Float]? {
        storage.withLock { s in
            guard let slot = s.index[Key(fingerprint: fingerprint, text: text)] else {
                s.misses += 1
                return nil
            }
            s.hits += 1
            s.unlink(slot)
            s.makeNewest(slot)
            return s.entries[slot].vector
        }
    }

    /// Stores a vector, evicting the least recently used one when full.
    public func store(_ vector: [Float], fingerprint: String, text: String) {
        let key = Key(fingerprint: fingerprint, text: text)
        storage.withLock { s in
            if let slot = s.index[key] {
                s.entries[slot].vector = vector
                s.unlink(slot)
                s.makeNewest(slot)
                return
            }
            let slot: Int
            if s.entries.count < capacity {
                slot = s.entries.count
                s.entries.append(Entry(key: key, vector: vector))
            } else {
                // Full: the oldest entry's slot is reused.
                guard let oldest = s.oldest else { return }
                slot = oldest
                s.unlink(slot)
                s.index[s.entries[slot].key] = nil
                s.entries[slot] = Entry(key: key, vector: vector)
            }
            s.index[key] = slot
            s.makeNewest(slot)
        }
    }

    /// Vectors held, lookups that found a vector, lookups that did not.
    public var statistics: (count: Int, hits: Int, misses: Int) {
        storage.withLock { ($0.index.count, $0.hits, $0.misses) }
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
