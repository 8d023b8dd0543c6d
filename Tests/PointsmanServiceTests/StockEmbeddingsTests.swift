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
    @Test("the published model's name gets the stock encoder's vectors; a stock encoder that cannot load is a 503 without internal text, and the next request tries again")
    func stockVectors() async throws {
        // The model folder as links, so that its weights can go missing after the adapted encoder has loaded.
        let model = TestPaths.temporaryDirectory("stock-embeddings") + "/model"
        try FileManager.default.createDirectory(atPath: model, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: TestPaths.modelDirectory) {
            try FileManager.default.createSymbolicLink(atPath: model + "/" + name, withDestinationPath: TestPaths.modelDirectory + "/" + name)
        }
        let adapted = try MiniLMEncoder(configuration: .init(directory: ModelDirectory(path: model),
                                                             adapter: TestPaths.fixture("adapter/adapter.safetensors")))
        var c = testConfiguration()
        c.centroidsPath = nil
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let app = try await buildApplication(configuration: c, encoder: adapted, logger: logger)
        let stock = try await serviceEncoder.get().embed(["hello"]).row(0)
        let adaptedName = try #require(adapted.currentFingerprint.adapter.map { "all-MiniLM-L6-v2+adapter-\($0.prefix(12))" })
        @Sendable func vector(_ response: TestResponse) -> [Float] {
            ((json(response.body)["data"] as? [[String: Any]])?.first?["embedding"] as? [Double] ?? []).map(Float.init)
        }
        @Sendable func close(_ a: [Float], _ b: [Float]) -> Bool { a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) < 1e-5 } }
        try await app.test(.router) { client in
            let weights = model + "/model.safetensors"
            try FileManager.default.moveItem(atPath: weights, toPath: weights + ".away")
            try await client.execute(uri: "/v1/embeddings", method: .post, body: try body(["input": "hello", "model": "all-MiniLM-L6-v2"])) {
                expectError($0, .serviceUnavailable, code: "encoder_unavailable")
                #expect(!String(buffer: $0.body).contains(model), "no path of this machine in the answer")
            }
            try FileManager.default.moveItem(atPath: weights + ".away", toPath: weights)
            try await client.execute(uri: "/v1/embeddings", method: .post, body: try body(["input": "hello", "model": "all-MiniLM-L6-v2"])) {
                #expect($0.status == .ok)
                #expect(json($0.body)["model"] as? String == "all-MiniLM-L6-v2")
                #expect(close(vector($0), stock), "the stock model's own vector")
            }
            try await client.execute(uri: "/v1/embeddings", method: .post, body: try body(["input": "hello", "model": adaptedName])) {
                #expect($0.status == .ok)
                #expect(json($0.body)["model"] as? String == adaptedName)
                #expect(vector($0).count == 384 && !close(vector($0), stock), "the adapted vector under its own name")
            }
        }
    }
}
