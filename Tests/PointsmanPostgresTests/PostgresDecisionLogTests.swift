import Foundation
import PointsmanCore
import PointsmanPostgres
import PointsmanTestSupport
import PostgresNIO
import Testing

@Suite("PostgreSQL: the decision log against a real server", .serialized, .dropsScratchDatabases)
struct PostgresDecisionLogTests {
    static func record(_ n: Int, id: UUID = UUID()) -> DecisionLogRecord {
        DecisionLogRecord(id: id, requestID: "req-\(n)", time: Date(timeIntervalSince1970: 1_796_000_000 + Double(n)),
                          source: "chat", routingVersion: "v1", arm: n % 2 == 0 ? "A" : "B", detector: "hybrid",
                          capability: "code", model: "qwen-coder", confidence: 0.75, method: "embedding", language: "en",
                          routeMilliseconds: 1.5, totalMilliseconds: 120, promptTokens: 10 + n, completionTokens: 20,
                          cost: 0.001, status: 200, prompt: n == 0 ? "write a haiku" : nil)
    }

    static func spillPath() -> String {
        TestPaths.temporaryDirectory("decision-spill") + "/state/spill.jsonl"  // start() makes the folder
    }

    /// Request ids in the table, in order.
    static func requestIDs(_ database: PointsmanDatabase) async throws -> [String] {
        var ids: [String] = []
        let rows = try await database.client.query("SELECT request_id FROM pointsman_decisions ORDER BY time")
        for try await id in rows.decode(String.self) { ids.append(id) }
        return ids
    }

    @Test("records reach the table in the background with every field; a record written twice is kept once")
    func writes() async throws {
        let database = try await PointsmanDatabase.open(url: try ScratchDatabase.create(prefix: "t_"))
        defer { database.close() }
        let log = PostgresDecisionLog(database: database, spillPath: Self.spillPath(), batchSize: 4,
                                      flushInterval: .milliseconds(20))
        try await log.start()
        let repeated = UUID()
        for n in 0..<9 { await log.append(Self.record(n, id: n == 3 ? repeated : UUID())) }
        await log.append(Self.record(3, id: repeated))
        let deadline = ContinuousClock.now + .seconds(10)
        while await log.pendingCount > 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(try await Self.requestIDs(database) == (0..<9).map { "req-\($0)" })
        let rows = try await database.client.query("""
            SELECT source, routing_version, arm, detector, capability, model, confidence, method, language, route_ms,
                   total_ms, prompt_tokens, completion_tokens, cost, status, prompt, time
            FROM pointsman_decisions WHERE request_id = 'req-0'
            """)
        var seen = 0
        for try await (source, version, arm, detector, capability, model, confidence, method, language, routeMs, totalMs,
                       promptTokens, completionTokens, cost, status, prompt, time)
            in rows.decode((String, String?, String, String, String?, String, Double?, String?, String?, Double?, Double?,
                            Int?, Int?, Double?, Int, String?, Date).self) {
            seen += 1
            #expect(source == "chat" && version == "v1" && arm == "A" && detector == "hybrid")
            #expect(capability == "code" && model == "qwen-coder" && confidence == 0.75 && method == "embedding" && language == "en")
            #expect(routeMs == 1.5 && totalMs == 120 && promptTokens == 10 && completionTokens == 20 && cost == 0.001)
            #expect(status == 200 && prompt == "write a haiku")
            #expect(time == Date(timeIntervalSince1970: 1_796_000_000))
        }
        #expect(seen == 1)
        await log.close()
    }

    @Test("while the database is down, appending never waits, memory stays bounded and the rest spills to the file; all of it is written when the database returns")
    func outage() async throws {
        let database = try await PointsmanDatabase.open(url: try ScratchDatabase.create(prefix: "t_"))
        defer { database.close() }
        let spill = Self.spillPath()
        let log = PostgresDecisionLog(database: database, spillPath: spill, memoryLimit: 10, batchSize: 8,
                                      flushInterval: .milliseconds(20), writeTimeout: .seconds(1),
                                      retryInterval: .milliseconds(100))
        try await log.start()
        try serverControl("stop")
        do {
            let started = ContinuousClock.now
            for n in 0..<45 {
                await log.append(Self.record(n))
                #expect(await log.memoryCount <= 10)
            }
            #expect(ContinuousClock.now - started < .seconds(1))
            #expect(await log.pendingCount == 45)
            try await Task.sleep(for: .milliseconds(300))  // the writer tries, fails and keeps everything
            #expect(await log.pendingCount == 45)
            #expect(await log.memoryCount <= 10)
            // The writer renames the spill file while it tries to drain it; new spills start a new one.
            let lines = [spill, spill + ".draining"].reduce(0) {
                $0 + ((try? String(contentsOfFile: $1, encoding: .utf8))?.split(separator: "\n").count ?? 0)
            }
            #expect(lines >= 35)
        }
        try serverControl("start")
        let deadline = ContinuousClock.now + .seconds(30)
        while await log.pendingCount > 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(try await Self.requestIDs(database) == (0..<45).map { "req-\($0)" })
        #expect(!FileManager.default.fileExists(atPath: spill))
        #expect(!FileManager.default.fileExists(atPath: spill + ".draining"))
        await log.close()
    }

    @Test("records a shutdown could not write stay in the spill file and are written by the next start; a torn last line is skipped")
    func spillAcrossRestarts() async throws {
        let url = try ScratchDatabase.create(prefix: "t_")
        let spill = Self.spillPath()
        do {
            let database = try await PointsmanDatabase.open(url: url)
            defer { database.close() }
            let log = PostgresDecisionLog(database: database, spillPath: spill, writeTimeout: .milliseconds(500),
                                          retryInterval: .seconds(60))
            try await log.start()
            try serverControl("stop")
            for n in 0..<5 { await log.append(Self.record(n)) }
            await log.close(timeout: .seconds(1))
        }
        try serverControl("start")
        // Shutdown put memory in the spill file, then tried to drain it (renamed while draining): the records wait in one
        // of the two. A crash in the middle of a spill write leaves half a line.
        let left = FileManager.default.fileExists(atPath: spill + ".draining") ? spill + ".draining" : spill
        #expect((try String(contentsOfFile: left, encoding: .utf8)).split(separator: "\n").count == 5)
        let handle = try #require(FileHandle(forWritingAtPath: left))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"id":"trunc"#.utf8))
        try handle.close()
        let database = try await PointsmanDatabase.open(url: url)
        defer { database.close() }
        let log = PostgresDecisionLog(database: database, spillPath: spill, flushInterval: .milliseconds(20))
        try await log.start()
        #expect(await log.pendingCount == 5)
        let deadline = ContinuousClock.now + .seconds(10)
        while await log.pendingCount > 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(try await Self.requestIDs(database) == (0..<5).map { "req-\($0)" })
        await log.close()
    }

    @Test("a row the database refuses for its content is set aside and does not block the rows behind it; NUL is dropped from text")
    func refusedRows() async throws {
        let database = try await PointsmanDatabase.open(url: try ScratchDatabase.create(prefix: "t_"))
        defer { database.close() }
        let spill = Self.spillPath()
        let log = PostgresDecisionLog(database: database, spillPath: spill, batchSize: 10, flushInterval: .milliseconds(20))
        try await log.start()
        var nul = Self.record(0)
        nul.prompt = "write\u{0} a haiku"
        var huge = Self.record(1)
        huge.status = 3_000_000_000  // beyond PostgreSQL's integer: refused by the server, not a lost connection
        await log.append(nul)
        await log.append(huge)
        await log.append(Self.record(2))
        let deadline = ContinuousClock.now + .seconds(10)
        while await log.pendingCount > 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(try await Self.requestIDs(database) == ["req-0", "req-2"])
        var prompts: [String?] = []
        for try await prompt in try await database.client.query("SELECT prompt FROM pointsman_decisions WHERE request_id = 'req-0'").decode(String?.self) {
            prompts.append(prompt)
        }
        #expect(prompts == ["write a haiku"])
        #expect(await log.rejectedCount == 1)
        let rejected = try String(contentsOfFile: spill + ".rejected", encoding: .utf8)
        #expect(rejected.contains("req-1"))
        await log.close()
    }

    @Test("a batch goes in as one COPY: tabs, newlines, backslashes, quotes, non-Latin text, nulls, extreme numbers and microseconds read back as written")
    func copyText() async throws {
        let database = try await PointsmanDatabase.open(url: try ScratchDatabase.create(prefix: "t_"))
        defer { database.close() }
        let log = PostgresDecisionLog(database: database, spillPath: Self.spillPath(), batchSize: 10, flushInterval: .milliseconds(20))
        var odd = Self.record(0)
        odd.prompt = "tab\there\nnew line\r\n back\\slash \\N \\. 'quote' \"double\" 日本語のテキスト emoji 🚂 é nul\u{0}dropped"
        odd.requestID = "req-0\n\\.\n"  // an end-of-data marker on a line of its own, were it not escaped
        odd.model = "model\\with\tescapes"
        odd.time = Date(timeIntervalSince1970: 1_796_000_000.123456)
        odd.confidence = .infinity
        odd.cost = 1e-300
        odd.routeMilliseconds = -0.5
        odd.promptTokens = Int(Int64.max)
        var empty = Self.record(1)
        empty.cost = -.infinity
        empty.prompt = ""
        empty.routingVersion = nil
        empty.capability = nil
        empty.confidence = .nan
        empty.time = Date(timeIntervalSince1970: -86_400.25)  // before 1970
        let records = [odd, empty, Self.record(2)]
        for record in records { await log.append(record) }
        #expect(await log.flushAll())
        #expect(await log.writtenCount == 3)
        #expect(await log.copiedCount == 1)
        #expect(await log.copyFallbackCount == 0)
        let rows = try await database.client.query("""
            SELECT id, request_id, time, routing_version, capability, model, confidence, route_ms, prompt_tokens, cost, prompt
            FROM pointsman_decisions ORDER BY request_id
            """)
        var read: [(UUID, String, Date, String?, String?, String, Double?, Double?, Int?, Double?, String?)] = []
        for try await row in rows.decode((UUID, String, Date, String?, String?, String, Double?, Double?, Int?, Double?, String?).self) {
            read.append(row)
        }
        try #require(read.count == 3)
        #expect(read.map(\.0) == records.map(\.id))
        #expect(read[0].10 == odd.prompt!.replacingOccurrences(of: "\u{0}", with: "") && read[0].5 == odd.model)
        #expect(read[0].1 == odd.requestID)
        #expect(abs(read[0].2.timeIntervalSince1970 - 1_796_000_000.123456) < 1e-6)
        #expect(read[0].6 == .infinity && read[0].9 == 1e-300 && read[0].7 == -0.5 && read[0].8 == Int(Int64.max))
        #expect(read[1].9 == -.infinity)
        #expect(read[1].10 == "" && read[1].3 == nil && read[1].4 == nil && read[1].6?.isNaN == true)
        #expect(abs(read[1].2.timeIntervalSince1970 - -86_400.25) < 1e-6)
        #expect(read[2].10 == nil && read[2].4 == "code")
        await log.close()
    }

    @Test("a batch whose COPY the server refuses (an id already written) goes through the insert path: each id kept once, nothing lost")
    func copyRefused() async throws {
        let database = try await PointsmanDatabase.open(url: try ScratchDatabase.create(prefix: "t_"))
        defer { database.close() }
        let log = PostgresDecisionLog(database: database, spillPath: Self.spillPath(), batchSize: 10, flushInterval: .milliseconds(20))
        let first = [Self.record(0), Self.record(1)]
        for record in first { await log.append(record) }
        #expect(await log.flushAll())
        #expect(await log.copyFallbackCount == 0)
        // The same two again (a batch retried after a timeout whose write did land) with two new ones.
        for record in first + [Self.record(2), Self.record(3)] { await log.append(record) }
        #expect(await log.flushAll())
        #expect(await log.copyFallbackCount == 1)
        #expect(try await Self.requestIDs(database) == (0..<4).map { "req-\($0)" })
        await log.close()
    }

    /// Makes every commit that writes to `table` fail while `commit_gate.open` is false, after the statement itself
    /// has been acknowledged: a deferred constraint trigger runs at commit, which for a statement outside a transaction
    /// block comes after its CommandComplete (at the protocol's Sync). A commit-time serialization failure does this;
    /// so does a server stopping between the two.
    static func closeCommitGate(_ database: PointsmanDatabase, table: String) async throws {
        try await database.client.query("CREATE TABLE commit_gate (open boolean NOT NULL)")
        try await database.client.query("INSERT INTO commit_gate VALUES (false)")
        try await database.client.query("""
            CREATE FUNCTION refuse_commit() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF NOT (SELECT open FROM commit_gate) THEN
                RAISE EXCEPTION 'commit refused by the test' USING ERRCODE = '40001';
              END IF;
              RETURN NULL;
            END $$
            """)
        try await database.client.query(PostgresQuery(unsafeSQL: """
            CREATE CONSTRAINT TRIGGER refuse_commit AFTER INSERT ON \(table) DEFERRABLE INITIALLY DEFERRED
              FOR EACH ROW EXECUTE FUNCTION refuse_commit()
            """))
    }

    static func openCommitGate(_ database: PointsmanDatabase) async throws {
        try await database.client.query("UPDATE commit_gate SET open = true")
    }

    @Test("a batch the server acknowledged but did not commit is held and written again, by COPY and by INSERT",
          arguments: [1, 3])
    func acknowledgedButNotCommitted(batchSize: Int) async throws {
        let database = try await PointsmanDatabase.open(url: try ScratchDatabase.create(prefix: "t_"))
        defer { database.close() }
        try await Self.closeCommitGate(database, table: "pointsman_decisions")
        let log = PostgresDecisionLog(database: database, spillPath: Self.spillPath(), batchSize: batchSize,
                                      flushInterval: .milliseconds(20))
        for n in 0..<3 { await log.append(Self.record(n)) }
        #expect(await log.flushAll() == false)
        #expect(await log.writtenCount == 0)
        #expect(await log.pendingCount == 3)
        #expect(try await Self.requestIDs(database).isEmpty)
        try await Self.openCommitGate(database)
        #expect(await log.flushAll())
        #expect(await log.writtenCount == 3)
        #expect(await log.pendingCount == 0)
        #expect(try await Self.requestIDs(database) == ["req-0", "req-1", "req-2"])
        #expect(await log.copiedCount == (batchSize > 1 ? 1 : 0))
        await log.close()
    }

    @Test("decision ids are time-ordered version 7 UUIDs")
    func timeOrderedIDs() {
        let early = UUID.timeOrdered(at: Date(timeIntervalSince1970: 1_796_000_000))
        let late = UUID.timeOrdered(at: Date(timeIntervalSince1970: 1_796_000_000.002))
        for id in [early, late] {
            #expect(id.uuid.6 >> 4 == 7)
            #expect(id.uuid.8 >> 6 == 0b10)
        }
        #expect(early.uuidString.lowercased() < late.uuidString.lowercased())
        #expect(early.uuidString.lowercased().hasPrefix("01a229f1-2800-7"))  // 1,796,000,000,000 ms = 0x01a229f12800
        let ids = Set((0..<1000).map { _ in UUID.timeOrdered() })
        #expect(ids.count == 1000)
        #expect(DecisionLogRecord(requestID: "r", source: "route", detector: "hybrid", model: "m").id.uuid.6 >> 4 == 7)
    }

    @Test("a flush writes what memory held when it began, in full batches; records that arrive meanwhile wait for the next")
    func flushTakesWhatItFound() async throws {
        let database = try await PointsmanDatabase.open(url: try ScratchDatabase.create(prefix: "t_"))
        defer { database.close() }
        // Not started: nothing flushes but the calls below.
        let log = PostgresDecisionLog(database: database, spillPath: Self.spillPath(), batchSize: 500)
        for n in 0..<1000 { await log.append(Self.record(n)) }
        // Appends once the first batch is in, while the flush writes the second: records a flush did not find.
        let feeder = Task {
            while await log.copiedCount == 0, !Task.isCancelled { try? await Task.sleep(for: .microseconds(100)) }
            var n = 1000
            while n < 1010 || !Task.isCancelled {
                await log.append(Self.record(n))
                n += 1
                try? await Task.sleep(for: .microseconds(100))
            }
            return n
        }
        #expect(await log.flushAll())
        #expect(await log.copiedCount == 2)
        #expect(await log.writtenCount == 1000)
        feeder.cancel()
        let appended = await feeder.value
        #expect(await log.memoryCount == appended - 1000)
        #expect(await log.flushAll())
        #expect(await log.writtenCount == appended)
        #expect(try await Self.requestIDs(database).count == appended)
        await log.close()
    }

    @Test("records handed over by many tasks at once, while batches are being written, all reach the table, each once")
    func concurrentAppends() async throws {
        let database = try await PointsmanDatabase.open(url: try ScratchDatabase.create(prefix: "t_"))
        defer { database.close() }
        let log = PostgresDecisionLog(database: database, spillPath: Self.spillPath(), memoryLimit: 300, batchSize: 100,
                                      flushInterval: .milliseconds(5))
        try await log.start()
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for n in 0..<250 {
                        await log.append(Self.record(task * 250 + n))
                        if n % 50 == 0 { await Task.yield() }
                    }
                }
            }
        }
        let deadline = ContinuousClock.now + .seconds(20)
        while await log.pendingCount > 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        let ids = try await Self.requestIDs(database)
        #expect(ids.count == 2000)
        #expect(Set(ids) == Set((0..<2000).map { "req-\($0)" }))
        await log.close()
    }
}
