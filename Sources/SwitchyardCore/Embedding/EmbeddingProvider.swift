import VectorMath

/// What identifies the vectors an embedder produces. Centroids trained with one fingerprint are never compared with
/// vectors of another.
public struct EmbedderFingerprint: Sendable, Codable, Equatable, Hashable, CustomStringConvertible {
    /// Model name, e.g. `all-MiniLM-L6-v2`, or the endpoint's model id.
    public var model: String
    /// Vector length.
    public var dimension: Int
    /// Whether vectors come L2-normalised.
    public var normalized: Bool
    /// sha256 of the weights, when the weights are local.
    public var weightsHash: String?
    /// The endpoint's base URL, when vectors come over HTTP.
    public var endpoint: String?

    /// Creates a fingerprint.
    public init(model: String, dimension: Int, normalized: Bool, weightsHash: String? = nil, endpoint: String? = nil) {
        self.model = model
        self.dimension = dimension
        self.normalized = normalized
        self.weightsHash = weightsHash
        self.endpoint = endpoint
    }

    /// Whether vectors of `other` can be compared with vectors of this embedder: same model, dimension and
    /// normalisation, and the same weights where both know them. The endpoint URL does not matter: the same model
    /// served elsewhere gives the same vectors.
    public func isCompatible(with other: EmbedderFingerprint) -> Bool {
        guard model == other.model, dimension == other.dimension, normalized == other.normalized else { return false }
        if let a = weightsHash, let b = other.weightsHash { return a == b }
        return true
    }

    /// A stable one-line identity, usable as a cache key.
    public var key: String {
        "\(model)|\(dimension)|\(normalized ? "norm" : "raw")|\(weightsHash ?? "-")"
    }

    public var description: String {
        "\(model) (\(dimension)-d, \(normalized ? "normalized" : "not normalized")"
            + (weightsHash.map { ", weights \($0.prefix(12))" } ?? "")
            + (endpoint.map { ", via \($0)" } ?? "") + ")"
    }
}

/// Something that turns texts into vectors: the native encoder, or an OpenAI-compatible `/v1/embeddings` endpoint.
public protocol EmbeddingProvider: Sendable {
    /// The identity of the vectors this provider returns.
    func fingerprint() async throws -> EmbedderFingerprint
    /// One row per text, in input order.
    func embed(_ texts: [String]) async throws -> Matrix
}
