import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PointsmanCore
import PointsmanPostgres
import PointsmanService
import PointsmanTestSupport
import PostgresNIO
import Testing

@Suite("Replicas sharing PostgreSQL (fake upstream, real database)", .serialized, .dropsScratchDatabases)
struct ReplicaBudgetTests {
    @Test("a key's hard budget holds across replicas: spend recorded through one is refused through the other, and GET /v1/spend agrees on both")
    func budgetAcrossReplicas() async throws {
        let url = try ScratchDatabase.create(prefix: "r_")
        var replicas: [any ApplicationProtocol] = []
        var databases: [PointsmanDatabase] = []
        for _ in 0..<2 {
            let upstream = RecordingUpstream(replies: ["phi-4-mini": .json(ServiceBudgetTests.answer)])
            var d = try await fakeDependencies(upstream, keys: ["alpha"])
            d.configuration.budget = BudgetPolicy(perKeyDaily: BudgetLimit(hard: 0.001))
            let database = try await PointsmanDatabase.open(url: url)
            databases.append(database)
            d.ledger = PostgresSpendLedger(database: database)
            replicas.append(Application(router: buildRouter(d)))
        }
        defer { databases.forEach { $0.close() } }
        let ask = try body(["model": "auto", "messages": [["role": "user", "content": "Give me some advice for my weekend plans"]]])
        let key: HTTPFields = [.authorization: "Bearer alpha"]
        // Each answer costs 0.0006 (1,000 + 1,000 tokens at phi-4-mini's prices): two answers pass the 0.001 limit.
        for (replica, expected) in [(0, HTTPResponse.Status.ok), (1, .ok), (0, .tooManyRequests), (1, .tooManyRequests)] {
            try await replicas[replica].test(.router) { client in
                try await client.execute(uri: "/v1/chat/completions", method: .post, headers: key, body: ask) {
                    #expect($0.status == expected, "replica \(replica)")
                }
            }
        }
        for replica in replicas {
            try await replica.test(.router) { client in
                try await client.execute(uri: "/v1/spend", method: .get, headers: key) { response in
                    let report = json(response.body)
                    #expect(abs(((report["totals"] as? [String: Double])?["key_day"] ?? 0) - 0.0012) < 1e-9)
                    #expect(abs(((report["models"] as? [String: Double])?["phi-4-mini"] ?? 0) - 0.0012) < 1e-9)
                }
            }
        }
    }

    @Test("every answered request has one decision-log row joined by its x-request-id: routed, asked by name, rejected upstream, and each prompt of /v1/route")
    func decisionLogRows() async throws {
        let database = try await PointsmanDatabase.open(url: try ScratchDatabase.create(prefix: "r_"))
        defer { database.close() }
        let upstream = RecordingUpstream(replies: ["phi-4-mini": .json(ServiceBudgetTests.answer),
                                                  "qwen2.5-0.5b": .reject(400, #"{"error":{"message":"too long"}}"#)])
        var d = try await fakeDependencies(upstream)
        d.configuration.logPrompts = true
        let log = PostgresDecisionLog(database: database, spillPath: TestPaths.temporaryDirectory("spill") + "/state/spill.jsonl",
                                      flushInterval: .milliseconds(20))
        try await log.start()
        d.decisionLog = log
        let app = Application(router: buildRouter(d))
        // request id -> what was asked
        let ids: [String: String] = try await app.test(.router) { client in
            var ids: [String: String] = [:]
            for (name, uri, request, status) in [
                ("routed", "/v1/chat/completions", ["model": "auto", "messages": [["role": "user", "content": "Give me some advice for my weekend plans"]]] as [String: Any], HTTPResponse.Status.ok),
                ("named", "/v1/chat/completions", ["model": "phi-4-mini", "messages": [["role": "user", "content": "hello"]]], .ok),
                ("rejected", "/v1/chat/completions", ["model": "qwen2.5-0.5b", "messages": [["role": "user", "content": "hi"]]], .badRequest),
                ("route", "/v1/route", ["prompts": ["Write a poem about rain", "What is 12 times 7?"]], .ok),
            ] {
                let id = try await client.execute(uri: uri, method: .post, body: try body(request)) { response in
                    #expect(response.status == status, "\(name)")
                    return response.headers[HTTPField.Name("x-request-id")!]
                }
                ids[try #require(id)] = name
            }
            return ids
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while await log.pendingCount > 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        var rows: [(name: String, source: String, detector: String, capability: String?, model: String, tokens: Int?, cost: Double?, status: Int, prompt: String?)] = []
        let query = try await database.client.query(
            "SELECT request_id, source, detector, capability, model, prompt_tokens, cost, status, prompt FROM pointsman_decisions ORDER BY prompt")
        var routeIDs: [String] = []
        for try await id in try await database.client.query("SELECT request_id FROM pointsman_decisions WHERE source = 'route' ORDER BY request_id").decode(String.self) {
            routeIDs.append(id)
        }
        #expect(routeIDs.map { $0.split(separator: "/").last.map(String.init) ?? "" } == ["0", "1"])
        for try await (id, source, detector, capability, model, tokens, cost, status, prompt)
            in query.decode((String, String, String, String?, String, Int?, Double?, Int, String?).self) {
            // A batch's rows are `<x-request-id>/<index>`.
            let base = id.split(separator: "/").first.map(String.init) ?? id
            rows.append((ids[base] ?? "unknown id \(id)", source, detector, capability, model, tokens, cost, status, prompt))
        }
        #expect(rows.count == 5)
        let byName = Dictionary(grouping: rows, by: \.name)
        let routed = try #require(byName["routed"]?.first)
        #expect(routed.source == "chat" && routed.detector == "regex" && routed.capability == "general" && routed.model == "phi-4-mini")
        #expect(routed.tokens == 1000 && routed.status == 200 && routed.prompt == "Give me some advice for my weekend plans")
        #expect(abs((routed.cost ?? 0) - 0.0006) < 1e-9)
        let named = try #require(byName["named"]?.first)
        #expect(named.detector == "requested" && named.capability == nil && named.model == "phi-4-mini" && named.status == 200)
        let rejected = try #require(byName["rejected"]?.first)
        #expect(rejected.model == "qwen2.5-0.5b" && rejected.status == 400 && rejected.tokens == nil)
        let routes = byName["route"] ?? []
        #expect(routes.map(\.prompt) == ["What is 12 times 7?", "Write a poem about rain"])
        #expect(routes.map(\.capability) == ["qa", "creative"] && routes.allSatisfy { $0.source == "route" && $0.tokens == nil })
        await log.close()
    }

    struct FailingFeedbackStore: FeedbackStore {
        func record(_ feedback: RoutingFeedback) async throws { throw CancellationError() }
    }

    @Test("POST /v1/feedback without a database is a 404 that says why; a store that fails is a 503 with Retry-After and no internals")
    func feedbackWithoutStore() async throws {
        let ask = try body(["request_id": "abc", "capability": "code"])
        let plain = Application(router: buildRouter(try await fakeDependencies(RecordingUpstream())))
        try await plain.test(.router) { client in
            try await client.execute(uri: "/v1/feedback", method: .post, body: ask) { response in
                #expect(response.status == .notFound)
                #expect(String(buffer: response.body).contains("--database-url"))
            }
        }
        var d = try await fakeDependencies(RecordingUpstream())
        d.feedbackStore = FailingFeedbackStore()
        try await Application(router: buildRouter(d)).test(.router) { client in
            try await client.execute(uri: "/v1/feedback", method: .post, body: ask) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] == "2")
                #expect(!String(buffer: response.body).contains("CancellationError"))
            }
        }
    }

    @Test("a conversation whose turns land on different replicas stays on its model: sessions live in the database; with the database down each replica falls back to its own table without failing a turn")
    func sessionsAcrossReplicas() async throws {
        let url = try ScratchDatabase.create(prefix: "r_")
        var replicas: [any ApplicationProtocol] = []
        var databases: [PointsmanDatabase] = []
        var stores: [PostgresSessionStore] = []
        for _ in 0..<2 {
            var d = try await fakeDependencies(RecordingUpstream())
            let database = try await PointsmanDatabase.open(url: url)
            databases.append(database)
            let store = PostgresSessionStore(database: database, ttl: .seconds(60), timeout: .milliseconds(500), retryInterval: .seconds(30))
            stores.append(store)
            d.sessions = store
            replicas.append(Application(router: buildRouter(d)))
        }
        defer { databases.forEach { $0.close() } }
        let model = HTTPField.Name("x-pointsman-model")!, outcome = HTTPField.Name("x-pointsman-session-outcome")!
        let poem = ["role": "user", "content": "Write a haiku about snow"], answer = ["role": "assistant", "content": "Snow falls..."]
        let more = ["role": "user", "content": "Make it longer and sadder"]
        let session: HTTPFields = [HTTPField.Name("x-pointsman-session")!: "conversation-1"]
        try await replicas[0].test(.router) { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: session,
                                     body: try body(["model": "auto", "messages": [poem]])) { response in
                #expect(response.headers[model] == "mistral-7b" && response.headers[outcome] == "new")
            }
        }
        // The second turn goes to the other replica, which never saw the first: it still knows the session.
        try await replicas[1].test(.router) { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: session,
                                     body: try body(["model": "auto", "messages": [poem, answer, more]])) { response in
                #expect(response.headers[model] == "mistral-7b" && response.headers[outcome] == "kept")
            }
        }
        #expect(try await stores[0].storedCount() == 1)
        try serverControl("stop")
        defer { try? serverControl("start") }
        // Down: turns are still served; the replica that saw the conversation keeps it on its model from its own table.
        try await replicas[1].test(.router) { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: session,
                                     body: try body(["model": "auto", "messages": [poem, answer, more]])) { response in
                #expect(response.status == .ok)
                #expect(response.headers[model] == "mistral-7b" && response.headers[outcome] == "kept")
            }
        }
    }
}
