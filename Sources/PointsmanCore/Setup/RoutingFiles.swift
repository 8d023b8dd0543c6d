import Foundation

/// The files a router is built from; nil means the shipped catalog or rules, and no centroids.
public struct RoutingFiles: Sendable, Equatable {
    /// Catalog file (JSON, or YAML by extension).
    public var catalog: String?
    /// Regex rules file (JSON, or YAML by extension).
    public var rules: String?
    /// Centroid file.
    public var centroids: String?

    public init(catalog: String? = nil, rules: String? = nil, centroids: String? = nil) {
        self.catalog = catalog
        self.rules = rules
        self.centroids = centroids
    }

    /// The configured paths, for change detection.
    public var paths: [String] { [catalog, rules, centroids].compactMap { $0 } }

    /// What identifies the current contents of every file: changes when one is rewritten or replaced.
    public func signatures() -> [String: FileSignature?] {
        Dictionary(paths.map { ($0, FileSignature(path: $0)) }, uniquingKeysWith: { first, _ in first })
    }
}

/// Size, modification time and inode of a file: what changes when it is rewritten or replaced.
public struct FileSignature: Equatable, Sendable {
    var size: Int
    var modified: Double
    var inode: Int

    /// The file's signature, or nil when it cannot be read.
    public init?(path: String) {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
        size = (attributes[.size] as? NSNumber)?.intValue ?? -1
        modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        inode = (attributes[.systemFileNumber] as? NSNumber)?.intValue ?? 0
    }
}
