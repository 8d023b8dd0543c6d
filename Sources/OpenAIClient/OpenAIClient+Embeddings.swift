import AsyncHTTPClient
import Foundation
import PointsmanInterfaces
import VectorMath

/// How `/embeddings` returns vectors.
public enum EmbeddingEncoding: String, Sendable {
    case float, base64
}

extension OpenAIClient {
    /// `POST /embeddings` for `texts` (in batches of `embeddingBatchSize`); one vector per text, in input order.
    public func embeddings(_ texts: [String], model: String, encoding: EmbeddingEncoding = .float) async throws -> [[Float]] {
        var out: [[Float]] = []
        out.reserveCapacity(texts.count)
        var start = 0
        while start < texts.count {
            let batch = Array(texts[start..<min(start + max(configuration.embeddingBatchSize, 1), texts.count)])
            out.append(contentsOf: try await embeddingBatch(batch, model: model, encoding: encoding))
            start += batch.count
        }
        return out
    }

    func embeddingBatch(_ texts: [String], model: String, encoding: EmbeddingEncoding) async throws -> [[Float]] {
        let url = url("/embeddings")
        let body = (try? JSONSerialization.data(withJSONObject: [
            "model": model, "input": texts, "encoding_format": encoding.rawValue,
        ] as [String: Any])) ?? Data()
        let response = try await send({ self.request(url, body: body) }, url: url,
                                      timeout: configuration.requestTimeout, model: model)
        let json = try await readJSON(response, url: url)
        guard let data = json["data"] as? [[String: Any]] else {
            throw OpenAIClientError.malformedResponse(url: url, reason: "no data list")
        }
        guard data.count == texts.count else {
            throw OpenAIClientError.malformedResponse(url: url, reason: "\(data.count) vectors for \(texts.count) inputs")
        }
        var vectors = [[Float]?](repeating: nil, count: texts.count)
        for (position, item) in data.enumerated() {
            let index = (item["index"] as? NSNumber)?.intValue ?? position
            guard vectors.indices.contains(index), vectors[index] == nil else {
                throw OpenAIClientError.malformedResponse(url: url, reason: "bad or repeated index \(index)")
            }
            if let list = item["embedding"] as? [NSNumber] {
                vectors[index] = list.map(\.floatValue)
            } else if let text = item["embedding"] as? String {
                guard let bytes = Data(base64Encoded: text), bytes.count % 4 == 0 else {
                    throw OpenAIClientError.malformedResponse(url: url, reason: "embedding \(index) is not base64 float32")
                }
                vectors[index] = LittleEndianFloats.values(bytes)
            } else {
                throw OpenAIClientError.malformedResponse(url: url, reason: "embedding \(index) is neither a list nor base64")
            }
        }
        let result = vectors.compactMap { $0 }
        if let width = result.first?.count, result.contains(where: { $0.count != width }) {
            throw OpenAIClientError.malformedResponse(url: url, reason: "vectors of different lengths")
        }
        return result
    }
}

/// An `EmbeddingProvider` over an OpenAI-compatible `/v1/embeddings` endpoint.
public struct RemoteEmbeddingProvider: EmbeddingProvider {
    public let client: OpenAIClient
    /// The model id sent to the endpoint.
    public let model: String
    public let encoding: EmbeddingEncoding

    public init(client: OpenAIClient, model: String, encoding: EmbeddingEncoding = .base64) {
        self.client = client
        self.model = model
        self.encoding = encoding
    }

    public func embed(_ texts: [String]) async throws -> Matrix {
        if texts.isEmpty { return Matrix(rows: 0, cols: 0) }
        return try Matrix(rowVectors: try await client.embeddings(texts, model: model, encoding: encoding))
    }

    /// Probes the endpoint once for the dimension and whether vectors come normalised.
    public func fingerprint() async throws -> EmbedderFingerprint {
        let probe = try await client.embeddings(["fingerprint probe"], model: model, encoding: encoding)[0]
        let norm = probe.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
        return EmbedderFingerprint(
            model: model, dimension: probe.count, normalized: abs(norm - 1) < 1e-3, weightsHash: nil,
            endpoint: client.configuration.baseURL)
    }
}
