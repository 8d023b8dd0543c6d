import Foundation

/// Where tests find the repository, the read-only shared folder and the model.
public enum TestPaths {
    /// The repository root (two levels above this file's folder).
    public static let repository: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// `../shared` beside the repository, or `SWITCHYARD_SHARED_DIR`.
    public static let shared: String = {
        if let override = ProcessInfo.processInfo.environment["SWITCHYARD_SHARED_DIR"], !override.isEmpty {
            return override
        }
        return (repository as NSString).appendingPathComponent("../shared")
    }()

    /// A file under the shared folder.
    public static func sharedFile(_ relative: String) -> String {
        (shared as NSString).appendingPathComponent(relative)
    }

    /// A file under the repository.
    public static func repositoryFile(_ relative: String) -> String {
        (repository as NSString).appendingPathComponent(relative)
    }

    /// The model folder the test run uses: `SWITCHYARD_MODEL_DIR`, else the default cache location.
    public static let modelDirectory: String = {
        if let override = ProcessInfo.processInfo.environment["SWITCHYARD_MODEL_DIR"], !override.isEmpty {
            return override
        }
        return (NSHomeDirectory() as NSString).appendingPathComponent(".cache/switchyard/models/all-MiniLM-L6-v2")
    }()

    /// A fresh temporary folder.
    public static func temporaryDirectory(_ label: String = "test") -> String {
        let path = (NSTemporaryDirectory() as NSString).appendingPathComponent("switchyard-\(label)-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Reads a JSON Lines file into objects.
    public static func jsonLines(_ path: String) throws -> [[String: Any]] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return try text.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }
}
