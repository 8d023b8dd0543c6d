import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import MiniLMEncoder
import OpenAIClient
import PointsmanCore
@testable import PointsmanService
import PointsmanTestSupport
import Testing

@Suite("Service hardening (fake upstream, no sockets)")
struct ServiceHardeningTests {
    @Test("unauthenticated requests to ever new paths add no metric series: routes are labelled by template")
    func boundedMetricLabels() async throws {
        let app = Application(router: buildRouter(try await fakeDependencies(RecordingUpstream(), keys: ["k"])))
        try await app.test(.router) { client in
            for index in 0..<300 {
                try await client.execute(uri: "/probe-\(index)-" + String(repeating: "x", count: 200), method: .get) { response in
                    #expect(response.status == .unauthorized)
                }
            }
            try await client.execute(uri: "/v1/route", method: .post, headers: [.authorization: "bearer k"],
                                     body: try body(["prompt": "hello"])) { response in
                #expect(response.status == .ok, "a lowercase bearer scheme is accepted")
            }
            try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer k"]) { response in
                let text = String(buffer: response.body)
                #expect(!text.contains("probe-"))
                let routes = Set(text.split(separator: "\n").filter { $0.hasPrefix("pointsman_http_requests_total{") }
                    .compactMap { line in line.split(separator: "route=\"").dropFirst().first?.split(separator: "\"").first.map(String.init) })
                // Every label value is a route template of this service, or "unmatched".
                #expect(routes.isSubset(of: ["unmatched", "/v1/route", "/metrics"]), "\(routes)")
                #expect(text.utf8.count < 20_000)
            }
        }
    }

    @Test("batch and input limits are client errors that name the limit")
    func limits() async throws {
        let app = Application(router: buildRouter(try await fakeDependencies(RecordingUpstream())))
        let many = try body(["prompts": Array(repeating: "hi", count: 257)])
        let big = try body(["prompts": [String(repeating: "a", count: 150_000), String(repeating: "b", count: 150_000)]])
        let inputs = try body(["input": Array(repeating: "x", count: 1025)])
        let format = try body(["input": "x", "encoding_format": 7])
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/route", method: .post, body: many) { response in
                expectError(response, .badRequest, code: "too_many_inputs")
                #expect(String(buffer: response.body).contains("at most 256"))
            }
            try await client.execute(uri: "/v1/route", method: .post, body: big) { response in
                expectError(response, .badRequest, code: "input_too_large")
            }
            try await client.execute(uri: "/v1/embeddings", method: .post, body: inputs) { response in
                expectError(response, .badRequest, code: "too_many_inputs")
                #expect(String(buffer: response.body).contains("at most 1024") && response.headers[.retryAfter] == nil)
            }
            try await client.execute(uri: "/v1/embeddings", method: .post, body: format) { response in
                expectError(response, .badRequest, code: "invalid_type")
            }
        }
    }

    @Test("upstream 429 on every model answers 429 with the upstream's Retry-After")
    func rateLimitPassesThrough() async throws {
        let limited = OpenAIClientError.rateLimited(url: "http://upstream:1/v1/chat/completions", retryAfter: "7", message: "slow down")
        let upstream = RecordingUpstream(replies: ["mistral-7b-v0.2": .fail(limited), "phi-4-mini": .fail(limited)])
        let app = Application(router: buildRouter(try await fakeDependencies(upstream)))
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post,
                                     body: try body(["model": "auto", "messages": [["role": "user", "content": "Write a poem about rain"]]])) { response in
                expectError(response, .tooManyRequests, code: "rate_limited")
                #expect(response.headers[.retryAfter] == "7")
                #expect(!String(buffer: response.body).contains("upstream:1"))
            }
        }
    }

    @Test("admin keys: with any configured, /admin/ routes take only them (a client key is a 403), and they open nothing else")
    func adminKeys() async throws {
        let adminKey: HTTPFields = [.authorization: "Bearer admin-1"], clientKey: HTTPFields = [.authorization: "Bearer client-1"]
        var d = try await fakeDependencies(RecordingUpstream(), keys: ["client-1"])
        d.configuration.adminKeys = ["admin-1"]
        try await Application(router: buildRouter(d)).test(.router) { client in
            try await client.execute(uri: "/admin/reload", method: .post) { expectError($0, .unauthorized, code: "missing_api_key") }
            try await client.execute(uri: "/admin/reload", method: .post, headers: clientKey) {
                expectError($0, .forbidden, code: "admin_key_required")
            }
            try await client.execute(uri: "/admin/reload", method: .post, headers: adminKey) {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/admin/reload", method: .post, headers: [HTTPField.Name("x-api-key")!: "admin-1"]) {
                #expect($0.status == .ok)
            }
            // The router skips empty segments: a doubled slash is still the admin route, and still guarded.
            try await client.execute(uri: "//admin/reload", method: .post, headers: clientKey) {
                expectError($0, .forbidden, code: "admin_key_required")
            }
            try await client.execute(uri: "/admin/reload", method: .post, headers: [.authorization: "Bearer nobody"]) {
                expectError($0, .unauthorized, code: "invalid_api_key")
            }
            // An admin key is not a client key.
            try await client.execute(uri: "/v1/models", method: .get, headers: adminKey) {
                expectError($0, .unauthorized, code: "invalid_api_key")
            }
            try await client.execute(uri: "/v1/models", method: .get, headers: clientKey) {
                #expect($0.status == .ok)
            }
        }
        // Admin keys without client keys: only the admin routes are closed.
        var open = try await fakeDependencies(RecordingUpstream())
        open.configuration.adminKeys = ["admin-1"]
        try await Application(router: buildRouter(open)).test(.router) { client in
            try await client.execute(uri: "/v1/models", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/admin/reload", method: .post) { expectError($0, .unauthorized, code: "missing_api_key") }
            try await client.execute(uri: "//admin/reload", method: .post) { expectError($0, .unauthorized, code: "missing_api_key") }
        }
        // No admin keys: the admin routes take a client key, as before.
        try await Application(router: buildRouter(try await fakeDependencies(RecordingUpstream(), keys: ["client-1"]))).test(.router) { client in
            try await client.execute(uri: "/admin/reload", method: .post, headers: clientKey) {
                #expect($0.status == .ok)
            }
        }
    }

    @Test("a known path with the wrong method is a 405 naming the allowed method")
    func methodNotAllowed() async throws {
        let app = Application(router: buildRouter(try await fakeDependencies(RecordingUpstream())))
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/chat/completions", method: .get) { response in
                expectError(response, .methodNotAllowed, code: "method_not_allowed")
                #expect(response.headers[.allow] == "POST")
            }
            try await client.execute(uri: "/v1/models", method: .post) { response in
                #expect(response.status == .methodNotAllowed && response.headers[.allow] == "GET")
            }
        }
    }

    @Test("a user message with only an image goes to the default model, or the nearest that reads images; none: a 400 naming the need")
    func imageOnly() async throws {
        let dir = TestPaths.temporaryDirectory("image-only")
        let catalog = dir + "/catalog.json"
        try #"{"default_model":"text","models":[{"alias":"text","capabilities":["general"],"priority":1,"supports_vision":false,"fallbacks":["eyes","blind"]},{"alias":"eyes","capabilities":["general"],"priority":3,"supports_vision":true},{"alias":"blind","capabilities":["general"],"priority":2,"supports_vision":false}]}"#
            .write(toFile: catalog, atomically: true, encoding: .utf8)
        let upstream = RecordingUpstream(replies: ["eyes": .fail(.http(status: 503, url: "http://127.0.0.1:1/v1/chat/completions", message: "down"))])
        let app = Application(router: buildRouter(try await fakeDependencies(upstream, catalog: catalog)))
        let image = try body(["model": "auto", "messages": [["role": "user", "content": [
            ["type": "image_url", "image_url": ["url": "data:image/png;base64,AAAA"]]]]]])
        let empty = try body(["model": "auto", "messages": [["role": "user", "content": "   "]]])
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: image) { response in
                // "eyes" is the only model that reads images; when it fails, "blind" (a text-only fallback) is not tried.
                expectError(response, .badGateway, code: "upstream_unavailable")
                #expect(!String(buffer: response.body).contains("blind"))
            }
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: empty) { response in
                expectError(response, .badRequest, code: "empty_input")
            }
        }
        #expect(upstream.received.map { $0.body["model"] as? String } == ["eyes"])
        let parts = try #require((upstream.received.first?.body["messages"] as? [[String: Any]])?.first?["content"] as? [[String: Any]])
        #expect(parts.first?["type"] as? String == "image_url")
        // The shipped catalog's models are text-only: an image is a 400 that says so.
        let shipped = Application(router: buildRouter(try await fakeDependencies(RecordingUpstream())))
        try await shipped.test(.router) { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: image) { response in
                expectError(response, .badRequest, code: "no_capable_model")
                #expect(String(buffer: response.body).contains("image input"))
            }
        }
    }

    @Test("tools, JSON output and the context window pick a model that can serve the request, or a 400 naming the need")
    func capabilityFilters() async throws {
        let dir = TestPaths.temporaryDirectory("filters")
        let catalog = dir + "/catalog.json"
        try #"{"default_model":"small","models":[{"alias":"small","capabilities":["general"],"priority":1,"context_length":1000,"supports_tools":false,"supports_json":false,"fallbacks":["large","tooled"]},{"alias":"tooled","capabilities":["general"],"priority":2,"context_length":1000,"supports_tools":true,"supports_json":false},{"alias":"large","capabilities":["general"],"priority":3,"context_length":100000,"supports_tools":true,"supports_json":true}]}"#
            .write(toFile: catalog, atomically: true, encoding: .utf8)
        let upstream = RecordingUpstream()
        let app = Application(router: buildRouter(try await fakeDependencies(upstream, catalog: catalog)))
        @Sendable func ask(_ extra: [String: Any], text: String = "Tell me about the history of Rome") throws -> ByteBuffer {
            try body(["model": "auto", "messages": [["role": "user", "content": text]]].merging(extra) { $1 })
        }
        let model = HTTPField.Name("x-pointsman-model")!
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: try ask([:])) { #expect($0.headers[model] == "small") }
            let tools: [String: Any] = ["tools": [["type": "function", "function": ["name": "f", "parameters": ["type": "object"]]]]]
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: try ask(tools)) { #expect($0.headers[model] == "tooled") }
            try await client.execute(uri: "/v1/chat/completions", method: .post,
                                     body: try ask(["response_format": ["type": "json_object"]])) { #expect($0.headers[model] == "large") }
            // About 1,200 tokens of prompt (1,700 by the 4-bytes estimate used without an encoder) do not fit 1,000; neither
            // do about 800 plus 500 asked for, while 800 plus 50 do.
            let long = String(repeating: "history of the roman empire ", count: 240)
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: try ask([:], text: long)) { #expect($0.headers[model] == "large") }
            let medium = String(repeating: "history of the roman empire ", count: 110)
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: try ask(["max_tokens": 50], text: medium)) {
                #expect($0.headers[model] == "small")
            }
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: try ask(["max_tokens": 500], text: medium)) {
                #expect($0.headers[model] == "large")
            }
            let huge = String(repeating: "history of the roman empire ", count: 30_000)
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: try ask([:], text: huge)) { response in
                expectError(response, .badRequest, code: "no_capable_model")
                #expect(String(buffer: response.body).contains("tokens of context"))
            }
        }
        // Tools routed to "tooled"; JSON and the long prompts to "large".
        #expect(upstream.received.map { $0.body["model"] as? String } == ["small", "tooled", "large", "large", "small", "large"])
    }

    @Test("quality: the x-pointsman-quality header or the body's pointsman object (never forwarded), else the service default")
    func quality() async throws {
        let upstream = RecordingUpstream()
        var dependencies = try await fakeDependencies(upstream)
        dependencies.configuration.quality = .economy
        let app = Application(router: buildRouter(dependencies))
        let model = HTTPField.Name("x-pointsman-model")!
        // A code prompt: deepseek-coder-1.3b is both the workshop's pick and the cheapest; gpt-oss-20b is the top tier.
        @Sendable func ask(_ extra: [String: Any] = [:]) throws -> ByteBuffer {
            try body(["model": "auto", "messages": [["role": "user", "content": "Refactor this Python function for readability"]]]
                .merging(extra) { $1 })
        }
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: [HTTPField.Name("x-pointsman-quality")!: "best"],
                                     body: try ask()) { #expect($0.headers[model] == "gpt-oss-20b") }
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: try ask(["pointsman": ["quality": "best"]])) {
                #expect($0.headers[model] == "gpt-oss-20b")
            }
            // The service default (economy) does not escalate a prompt that mentions security.
            let security = try body(["model": "auto", "messages": [["role": "user", "content": "Refactor this code to fix a security bug"]]])
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: security) {
                #expect($0.headers[model] == "deepseek-coder-1.3b")
            }
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: [HTTPField.Name("x-pointsman-quality")!: "cheap"],
                                     body: try ask()) { expectError($0, .badRequest, code: "invalid_value") }
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: try ask(["pointsman": ["qualty": "best"]])) { response in
                expectError(response, .badRequest, code: "invalid_value")
                #expect(String(buffer: response.body).contains("pointsman.qualty"))
            }
        }
        #expect(upstream.received.allSatisfy { $0.body["pointsman"] == nil })
        #expect(upstream.received.count == 3)
    }

    @Test("session stickiness: a conversation stays on its model until a turn confidently needs another; off with capacity 0")
    func sessions() async throws {
        let upstream = RecordingUpstream()
        let app = Application(router: buildRouter(try await fakeDependencies(upstream)))
        let model = HTTPField.Name("x-pointsman-model")!, outcome = HTTPField.Name("x-pointsman-session-outcome")!
        let poem = ["role": "user", "content": "Write a haiku about snow"], answer = ["role": "assistant", "content": "Snow falls..."]
        @Sendable func turn(_ messages: [[String: String]], user: String? = "alice") throws -> ByteBuffer {
            var request: [String: Any] = ["model": "auto", "messages": messages]
            if let user { request["user"] = user }
            return try body(request)
        }
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: try turn([poem])) { response in
                #expect(response.headers[model] == "mistral-7b" && response.headers[outcome] == "new")
            }
            // No rule matches: the router is unsure, so the conversation stays on its model.
            try await client.execute(uri: "/v1/chat/completions", method: .post,
                                     body: try turn([poem, answer, ["role": "user", "content": "Make it longer and sadder"]])) { response in
                #expect(response.headers[model] == "mistral-7b" && response.headers[outcome] == "kept")
            }
            // A code request is certain: the conversation moves.
            try await client.execute(uri: "/v1/chat/completions", method: .post,
                                     body: try turn([poem, answer, ["role": "user", "content": "Now write a Python function that prints it"]])) { response in
                #expect(response.headers[model] == "deepseek-coder-1.3b" && response.headers[outcome] == "switched")
            }
            // Without a user or header, the first user turn names the session.
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: try turn([poem], user: nil)) {
                #expect($0.headers[outcome] == "new")
            }
            try await client.execute(uri: "/v1/chat/completions", method: .post,
                                     body: try turn([poem, answer, ["role": "user", "content": "Make it longer and sadder"]], user: nil)) {
                #expect($0.headers[outcome] == "kept" && $0.headers[model] == "mistral-7b")
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(text.contains("pointsman_session_turns_total{outcome=\"kept\"} 2"))
                #expect(text.contains("pointsman_session_turns_total{outcome=\"switched\"} 1"))
            }
        }
        var off = try await fakeDependencies(RecordingUpstream())
        off.sessions = nil
        try await Application(router: buildRouter(off)).test(.router) { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post,
                                     body: try turn([poem, answer, ["role": "user", "content": "Make it longer and sadder"]])) { response in
                #expect(response.headers[outcome] == nil && response.headers[model] == "phi-4-mini")
            }
        }
    }

    @Test("per-model first-byte timeouts from the catalog reach the upstream call; a total deadline answers 504")
    func timeouts() async throws {
        let dir = TestPaths.temporaryDirectory("timeouts")
        let catalog = dir + "/catalog.json"
        try #"{"default_model":"a","models":[{"alias":"a","capabilities":["general"],"priority":1,"first_byte_timeout_seconds":2.5},{"alias":"b","capabilities":["code"],"priority":1}]}"#
            .write(toFile: catalog, atomically: true, encoding: .utf8)
        let upstream = RecordingUpstream(replies: ["b": .slow(.seconds(5))])
        let app = Application(router: buildRouter(try await fakeDependencies(upstream, catalog: catalog, deadline: .milliseconds(300))))
        let ask = try body(["model": "a", "messages": [["role": "user", "content": "hi"]]])
        let slow = try body(["model": "b", "messages": [["role": "user", "content": "hi"]]])
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: ask) { response in
                #expect(response.status == .ok)
            }
            let start = ContinuousClock.now
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: slow) { response in
                expectError(response, .gatewayTimeout, code: "upstream_timeout")
            }
            #expect(ContinuousClock.now - start < .seconds(2))
        }
        #expect(upstream.firstByteTimeouts.first == .some(.milliseconds(2500)))
        #expect(upstream.firstByteTimeouts.last == .some(nil))
        // A timeout that is not a positive number is refused by name.
        try #"{"default_model":"a","models":[{"alias":"a","capabilities":["general"],"priority":1,"first_byte_timeout_seconds":0}]}"#
            .write(toFile: catalog, atomically: true, encoding: .utf8)
        #expect(throws: CatalogError.self) { try Catalog.load(from: catalog) }
    }

    @Test("connect and idle timeouts per model: one connection pool per distinct pair; a stalled stream is cut at the model's idle timeout")
    func perModelPools() async throws {
        let clients = try UpstreamClients(base: OpenAIClientConfiguration(baseURL: "http://127.0.0.1:9/v1", idleTimeout: .seconds(60)))
        defer { Task { try? await clients.shutdown() } }
        let fast = UpstreamTimeouts(connect: .milliseconds(500), idle: .seconds(2))
        #expect(clients.configuration(for: fast).connectTimeout == .milliseconds(500))
        #expect(clients.configuration(for: fast).idleTimeout == .seconds(2))
        #expect(clients.configuration(for: UpstreamTimeouts()).idleTimeout == .seconds(60))
        _ = try clients.client(for: fast)
        _ = try clients.client(for: UpstreamTimeouts(connect: .milliseconds(500), firstByte: .seconds(9), idle: .seconds(2)))
        _ = try clients.client(for: UpstreamTimeouts())
        #expect(clients.poolCount == 2)

        // Through the service, with a real upstream on loopback that pauses 800 ms between pieces.
        let upstream = try await FakeOpenAIServer { _ in
            .stream(pieces: (0..<3).map { FakeBodies.chunk("p\($0)") } + ["data: [DONE]\n\n"], gap: .milliseconds(800))
        }
        let dir = TestPaths.temporaryDirectory("idle")
        let catalog = dir + "/catalog.json"
        try #"{"default_model":"patient","models":[{"alias":"patient","capabilities":["general"],"priority":1},{"alias":"impatient","capabilities":["code"],"priority":1,"idle_timeout_seconds":0.3}]}"#
            .write(toFile: catalog, atomically: true, encoding: .utf8)
        var configuration = ServiceConfiguration()
        configuration.catalogPath = catalog
        configuration.upstreamURL = upstream.baseURL
        let state = try await RoutingStore(files: configuration.routingFiles, embedder: nil, detector: .regex)
        let service = try UpstreamClients(base: OpenAIClientConfiguration(baseURL: upstream.baseURL, maxRetries: 0))
        let app = Application(router: buildRouter(ServiceDependencies(configuration: configuration, state: state, upstream: service)))
        let ask = { (model: String) in try body(["model": model, "stream": true, "messages": [["role": "user", "content": "hi"]]]) }
        let patient = try ask("patient"), impatient = try ask("impatient")
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: impatient) { response in
                let text = String(buffer: response.body)
                #expect(text.contains("upstream_interrupted") && !text.contains("[DONE]"), "\(text)")
            }
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: patient) { response in
                #expect(String(buffer: response.body).contains("[DONE]"))
            }
        }
        try await service.shutdown()
        try await upstream.stop()
    }

    @Test("a non-streamed answer cut mid-body is an upstream failure: the fallback answers, and nothing leaks")
    func cutBody() async throws {
        let broken = try await FakeOpenAIServer { _ in .stream(pieces: [#"{"id":"c1","choices":[{"mess"#], cut: true) }
        let working = try await FakeOpenAIServer { _ in .respond(status: 200, body: FakeBodies.chat("fine")) }
        let dir = TestPaths.temporaryDirectory("cut")
        let catalog = dir + "/catalog.json"
        try #"{"default_model":"a","models":[{"alias":"a","capabilities":["general"],"priority":1,"base_url":"\#(broken.baseURL)","fallbacks":["b"]},{"alias":"b","capabilities":["code"],"priority":1,"base_url":"\#(working.baseURL)"}]}"#
            .write(toFile: catalog, atomically: true, encoding: .utf8)
        var configuration = ServiceConfiguration()
        configuration.catalogPath = catalog
        let state = try await RoutingStore(files: configuration.routingFiles, embedder: nil, detector: .regex)
        let upstream = try UpstreamClients(base: OpenAIClientConfiguration(baseURL: "http://127.0.0.1:9/v1", maxRetries: 0))
        let app = Application(router: buildRouter(ServiceDependencies(configuration: configuration, state: state, upstream: upstream)))
        let ask = try body(["model": "auto", "messages": [["role": "user", "content": "hello there"]]])
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: ask) { response in
                #expect(response.status == .ok)
                #expect(response.headers[HTTPField.Name("x-pointsman-model")!] == "b")
                #expect(String(buffer: response.body).contains("fine"))
            }
        }
        try await upstream.shutdown()
        try await broken.stop()
        try await working.stop()
    }

    @Test("a large embedding request is served in slices between others: a single text queued behind it finishes first")
    func fairQueueing() async throws {
        let batcher = EmbeddingBatcher(encoder: try serviceEncoder.get(), maxTexts: 8, maxWait: .zero, queueLimit: 2048)
        let order = CompletionOrder()
        let big = Array(repeating: "Summarize the quarterly report for the board in three bullet points", count: 256)
        async let large: Void = { _ = try await batcher.embed(big); await order.record("large") }()
        try await Task.sleep(for: .milliseconds(30))
        async let single: Void = { _ = try await batcher.embed(["Translate good morning into French"]); await order.record("single") }()
        _ = try await (large, single)
        #expect(await order.names == ["single", "large"])
        // The large request's vectors come back whole and in order, as if embedded in one call.
        let sliced = try await batcher.embed(Array(big.prefix(20)) + ["another text"])
        let direct = try await serviceEncoder.get().embed(Array(big.prefix(20)) + ["another text"])
        #expect(sliced.rows == 21 && zip(sliced.values, direct.values).allSatisfy { abs($0 - $1) < 1e-5 })
    }
}

actor CompletionOrder {
    var names: [String] = []
    func record(_ name: String) { names.append(name) }
}

@Suite("Budgets in the service (fake upstream, no sockets)")
struct ServiceBudgetTests {
    /// An answer that used 1,000 prompt and 1,000 completion tokens: 0.0006 on phi-4-mini.
    static let answer = #"{"choices":[{"message":{"role":"assistant","content":"ok"}}],"usage":{"prompt_tokens":1000,"completion_tokens":1000,"total_tokens":2000}}"#

    static func dependencies(_ upstream: RecordingUpstream, budget: BudgetPolicy, keys: [String] = []) async throws -> ServiceDependencies {
        var d = try await fakeDependencies(upstream, keys: keys)
        d.configuration.budget = budget
        d.ledger = try FileSpendLedger(path: nil)
        return d
    }

    @Test("spend comes from usage times prices; above the soft limit the cheapest model answers, at the hard limit 429")
    func limits() async throws {
        let upstream = RecordingUpstream(replies: ["phi-4-mini": .json(Self.answer), "gpt-oss-20b": .json(Self.answer)])
        let budget = BudgetPolicy(globalDaily: BudgetLimit(soft: 0.001, hard: 0.0015))
        let app = Application(router: buildRouter(try await Self.dependencies(upstream, budget: budget)))
        // "security" escalates to gpt-oss-20b while within budget; economy (above the soft limit) does not escalate.
        let ask = try body(["model": "auto", "messages": [["role": "user", "content": "Give me some advice for my weekend plans, security first"]]])
        let plain = try body(["model": "auto", "messages": [["role": "user", "content": "Give me some advice for my weekend plans"]]])
        let model = HTTPField.Name("x-pointsman-model")!, budgetHeader = HTTPField.Name("x-pointsman-budget")!
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: plain) { response in
                #expect(response.headers[model] == "phi-4-mini" && response.headers[budgetHeader] == nil)
            }
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: plain) { #expect($0.status == .ok) }
            // 0.0012 spent: above the soft limit.
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: ask) { response in
                #expect(response.status == .ok && response.headers[model] == "phi-4-mini")
                #expect(response.headers[budgetHeader]?.contains("soft limit of 0.001") == true)
            }
            // 0.0018 spent: at the hard limit.
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: plain) { response in
                expectError(response, .tooManyRequests, code: "budget_exceeded")
                #expect(String(buffer: response.body).contains("daily budget of 0.0015 is spent"))
            }
            try await client.execute(uri: "/v1/spend", method: .get) { response in
                let report = json(response.body)
                let totals = report["totals"] as? [String: Double] ?? [:]
                #expect(abs((totals["global_day"] ?? 0) - 0.0018) < 1e-9)
                #expect(abs(((report["models"] as? [String: Double])?["phi-4-mini"] ?? 0) - 0.0018) < 1e-9)
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(text.contains("pointsman_budget_refusals_total 1"))
                #expect(text.contains("pointsman_tokens_total{key=\"anonymous\",model=\"phi-4-mini\"} 6000"))
            }
        }
        #expect(upstream.received.count == 3)
    }

    @Test("an upstream's negative or absurd token counts are not believed: the tokens are counted here, spend never falls, nothing crashes")
    func implausibleUsage() async throws {
        let negative = #"{"choices":[{"message":{"role":"assistant","content":"ok"}}],"usage":{"prompt_tokens":-1000000,"completion_tokens":5}}"#
        let absurd = #"{"choices":[{"message":{"role":"assistant","content":"ok"}}],"usage":{"prompt_tokens":9223372036854775807,"completion_tokens":9223372036854775807}}"#
        #expect(ChatUsage.counts(in: ["usage": ["prompt_tokens": -1, "completion_tokens": 2]]) == nil)
        #expect(ChatUsage.counts(in: ["usage": ["prompt_tokens": Int.max, "completion_tokens": 2]]) == nil)
        #expect(ChatUsage.counts(in: ["usage": ["prompt_tokens": 3, "completion_tokens": 2]]).map { [$0.prompt, $0.completion] } == [3, 2])
        #expect(AnthropicTranslation.usageCounts(["usage": .object(["prompt_tokens": .integer(-4), "completion_tokens": .integer(7)])]) == (0, 0))
        #expect(AnthropicTranslation.usageCounts(["usage": .object(["prompt_tokens": .integer(4), "completion_tokens": .integer(7)])]) == (4, 7))
        let streamed = "data: {\"choices\":[{\"delta\":{\"content\":\"ok\"}}]}\n\n"
            + "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":-1000000,\"completion_tokens\":5}}\n\ndata: [DONE]\n\n"
        for reply in [negative, absurd, streamed] {
            let upstream = RecordingUpstream(replies: ["phi-4-mini": .json(reply)])
            let dependencies = try await Self.dependencies(upstream, budget: BudgetPolicy(globalDaily: BudgetLimit(hard: 100)))
            let app = Application(router: buildRouter(dependencies))
            let plain = try body(["model": "auto", "stream": reply == streamed,
                                  "messages": [["role": "user", "content": "Give me some advice for my weekend plans"]]])
            try await app.test(.router) { client in
                try await client.execute(uri: "/v1/chat/completions", method: .post, body: plain) { #expect($0.status == .ok) }
                try await client.execute(uri: "/metrics", method: .get) { response in
                    // Counted here: the prompt's few tokens, far from the reported ones.
                    let line = String(buffer: response.body).split(separator: "\n")
                        .first { $0.hasPrefix("pointsman_tokens_total{key=\"anonymous\",model=\"phi-4-mini\"}") }
                    let tokens = line.flatMap { Int($0.split(separator: " ").last ?? "") }
                    #expect(tokens.map { $0 > 0 && $0 < 100 } == true, "tokens counted here: \(String(describing: line))")
                }
            }
            let spent = try await dependencies.ledger?.totals(key: "anonymous", at: Date()).globalDay ?? -1
            #expect(spent > 0 && spent < 0.001)
        }
    }

    @Test("the body-rate check compares in floating point: gigabytes drained fast are not too slow and do not overflow")
    func bodyRate() {
        #expect(RequestHeadTimeoutHandler.isTooSlow(bytes: 100, nanoseconds: 1_000_000_000, minimumBytesPerSecond: 1024))
        #expect(!RequestHeadTimeoutHandler.isTooSlow(bytes: 2048, nanoseconds: 1_000_000_000, minimumBytesPerSecond: 1024))
        // 10 GB in one second: the old integer product overflowed (and trapped) past about 9.2 GB.
        #expect(!RequestHeadTimeoutHandler.isTooSlow(bytes: 10_000_000_000, nanoseconds: 1_000_000_000, minimumBytesPerSecond: 1024))
        #expect(RequestHeadTimeoutHandler.isTooSlow(bytes: 10_000_000_000, nanoseconds: Int64.max, minimumBytesPerSecond: 1024))
    }

    @Test("per-key limits count each key apart; the ledger never sees the key itself")
    func perKey() async throws {
        let upstream = RecordingUpstream(replies: ["phi-4-mini": .json(Self.answer)])
        let budget = BudgetPolicy(perKeyDaily: BudgetLimit(hard: 0.001))
        let app = Application(router: buildRouter(try await Self.dependencies(upstream, budget: budget, keys: ["alpha", "beta"])))
        let ask = try body(["model": "auto", "messages": [["role": "user", "content": "Give me some advice for my weekend plans"]]])
        try await app.test(.router) { client in
            for (key, expected) in [("alpha", HTTPResponse.Status.ok), ("alpha", .ok), ("alpha", .tooManyRequests), ("beta", .ok)] {
                try await client.execute(uri: "/v1/chat/completions", method: .post, headers: [.authorization: "Bearer \(key)"], body: ask) {
                    #expect($0.status == expected, "\(key)")
                }
            }
            try await client.execute(uri: "/v1/spend", method: .get, headers: [.authorization: "Bearer beta"]) { response in
                let report = json(response.body)
                #expect(report["key"] as? String == SpendLedgers.keyID("beta"))
                #expect(abs(((report["totals"] as? [String: Double])?["key_day"] ?? 0) - 0.0006) < 1e-9)
                #expect(!String(buffer: response.body).contains("beta\""))
            }
        }
    }

    @Test("a streamed answer's usage chunk is recorded (the upstream is asked for it); without one, tokens are counted")
    func streams() async throws {
        let withUsage = "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\n\n"
            + "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":2000,\"completion_tokens\":500}}\n\ndata: [DONE]\n\n"
        let without = "data: {\"choices\":[{\"delta\":{\"content\":\"Hello there, friend\"}}]}\n\ndata: [DONE]\n\n"
        let upstream = RecordingUpstream(replies: ["phi-4-mini": .json(withUsage), "qwen2.5-1.5b": .json(without)])
        let app = Application(router: buildRouter(try await Self.dependencies(upstream, budget: BudgetPolicy())))
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: try body([
                "model": "auto", "stream": true, "messages": [["role": "user", "content": "Give me some advice for my weekend plans"]]])) { response in
                #expect(String(buffer: response.body).contains("Hel"))
            }
            try await client.execute(uri: "/v1/spend", method: .get) { response in
                // 2,000 × 0.0002 / 1,000 + 500 × 0.0004 / 1,000 = 0.0006
                #expect(abs(((json(response.body)["totals"] as? [String: Double])?["global_day"] ?? 0) - 0.0006) < 1e-9)
            }
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: try body([
                "model": "auto", "stream": true, "messages": [["role": "user", "content": "Translate good morning into Spanish"]]])) { _ in }
            try await client.execute(uri: "/metrics", method: .get) { response in
                // Counted here: 4 + the prompt's tokens (a 4-bytes estimate without an encoder) + the answer's.
                let text = String(buffer: response.body)
                #expect(text.contains("pointsman_tokens_total{key=\"anonymous\",model=\"qwen2.5-1.5b\"}"))
            }
        }
        let options = upstream.received.first?.body["stream_options"] as? [String: Any]
        #expect(options?["include_usage"] as? Bool == true)
    }

    @Test("the largest max_tokens a client can send is a clear 400 in chat format, and a clamped ceiling in Messages format")
    func hugeMaxTokens() async throws {
        let upstream = RecordingUpstream()
        let app = Application(router: buildRouter(try await fakeDependencies(upstream)))
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: ByteBuffer(string:
                #"{"model":"auto","max_tokens":9223372036854775807,"messages":[{"role":"user","content":"hi"}]}"#)) { response in
                expectError(response, .badRequest, code: "no_capable_model")
            }
            try await client.execute(uri: "/v1/messages", method: .post, body: ByteBuffer(string:
                #"{"model":"auto","max_tokens":9223372036854775807,"messages":[{"role":"user","content":"Give me some advice for my weekend plans"}]}"#)) { response in
                #expect(response.status == .ok)
            }
        }
        // phi-4-mini's window is 16,384 tokens: the ceiling sent upstream fits inside it.
        let sent = try #require(upstream.received.last?.body["max_tokens"] as? Int)
        #expect(sent > 16_000 && sent < 16_384)
    }

    @Test("the stream reader cuts lines on bytes: a character split across chunks, CRLF line ends, a CR at a chunk's end")
    func streamReader() {
        let line = Array("data: {\"choices\":[{\"delta\":{\"content\":\"café 中\"}}]}\r\n\r\n".utf8)
        let usage = Array("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}\r".utf8)
        var reader = StreamUsageReader()
        // Cut inside "é" (two bytes) and inside "中" (three bytes), and between the CR and LF of a line end.
        let cutE = line.firstIndex(of: 0xC3)! + 1, cutZ = line.firstIndex(of: 0xE4)! + 2
        var objects: [[String: JSONValue]] = []
        for piece in [line[..<cutE], line[cutE..<cutZ], line[cutZ...], usage[...], Array("\n".utf8)[...]] {
            objects += reader.read(ByteBuffer(bytes: piece), payloads: true).compactMap(\.object)
        }
        #expect(reader.text == "café 中")
        #expect(reader.usage?.prompt == 3 && reader.usage?.completion == 2)
        #expect(objects.count == 2)
    }

    @Test("concurrent clients overshoot a hard limit by at most one request each", arguments: [(4, 8), (32, 2)])
    func concurrency(clients: Int, each: Int) async throws {
        let upstream = RecordingUpstream(replies: ["phi-4-mini": .json(Self.answer)])
        let dependencies = try await Self.dependencies(upstream, budget: BudgetPolicy(globalDaily: BudgetLimit(hard: 0.006)))
        let app = Application(router: buildRouter(dependencies))
        let ask = try body(["model": "auto", "messages": [["role": "user", "content": "Give me some advice for my weekend plans"]]])
        try await app.test(.router) { client in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<clients {
                    group.addTask {
                        for _ in 0..<each { try await client.execute(uri: "/v1/chat/completions", method: .post, body: ask) { _ in } }
                    }
                }
                try await group.waitForAll()
            }
        }
        let spent = try await dependencies.ledger?.totals(key: "anonymous", at: Date()).globalDay ?? 0
        #expect(spent >= 0.006 - 1e-9)
        #expect(spent <= 0.006 + Double(clients) * 0.0006 + 1e-9)
        #expect(upstream.received.count <= 10 + clients)
    }
}
