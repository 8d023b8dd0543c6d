import Foundation
import Logging
import PointsmanInterfaces

/// The centroids of a running router, reloaded from their file on request or when it changes, with the same rule as
/// the catalog: a valid file for the active embedder replaces the centroids in one step; a broken file, or one trained
/// for another embedder, keeps the old centroids, is logged and counted.
public actor CentroidStore: CentroidSource {
    public let path: String
    public let embedder: EmbedderFingerprint
    private var classifier: CentroidClassifier
    private var signature: FileSignature?
    private let logger: Logger
    public private(set) var reloads = CatalogStore.ReloadCounts()
    public private(set) var lastError: CentroidFileError?

    public init(path: String, embedder: EmbedderFingerprint, logger: Logger = Logger(label: "pointsman.centroids")) throws(CentroidFileError) {
        let artifact = try CentroidArtifact.load(from: path)
        try artifact.checkCompatible(with: embedder, file: path)
        self.path = path
        self.embedder = embedder
        self.logger = logger
        classifier = CentroidClassifier(artifact: artifact)
        signature = FileSignature(path: path)
    }

    public func current() -> CentroidClassifier { classifier }

    /// Reloads now; returns the error when the file is not usable (the old centroids stay).
    @discardableResult
    public func reload() -> CentroidFileError? {
        signature = FileSignature(path: path)
        do {
            let artifact = try CentroidArtifact.load(from: path)
            try artifact.checkCompatible(with: embedder, file: path)
            classifier = CentroidClassifier(artifact: artifact)
            reloads.succeeded += 1
            lastError = nil
            logger.info("centroids reloaded", metadata: ["file": "\(path)", "labels": "\(artifact.labels.count)"])
            return nil
        } catch {
            reloads.failed += 1
            lastError = error
            logger.error("centroid reload failed; keeping the previous centroids", metadata: ["error": "\(error)"])
            return error
        }
    }

    /// Reloads when the file changed since the last load.
    public func reloadIfChanged() {
        if FileSignature(path: path) != signature { reload() }
    }
}
