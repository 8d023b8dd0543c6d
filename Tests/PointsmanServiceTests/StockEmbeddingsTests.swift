import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import MiniLMEncoder
import NIOCore
import PointsmanService
import PointsmanTestSupport
import Testing

@Suite("Stock vectors beside an adapted encoder (no sockets)")
struct StockEmbeddingsTests {
    /// The model folder as links, so that its weights can go missing after an adapted encoder has loaded from it.
    static func linkedModel(_ label: String) throws -> (folder: String, weights: String) {
        let model = TestPaths.temporaryDirectory(label) + "/model"
        try FileManager.default.createDirectory(atPath: model, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: TestPaths.modelDirectory) {
            try FileManager.default.createSymbolicLink(atPath: model + "/" + name, withDestinationPath: TestPaths.modelDirectory + "/" + name)
        }
        return (model, model + "/model.safetensors")
    }

    static func adaptedEncoder(_ folder: String) throws -> MiniLMEncoder {
        try MiniLMEncoder(configuration: .init(directory: ModelDirectory(path: folder), adapter: TestPaths.fixture("adapter/adapter.safetensors")))
    }

    @Test("only the adapted name gets adapted vectors; the published name, auto and no model get the stock encoder's; a stock encoder that cannot load is a 503 without internal text")
    func stockVectors() async throws {
        let (folder, weights) = try Self.linkedModel("stock-embeddings")
        let adapted = try Self.adaptedEncoder(folder)
        var c = testConfiguration()
        c.centroidsPath = nil
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let stock = try await serviceEncoder.get().embed(["hello"]).row(0)
        let adaptedName = try #require(adapted.currentFingerprint.adapter.map { "all-MiniLM-L6-v2+adapter-\($0.prefix(12))" })
        @Sendable func vector(_ response: TestResponse) -> [Float] {
            ((json(response.body)["data"] as? [[String: Any]])?.first?["embedding"] as? [Double] ?? []).map(Float.init)
        }
        @Sendable func close(_ a: [Float], _ b: [Float]) -> Bool { a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) < 1e-5 } }

        try FileManager.default.moveItem(atPath: weights, toPath: weights + ".away")
        try await buildApplication(configuration: c, encoder: adapted, logger: logger).test(.router) { client in
            for _ in 0..<2 {
                try await client.execute(uri: "/v1/embeddings", method: .post, body: try body(["input": "hello", "model": "all-MiniLM-L6-v2"])) {
                    expectError($0, .serviceUnavailable, code: "encoder_unavailable")
                    #expect(!String(buffer: $0.body).contains(folder), "no path of this machine in the answer")
                }
            }
            // The adapted encoder is loaded already: its own name is served while the stock one cannot load.
            try await client.execute(uri: "/v1/embeddings", method: .post, body: try body(["input": "hello", "model": adaptedName])) {
                #expect($0.status == .ok && json($0.body)["model"] as? String == adaptedName)
            }
        }
        try FileManager.default.moveItem(atPath: weights + ".away", toPath: weights)
        try await buildApplication(configuration: c, encoder: adapted, logger: logger).test(.router) { client in
            for fields: [String: Any] in [["input": "hello", "model": "all-MiniLM-L6-v2"], ["input": "hello"], ["input": "hello", "model": "auto"]] {
                try await client.execute(uri: "/v1/embeddings", method: .post, body: try body(fields)) {
                    #expect($0.status == .ok)
                    #expect(json($0.body)["model"] as? String == "all-MiniLM-L6-v2")
                    #expect(close(vector($0), stock), "the stock model's own vector for \(fields)")
                }
            }
            try await client.execute(uri: "/v1/embeddings", method: .post, body: try body(["input": "hello", "model": adaptedName])) {
                #expect($0.status == .ok)
                #expect(json($0.body)["model"] as? String == adaptedName)
                #expect(vector($0).count == 384 && !close(vector($0), stock), "the adapted vector under its own name")
            }
            try await client.execute(uri: "/v1/embeddings", method: .post, body: try body(["input": "hello", "model": "text-embedding-3-small"])) {
                expectError($0, .notFound, code: "model_not_found")
                let message = (json($0.body)["error"] as? [String: Any])?["message"] as? String ?? ""
                #expect(message.contains(adaptedName) && message.contains("\"all-MiniLM-L6-v2\""), "\(message)")
            }
        }
    }

    @Test("a failed stock load is not retried before retryAfter, and is retried after it")
    func retryAfterFailure() async throws {
        let (folder, weights) = try Self.linkedModel("stock-retry")
        let source = try #require(StockEmbeddings(adapted: try Self.adaptedEncoder(folder), retryAfter: .seconds(2)) {
            EmbeddingBatcher(encoder: $0, maxTexts: 8, maxWait: .zero, queueLimit: 64)
        })
        #expect(StockEmbeddings(adapted: try serviceEncoder.get()) { EmbeddingBatcher(encoder: $0, maxTexts: 8, maxWait: .zero, queueLimit: 64) } == nil,
                "an encoder without an adapter needs no stock twin")
        try FileManager.default.moveItem(atPath: weights, toPath: weights + ".away")
        await #expect(throws: (any Error).self) { _ = try await source.batcher() }
        try FileManager.default.moveItem(atPath: weights + ".away", toPath: weights)
        await #expect(throws: (any Error).self, "within retryAfter the failure stands") { _ = try await source.batcher() }
        try await Task.sleep(for: .milliseconds(2200))
        let batcher = try await source.batcher()
        #expect(try await batcher.fingerprint().adapter == nil)
        #expect(try await source.batcher() === batcher, "loaded once")
    }
}
