import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import OpenAIClient
import PointsmanCore
import PointsmanService
import PointsmanTestSupport
import Testing

/// An upstream that records what it was sent and answers from a script: no sockets.
final class RecordingUpstream: ChatForwarding, @unchecked Sendable {
    enum Reply: Sendable {
        case json(String)
        case reject(Int, String)
        case fail(OpenAIClientError)
        case slow(Duration)
    }

    private let lock = NSLock()
    private var replies: [String: Reply]
    private var bodies: [(baseURL: String?, body: [String: Any])] = []
    private var timeouts: [Duration?] = []

    /// The first-byte timeout of each call, in order.
    var firstByteTimeouts: [Duration?] { lock.withLock { timeouts } }

    /// `replies` by upstream model id; a model without a reply answers a minimal completion.
    init(replies: [String: Reply] = [:]) { self.replies = replies }

    var received: [(baseURL: String?, body: [String: Any])] { lock.withLock { bodies } }

    func forwardChatCompletion(_ body: ByteBuffer, baseURL: String?, timeouts: UpstreamTimeouts) async throws -> ForwardedResponse {
        let firstByteTimeout = timeouts.firstByte
        let object = (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]) ?? [:]
        let model = object["model"] as? String ?? ""
        let reply = lock.withLock { () -> Reply? in
            bodies.append((baseURL, object))
            self.timeouts.append(firstByteTimeout)
            return replies[model]
        }
        switch reply ?? .json(#"{"choices":[{"message":{"role":"assistant","content":"ok"}}]}"#) {
        case .json(let text):
            return .accepted(HTTPClientResponse(status: .ok, headers: ["Content-Type": "application/json"], body: .bytes(ByteBuffer(string: text))))
        case .reject(let status, let text):
            return .rejected(status: status, contentType: "application/json", body: ByteBuffer(string: text))
        case .fail(let error):
            throw error
        case .slow(let wait):
            try await Task.sleep(for: wait)
            return .accepted(HTTPClientResponse(status: .ok, headers: ["Content-Type": "application/json"], body: .bytes(ByteBuffer(string: "{}"))))
        }
    }
}

/// Dependencies built from fakes: the shipped catalog and rules (regex routing), no encoder, a recording upstream.
func fakeDependencies(_ upstream: RecordingUpstream, catalog: String? = nil, keys: [String] = [],
                      deadline: Duration = .seconds(300)) async throws -> ServiceDependencies {
    var configuration = ServiceConfiguration()
    configuration.requestDeadline = deadline
    configuration.catalogPath = catalog
    configuration.apiKeys = keys
    let state = try await RoutingStore(files: configuration.routingFiles, embedder: nil, detector: .regex)
    return ServiceDependencies(configuration: configuration, state: state, upstream: upstream)
}

@Suite("Typed requests and the proxy path (fake upstream, no sockets, no model files)")
struct ServiceRequestTests {
    @Test("a chat request forwards every field it does not read, unchanged; only the model is replaced")
    func forwardsUnknownFields() async throws {
        let upstream = RecordingUpstream()
        let app = Application(router: buildRouter(try await fakeDependencies(upstream)))
        let request: [String: Any] = [
            "model": "auto", "stream": false, "logprobs": true, "top_logprobs": 2, "x_vendor": ["nested": [1, 2.5, "s"]],
            "response_format": ["type": "json_object"], "temperature": 0.25, "max_tokens": 16,
            "tools": [["type": "function", "function": ["name": "lookup", "parameters": ["type": "object"]]]],
            "messages": [
                ["role": "system", "content": "be brief"],
                ["role": "assistant", "content": NSNull(), "tool_calls": [["id": "c1", "type": "function", "function": ["name": "lookup", "arguments": "{}"]]]],
                ["role": "tool", "tool_call_id": "c1", "content": "42"],
                ["role": "user", "content": [["type": "text", "text": "Write a poem about rain"]], "name": "ana"],
            ],
        ]
        let requestBody = try body(request)
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: requestBody) { response in
                #expect(response.status == .ok)
                #expect(response.headers[HTTPField.Name("x-pointsman-capability")!] == "creative")
            }
        }
        let sent = try #require(upstream.received.first?.body)
        // The request defines tools, which mistral-7b (the creative model) cannot call: the nearest model that can.
        #expect(sent["model"] as? String == "gpt-oss-20b")
        for key in ["logprobs", "top_logprobs", "x_vendor", "response_format", "temperature", "max_tokens", "tools", "stream"] {
            #expect(sent[key] != nil, "\(key) was dropped")
        }
        #expect(sent["max_tokens"] as? Int == 16)
        #expect((sent["x_vendor"] as? [String: Any])?["nested"] as? [AnyHashable] == [1, 2.5, "s"])
        let messages = try #require(sent["messages"] as? [[String: Any]])
        #expect(messages.count == 4)
        #expect(messages[1]["content"] is NSNull && messages[1]["tool_calls"] != nil)
        #expect(messages[2]["tool_call_id"] as? String == "c1")
        #expect(messages[3]["name"] as? String == "ana" && messages[3]["content"] is [Any])
    }

    @Test("a catalog alias is forwarded as asked to that model's own endpoint; an upstream 4xx is passed on as it is")
    func aliasAndClientError() async throws {
        let dir = TestPaths.temporaryDirectory("alias")
        let catalog = dir + "/catalog.json"
        try #"{"default_model":"a","models":[{"alias":"a","capabilities":["general"],"priority":1,"base_url":"http://127.0.0.1:1/v1","upstream_model":"up-a"},{"alias":"b","capabilities":["code"],"priority":1}]}"#
            .write(toFile: catalog, atomically: true, encoding: .utf8)
        let upstream = RecordingUpstream(replies: ["b": .reject(422, #"{"error":{"message":"bad tool schema"}}"#)])
        let app = Application(router: buildRouter(try await fakeDependencies(upstream, catalog: catalog)))
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post,
                                     body: try body(["model": "a", "messages": [["role": "user", "content": "hi"]]])) { response in
                #expect(response.status == .ok)
                #expect(response.headers[HTTPField.Name("x-pointsman-model")!] == "a")
            }
            try await client.execute(uri: "/v1/chat/completions", method: .post,
                                     body: try body(["model": "b", "messages": [["role": "user", "content": "hi"]]])) { response in
                #expect(response.status.code == 422)
                #expect(String(buffer: response.body).contains("bad tool schema"))
            }
        }
        #expect(upstream.received.map(\.baseURL) == ["http://127.0.0.1:1/v1", nil])
        #expect(upstream.received.first?.body["model"] as? String == "up-a")
    }

    @Test("fallbacks run through one chain: a failing model hands over, and the 502 names aliases and short reasons only")
    func fallbackChain() async throws {
        let upstream = RecordingUpstream(replies: [
            "mistral-7b-v0.2": .fail(.http(status: 503, url: "http://secret-host:1/v1/chat/completions", message: "down")),
        ])
        let app = Application(router: buildRouter(try await fakeDependencies(upstream)))
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post,
                                     body: try body(["model": "auto", "messages": [["role": "user", "content": "Write a poem about rain"]]])) { response in
                #expect(response.status == .ok)
                #expect(response.headers[HTTPField.Name("x-pointsman-model")!] == "phi-4-mini")
            }
        }
        #expect(upstream.received.map { $0.body["model"] as? String } == ["mistral-7b-v0.2", "phi-4-mini"])

        let down = RecordingUpstream(replies: [
            "mistral-7b-v0.2": .fail(.http(status: 503, url: "http://secret-host:1/v1/chat/completions", message: "down")),
            "phi-4-mini": .fail(.unreachable(url: "http://secret-host:2/v1/chat/completions", reason: "HTTPClientError.connectTimeout")),
        ])
        let failing = Application(router: buildRouter(try await fakeDependencies(down)))
        try await failing.test(.router) { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post,
                                     body: try body(["model": "auto", "messages": [["role": "user", "content": "Write a poem about rain"]]])) { response in
                expectError(response, .badGateway, code: "upstream_unavailable")
                let text = String(buffer: response.body)
                #expect(text.contains("mistral-7b: HTTP 503") && text.contains("phi-4-mini: unreachable"), "\(text)")
                #expect(!text.contains("secret-host") && !text.contains("HTTPClientError"), "\(text)")
            }
        }
    }

    @Test("/v1/route reads messages exactly as chat completions does (null assistant content, content parts)")
    func routeSharesMessageParsing() async throws {
        let app = Application(router: buildRouter(try await fakeDependencies(RecordingUpstream())))
        let messages: [[String: Any]] = [
            ["role": "user", "content": "hello"],
            ["role": "assistant", "content": NSNull(), "tool_calls": []],
            ["role": "user", "content": [["type": "text", "text": "Translate 'good night' into Spanish"]]],
        ]
        let routeBody = try body(["messages": messages])
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/route", method: .post, body: routeBody) { response in
                #expect(response.status == .ok)
                #expect(json(response.body)["capability"] as? String == "translation")
            }
            try await client.execute(uri: "/v1/route", method: .post, body: try body(["messages": [["role": "robot", "content": "x"]]])) { response in
                expectError(response, .badRequest, code: "invalid_type")
                #expect(String(buffer: response.body).contains("messages[0].role"))
            }
            try await client.execute(uri: "/v1/chat/completions", method: .post,
                                     body: try body(["model": "auto", "stream": "yes", "messages": [["role": "user", "content": "x"]]])) { response in
                expectError(response, .badRequest, code: "invalid_type")
                #expect(String(buffer: response.body).contains("\"stream\""))
            }
        }
    }

    @Test("an unexpected error becomes a 500 that carries the request id and none of the error's text")
    func internalErrorsAreHidden() async throws {
        struct Secret: Error, CustomStringConvertible { var description: String { "/etc/secret/path leaked" } }
        let router = Hummingbird.Router(context: BasicRequestContext.self)
        router.add(middleware: RequestOutcomeMiddleware(metrics: ServiceMetrics()))
        router.get("/boom") { _, _ -> Response in throw Secret() }
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/boom", method: .get) { response in
                expectError(response, .internalServerError, code: "internal_error")
                let id = try #require(response.headers[HTTPField.Name("x-request-id")!])
                let text = String(buffer: response.body)
                #expect(text.contains(id) && !text.contains("secret"), "\(text)")
            }
        }
    }

    @Test("typed chat request: unknown fields round-trip, and bad fields are named")
    func typedRequest() throws {
        let fields: [String: JSONValue] = [
            "model": .string("auto"), "seed": .integer(7), "ratio": .number(0.5), "big": .integer(9_223_372_036_854_775_807), "flag": .bool(false), "nothing": .null,
            "messages": .array([.object(["role": .string("user"), "content": .string("hi"), "name": .string("x")])]),
        ]
        let request = try ChatCompletionRequest(json: fields)
        #expect(request.chatMessages.map(\.content) == ["hi"] && !request.stream)
        let sent = try #require(try JSONSerialization.jsonObject(with: request.upstreamBody(model: "m")) as? [String: Any])
        #expect(sent["model"] as? String == "m" && sent["seed"] as? Int == 7 && sent["ratio"] as? Double == 0.5)
        #expect(sent["flag"] as? Bool == false && sent["nothing"] is NSNull && sent["stream"] == nil)
        // Integers go out digit for digit, however large.
        let text = String(decoding: try request.upstreamBody(model: "m"), as: UTF8.self)
        #expect(text.contains(#""big":9223372036854775807"#) && text.contains(#""seed":7"#), "\(text)")
        let decoded = try JSONDecoder().decode(JSONValue.self, from: Data(#"{"n": 12345678901234567, "x": 1.5}"#.utf8))
        #expect(decoded == .object(["n": .integer(12_345_678_901_234_567), "x": .number(1.5)]))
        #expect(throws: RequestError.self) { try RouteRequest(json: ["prompt": .string("a"), "prompts": .array([.string("b")])]) }
        #expect(throws: RequestError.self) { try ChatCompletionRequest(json: ["model": .number(1), "messages": .array([])]) }
        do {
            _ = try ChatCompletionRequest(json: ["model": .string("auto"), "messages": .array([.object(["role": .string("user"), "content": .number(3)])])])
            Issue.record("expected an error")
        } catch {
            #expect(error.param == "messages[0].content" && error.message.contains("not a number"))
        }
    }
}
