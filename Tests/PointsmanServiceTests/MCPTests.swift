import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import MCP
import NIOCore
import OpenAIClient
import PointsmanCore
import PointsmanInterfaces
import PointsmanMCP
import PointsmanService
import PointsmanTestSupport
import Testing

/// A chat backend that answers every call the same way, or fails every call with `failure`.
struct ScriptedChat: ChatBackend {
    var answer = "Red, orange and yellow."
    var failure: OpenAIClientError?

    func complete(_ request: ChatRequest) async throws -> ChatCompletion {
        if let failure { throw failure }
        return ChatCompletion(content: answer, model: request.model, finishReason: "stop",
                              usage: TokenUsage(promptTokens: 7, completionTokens: 5, totalTokens: 12))
    }

    func stream(_ request: ChatRequest) async throws -> AsyncThrowingStream<ChatChunk, any Error> {
        if let failure { throw failure }
        let words = answer.split(separator: " ").map { String($0) + " " }
        return AsyncThrowingStream { continuation in
            for word in words { continuation.yield(ChatChunk(delta: word)) }
            continuation.yield(ChatChunk(delta: "", finishReason: "stop", usage: TokenUsage(promptTokens: 7, completionTokens: 5, totalTokens: 12)))
            continuation.finish()
        }
    }
}

/// A budget that answers as told and keeps what was recorded.
final class ScriptedSpending: ToolSpendPolicy, @unchecked Sendable {
    let lock = NSLock()
    var answer: SpendAdmission = .within
    var refuse: String?
    var recorded: [(key: String?, model: String, prompt: Int, completion: Int)] = []

    func admit(apiKey: String?) async throws -> SpendAdmission {
        try lock.withLock {
            if let refuse { throw SpendRefusal(refuse) }
            return answer
        }
    }

    func record(apiKey: String?, model: ModelEntry, promptTokens: Int, completionTokens: Int) async {
        lock.withLock { recorded.append((apiKey, model.alias, promptTokens, completionTokens)) }
    }
}

/// A regex-routed toolbox over a copy of the shipped catalog (no model files).
func regexToolbox(_ backend: any ChatBackend = ScriptedChat(), catalog: String? = nil,
                  spend: (any ToolSpendPolicy)? = nil) async throws -> RoutingToolbox {
    let path = try catalog ?? {
        let file = TestPaths.temporaryDirectory("mcp") + "/catalog.json"
        try Catalog.shipped.jsonText().write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }()
    let store = try await RoutingStore(files: RoutingFiles(catalog: path), embedder: nil, detector: .regex)
    return RoutingToolbox(store: store, backend: backend, configuration: MCPToolConfiguration(detector: .regex), spend: spend)
}

func text(_ result: CallTool.Result) -> String {
    result.content.compactMap { if case .text(let text, _, _) = $0 { text } else { nil } }.joined()
}

@Suite("MCP tools and resources (scripted backend, no sockets)")
struct MCPToolboxTests {
    @Test("route returns the decision as structured content and records it in the decision history")
    func route() async throws {
        let toolbox = try await regexToolbox()
        let result = try await toolbox.call("route", arguments: ["prompt": "Translate 'good night' into German"])
        #expect(result.isError != true)
        let structured = try #require(result.structuredContent?.objectValue)
        #expect(structured["capability"]?.stringValue == "translation")
        #expect(structured["model"]?.stringValue == Catalog.shipped.models.first { $0.capabilities.contains("translation") }?.alias)
        #expect(structured["method"]?.stringValue == "regex")
        #expect(toolbox.history.recent().first?.capability == "translation")
        #expect(toolbox.history.recent().first?.source == "mcp")
    }

    @Test("ask answers through the backend with the decision, usage and cost; a named capability or model skips detection")
    func ask() async throws {
        let toolbox = try await regexToolbox()
        let routed = try await toolbox.call("ask", arguments: ["prompt": "Write a haiku about rain", "max_tokens": 30])
        #expect(text(routed) == "Red, orange and yellow. ")
        let structured = try #require(routed.structuredContent?.objectValue)
        #expect(structured["decision"]?.objectValue?["capability"]?.stringValue == "creative")
        #expect(structured["usage"]?.objectValue?["total_tokens"]?.intValue == 12)
        #expect(structured["usage_estimated"]?.boolValue == false)
        #expect(structured["fell_back"]?.boolValue == false)
        let named = try await toolbox.call("ask", arguments: ["prompt": "Write a haiku about rain", "model": "qwen2.5-0.5b"])
        #expect(named.structuredContent?.objectValue?["model"]?.stringValue == "qwen2.5-0.5b")
        #expect(named.structuredContent?.objectValue?["decision"]?.objectValue?["method"]?.stringValue == "requested")
        let capability = try await toolbox.call("ask", arguments: ["prompt": "hello", "capability": "math"])
        #expect(capability.structuredContent?.objectValue?["decision"]?.objectValue?["capability"]?.stringValue == "math")
    }

    @Test("bad arguments are tool errors that name the argument and the problem", arguments: [
        ("route", ["prompt": Value.int(42)], "'prompt' must be a string, got a number"),
        ("route", [:], "missing required argument 'prompt'"),
        ("route", ["prompt": "hi", "colour": "blue"], "unknown argument 'colour'"),
        ("route", ["prompt": "hi", "messages": [["role": "user", "content": "hi"]]], "give 'prompt' or 'messages', not both"),
        ("route", ["messages": [["role": "robot", "content": "hi"]]], "messages[0].role must be one of system, user, assistant"),
        ("route", ["prompt": "   "], "'prompt' is empty"),
        ("route", ["prompt": "hi", "quality": "cheap"], "'quality' must be economy, balanced or best"),
        ("ask", ["prompt": "hi", "model": "no-such-model"], "unknown model 'no-such-model'; the catalog has"),
        ("ask", ["prompt": "hi", "capability": "poetry"], "unknown capability 'poetry'"),
        ("ask", ["prompt": "hi", "capability": "math", "model": "phi-4-mini"], "give 'capability' or 'model', not both"),
        ("ask", ["prompt": "hi", "max_tokens": "many"], "'max_tokens' must be an integer, got a string"),
        ("ask", ["prompt": "hi", "max_tokens": 0], "'max_tokens' must be between 1 and 32768, got 0"),
        ("pipeline", ["task": 3.5], "'task' must be a string, got a number"),
        ("compare", [:], "missing required argument 'prompt'"),
        ("translate", ["prompt": "hi"], "unknown tool 'translate'; the tools are route, ask, pipeline, compare"),
    ] as [(String, [String: Value], String)])
    func badArguments(tool: String, arguments: [String: Value], message: String) async throws {
        let toolbox = try await regexToolbox()
        let result = try await toolbox.call(tool, arguments: arguments)
        #expect(result.isError == true)
        #expect(text(result).contains(message), "\(text(result))")
    }

    @Test("a model that cannot hold the prompt is refused by name; with every upstream down the error lists the models tried, without URLs")
    func upstreamFailures() async throws {
        let down = try await regexToolbox(ScriptedChat(failure: .unreachable(url: "http://10.1.2.3:9/v1", reason: "connection refused")))
        let result = try await down.call("ask", arguments: ["prompt": "Write a haiku about rain"])
        #expect(result.isError == true)
        #expect(text(result).contains("no model answered; tried mistral-7b (connection refused), phi-4-mini (connection refused)"), "\(text(result))")
        #expect(!text(result).contains("10.1.2.3"))
        let long = String(repeating: "word ", count: 9000)
        let tooLong = try await down.call("ask", arguments: ["prompt": .string(long), "model": "mistral-7b"])
        #expect(tooLong.isError == true)
        #expect(text(tooLong).contains("model 'mistral-7b' cannot serve this request: context 8192 tokens"), "\(text(tooLong))")
    }

    @Test("budgets: a hard limit refuses ask and pipeline by name; a soft one moves the call to the cheapest capable model; every answer is recorded")
    func budgets() async throws {
        let spending = ScriptedSpending()
        let toolbox = try await regexToolbox(spend: spending)
        // Within: the routed model answers and its usage (reported in the stream's last chunk) is recorded.
        let within = try await toolbox.call("ask", arguments: ["prompt": "Write a haiku about rain"], apiKey: "k1")
        #expect(within.structuredContent?.objectValue?["model"]?.stringValue == "mistral-7b")
        #expect(spending.recorded.map(\.model) == ["mistral-7b"])
        #expect(spending.recorded.first?.key == "k1" && spending.recorded.first?.prompt == 7 && spending.recorded.first?.completion == 5)
        // Soft: the cheapest model that declares the capability, and the result says why.
        spending.answer = .soft("daily spend of key 1.2 is past its soft limit 1")
        let soft = try await toolbox.call("ask", arguments: ["prompt": "Write a haiku about rain", "quality": "best"])
        let structured = try #require(soft.structuredContent?.objectValue)
        #expect(structured["budget"]?.stringValue == "soft limit: daily spend of key 1.2 is past its soft limit 1")
        #expect(structured["model"]?.stringValue != "gpt-oss-20b")
        // Hard: no model is called.
        spending.refuse = "daily spend of key 2.5 reached its hard limit 2"
        let before = spending.recorded.count
        for (tool, arguments) in [("ask", ["prompt": Value.string("hi")]), ("pipeline", ["task": "Plan a picnic"])] {
            let refused = try await toolbox.call(tool, arguments: arguments)
            #expect(refused.isError == true)
            #expect(text(refused) == "\(tool): budget exceeded: daily spend of key 2.5 reached its hard limit 2")
        }
        #expect(spending.recorded.count == before)
    }

    @Test("a stream without usage is recorded with counted tokens; every pipeline call is recorded")
    func meteringWithoutUsage() async throws {
        struct NoUsage: ChatBackend {
            func complete(_ request: ChatRequest) async throws -> ChatCompletion { ChatCompletion(content: "1. One step") }
            func stream(_ request: ChatRequest) async throws -> AsyncThrowingStream<ChatChunk, any Error> {
                AsyncThrowingStream { $0.yield(ChatChunk(delta: "four words of answer")); $0.finish() }
            }
        }
        let spending = ScriptedSpending()
        let toolbox = try await regexToolbox(NoUsage(), spend: spending)
        let asked = try await toolbox.call("ask", arguments: ["prompt": "Write a haiku about rain"])
        #expect(asked.structuredContent?.objectValue?["usage_estimated"]?.boolValue == true)
        let recorded = try #require(spending.recorded.first)
        #expect(recorded.completion == ("four words of answer".utf8.count + 3) / 4)
        #expect(recorded.prompt == 4 + ("Write a haiku about rain".utf8.count + 3) / 4)
        _ = try await toolbox.call("pipeline", arguments: ["task": "Plan a picnic", "steps": 1])
        #expect(spending.recorded.count == 1 + 3)  // plan, one step, refine
    }

    @Test("pipeline returns the plan, each step and the final answer, and reports progress per call in order")
    func pipeline() async throws {
        let toolbox = try await regexToolbox(ScriptedChat(answer: "1. Define a hash map\n2. Show an example"))
        let seen = LockedValues<Double>()
        let result = try await toolbox.call("pipeline", arguments: ["task": "Explain hash maps with an example", "steps": 2],
                                            progress: ToolProgress { value, _, _ in seen.append(value) })
        #expect(result.isError != true)
        let structured = try #require(result.structuredContent?.objectValue)
        #expect(structured["steps"]?.arrayValue?.count == 2)
        #expect(structured["final"]?.stringValue == "1. Define a hash map\n2. Show an example")
        #expect(seen.values == [0, 1, 2, 3, 4])
    }

    @Test("compare shows each detector; without a centroid file the embedding detectors are noted as unavailable")
    func compare() async throws {
        let toolbox = try await regexToolbox()
        let result = try await toolbox.call("compare", arguments: ["prompt": "Solve for x: 3x + 5 = 20"])
        let structured = try #require(result.structuredContent?.objectValue)
        #expect(structured["regex"]?.objectValue?["capability"]?.stringValue == "math")
        #expect(structured["embedding"] == nil || structured["embedding"] == .null)
        #expect(structured["notes"]?.arrayValue?.count == 2)
    }

    @Test("resources: the catalog, the centroid summary and the decisions; an unknown URI names the known ones")
    func resources() async throws {
        let toolbox = try await regexToolbox()
        #expect(toolbox.resources().map(\.uri) == ["pointsman://catalog", "pointsman://centroids", "pointsman://decisions"])
        _ = try await toolbox.call("route", arguments: ["prompt": "Summarize this paragraph for me"])
        let catalog = try await toolbox.read("pointsman://catalog")
        let catalogText = try #require(catalog.first?.text)
        #expect(try Catalog.parse(Data(catalogText.utf8), format: .json, file: "resource").models.count == Catalog.shipped.models.count)
        let decisions = try await toolbox.read("pointsman://decisions")
        let decisionsText = try #require(decisions.first?.text)
        #expect(decisionsText.contains("\"capability\" : \"summarize\""))
        await #expect(throws: MCPError.self) { try await toolbox.read("pointsman://secrets") }
    }

    @Test("the decision history keeps the newest decisions, newest first, in fixed memory")
    func history() throws {
        let history = DecisionHistory(capacity: 3)
        let entry = Catalog.shipped.models[0]
        for index in 0..<5 {
            history.record(RouteDecision(capability: "c\(index)", selected: entry, confidence: 1, method: .regex, escalated: false,
                                         reasons: [], scores: [:], label: nil), source: "test")
        }
        #expect(history.recent().map(\.capability) == ["c4", "c3", "c2"])
        #expect(history.recent(2).map(\.capability) == ["c4", "c3"])
        #expect(DecisionHistory(capacity: 2).recent().isEmpty)
    }

    @Test("a reload that changes the routing version is announced to watchers; one that changes nothing is not")
    func versionChanges() async throws {
        let file = TestPaths.temporaryDirectory("mcp-reload") + "/catalog.json"
        try Catalog.shipped.jsonText().write(toFile: file, atomically: true, encoding: .utf8)
        let store = try await RoutingStore(files: RoutingFiles(catalog: file), embedder: nil, detector: .regex)
        /// The first announcement on a fresh stream, or nil when none comes within half a second.
        func firstAnnouncement(_ changes: AsyncStream<String>) async -> String? {
            await withTaskGroup(of: String?.self) { group in
                group.addTask { for await version in changes { return version }; return nil }
                group.addTask { try? await Task.sleep(for: .milliseconds(500)); return nil }
                let first = await group.next() ?? nil
                group.cancelAll()
                return first
            }
        }
        let quiet = await store.versionChanges()
        await store.reload()  // the same files: nothing to announce
        #expect(await firstAnnouncement(quiet) == nil)
        let before = await store.current().setup.version
        let changes = await store.versionChanges()
        var catalog = Catalog.shipped
        catalog.models[0].priority += 1
        try catalog.jsonText().write(toFile: file, atomically: true, encoding: .utf8)
        await store.reload()
        let announced = await firstAnnouncement(changes)
        #expect(announced == (await store.current().setup.version))
        #expect(announced != before)
    }

    @Test("closing a session cancels the calls it is running, and their upstream requests")
    func closeCancelsCalls() async throws {
        let backend = EndlessChat()
        let session = await PointsmanMCPServer(toolbox: try await regexToolbox(backend), version: "test").makeSession()
        let (clientSide, serverSide) = await InMemoryTransport.createConnectedPair()
        try await session.server.start(transport: serverSide)
        let client = Client(name: "test", version: "1")
        _ = try await client.connect(transport: clientSide)
        let call = Task { try await client.callTool(name: "ask", arguments: ["prompt": "Write a very long story"]) }
        for _ in 0..<500 where !backend.state.started { try await Task.sleep(for: .milliseconds(10)) }
        #expect(backend.state.started)
        #expect(!backend.state.ended)
        await session.close()
        for _ in 0..<500 where !backend.state.ended { try await Task.sleep(for: .milliseconds(10)) }
        #expect(backend.state.ended)
        call.cancel()
    }
}

/// A backend whose streams never end on their own; it notes when one starts and when its consumer goes away.
struct EndlessChat: ChatBackend {
    final class State: @unchecked Sendable {
        private let lock = NSLock()
        private var begun = false, over = false
        var started: Bool { lock.withLock { begun } }
        var ended: Bool { lock.withLock { over } }
        func start() { lock.withLock { begun = true } }
        func end() { lock.withLock { over = true } }
    }

    let state = State()

    func complete(_ request: ChatRequest) async throws -> ChatCompletion {
        state.start()
        defer { state.end() }
        try await Task.sleep(for: .seconds(600))
        return ChatCompletion(content: "")
    }

    func stream(_ request: ChatRequest) async throws -> AsyncThrowingStream<ChatChunk, any Error> {
        state.start()
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: ChatChunk.self)
        continuation.onTermination = { [state] _ in state.end() }
        return stream
    }
}

@Suite("MCP endpoint at /mcp (router, no sockets)")
struct MCPRouteTests {
    func dependencies(keys: [String] = []) async throws -> ServiceDependencies {
        let limits = MCPHTTPEndpoint.Limits()
        var d = try await fakeDependencies(RecordingUpstream(), keys: keys)
        let toolbox = RoutingToolbox(store: d.state, backend: ScriptedChat(), history: d.history)
        d.mcp = MCPHTTPEndpoint(server: PointsmanMCPServer(toolbox: toolbox, version: "test"), limits: limits, origins: .loopback)
        return d
    }

    func dependencies(keys: [String] = [], limits: MCPHTTPEndpoint.Limits) async throws -> ServiceDependencies {
        var d = try await fakeDependencies(RecordingUpstream(), keys: keys)
        let toolbox = RoutingToolbox(store: d.state, backend: ScriptedChat(), history: d.history)
        d.mcp = MCPHTTPEndpoint(server: PointsmanMCPServer(toolbox: toolbox, version: "test"), limits: limits, origins: .loopback)
        return d
    }

    /// Opens a session; returns its id.
    func open(_ client: some TestClientProtocol, headers extra: HTTPFields = [:]) async throws -> String? {
        var headers = Self.mcpHeaders
        headers.append(contentsOf: extra)
        return try await client.execute(uri: "/mcp", method: .post, headers: headers, body: ByteBuffer(string: Self.initialize)) {
            $0.status == .ok ? $0.headers[HTTPField.Name("Mcp-Session-Id")!] : nil
        }
    }

    /// The status of a `tools/list` in session `id`.
    func list(_ client: some TestClientProtocol, _ id: String) async throws -> HTTPResponse.Status {
        var headers = Self.mcpHeaders
        headers[HTTPField.Name("Mcp-Session-Id")!] = id
        headers[HTTPField.Name("MCP-Protocol-Version")!] = "2025-06-18"
        return try await client.execute(uri: "/mcp", method: .post, headers: headers,
                                        body: ByteBuffer(string: #"{"jsonrpc":"2.0","id":7,"method":"tools/list"}"#)) { $0.status }
    }

    static let initialize = #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#
    static let mcpHeaders: HTTPFields = [.contentType: "application/json", .accept: "application/json, text/event-stream"]

    @Test("a request before initialize is a 400 that says what to do; an unknown session is a 404")
    func sessions() async throws {
        let app = Application(router: buildRouter(try await dependencies()))
        try await app.test(.router) { client in
            try await client.execute(uri: "/mcp", method: .post, headers: Self.mcpHeaders,
                                     body: ByteBuffer(string: #"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#)) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains("send an initialize request first"))
            }
            var headers = Self.mcpHeaders
            headers[HTTPField.Name("Mcp-Session-Id")!] = "no-such-session"
            try await client.execute(uri: "/mcp", method: .post, headers: headers,
                                     body: ByteBuffer(string: #"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#)) { response in
                #expect(response.status == .notFound)
            }
        }
    }

    @Test("initialize opens a session named in Mcp-Session-Id; DELETE closes it")
    func initialize() async throws {
        let d = try await dependencies()
        let app = Application(router: buildRouter(d))
        try await app.test(.router) { client in
            let session = try await client.execute(uri: "/mcp", method: .post, headers: Self.mcpHeaders,
                                                   body: ByteBuffer(string: Self.initialize)) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("\"name\":\"pointsman\""))
                return response.headers[HTTPField.Name("Mcp-Session-Id")!]
            }
            let id = try #require(session)
            #expect(await d.mcp?.sessionCount == 1)
            var headers = Self.mcpHeaders
            headers[HTTPField.Name("Mcp-Session-Id")!] = id
            headers[HTTPField.Name("MCP-Protocol-Version")!] = "2025-06-18"
            try await client.execute(uri: "/mcp", method: .delete, headers: headers) { response in
                #expect(response.status == .ok)
            }
            #expect(await d.mcp?.sessionCount == 0)
        }
    }

    @Test("through /mcp, a key past its hard budget gets a tool error, like a 429 on chat")
    func budget() async throws {
        var d = try await fakeDependencies(RecordingUpstream(), keys: ["k1"])
        d.configuration.budget = BudgetPolicy(perKeyDaily: BudgetLimit(hard: 0.001))
        d.ledger = try FileSpendLedger(path: nil)
        try await d.ledger?.record(key: SpendLedgers.keyID("k1"), model: "phi-4-mini", cost: 0.002, at: Date())
        d.mcp = d.makeMCPEndpoint(backend: ScriptedChat(), version: "test", logger: Logger(label: "test"))
        let app = Application(router: buildRouter(d))
        try await app.test(.router) { client in
            var headers = Self.mcpHeaders
            headers[.authorization] = "Bearer k1"
            let id = try await client.execute(uri: "/mcp", method: .post, headers: headers, body: ByteBuffer(string: Self.initialize)) {
                $0.headers[HTTPField.Name("Mcp-Session-Id")!]
            }
            headers[HTTPField.Name("Mcp-Session-Id")!] = try #require(id)
            headers[HTTPField.Name("MCP-Protocol-Version")!] = "2025-06-18"
            try await client.execute(uri: "/mcp", method: .post, headers: headers,
                                     body: ByteBuffer(string: #"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)) { response in
                #expect(response.status == .accepted)
            }
            let call = #"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"ask","arguments":{"prompt":"Write a haiku"}}}"#
            try await client.execute(uri: "/mcp", method: .post, headers: headers, body: ByteBuffer(string: call)) { response in
                let body = String(buffer: response.body)
                #expect(body.contains("ask: budget exceeded: "), "\(body)")
                #expect(body.contains(#""isError":true"#))
            }
        }
    }

    @Test("bound to loopback, a Host or Origin that is not loopback is refused (DNS rebinding) and takes no session")
    func rebinding() async throws {
        let d = try await dependencies()
        let app = Application(router: buildRouter(d))
        // Over a real socket: HTTP/1's Host header becomes the request's authority, which the check must see.
        try await app.test(.live) { client in
            var headers = Self.mcpHeaders
            headers[HTTPField.Name("Origin")!] = "http://attacker.example"
            try await client.execute(uri: "/mcp", method: .post, headers: headers, body: ByteBuffer(string: Self.initialize)) { response in
                #expect(response.status == .forbidden)
            }
            // A Host header the test client cannot set: sent with Python's http.client.
            let port = try #require(client.port)
            let script = """
            import http.client, sys
            c = http.client.HTTPConnection("127.0.0.1", \(port))
            c.putrequest("POST", "/mcp", skip_host=True)
            for name, value in [("Host", "attacker.example:8080"), ("Content-Type", "application/json"),
                                ("Accept", "application/json, text/event-stream"), ("Content-Length", str(len(sys.argv[1])))]:
                c.putheader(name, value)
            c.endheaders(sys.argv[1].encode())
            print(c.getresponse().status)
            """
            let run = try await runProcessOffPool("/usr/bin/env", ["python3", "-c", script, Self.initialize])
            #expect(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "421", "\(run.stderr)")
            #expect(try await open(client, headers: [HTTPField.Name("Origin")!: "http://localhost:3000"]) != nil)
            #expect(await d.mcp?.sessionCount == 1)
        }
    }

    @Test("the session table is bounded: the least recently used session makes room, a refused initialize evicts nobody, a session past its byte budget or idle too long is closed")
    func bounds() async throws {
        let d = try await dependencies(limits: .init(maxSessions: 2, idleTimeout: .seconds(600)))
        let app = Application(router: buildRouter(d))
        try await app.test(.router) { client in
            let first = try #require(try await open(client))
            let second = try #require(try await open(client))
            #expect(try await list(client, first) == .ok)  // the first is now the more recently used
            // Refused by the Accept check before any session is touched.
            try await client.execute(uri: "/mcp", method: .post, headers: [.contentType: "application/json", .accept: "text/plain"],
                                     body: ByteBuffer(string: Self.initialize)) { #expect($0.status != .ok) }
            #expect(try await list(client, second) == .ok)
            let third = try #require(try await open(client))
            #expect(await d.mcp?.sessionCount == 2)
            #expect(try await list(client, first) == .notFound)  // evicted: least recently used
            #expect(try await list(client, second) == .ok)
            #expect(try await list(client, third) == .ok)
        }
        // A one-byte budget: the initialize answer already passes it, so the next request finds the session closed.
        let small = try await dependencies(limits: .init(maxSessions: 4, maxSessionBytes: 1))
        try await Application(router: buildRouter(small)).test(.router) { client in
            let id = try #require(try await open(client))
            #expect(try await list(client, id) == .notFound)
            #expect(await small.mcp?.sessionCount == 0)
        }
        let idle = try await dependencies(limits: .init(maxSessions: 4, idleTimeout: .milliseconds(50)))
        try await Application(router: buildRouter(idle)).test(.router) { client in
            let id = try #require(try await open(client))
            try await Task.sleep(for: .milliseconds(200))
            #expect(try await list(client, id) == .notFound)
        }
    }

    @Test("with API keys configured, /mcp needs one like every other route")
    func keys() async throws {
        let app = Application(router: buildRouter(try await dependencies(keys: ["k1"])))
        try await app.test(.router) { client in
            try await client.execute(uri: "/mcp", method: .post, headers: Self.mcpHeaders, body: ByteBuffer(string: Self.initialize)) { response in
                #expect(response.status == .unauthorized)
            }
            var headers = Self.mcpHeaders
            headers[.authorization] = "Bearer k1"
            try await client.execute(uri: "/mcp", method: .post, headers: headers, body: ByteBuffer(string: Self.initialize)) { response in
                #expect(response.status == .ok)
            }
        }
    }
}

/// A catalog for the live MCP tests: every model on the llama peer except `mistral-7b`, which streams slowly from
/// `slow` (for the cancellation check).
func mcpLiveCatalog(llama: String, slow: String, in dir: String) throws -> String {
    var catalog = Catalog.shipped
    for index in catalog.models.indices {
        let isSlow = catalog.models[index].alias == "mistral-7b"
        catalog.models[index].upstreamModel = "smollm2-135m-instruct"
        catalog.models[index].baseURL = isSlow ? slow : llama
        if isSlow { catalog.models[index].fallbacks = [] }
    }
    let path = dir + "/catalog.json"
    try catalog.jsonText().write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// An upstream that streams one short piece every 200 ms for a minute.
func slowUpstream() async throws -> FakeOpenAIServer {
    try await FakeOpenAIServer { _ in
        .stream(pieces: Array(repeating: FakeBodies.chunk("more "), count: 300) + ["data: [DONE]\n\n"], gap: .milliseconds(200))
    }
}

/// Checks what `Tests/Fixtures/mcp/mcp_client_check.py` printed: every tool, resource, progress, bad input,
/// cancellation and the reload notification.
func expectMCPClientRun(_ run: (status: Int32, stdout: String, stderr: String), finished: ContinuousClock.Instant,
                        slow: FakeOpenAIServer, overHTTP: Bool, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    #expect(run.status == 0, "\(run.stderr.suffix(3000))", sourceLocation: sourceLocation)
    let out = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], "\(run.stdout)\n\(run.stderr.suffix(3000))")
    #expect(out["server"] as? String == "pointsman")
    #expect(out["tools"] as? [String] == ["ask", "compare", "pipeline", "route"])
    #expect((out["capabilities"] as? [String: Bool]) == ["tools_list_changed": true, "resources_subscribe": true])
    let route = (out["route"] as? [String: Any])?["structured"] as? [String: Any]
    #expect(route?["capability"] as? String == "code" && route?["model"] as? String == "deepseek-coder-1.3b")
    #expect((route?["routing_version"] as? String)?.count == 12)
    let routeMessages = (out["route_messages"] as? [String: Any])?["structured"] as? [String: Any]
    #expect(routeMessages?["capability"] as? String == "translation")
    let ask = out["ask"] as? [String: Any]
    #expect(ask?["error"] as? Bool == false && !((ask?["text"] as? String) ?? "").isEmpty)
    let askProgress = (ask?["progress"] as? [[String: Any]]) ?? []
    #expect(askProgress.count >= 2 && (askProgress[1]["message"] as? String ?? "").hasPrefix("asking "), "\(askProgress)")
    let progressValues = askProgress.compactMap { $0["progress"] as? Double }
    #expect(progressValues == progressValues.sorted() && Set(progressValues).count == progressValues.count)
    // The llama peer sends no usage with a stream: the tokens are counted, and the result says so.
    #expect(((ask?["structured"] as? [String: Any])?["usage"] as? [String: Any])?["completion_tokens"] as? Int ?? 0 > 0)
    #expect((ask?["structured"] as? [String: Any])?["usage_estimated"] as? Bool == true)
    let byCapability = ((out["ask_capability"] as? [String: Any])?["structured"] as? [String: Any])?["decision"] as? [String: Any]
    #expect(byCapability?["capability"] as? String == "math" && byCapability?["method"] as? String == "requested")
    let pipeline = out["pipeline"] as? [String: Any]
    #expect(pipeline?["error"] as? Bool == false)
    let final = (pipeline?["structured"] as? [String: Any])?["final"] as? String ?? ""
    #expect(!final.isEmpty)
    let pipelineMessages = ((pipeline?["progress"] as? [[String: Any]]) ?? []).compactMap { $0["message"] as? String }
    #expect(pipelineMessages.first?.hasPrefix("planning with ") == true && pipelineMessages.last == "done", "\(pipelineMessages)")
    #expect(pipelineMessages.contains { $0.hasPrefix("refining with ") })
    let compare = (out["compare"] as? [String: Any])?["structured"] as? [String: Any]
    for detector in ["regex", "embedding", "hybrid"] {
        #expect((compare?[detector] as? [String: Any])?["capability"] as? String == "summarize", "\(detector): \(String(describing: compare))")
    }
    let bad = (out["bad"] as? [String: [String: Any]]) ?? [:]
    #expect(bad.count == 7)
    for (call, result) in bad {
        #expect(result["error"] as? Bool == true, "\(call)")
        #expect(!((result["text"] as? String) ?? "").isEmpty, "\(call)")
    }
    #expect(bad[#"route {"prompt": 42}"#]?["text"] as? String == "route: 'prompt' must be a string, got a number")
    #expect(bad[#"no_such_tool {"prompt": "hi"}"#]?["text"] as? String == "unknown tool 'no_such_tool'; the tools are route, ask, pipeline, compare")
    #expect(out["resources"] as? [String] == ["pointsman://catalog", "pointsman://centroids", "pointsman://decisions"])
    #expect((out["catalog_models"] as? [String])?.count == Catalog.shipped.models.count)
    let centroids = out["centroids"] as? [String: Any]
    #expect(centroids?["loaded"] as? Bool == true && (centroids?["labels"] as? [String])?.count ?? 0 >= 10)
    #expect(((centroids?["validation"] as? [String: Any])?["macro_f1"] as? Double ?? 0) > 0.5)
    #expect(((out["decisions"] as? [[String: Any]])?.count ?? 0) >= 3)
    #expect((out["unknown_resource"] as? String ?? "").contains("unknown resource pointsman://nothing-here"))
    // Cancelled: the upstream stream was abandoned long before its minute was up, and the server kept serving. Over
    // HTTP the cancelled request is answered with an error (its event stream closes with it); over stdio it is not
    // answered at all.
    #expect((out["cancelled_call_error"] as? String)?.contains("request cancelled") ?? false == overHTTP, "\(String(describing: out["cancelled_call_error"]))")
    #expect(slow.streamsAbandoned == 1)
    // ... while the client was still connected: after cancelling, the client waits a second, calls route, edits the
    // catalog and waits for the reload notice before it exits, so a stream cut only because the client (and with
    // stdio, the server process) went away would be cut much later than this.
    if let cut = slow.abandonTimes.first { #expect(finished - cut > .milliseconds(800), "\(finished - cut)") }
    #expect((out["after_cancel"] as? [String: Any])?["error"] as? Bool == false)
    // The catalog reload reached the client, and the tool schemas follow the new catalog.
    #expect(out["list_changed"] as? Bool == true)
    #expect(out["catalog_updated"] as? Bool == true)
    let removed = try #require(out["removed"] as? String)
    #expect((out["ask_models"] as? [String])?.contains(removed) == true)
    #expect((out["ask_models_after"] as? [String])?.contains(removed) == false)
}

@Suite("MCP live: the official Python client against both transports, the llama peer answering", .serialized)
struct MCPLiveTests {
    @Test("stdio: `pointsman mcp` launched by the client")
    func stdio() async throws {
        let llama = try Peers.llama()
        let python = try Peers.openAIPython()
        let slow = try await slowUpstream()
        let catalog = try mcpLiveCatalog(llama: llama, slow: slow.baseURL, in: TestPaths.temporaryDirectory("mcp-stdio"))
        let run = try await runProcessOffPool(python, [
            TestPaths.fixture("mcp/mcp_client_check.py"), "stdio", catalog, "mistral-7b", "--",
            PointsmanBinary.path, "mcp", "--catalog", catalog, "--centroids", TestPaths.repositoryFile("centroids/tasks.json"),
            "--endpoint", llama, "--watch", "0.2", "--retries", "0",
        ])
        try await expectMCPClientRun(run, finished: .now, slow: slow, overHTTP: false)
        try await slow.stop()
    }

    @Test("Streamable HTTP: /mcp of `pointsman serve`, behind an API key")
    func http() async throws {
        let llama = try Peers.llama()
        let python = try Peers.openAIPython()
        let slow = try await slowUpstream()
        let catalog = try mcpLiveCatalog(llama: llama, slow: slow.baseURL, in: TestPaths.temporaryDirectory("mcp-http"))
        var config = testConfiguration(upstream: llama, keys: ["mcp-key"], catalog: catalog)
        config.watchInterval = .milliseconds(200)
        try await makeApp(config).test(.live) { client in
            let port = try #require(client.port)
            let run = try await runProcessOffPool(python, [
                TestPaths.fixture("mcp/mcp_client_check.py"), "http", catalog, "mistral-7b", "http://127.0.0.1:\(port)/mcp", "mcp-key",
            ])
            try await expectMCPClientRun(run, finished: .now, slow: slow, overHTTP: true)
        }
        try await slow.stop()
    }
}

/// `runProcess` on a thread of its own: waiting for a long client run does not hold one of the few cooperative
/// threads the in-process service needs.
func runProcessOffPool(_ executable: String, _ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try runProcess(executable, arguments) }) }.start()
    }
}

/// Values appended from concurrent code.
final class LockedValues<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [T] = []
    func append(_ value: T) { lock.withLock { items.append(value) } }
    var values: [T] { lock.withLock { items } }
}
