import Crypto
import Foundation
import PointsmanInterfaces
import VectorMath

/// Embeddings on disk, content-addressed by (embedder fingerprint, text): re-training and evaluation never embed a
/// prompt twice. One append-only file per fingerprint holds records of a 32-byte sha256 of the text and the vector.
public actor EmbeddingCache {
    /// The cache folder.
    public let directory: String
    private var loaded: [String: [Data: [Float]]] = [:]
    /// Vectors served from the cache and computed, since creation.
    public private(set) var hits = 0
    public private(set) var misses = 0

    public init(directory: String) {
        self.directory = directory
    }

    private func file(for fingerprint: EmbedderFingerprint) -> String {
        let digest = SHA256.hash(data: Data(fingerprint.key.utf8)).prefix(12).map { String(format: "%02x", $0) }.joined()
        return (directory as NSString).appendingPathComponent("\(fingerprint.model.replacingOccurrences(of: "/", with: "_"))-\(digest).f32")
    }

    private func table(for fingerprint: EmbedderFingerprint) -> [Data: [Float]] {
        if let table = loaded[fingerprint.key] { return table }
        var table: [Data: [Float]] = [:]
        let record = 32 + 4 * fingerprint.dimension
        if let data = FileManager.default.contents(atPath: file(for: fingerprint)) {
            var offset = 0
            while offset + record <= data.count {
                let key = data.subdata(in: offset..<(offset + 32))
                table[key] = LittleEndianFloats.values(data[(offset + 32)..<(offset + record)])
                offset += record
            }
        }
        loaded[fingerprint.key] = table
        return table
    }

    /// Vectors for `texts` (rows in input order), embedding only the texts not cached yet, in batches of
    /// `batchSize`; `progress(done, total)` reports texts embedded so far.
    public func embed(
        _ texts: [String], with provider: any EmbeddingProvider, batchSize: Int = 64,
        progress: @Sendable (Int, Int) -> Void = { _, _ in }
    ) async throws -> Matrix {
        let fingerprint = try await provider.fingerprint()
        var table = table(for: fingerprint)
        let keys = texts.map { Data(SHA256.hash(data: Data($0.utf8))) }
        var missing: [Int] = []
        var seen: Set<Data> = []
        for (index, key) in keys.enumerated() where table[key] == nil && seen.insert(key).inserted {
            missing.append(index)
        }
        hits += texts.count - missing.count
        misses += missing.count
        if !missing.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let path = file(for: fingerprint)
            if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            try handle.seekToEnd()
            var done = 0
            progress(0, missing.count)
            var start = 0
            while start < missing.count {
                let batch = Array(missing[start..<min(start + max(1, batchSize), missing.count)])
                let vectors = try await provider.embed(batch.map { texts[$0] })
                guard vectors.rows == batch.count, vectors.cols == fingerprint.dimension else {
                    throw CocoaError(.coderInvalidValue, userInfo: [NSLocalizedDescriptionKey:
                        "the embedder returned \(vectors.rows)x\(vectors.cols) for \(batch.count) texts of dimension \(fingerprint.dimension)"])
                }
                var chunk = Data(capacity: batch.count * (32 + 4 * fingerprint.dimension))
                for (row, index) in batch.enumerated() {
                    let vector = vectors.row(row)
                    table[keys[index]] = vector
                    chunk.append(keys[index])
                    chunk.append(contentsOf: LittleEndianFloats.bytes(vector))
                }
                try handle.write(contentsOf: chunk)
                done += batch.count
                start += batch.count
                progress(done, missing.count)
            }
            loaded[fingerprint.key] = table
        }
        var out = Matrix(rows: texts.count, cols: fingerprint.dimension)
        for (row, key) in keys.enumerated() { out.setRow(row, table[key]!) }
        return out
    }
}
