import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import PointsmanCore
import PointsmanPostgres
import PointsmanTestSupport
import PostgresNIO
import Testing

func date(_ text: String) -> Date { ISO8601DateFormatter().date(from: text + "T12:00:00Z")! }

@Suite("PostgreSQL: schema and spend ledger against a real server", .serialized, .dropsScratchDatabases)
struct PostgresSpendLedgerTests {
    @Test("the schema is migrated once: replicas opening together apply each migration exactly once")
    func migrations() async throws {
        let url = try ScratchDatabase.create(prefix: "t_")
        let replicas = try await withThrowingTaskGroup(of: PointsmanDatabase.self) { group in
            for _ in 0..<3 { group.addTask { try await PointsmanDatabase.open(url: url) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        defer { replicas.forEach { $0.close() } }
        #expect(try await replicas[0].appliedMigrations() == Array(1...7))
        let again = try await PointsmanDatabase.open(url: url)
        defer { again.close() }
        #expect(try await again.appliedMigrations() == Array(1...7))
        // Migration 7: the decision log's time index is a block-range index, not a B-tree.
        var indexes: [String: String] = [:]
        for try await (name, method) in try await again.client.query("""
            SELECT c.relname, a.amname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
            WHERE i.indrelid = 'pointsman_decisions'::regclass
            """).decode((String, String).self) {
            indexes[name] = method
        }
        #expect(indexes == ["pointsman_decisions_pkey": "btree", "pointsman_decisions_request": "btree",
                            "pointsman_decisions_time_brin": "brin"])
    }

    @Test("totals per key and for everyone, by UTC day and month; months before the previous one are dropped")
    func totals() async throws {
        let database = try await PointsmanDatabase.open(url: try ScratchDatabase.create(prefix: "t_"))
        defer { database.close() }
        let ledger = PostgresSpendLedger(database: database)
        try await ledger.record(key: "key-a", model: "phi-4-mini", cost: 0.25, at: date("2026-12-01"))
        try await ledger.record(key: "key-a", model: "phi-4-mini", cost: 0.25, at: date("2026-12-01"))
        try await ledger.record(key: "key-a", model: "mistral-7b", cost: 1.0, at: date("2026-12-02"))
        try await ledger.record(key: "key-b", model: "phi-4-mini", cost: 2.0, at: date("2026-12-01"))
        try await ledger.record(key: "key-a", model: "phi-4-mini", cost: 4.0, at: date("2026-11-30"))
        #expect(try await ledger.totals(key: "key-a", at: date("2026-12-01")) == SpendTotals(keyDay: 0.5, keyMonth: 1.5, globalDay: 2.5, globalMonth: 3.5))
        #expect(try await ledger.totals(key: "key-c", at: date("2026-12-01")) == SpendTotals(keyDay: 0, keyMonth: 0, globalDay: 2.5, globalMonth: 3.5))
        #expect(try await ledger.models(at: date("2026-12-15")) == ["phi-4-mini": 2.5, "mistral-7b": 1.0])
        #expect(try await ledger.totals(key: "key-a", at: date("2026-11-30")).keyMonth == 4.0)
        // Recording in January drops November; December, the previous month, stays until February.
        try await ledger.record(key: "key-a", model: "phi-4-mini", cost: 0.5, at: date("2027-01-10"))
        #expect(try await ledger.totals(key: "key-a", at: date("2026-11-30")).keyMonth == 0)
        #expect(try await ledger.totals(key: "key-a", at: date("2026-12-31")).keyMonth == 1.5)
        try await ledger.record(key: "key-a", model: "phi-4-mini", cost: 0.5, at: date("2027-02-01"))
        #expect(try await ledger.totals(key: "key-a", at: date("2026-12-31")).keyMonth == 0)
        #expect(try await ledger.totals(key: "key-a", at: date("2027-01-31")).keyMonth == 0.5)
    }

    @Test("three replicas recording at once lose nothing: every concurrent record is counted")
    func concurrentReplicas() async throws {
        let url = try ScratchDatabase.create(prefix: "t_")
        var replicas: [PointsmanDatabase] = []
        for _ in 0..<3 { replicas.append(try await PointsmanDatabase.open(url: url)) }
        defer { replicas.forEach { $0.close() } }
        let day = date("2026-12-01")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for replica in replicas {
                let ledger = PostgresSpendLedger(database: replica)
                for index in 0..<40 {
                    group.addTask { try await ledger.record(key: index % 2 == 0 ? "key-even" : "key-odd", model: "m", cost: 0.125, at: day) }
                }
            }
            try await group.waitForAll()
        }
        let totals = try await PostgresSpendLedger(database: replicas[1]).totals(key: "key-even", at: day)
        #expect(totals == SpendTotals(keyDay: 7.5, keyMonth: 7.5, globalDay: 15, globalMonth: 15))
    }

    @Test("while the database is down, records are held (answers are not slowed) and reach it, once each, when it is back")
    func outage() async throws {
        let url = try ScratchDatabase.create(prefix: "t_")
        let database = try await PointsmanDatabase.open(url: url)
        defer { database.close() }
        let ledger = PostgresSpendLedger(database: database, writeTimeout: .seconds(1), retryInterval: .milliseconds(500))
        let day = date("2026-12-01")
        try await ledger.record(key: "key-a", model: "m", cost: 1, at: day)
        try serverControl("stop")
        do {
            let started = ContinuousClock.now
            for _ in 0..<3 { try await ledger.record(key: "key-a", model: "m", cost: 1, at: day) }
            #expect(ContinuousClock.now - started < .seconds(10))
            #expect(await ledger.pendingCount == 3)
            await #expect(throws: (any Error).self) { try await ledger.totals(key: "key-a", at: day) }
        }
        try serverControl("start")
        try await Task.sleep(for: .milliseconds(600))  // past the retry interval
        try await ledger.record(key: "key-a", model: "m", cost: 1, at: day)
        #expect(await ledger.pendingCount == 0)
        #expect(try await ledger.totals(key: "key-a", at: day).keyDay == 5)
    }

    @Test("a spend record the server acknowledged but did not commit is held and counted once when it commits")
    func acknowledgedButNotCommitted() async throws {
        let database = try await PointsmanDatabase.open(url: try ScratchDatabase.create(prefix: "t_"))
        defer { database.close() }
        try await PostgresDecisionLogTests.closeCommitGate(database, table: "pointsman_spend_records")
        let ledger = PostgresSpendLedger(database: database, retryInterval: .milliseconds(50))
        let day = date("2026-12-01")
        try await ledger.record(key: "key-a", model: "m", cost: 1, at: day)
        #expect(await ledger.pendingCount == 1)
        try await PostgresDecisionLogTests.openCommitGate(database)
        try await Task.sleep(for: .milliseconds(100))  // past the retry interval
        try await ledger.record(key: "key-a", model: "m", cost: 2, at: day)
        #expect(await ledger.pendingCount == 0)
        #expect(try await ledger.totals(key: "key-a", at: day).keyDay == 3)
    }

    @Test("a bad URL says what is wrong; an unreachable server is an error, and no password appears in either")
    func badURLs() async throws {
        for (url, message) in [("mysql://u@h/db", "must look like postgres://"), ("postgres:///db", "names no host"),
                               ("postgres://h:5432/db", "names no user"), ("postgres://u:secret@h/db?sslmode=maybe", "sslmode must be")] {
            do {
                let database = try await PointsmanDatabase.open(url: url)
                database.close()
                Issue.record("\(url) was accepted")
            } catch {
                #expect("\(error)".contains(message), "\(error)")
                #expect(!"\(error)".contains("secret"))
            }
        }
        do {
            let database = try await PointsmanDatabase.open(url: "postgres://u:secret@127.0.0.1:9/db", timeout: .seconds(2))
            database.close()
            Issue.record("an unreachable server was accepted")
        } catch {
            #expect("\(error)".contains("127.0.0.1:9"), "\(error)")
            #expect(!"\(error)".contains("secret"))
        }
    }
}
