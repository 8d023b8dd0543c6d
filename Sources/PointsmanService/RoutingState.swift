import Foundation
import Logging
import MiniLMEncoder
import PointsmanCore
import PointsmanInterfaces

/// The service's reloadable routing state: catalog, rules and centroids. A reload validates every file first and
/// swaps them together, or keeps the whole previous state and says why. Requests take one consistent snapshot.
public actor RoutingState {
    /// What a request routes with.
    public struct Snapshot: Sendable {
        public var catalog: Catalog
        public var router: Router
        /// The A/B router, when A/B is on.
        public var ab: ABRouter?
        public var centroidsLoaded: Bool
    }

    /// The outcome of one reload.
    public struct ReloadResult: Sendable, Encodable {
        public var ok: Bool
        public var errors: [String]
        public var catalogModels: Int
        public var centroidLabels: Int?

        enum CodingKeys: String, CodingKey { case ok, errors, catalogModels = "catalog_models", centroidLabels = "centroid_labels" }
    }

    let configuration: ServiceConfiguration
    let embedder: (any EmbeddingProvider)?
    let fingerprint: EmbedderFingerprint?
    let logger: Logger
    private(set) var snapshot: Snapshot
    private var signatures: [String: String] = [:]
    private var watcher: Task<Void, Never>?

    /// Loads the initial state; invalid files are an error here (the service does not start half-configured).
    public init(configuration: ServiceConfiguration, embedder: (any EmbeddingProvider)?, logger: Logger) async throws {
        self.configuration = configuration
        self.embedder = embedder
        self.fingerprint = try await embedder?.fingerprint()
        self.logger = logger
        snapshot = try Self.load(configuration, embedder: embedder, fingerprint: fingerprint)
        signatures = Self.signatures(configuration)
    }

    public func current() -> Snapshot { snapshot }

    /// Reloads every file; on any error keeps the previous state.
    public func reload() -> ReloadResult {
        signatures = Self.signatures(configuration)
        do {
            snapshot = try Self.load(configuration, embedder: embedder, fingerprint: fingerprint)
            logger.info("reloaded catalog, rules and centroids")
            return ReloadResult(ok: true, errors: [], catalogModels: snapshot.catalog.models.count,
                                centroidLabels: centroidLabelCount())
        } catch {
            logger.error("reload failed; keeping the previous state", metadata: ["error": "\(error)"])
            return ReloadResult(ok: false, errors: ["\(error)"], catalogModels: snapshot.catalog.models.count,
                                centroidLabels: centroidLabelCount())
        }
    }

    /// Reloads when a watched file changed; returns the result, or nil when nothing changed.
    public func reloadIfChanged() -> ReloadResult? {
        Self.signatures(configuration) == signatures ? nil : reload()
    }

    private func centroidLabelCount() -> Int? {
        guard let path = configuration.centroidsPath else { return nil }
        return (try? CentroidArtifact.load(from: path))?.labels.count
    }

    static func load(_ c: ServiceConfiguration, embedder: (any EmbeddingProvider)?, fingerprint: EmbedderFingerprint?) throws -> Snapshot {
        let catalog = try c.catalogPath.map { try Catalog.load(from: $0) } ?? .shipped
        let rules = try c.rulesPath.map { try RegexIntentDetector(rules: RegexRuleSet.load(from: $0), file: $0) }
            ?? RegexIntentDetector(rules: .shipped, file: "<shipped rules>")
        var artifact: CentroidArtifact?
        var routingEmbedder = embedder
        if let path = c.centroidsPath {
            let loaded = try CentroidArtifact.load(from: path)
            if var fingerprint {
                // The file says how its vectors were pooled; the native encoder pools either way from one model.
                let wanted = loaded.embedder.leadTokens ?? 0
                if wanted != (fingerprint.leadTokens ?? 0), let poolable = embedder as? any LeadTokenEmbedder {
                    routingEmbedder = try poolable.embedder(leadTokens: wanted)
                    fingerprint.leadTokens = wanted == 0 ? nil : wanted
                }
                try loaded.checkCompatible(with: fingerprint, file: path)
            }
            artifact = loaded
        }
        func detector(_ kind: DetectorKind) throws -> any IntentDetector {
            guard kind != .regex, let artifact, let embedder = routingEmbedder else { return rules }
            return CentroidIntentDetector(centroids: FixedCentroids(artifact), embedder: embedder,
                                          fallback: kind == .hybrid ? rules : nil, ruleCandidates: c.ruleCandidates)
        }
        let primary = Router(catalog: FixedCatalog(catalog), detector: try detector(.hybrid))
        var ab: ABRouter?
        if let mode = c.abMode {
            ab = ABRouter(a: primary, b: Router(catalog: FixedCatalog(catalog), detector: try detector(c.abDetector)),
                          mode: mode, recordPrompts: c.logPrompts)
        }
        return Snapshot(catalog: catalog, router: primary, ab: ab, centroidsLoaded: artifact != nil)
    }

    static func signatures(_ c: ServiceConfiguration) -> [String: String] {
        var out: [String: String] = [:]
        for path in [c.catalogPath, c.rulesPath, c.centroidsPath].compactMap({ $0 }) {
            let attributes = try? FileManager.default.attributesOfItem(atPath: path)
            let size = (attributes?[.size] as? NSNumber)?.intValue ?? -1
            let time = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            let inode = (attributes?[.systemFileNumber] as? NSNumber)?.intValue ?? 0
            out[path] = "\(size)/\(time)/\(inode)"
        }
        return out
    }
}
