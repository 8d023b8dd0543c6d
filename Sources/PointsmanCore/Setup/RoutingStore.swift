import Foundation
import Logging
import PointsmanInterfaces

/// The routing state of a long-running process (the service): catalog, rules and centroids built by `RoutingSetup`,
/// reloaded together. A reload validates every file first and swaps them in one step, or keeps the whole previous
/// state, logs and counts the failure and says why. Readers only ever see a complete, validated state.
public actor RoutingStore {
    /// What a request routes with: one consistent version of every file.
    public struct Snapshot: Sendable {
        /// The set-up the routers were built from.
        public var setup: RoutingSetup
        /// The primary router.
        public var router: Router
        /// The A/B router, when A/B is on.
        public var ab: ABRouter?

        /// The catalog in force.
        public var catalog: Catalog { setup.catalog }
        /// Whether a centroid file is loaded.
        public var centroidsLoaded: Bool { setup.centroids != nil }
    }

    /// The A/B arms to build on every load.
    public struct ABConfiguration: Sendable {
        public var b: DetectorKind
        public var mode: ABMode
        public var recordPrompts: Bool

        public init(b: DetectorKind, mode: ABMode, recordPrompts: Bool) {
            self.b = b
            self.mode = mode
            self.recordPrompts = recordPrompts
        }
    }

    /// Outcome counts of reload attempts.
    public struct ReloadCounts: Sendable, Equatable {
        public var succeeded = 0
        public var failed = 0

        public init(succeeded: Int = 0, failed: Int = 0) {
            self.succeeded = succeeded
            self.failed = failed
        }
    }

    /// The outcome of one reload.
    public struct ReloadResult: Sendable, Encodable {
        public var ok: Bool
        public var errors: [String]
        public var catalogModels: Int
        public var centroidLabels: Int?
        /// The routing version in force after the attempt (unchanged when it failed).
        public var routingVersion: String

        enum CodingKeys: String, CodingKey {
            case ok, errors, catalogModels = "catalog_models", centroidLabels = "centroid_labels"
            case routingVersion = "routing_version"
        }
    }

    /// The files watched.
    public let files: RoutingFiles
    /// The detector of the primary router.
    public nonisolated let detector: DetectorKind
    private let embedder: (any EmbeddingProvider)?
    private let options: RoutingSetup.Options
    private let ab: ABConfiguration?
    private let logger: Logger
    private var snapshot: Snapshot
    private var signatures: [String: FileSignature?]
    private var watcher: Task<Void, Never>?
    /// Reload results so far.
    public private(set) var counts = ReloadCounts()
    /// Bumped by every reload; a build that finishes after a newer reload began is dropped.
    private var generation = 0
    /// Who is told when the routing version changes.
    private var versionWatchers: [UUID: AsyncStream<String>.Continuation] = [:]

    /// Loads the initial state; an invalid file is an error here (a process does not start half-configured).
    public init(files: RoutingFiles, embedder: (any EmbeddingProvider)?, detector: DetectorKind = .hybrid,
                options: RoutingSetup.Options = .init(), ab: ABConfiguration? = nil,
                logger: Logger = Logger(label: "pointsman.routing")) async throws {
        self.files = files
        self.embedder = embedder
        self.detector = detector
        self.options = options
        self.ab = ab
        self.logger = logger
        signatures = files.signatures()
        snapshot = try await Self.build(files, embedder: embedder, detector: detector, options: options, ab: ab)
    }

    /// The state in force.
    public func current() -> Snapshot { snapshot }

    /// Reloads every file now; on any error keeps the previous state.
    @discardableResult
    public func reload() async -> ReloadResult {
        signatures = files.signatures()
        generation += 1
        let mine = generation
        do {
            let built = try await Self.build(files, embedder: embedder, detector: detector, options: options, ab: ab)
            // Reloads can overlap (SIGHUP, the watcher, /admin/reload): only the newest one's files take effect.
            if mine == generation {
                let changed = built.setup.version != snapshot.setup.version
                snapshot = built
                if changed { for watcher in versionWatchers.values { watcher.yield(built.setup.version) } }
            }
            counts.succeeded += 1
            logger.info("reloaded catalog, rules and centroids")
            return ReloadResult(ok: true, errors: [], catalogModels: snapshot.catalog.models.count,
                                centroidLabels: snapshot.setup.centroids?.labels.count, routingVersion: snapshot.setup.version)
        } catch {
            counts.failed += 1
            logger.error("reload failed; keeping the previous state", metadata: ["error": "\(error)"])
            return ReloadResult(ok: false, errors: ["\(error)"], catalogModels: snapshot.catalog.models.count,
                                centroidLabels: snapshot.setup.centroids?.labels.count, routingVersion: snapshot.setup.version)
        }
    }

    /// Reloads when a watched file changed since the last load; nil when nothing changed.
    public func reloadIfChanged() async -> ReloadResult? {
        files.signatures() == signatures ? nil : await reload()
    }

    /// The routing version after every reload that changed it (only the newest is buffered). The stream ends when
    /// its consumer stops iterating.
    public func versionChanges() -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(1))
        let id = UUID()
        versionWatchers[id] = continuation
        continuation.onTermination = { [weak self] _ in
            Task { await self?.removeVersionWatcher(id) }
        }
        return stream
    }

    private func removeVersionWatcher(_ id: UUID) { versionWatchers[id] = nil }

    /// Starts polling the files every `interval` (a second call replaces the first).
    public func startWatching(every interval: Duration) {
        watcher?.cancel()
        watcher = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                _ = await self?.reloadIfChanged()
            }
        }
    }

    /// Stops polling.
    public func stopWatching() {
        watcher?.cancel()
        watcher = nil
    }

    static func build(_ files: RoutingFiles, embedder: (any EmbeddingProvider)?, detector: DetectorKind,
                      options: RoutingSetup.Options, ab: ABConfiguration?) async throws -> Snapshot {
        let setup = try await RoutingSetup.load(files, embedder: embedder, options: options)
        let abRouter = ab.map { setup.abRouter(a: detector, b: $0.b, mode: $0.mode, recordPrompts: $0.recordPrompts) }
        return Snapshot(setup: setup, router: setup.router(detector), ab: abRouter)
    }
}
