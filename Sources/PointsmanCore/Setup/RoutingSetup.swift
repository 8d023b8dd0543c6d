import Crypto
import Foundation
import PointsmanInterfaces

/// The one place that turns a catalog, rules, an optional centroid file and an embedder into ready routers. The CLI,
/// the evaluator and the service all build their routers here, so lead-token pooling and the embedder compatibility
/// check happen the same way everywhere.
public struct RoutingSetup: Sendable {
    /// How detectors built here behave.
    public struct Options: Sendable, Equatable {
        /// Below a centroid's threshold (hybrid), how many of the centroids' best capabilities the rules may choose
        /// from (`Int.max`: any matching rule).
        public var ruleCandidates: Int
        /// Longest wait for one embedder call.
        public var embedTimeout: Duration
        /// Most prompts per embedder call.
        public var maxBatch: Int
        /// Keep prompts that ask for no translation away from `translation` (see `TranslationGuard`).
        public var translationGuard: Bool

        public init(ruleCandidates: Int = CentroidIntentDetector.defaultRuleCandidates,
                    embedTimeout: Duration = .seconds(5), maxBatch: Int = 64, translationGuard: Bool = true) {
            self.ruleCandidates = ruleCandidates
            self.embedTimeout = embedTimeout
            self.maxBatch = maxBatch
            self.translationGuard = translationGuard
        }
    }

    /// The catalog.
    public let catalog: Catalog
    /// The regex rules: a detector of their own, and the hybrid's fallback.
    public let rules: RegexIntentDetector
    /// The centroid file's contents, when one is loaded.
    public let centroids: CentroidArtifact?
    /// Where the centroids came from, for messages.
    public let centroidsFile: String?
    /// The embedder, pooled as the centroid file says; nil without centroids or embedder.
    public let embedder: (any EmbeddingProvider)?
    /// Whether the embedder answered when the set-up checked its fingerprint (a remote endpoint may be down; the
    /// hybrid detector then falls back to the rules request by request).
    public let embedderReachable: Bool
    /// Detector options.
    public let options: Options
    /// A short hash of what was loaded (catalog, rules, centroids): the routing table's version, which changes when
    /// any of them does and not when a file is only rewritten unchanged.
    public let version: String

    /// A set-up from values already loaded. `embedder` must already match `centroids` (see `prepare`).
    public init(catalog: Catalog, rules: RegexIntentDetector, centroids: CentroidArtifact? = nil,
                centroidsFile: String? = nil, embedder: (any EmbeddingProvider)? = nil, embedderReachable: Bool = true,
                options: Options = Options()) {
        self.catalog = catalog
        self.rules = rules
        self.centroids = centroids
        self.centroidsFile = centroidsFile
        self.embedder = embedder
        self.embedderReachable = embedderReachable
        self.options = options
        version = Self.version(catalog: catalog, rules: rules.ruleSet, centroids: centroids)
    }

    /// The first 12 hex digits of a sha256 over the canonical JSON of the catalog, the rules and the centroids.
    public static func version(catalog: Catalog, rules: RegexRuleSet, centroids: CentroidArtifact?) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var hasher = SHA256()
        for part in [try? encoder.encode(catalog), try? encoder.encode(rules), try? centroids.map(encoder.encode)] {
            // A length prefix keeps the parts apart; a part that cannot be encoded still counts as present.
            let bytes = part ?? Data()
            hasher.update(data: Data(String(bytes.count).utf8 + [0x1f]))
            hasher.update(data: bytes)
        }
        return hasher.finalize().prefix(6).map { String(format: "%02x", $0) }.joined()
    }

    /// Loads and validates every file, then prepares `embedder` for the centroid file. Any invalid file is an error
    /// naming it; nothing is half-loaded.
    public static func load(_ files: RoutingFiles, embedder: (any EmbeddingProvider)?, options: Options = Options())
        async throws -> RoutingSetup
    {
        let catalog = try files.catalog.map { try Catalog.load(from: $0) } ?? .shipped
        let rules = try files.rules.map { try RegexIntentDetector(rules: RegexRuleSet.load(from: $0), file: $0) }
            ?? RegexIntentDetector(rules: .shipped, file: "<shipped rules>")
        guard let path = files.centroids else {
            return RoutingSetup(catalog: catalog, rules: rules, options: options)
        }
        let artifact = try CentroidArtifact.load(from: path)
        var prepared: (embedder: any EmbeddingProvider, reachable: Bool)?
        if let embedder { prepared = try await prepare(embedder, for: artifact, file: path) }
        return RoutingSetup(catalog: catalog, rules: rules, centroids: artifact, centroidsFile: path,
                            embedder: prepared?.embedder, embedderReachable: prepared?.reachable ?? false,
                            options: options)
    }

    /// The embedder pooled the way the centroid file was trained (lead tokens, when the embedder can pool), checked
    /// against the file's fingerprint. An embedder whose fingerprint cannot be fetched (an endpoint that is down) is
    /// returned unchecked with `reachable: false`; a mismatching one is an error naming the file.
    public static func prepare(_ embedder: any EmbeddingProvider, for artifact: CentroidArtifact, file: String)
        async throws -> (embedder: any EmbeddingProvider, reachable: Bool)
    {
        var pooled = embedder
        if let poolable = embedder as? any LeadTokenEmbedder {
            pooled = try poolable.embedder(leadTokens: artifact.embedder.leadTokens ?? 0)
        }
        let fingerprint: EmbedderFingerprint
        do {
            fingerprint = try await pooled.fingerprint()
        } catch {
            return (pooled, false)
        }
        try artifact.checkCompatible(with: fingerprint, file: file)
        return (pooled, true)
    }

    /// Whether `kind` can run with what is loaded (anything but regex needs centroids and an embedder).
    public func supports(_ kind: DetectorKind) -> Bool {
        kind == .regex || (centroids != nil && embedder != nil)
    }

    /// The detector of `kind` (behind the translation guard unless the options turn it off); regex when the
    /// centroids or the embedder are missing. `embedder` overrides the set-up's (the evaluator routes through a cache
    /// of the same vectors).
    public func detector(_ kind: DetectorKind, embedder override: (any EmbeddingProvider)? = nil) -> any IntentDetector {
        let detector = unguardedDetector(kind, embedder: override)
        return options.translationGuard ? TranslationGuard(detector) : detector
    }

    /// The detector of `kind` without the translation guard.
    public func unguardedDetector(_ kind: DetectorKind, embedder override: (any EmbeddingProvider)? = nil) -> any IntentDetector {
        guard kind != .regex, let centroids, let embedder = override ?? embedder else { return rules }
        return CentroidIntentDetector(
            centroids: FixedCentroids(centroids), embedder: embedder, fallback: kind == .hybrid ? rules : nil,
            embedTimeout: options.embedTimeout, maxBatch: options.maxBatch, ruleCandidates: options.ruleCandidates)
    }

    /// A router with the detector of `kind`.
    public func router(_ kind: DetectorKind) -> Router {
        Router(catalog: FixedCatalog(catalog), detector: detector(kind), version: version)
    }

    /// An A/B router: `a` decides (shadow) or shares traffic with `b` (split).
    public func abRouter(a: DetectorKind, b: DetectorKind, mode: ABMode, recordPrompts: Bool) -> ABRouter {
        ABRouter(a: router(a), b: router(b), mode: mode, recordPrompts: recordPrompts)
    }
}
