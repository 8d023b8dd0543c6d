import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import MiniLMEncoder
import NIOCore
import PointsmanCore
import PointsmanService
import PointsmanTestSupport
import Testing

let serviceEncoder: Result<MiniLMEncoder, EncoderError> = Result { () throws(EncoderError) -> MiniLMEncoder in
    try MiniLMEncoder(configuration: .init(directory: ModelDirectory(path: TestPaths.modelDirectory)))
}

func testConfiguration(upstream: String = "http://127.0.0.1:9/v1", keys: [String] = [], catalog: String? = nil) -> ServiceConfiguration {
    var c = ServiceConfiguration()
    c.upstreamURL = upstream
    c.centroidsPath = TestPaths.repositoryFile("centroids/tasks.json")
    c.catalogPath = catalog
    c.apiKeys = keys
    c.maxBodyBytes = 64 * 1024
    c.watchInterval = nil
    // The live test client opens its connection up front and may leave it unused while a slow peer answers other
    // requests; only the timeout tests use short connection timeouts.
    c.headerTimeout = .seconds(300)
    c.idleTimeout = .seconds(300)
    return c
}

func makeApp(_ c: ServiceConfiguration) async throws -> some ApplicationProtocol {
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    return try await buildApplication(configuration: c, encoder: try serviceEncoder.get(), logger: logger)
}

func json(_ buffer: ByteBuffer) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any]) ?? [:]
}

func body(_ object: Any) throws -> ByteBuffer {
    ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: object))
}

/// The OpenAI error shape, with the expected code.
func expectError(_ response: TestResponse, _ status: HTTPResponse.Status, code: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(response.status == status, sourceLocation: sourceLocation)
    let error = json(response.body)["error"] as? [String: Any]
    #expect(error?["code"] as? String == code, "\(String(buffer: response.body))", sourceLocation: sourceLocation)
    #expect(error?["message"] is String, sourceLocation: sourceLocation)
    #expect(error?["type"] is String, sourceLocation: sourceLocation)
}

@Suite("Service routes (no sockets)")
struct ServiceRouteTests {
    @Test("health, readiness, models and metrics")
    func probes() async throws {
        try await makeApp(testConfiguration()).test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .ok)
                #expect(json(response.body)["centroids"] as? Bool == true)
            }
            try await client.execute(uri: "/v1/models", method: .get) { response in
                let ids = (json(response.body)["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
                #expect(ids.first == "auto")
                #expect(ids.contains("deepseek-coder-1.3b") && ids.count == 8)
            }
            try await client.execute(uri: "/v1/route", method: .post, body: try body(["prompt": "Fix the bug in my Java code"])) { _ in }
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(text.contains("pointsman_routing_decisions_total{capability=\"code\""))
                #expect(text.contains("arm=\"A\""))
                #expect(text.contains("pointsman_http_requests_total{route=\"/v1/route\",status=\"200\"}"))
                #expect(text.contains("pointsman_embed_seconds_bucket"))
            }
        }
    }

    @Test("routing vectors are cached: a repeated prompt and earlier turns are not embedded again; --embedding-cache 0 turns it off")
    func vectorCache() async throws {
        @Sendable func metric(_ text: String, _ name: String) -> Double {
            text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") } ?? -1
        }
        let prompt = try body(["prompt": "Write a Python function that merges two dicts"])
        let conversation = try body(["messages": [
            ["role": "user", "content": "Write a Python function that merges two dicts"],
            ["role": "assistant", "content": "def merge(a, b): return {**a, **b}"],
            ["role": "user", "content": "Now add type hints to it"],
        ]])
        try await makeApp(testConfiguration()).test(.router) { client in
            for _ in 0..<3 {
                try await client.execute(uri: "/v1/route", method: .post, body: prompt) { #expect(json($0.body)["capability"] as? String == "code") }
            }
            try await client.execute(uri: "/v1/route", method: .post, body: conversation) { #expect($0.status == .ok) }
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                // Three routes of one prompt: one miss, two hits; the conversation's first turn is a hit too.
                #expect(metric(text, "pointsman_embedding_cache_lookups_total{result=\"hit\"}") >= 3)
                #expect(metric(text, "pointsman_embedding_cache_lookups_total{result=\"miss\"}") >= 2)
                #expect(metric(text, "pointsman_embedding_cache_vectors") >= 2)
                #expect(metric(text, "pointsman_embed_batch_texts_sum") < 6)
            }
        }
        var off = testConfiguration()
        off.embeddingCacheEntries = 0
        try await makeApp(off).test(.router) { client in
            for _ in 0..<3 { try await client.execute(uri: "/v1/route", method: .post, body: prompt) { #expect($0.status == .ok) } }
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(metric(text, "pointsman_embedding_cache_lookups_total{result=\"hit\"}") == 0)
                #expect(metric(text, "pointsman_embed_batch_texts_sum") >= 3)
            }
        }
    }

    @Test("route: one prompt, many prompts, a conversation")
    func route() async throws {
        try await makeApp(testConfiguration()).test(.router) { client in
            try await client.execute(uri: "/v1/route", method: .post, body: try body(["prompt": "Write a Python function that merges two dicts"])) { response in
                #expect(response.status == .ok)
                let d = json(response.body)
                #expect(d["capability"] as? String == "code")
                #expect(d["model"] as? String == "deepseek-coder-1.3b")
                #expect(d.keys.contains("label"))
            }
            try await client.execute(uri: "/v1/route", method: .post,
                                     body: try body(["prompts": ["Translate 'hello' into French", "Write a haiku about snow"]])) { response in
                let decisions = json(response.body)["decisions"] as? [[String: Any]] ?? []
                #expect(decisions.map { $0["capability"] as? String } == ["translation", "creative"])
            }
            try await client.execute(uri: "/v1/route", method: .post, body: try body(["messages": [
                ["role": "system", "content": "You are helpful."],
                ["role": "user", "content": [["type": "text", "text": "Write a SQL query that counts orders per customer"]]],
            ]])) { response in
                #expect(json(response.body)["capability"] as? String == "code")
            }
        }
    }

    @Test("the configured rule candidates bound what the rules may choose for unsure prompts")
    func ruleCandidates() async throws {
        // The shipped centroids with every threshold at 1, so that every prompt is unsure and the rules have a say.
        let dir = TestPaths.temporaryDirectory("rules")
        var file = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: TestPaths.repositoryFile("centroids/tasks.json")))) as! [String: Any]
        file["thresholds"] = (file["thresholds"] as! [String: Any]).mapValues { _ in 1.0 }
        file["default_threshold"] = 1.0
        try JSONSerialization.data(withJSONObject: file).write(to: URL(fileURLWithPath: dir + "/unsure.json"))
        let prompts = ["Summarize and translate and classify this code poem", "Translate the comments of this Python function",
                       "Write a poem that explains why the sky is blue", "How many words should a short story have?"]
        /// Per prompt: the capability, the centroids' best capability, the method.
        func decisions(_ candidates: Int) async throws -> [[String]] {
            var c = testConfiguration()
            c.centroidsPath = dir + "/unsure.json"
            c.ruleCandidates = candidates
            return try await makeApp(c).test(.router) { client in
                try await client.execute(uri: "/v1/route", method: .post, body: try body(["prompts": prompts])) { response in
                    #expect(response.status == .ok)
                    return (json(response.body)["decisions"] as? [[String: Any]] ?? []).map { d in
                        let best = (d["scores"] as? [String: Double])?.max { $0.value < $1.value }?.key
                        return [d["capability"] as? String ?? "", best ?? "", d["method"] as? String ?? ""]
                    }
                }
            }
        }
        let one = try await decisions(1), any = try await decisions(.max)
        #expect(one.count == prompts.count && any.count == prompts.count)
        #expect(one.allSatisfy { $0[0] == $0[1] })
        #expect(any.contains { $0[2] == "fallback" && $0[0] != $0[1] })
    }

    @Test("bad requests are OpenAI-shaped errors", arguments: [
        ("/v1/route", "{not json", HTTPResponse.Status.badRequest, "invalid_json"),
        ("/v1/route", "[1, 2]", .badRequest, "invalid_json"),
        ("/v1/route", "{}", .badRequest, "missing_field"),
        ("/v1/route", #"{"prompt": 42}"#, .badRequest, "invalid_type"),
        ("/v1/route", #"{"prompt": "   "}"#, .badRequest, "empty_input"),
        ("/v1/route", #"{"prompts": []}"#, .badRequest, "empty_input"),
        ("/v1/embeddings", #"{}"#, .badRequest, "missing_field"),
        ("/v1/embeddings", #"{"input": 7}"#, .badRequest, "invalid_type"),
        ("/v1/embeddings", #"{"input": []}"#, .badRequest, "empty_input"),
        ("/v1/embeddings", #"{"input": "x", "encoding_format": "int8"}"#, .badRequest, "invalid_type"),
        ("/v1/embeddings", #"{"input": "x", "model": "text-embedding-3-large"}"#, .notFound, "model_not_found"),
        ("/v1/chat/completions", #"{"messages": [{"role": "user", "content": "hi"}]}"#, .badRequest, "missing_field"),
        ("/v1/chat/completions", #"{"model": "auto", "messages": "hi"}"#, .badRequest, "invalid_type"),
        ("/v1/chat/completions", #"{"model": "auto", "messages": []}"#, .badRequest, "empty_input"),
        ("/v1/chat/completions", #"{"model": "auto", "messages": [{"role": "wizard", "content": "hi"}]}"#, .badRequest, "invalid_type"),
        ("/v1/chat/completions", #"{"model": "gpt-9", "messages": [{"role": "user", "content": "hi"}]}"#, .notFound, "model_not_found"),
    ])
    func badRequests(path: String, payload: String, status: HTTPResponse.Status, code: String) async throws {
        try await makeApp(testConfiguration()).test(.router) { client in
            try await client.execute(uri: path, method: .post, body: ByteBuffer(string: payload)) { expectError($0, status, code: code) }
        }
    }

    @Test("a body over the limit is 413")
    func huge() async throws {
        let big = String(repeating: "a", count: 100_000)
        try await makeApp(testConfiguration()).test(.router) { client in
            try await client.execute(uri: "/v1/route", method: .post, body: try body(["prompt": big])) {
                expectError($0, .contentTooLarge, code: "body_too_large")
            }
        }
    }

    @Test("API keys: required everywhere but health, compared exactly")
    func auth() async throws {
        try await makeApp(testConfiguration(keys: ["k-one", "k-two"])).test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v1/models", method: .get) { expectError($0, .unauthorized, code: "missing_api_key") }
            try await client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "Bearer k-one-and-more"]) {
                expectError($0, .unauthorized, code: "invalid_api_key")
            }
            try await client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "Bearer k-two"]) { #expect($0.status == .ok) }
        }
    }

    @Test("embeddings: float and base64 match the golden vectors; usage counts tokens")
    func embeddings() async throws {
        let all = try #require(try Fixture.jsonObject("golden/minilm_golden.json")["items"] as? [[String: Any]])
        let items = all.prefix(6)
        let texts = items.map { $0["text"] as! String }
        let golden = items.map { ($0["embedding"] as! [NSNumber]).map(\.doubleValue) }
        let tokens = items.map { ($0["token_ids"] as! [Any]).count }.reduce(0, +)
        try await makeApp(testConfiguration()).test(.router) { client in
            var floats: [[Double]] = []
            try await client.execute(uri: "/v1/embeddings", method: .post, body: try body(["input": texts, "model": "all-MiniLM-L6-v2"])) { response in
                #expect(response.status == .ok)
                let object = json(response.body)
                floats = (object["data"] as? [[String: Any]])?.map { $0["embedding"] as! [Double] } ?? []
                #expect((object["usage"] as? [String: Any])?["prompt_tokens"] as? Int == tokens)
            }
            #expect(floats.count == texts.count)
            for (a, b) in zip(floats, golden) {
                let cosine = zip(a, b).map(*).reduce(0, +)
                #expect(cosine > 0.99999)
            }
            try await client.execute(uri: "/v1/embeddings", method: .post, body: try body(["input": texts[0], "encoding_format": "base64"])) { response in
                let encoded = (json(response.body)["data"] as? [[String: Any]])?.first?["embedding"] as? String ?? ""
                let bytes = Data(base64Encoded: encoded) ?? Data()
                #expect(bytes.count == 384 * 4)
                let first = Float(bitPattern: UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24)
                #expect(abs(Double(first) - floats[0][0]) < 1e-7)
            }
        }
    }

    @Test("upstream down: every fallback is tried and the 502 says why")
    func upstreamDown() async throws {
        try await makeApp(testConfiguration()).test(.router) { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post,
                                     body: try body(["model": "auto", "messages": [["role": "user", "content": "Write a poem about rain"]]])) { response in
                expectError(response, .badGateway, code: "upstream_unavailable")
                let message = (json(response.body)["error"] as? [String: Any])?["message"] as? String ?? ""
                #expect(message.contains("mistral-7b") && message.contains("phi-4-mini") && message.contains("connection refused"))
                // Clients see aliases and short reasons; upstream URLs and library error types stay in the log.
                #expect(!message.contains("http://") && !message.contains("HTTPClientError"), "\(message)")
                #expect(response.headers[HTTPField.Name("x-request-id")!] != nil)
            }
        }
    }

    @Test("upstream 500 on the first model falls back to the next; routing headers name the model that answered")
    func upstream500() async throws {
        let upstream = try await FakeOpenAIServer { r in
            r.json["model"] as? String == "mistral-7b-v0.2"
                ? .respond(status: 500, body: #"{"error":{"message":"down"}}"#)
                : .respond(status: 200, body: FakeBodies.chat("from fallback", model: r.json["model"] as? String ?? ""))
        }
        try await makeApp(testConfiguration(upstream: upstream.baseURL)).test(.router) { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post,
                                     body: try body(["model": "auto", "messages": [["role": "user", "content": "Write a poem about rain"]]])) { response in
                #expect(response.status == .ok)
                #expect(response.headers[HTTPField.Name("x-pointsman-model")!] == "phi-4-mini")
                #expect(response.headers[HTTPField.Name("x-pointsman-capability")!] == "creative")
                #expect(response.headers[HTTPField.Name("x-pointsman-method")!] != nil)
                #expect(Double(response.headers[HTTPField.Name("x-pointsman-confidence")!] ?? "") != nil)
                #expect(String(buffer: response.body).contains("from fallback"))
            }
            // An explicit model is forwarded as asked, with its upstream id.
            try await client.execute(uri: "/v1/chat/completions", method: .post,
                                     body: try body(["model": "qwen2.5-0.5b", "temperature": 0, "messages": [["role": "user", "content": "hi"]]])) { response in
                #expect(response.status == .ok)
                #expect(response.headers[HTTPField.Name("x-pointsman-model")!] == "qwen2.5-0.5b")
            }
        }
        let models = upstream.requests.map { $0.json["model"] as? String }
        #expect(models == ["mistral-7b-v0.2", "phi-4-mini", "qwen2.5-0.5b"])
        #expect(upstream.requests.last?.json["temperature"] as? Int == 0)  // extra fields pass through
        try await upstream.stop()
    }

    @Test("reload: a broken catalog keeps the old state and the response says why; a good one takes effect")
    func reload() async throws {
        let dir = TestPaths.temporaryDirectory("svc")
        let path = dir + "/catalog.json"
        try Catalog.shipped.jsonText().write(toFile: path, atomically: true, encoding: .utf8)
        try await makeApp(testConfiguration(catalog: path)).test(.router) { client in
            try #"{"default_model": "ghost", "models": [{"alias": "a", "capabilities": ["general"], "priority": 1}]}"#
                .write(toFile: path, atomically: true, encoding: .utf8)
            try await client.execute(uri: "/admin/reload", method: .post) { response in
                #expect(response.status == .unprocessableContent)
                let errors = json(response.body)["errors"] as? [String] ?? []
                #expect(errors.first?.contains("default_model") == true)
            }
            try await client.execute(uri: "/v1/models", method: .get) { response in
                #expect((json(response.body)["data"] as? [Any])?.count == 8)
            }
            try #"{"default_model": "a", "models": [{"alias": "a", "capabilities": ["general"], "priority": 1}]}"#
                .write(toFile: path, atomically: true, encoding: .utf8)
            try await client.execute(uri: "/admin/reload", method: .post) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v1/models", method: .get) { response in
                #expect((json(response.body)["data"] as? [Any])?.count == 2)
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(text.contains("pointsman_reloads_total{result=\"failure\"} 1"))
                #expect(text.contains("pointsman_reloads_total{result=\"success\"} 1"))
            }
        }
    }
}

@Suite("Service A/B and load shedding")
struct ServiceABTests {
    @Test("shadow mode: both decisions go to the trace; split mode: metrics carry the arm that decided")
    func abModes() async throws {
        let upstream = try await FakeOpenAIServer { r in .respond(status: 200, body: FakeBodies.chat("ok", model: r.json["model"] as? String ?? "")) }
        let dir = TestPaths.temporaryDirectory("svc-ab")
        var shadow = testConfiguration(upstream: upstream.baseURL)
        shadow.abMode = .shadow
        shadow.abDetector = .regex
        shadow.tracePath = dir + "/shadow.jsonl"
        try await makeApp(shadow).test(.router) { client in
            for (i, prompt) in ["Write a Go function that parses JSON", "Translate 'thanks' into Italian"].enumerated() {
                try await client.execute(uri: "/v1/chat/completions", method: .post,
                                         body: try body(["model": "auto", "user": "user-\(i)", "messages": [["role": "user", "content": prompt]]])) {
                    #expect($0.status == .ok)
                }
            }
        }
        let records = try TestPaths.jsonLines(dir + "/shadow.jsonl")
        #expect(records.count == 2)
        #expect(records.allSatisfy { $0["a"] is [String: Any] && $0["b"] is [String: Any] && $0["arm"] as? String == "A" })
        #expect(records.map { $0["id"] as? String } == ["user-0", "user-1"])
        #expect(records.allSatisfy { $0["prompt"] == nil || $0["prompt"] is NSNull })  // prompts stay out unless --log-prompts

        var split = testConfiguration(upstream: upstream.baseURL)
        split.abMode = .split(share: 1)
        split.abDetector = .regex
        try await makeApp(split).test(.router) { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post,
                                     body: try body(["model": "auto", "user": "u", "messages": [["role": "user", "content": "Write a haiku"]]])) { _ in }
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(text.contains("method=\"regex\",arm=\"B\""))
                #expect(!text.contains("arm=\"A\""))
            }
        }
        try await upstream.stop()
    }

    @Test("split mode without a user: the request's own id picks the arm, and the trace names it")
    func splitByRequestID() async throws {
        let upstream = try await FakeOpenAIServer { r in .respond(status: 200, body: FakeBodies.chat("ok", model: r.json["model"] as? String ?? "")) }
        let dir = TestPaths.temporaryDirectory("svc-ab-id")
        var split = testConfiguration(upstream: upstream.baseURL)
        split.abMode = .split(share: 0.5)
        split.abDetector = .regex
        split.tracePath = dir + "/split.jsonl"
        let requestIDs = try await makeApp(split).test(.router) { client in
            var ids: [String] = []
            // 24 requests: both arms appear unless 2⁻²³ bad luck.
            for _ in 0..<24 {
                ids.append(try await client.execute(uri: "/v1/chat/completions", method: .post,
                                                    body: try body(["model": "auto", "messages": [["role": "user", "content": "Write a haiku"]]])) {
                    #expect($0.status == .ok)
                    return try #require($0.headers[HTTPField.Name("x-request-id")!])
                })
            }
            return ids
        }
        let records = try TestPaths.jsonLines(dir + "/split.jsonl")
        #expect(records.map { $0["id"] as? String } == requestIDs.map { Optional($0) })
        #expect(records.map { $0["arm"] as? String } == requestIDs.map { ABRouter.arm(for: $0, share: 0.5) })
        #expect(Set(records.compactMap { $0["arm"] as? String }) == ["A", "B"])
        try await upstream.stop()
    }

    @Test("a full embedding queue answers 503 with Retry-After; a request larger than the whole queue is a 400")
    func overloaded() async throws {
        var c = testConfiguration()
        c.queueLimit = 4
        c.batchMaxWait = .milliseconds(400)  // the first request waits for company, so the queue stays full a while
        let three = try body(["input": ["a", "b", "c"]]), two = try body(["input": ["d", "e"]])
        let five = try body(["input": ["a", "b", "c", "d", "e"]])
        try await makeApp(c).test(.router) { client in
            try await client.execute(uri: "/v1/embeddings", method: .post, body: five) { response in
                expectError(response, .badRequest, code: "too_many_inputs")
                #expect(response.headers[.retryAfter] == nil)
            }
            async let first: Void = client.execute(uri: "/v1/embeddings", method: .post, body: three) { response in
                #expect(response.status == .ok)
            }
            try await Task.sleep(for: .milliseconds(100))
            try await client.execute(uri: "/v1/embeddings", method: .post, body: two) { response in
                expectError(response, .serviceUnavailable, code: "overloaded")
                #expect(response.headers[.retryAfter] == "1")
            }
            try await first
        }
    }
}

@Suite("Embedding micro-batching")
struct BatcherTests {
    @Test("concurrent requests are answered correctly and share encoder calls")
    func batching() async throws {
        let encoder = try serviceEncoder.get()
        let metrics = ServiceMetrics()
        let batcher = EmbeddingBatcher(encoder: encoder, maxTexts: 16, maxWait: .milliseconds(20), queueLimit: 256, metrics: metrics)
        let texts = (0..<24).map { "prompt number \($0) about routing" }
        let single = try await encoder.embed(texts)
        let results = try await withThrowingTaskGroup(of: (Int, [Float]).self) { group in
            for (i, text) in texts.enumerated() { group.addTask { (i, try await batcher.embed([text]).row(0)) } }
            var out: [(Int, [Float])] = []
            for try await r in group { out.append(r) }
            return out.sorted { $0.0 < $1.0 }
        }
        for (i, vector) in results {
            let reference = single.row(i)
            #expect(zip(vector, reference).map { abs($0 - $1) }.max()! < 1e-5)
        }
        let text = metrics.render()
        // Fewer encoder calls than requests: the histogram's count is the number of batches.
        let count = text.split(separator: "\n").first { $0.hasPrefix("pointsman_embed_batch_texts_count") }
        let batches = Int(count?.split(separator: " ").last ?? "99") ?? 99
        #expect(batches < 24)
    }

    @Test("routing's lead-token vectors and plain /v1/embeddings vectors share the batcher without mixing")
    func mixedPooling() async throws {
        let encoder = try serviceEncoder.get()
        let batcher = EmbeddingBatcher(encoder: encoder, maxTexts: 8, maxWait: .milliseconds(20), queueLimit: 256)
        let routing = try batcher.embedder(leadTokens: 2)
        #expect(try await routing.fingerprint() == encoder.withLeadTokens(2).currentFingerprint)
        #expect(try await batcher.fingerprint() == encoder.currentFingerprint)
        let texts = (0..<12).map { "Summarize note \($0) about the quarterly budget" }
        let plainReference = try await encoder.embed(texts)
        let leadReference = try await encoder.withLeadTokens(2).embed(texts)
        let results = try await withThrowingTaskGroup(of: (Int, Bool, [Float]).self) { group in
            for (i, text) in texts.enumerated() {
                group.addTask { (i, false, try await batcher.embed([text]).row(0)) }
                group.addTask { (i, true, try await routing.embed([text]).row(0)) }
            }
            var out: [(Int, Bool, [Float])] = []
            for try await r in group { out.append(r) }
            return out
        }
        #expect(results.count == 24)
        for (i, lead, vector) in results {
            let reference = lead ? leadReference.row(i) : plainReference.row(i)
            #expect(zip(vector, reference).map { abs($0 - $1) }.max()! < 1e-5, "text \(i), lead \(lead)")
        }
        #expect(throws: EmbeddingBatcherError.invalidLeadTokens(-1)) { _ = try batcher.embedder(leadTokens: -1) }
    }

    @Test("reloading centroids that pool differently switches the routing vectors, through the same batcher")
    func reloadAcrossPoolings() async throws {
        let encoder = try serviceEncoder.get()
        let batcher = EmbeddingBatcher(encoder: encoder, maxTexts: 8, maxWait: .zero, queueLimit: 64)
        let dir = TestPaths.temporaryDirectory("service-pooling")
        let path = dir + "/centroids.json"
        let sentence = try Data(contentsOf: URL(fileURLWithPath: TestPaths.repositoryFile("centroids/tasks-sentence.json")))
        let lead = try Data(contentsOf: URL(fileURLWithPath: TestPaths.repositoryFile("centroids/tasks.json")))
        try sentence.write(to: URL(fileURLWithPath: path))
        var configuration = testConfiguration()
        configuration.centroidsPath = path
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let state = try await RoutingStore(files: configuration.routingFiles, embedder: batcher, logger: logger)
        let prompt = "Write a Python function that merges two sorted lists"
        let before = try await state.current().router.route(prompt)
        #expect(before.capability == "code" && before.method == .embedding)
        try lead.write(to: URL(fileURLWithPath: path))
        let result = await state.reload()
        #expect(result.ok, "\(result.errors)")
        let after = try await state.current().router.route(prompt)
        #expect(after.capability == "code" && after.method == .embedding)
        // A file the encoder cannot serve (another model) is refused and the lead-token centroids stay.
        var foreign = try CentroidArtifact.load(from: path)
        foreign.embedder.model = "another-model"
        try foreign.write(to: path)
        #expect(await state.reload().ok == false)
        #expect(try await state.current().router.route(prompt).capability == "code")
    }

    @Test("a full queue refuses new work instead of growing")
    func bounded() async throws {
        let batcher = EmbeddingBatcher(encoder: try serviceEncoder.get(), maxTexts: 4, maxWait: .milliseconds(50), queueLimit: 8)
        await #expect(throws: EmbeddingRequestTooLarge.self) { _ = try await batcher.embed(Array(repeating: "x", count: 9)) }
        let ok = try await batcher.embed(Array(repeating: "x", count: 8))
        #expect(ok.rows == 8)
        // Queued work fills the queue: the idle encoder waits 50 ms for company, and meanwhile nothing more fits.
        async let waiting = batcher.embed(Array(repeating: "y", count: 3))  // fewer than a batch: it waits
        try await Task.sleep(for: .milliseconds(10))
        await #expect(throws: EmbeddingQueueFull.self) { _ = try await batcher.embed(Array(repeating: "z", count: 6)) }
        #expect(try await waiting.rows == 3)
    }
}
