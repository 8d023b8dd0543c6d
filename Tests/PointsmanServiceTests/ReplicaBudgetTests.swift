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

@Suite("Replicas sharing PostgreSQL (fake upstream, real database)", .serialized)
struct ReplicaBudgetTests {
    /// A database of its own for one test on the test server.
    static func freshDatabase() async throws -> String {
        let admin = try Peers.postgres()
        let name = "r_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        let database = try await PointsmanDatabase.open(url: admin)
        defer { database.close() }
        try await database.client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
        return admin.replacingOccurrences(of: "/pointsman_test", with: "/\(name)")
    }

    @Test("a key's hard budget holds across replicas: spend recorded through one is refused through the other, and GET /v1/spend agrees on both")
    func budgetAcrossReplicas() async throws {
        let url = try await Self.freshDatabase()
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
}
