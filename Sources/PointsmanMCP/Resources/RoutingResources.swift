import Foundation
import MCP
import PointsmanCore

/// The resources Pointsman offers MCP clients: the catalog, the loaded centroid file's summary and validation
/// metrics, and the most recent routing decisions. All JSON.
extension RoutingToolbox {
    static let catalogURI = "pointsman://catalog"
    static let centroidsURI = "pointsman://centroids"
    static let decisionsURI = "pointsman://decisions"

    /// The resources, as `resources/list` returns them.
    public func resources() -> [Resource] {
        [
            Resource(name: "catalog", uri: Self.catalogURI, title: "Model catalog",
                     description: "The models Pointsman routes to: capabilities, priorities, prices, context windows, fallbacks and the escalation rule (endpoints left out).",
                     mimeType: "application/json"),
            Resource(name: "centroids", uri: Self.centroidsURI, title: "Centroid file",
                     description: "The loaded capability centroids: labels, clusters per label, thresholds, how they were trained and their validation metrics.",
                     mimeType: "application/json"),
            Resource(name: "decisions", uri: Self.decisionsURI, title: "Recent decisions",
                     description: "The last \(configuration.decisionsShown) routing decisions of this process, newest first (no prompt text).",
                     mimeType: "application/json"),
        ]
    }

    /// One resource's contents; an unknown URI is an MCP invalid-params error that lists the known ones.
    public func read(_ uri: String) async throws -> [Resource.Content] {
        let snapshot = await store.current()
        let text: String
        switch uri {
        case Self.catalogURI:
            // Endpoints stay private, as in every error the service sends: the catalog is shown without base URLs.
            var catalog = snapshot.catalog
            for index in catalog.models.indices { catalog.models[index].baseURL = nil }
            text = catalog.jsonText()
        case Self.centroidsURI:
            text = try Self.json(CentroidSummary(snapshot))
        case Self.decisionsURI:
            text = try Self.json(history.recent(configuration.decisionsShown))
        default:
            throw Self.unknownResource(uri)
        }
        return [.text(text, uri: uri, mimeType: "application/json")]
    }

    /// MCP's "resource not found" error (-32002), naming the known resources.
    static func unknownResource(_ uri: String) -> MCPError {
        .serverError(code: -32002, message: "unknown resource \(uri); the resources are \(catalogURI), \(centroidsURI), \(decisionsURI)")
    }

    static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

/// What `pointsman://centroids` says about the loaded centroid file (not its vectors).
struct CentroidSummary: Encodable {
    var loaded: Bool
    var file: String?
    var name: String?
    var labels: [String]?
    var clustersPerLabel: [String: Int]?
    var thresholds: [String: Double]?
    /// The score the thresholds apply to.
    var thresholdScore: String?
    var defaultThreshold: Double?
    var abstainLabel: String?
    var wordFeatures: Bool?
    var embedder: String?
    var training: TrainingRecord?
    var validation: ValidationReport?
    var routingVersion: String

    enum CodingKeys: String, CodingKey {
        case loaded, file, name, labels, clustersPerLabel = "clusters_per_label", thresholds, thresholdScore = "threshold_score"
        case defaultThreshold = "default_threshold", abstainLabel = "abstain_label", wordFeatures = "word_features"
        case embedder, training, validation, routingVersion = "routing_version"
    }

    init(_ snapshot: RoutingStore.Snapshot) {
        routingVersion = snapshot.setup.version
        guard let artifact = snapshot.setup.centroids else {
            loaded = false
            return
        }
        loaded = true
        file = snapshot.setup.centroidsFile.map { ($0 as NSString).lastPathComponent }
        name = artifact.name
        labels = artifact.labels
        clustersPerLabel = artifact.k
        thresholds = artifact.thresholds
        thresholdScore = artifact.thresholdScore.rawValue
        defaultThreshold = artifact.defaultThreshold
        abstainLabel = artifact.abstainLabel
        wordFeatures = artifact.lexical != nil
        embedder = "\(artifact.embedder.model), \(artifact.embedder.dimension) dimensions"
        training = artifact.training
        validation = artifact.validation
    }
}
