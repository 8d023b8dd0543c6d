import PointsmanInterfaces
import VectorMath

/// Serves vectors from the embedding cache, embedding through the base provider only what is missing.
public struct CachedEmbeddingProvider: EmbeddingProvider {
    public let base: any EmbeddingProvider
    public let cache: EmbeddingCache

    public init(base: any EmbeddingProvider, cache: EmbeddingCache) {
        self.base = base
        self.cache = cache
    }

    public func fingerprint() async throws -> EmbedderFingerprint { try await base.fingerprint() }
    public func embed(_ texts: [String]) async throws -> Matrix { try await cache.embed(texts, with: base) }
}
