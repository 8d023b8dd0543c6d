/// Which detector decides a prompt's capability.
public enum DetectorKind: String, Sendable, Codable, CaseIterable {
    /// The regex rules only.
    case regex
    /// The centroids only (with an abstain label, they may abstain).
    case embedding
    /// The centroids, with the rules deciding when the embedder fails or a centroid is unsure.
    case hybrid
}
