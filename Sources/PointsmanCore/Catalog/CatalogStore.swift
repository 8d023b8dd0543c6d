import Foundation
import Logging

/// The catalog of a running router, reloaded from its file when the file changes. A valid new file replaces the
/// catalog in one step; an invalid one keeps the old catalog, is logged and counted. Readers only ever see a complete,
/// validated catalog.
public actor CatalogStore: CatalogSource {
    /// Outcome counts of reload attempts.
    public struct ReloadCounts: Sendable, Equatable {
        public var succeeded = 0
        public var failed = 0
        public init(succeeded: Int = 0, failed: Int = 0) {
            self.succeeded = succeeded
            self.failed = failed
        }
    }

    /// The file watched.
    public let path: String
    private var catalog: Catalog
    private var signature: FileSignature?
    private var watcher: Task<Void, Never>?
    private let logger: Logger
    /// Reload results so far.
    public private(set) var counts = ReloadCounts()
    /// The last reload error, if the last attempt failed.
    public private(set) var lastError: CatalogError?

    /// Loads the file; throws if the initial catalog is invalid.
    public init(path: String, logger: Logger = Logger(label: "pointsman.catalog")) throws(CatalogError) {
        self.path = path
        self.logger = logger
        self.catalog = try Catalog.load(from: path)
        self.signature = FileSignature(path: path)
    }

    public func current() -> Catalog { catalog }

    /// Reloads now. Returns the error when the new file is invalid (the old catalog stays).
    @discardableResult
    public func reload() -> CatalogError? {
        signature = FileSignature(path: path)
        do {
            let fresh = try Catalog.load(from: path)
            catalog = fresh
            counts.succeeded += 1
            lastError = nil
            logger.info("catalog reloaded", metadata: ["file": "\(path)", "models": "\(fresh.models.count)"])
            return nil
        } catch {
            counts.failed += 1
            lastError = error
            logger.error("catalog reload failed; keeping the previous catalog", metadata: ["error": "\(error)"])
            return error
        }
    }

    /// Reloads when the file's size or modification time changed since the last load.
    public func reloadIfChanged() {
        let now = FileSignature(path: path)
        if now != signature { reload() }
    }

    /// Starts polling the file every `interval`.
    public func startWatching(every interval: Duration = .seconds(1)) {
        watcher?.cancel()
        watcher = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                await self?.reloadIfChanged()
            }
        }
    }

    /// Stops polling.
    public func stopWatching() {
        watcher?.cancel()
        watcher = nil
    }
}

/// Size, modification time and inode of a file: what changes when it is rewritten or replaced.
struct FileSignature: Equatable, Sendable {
    var size: Int
    var modified: Double
    var inode: Int

    init?(path: String) {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
        size = (attributes[.size] as? NSNumber)?.intValue ?? -1
        modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        inode = (attributes[.systemFileNumber] as? NSNumber)?.intValue ?? 0
    }
}
