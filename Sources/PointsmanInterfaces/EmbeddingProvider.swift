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
    /// Lead-token pooling: each vector also carries the mean of the first this many tokens (see the native encoder's
    /// `leadTokens`). Absent for plain sentence vectors, which are what every endpoint serves.
    public var leadTokens: Int?
    /// sha256 of a low-rank adapter file merged into the weights (see the native encoder's `adapter`); absent for
    /// the model as published. Vectors of an adapted encoder are only comparable with vectors of the same adapter.
    public var adapter: String?

    /// Creates a fingerprint. A `leadTokens` of 0 means none.
    public init(model: String, dimension: Int, normalized: Bool, weightsHash: String? = nil, endpoint: String? = nil,
                leadTokens: Int? = nil, adapter: String? = nil) {
        self.adapter = adapter
        self.model = model
        self.dimension = dimension
        self.normalized = normalized
        self.weightsHash = weightsHash
        self.endpoint = endpoint
        self.leadTokens = leadTokens == 0 ? nil : leadTokens
    }

    /// Whether vectors of `other` can be compared with vectors of this embedder: same model, dimension, normalisation,
    /// pooling and adapter (or none on both), and the same weights where both know them. The endpoint URL does not
    /// matter: the same model served elsewhere gives the same vectors.
    public func isCompatible(with other: EmbedderFingerprint) -> Bool {
        guard model == other.model, dimension == other.dimension, normalized == other.normalized,
              leadTokens == other.leadTokens, adapter == other.adapter else { return false }
        if let a = weightsHash, let b = other.weightsHash { return a == b }
        return true
    }

    /// A stable one-line identity, usable as a cache key.
    public var key: String {
        "\(model)|\(dimension)|\(normalized ? "norm" : "raw")|\(weightsHash ?? "-")" + (leadTokens.map { "|lead\($0)" } ?? "")
            + (adapter.map { "|adapter\($0)" } ?? "")
    }

    public var description: String {
        "\(model) (\(dimension)-d, \(normalized ? "normalized" : "not normalized")"
            + (weightsHash.map { ", weights \($0.prefix(12))" } ?? "")
            + (leadTokens.map { ", plus the first \($0) tokens" } ?? "")
            + (adapter.map { ", adapter \($0.prefix(12))" } ?? "")
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

/// An embedder that can also pool with lead tokens (see `EmbedderFingerprint.leadTokens`): the native encoder,
/// directly or behind the service's batcher. Endpoints cannot, as they return finished sentence vectors.
public protocol LeadTokenEmbedder: EmbeddingProvider {
    /// The same model pooling with `count` lead tokens (0: plain sentence vectors). Its fingerprint is this one's with
    /// `leadTokens` set to `count`.
    func embedder(leadTokens count: Int) throws -> any EmbeddingProvider
}
