import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import PointsmanCore
import PointsmanPostgres
import PointsmanTestSupport
import PostgresNIO
import Testing

@Suite("The feedback loop: serve logs decisions, clients send feedback, eval replays, train learns (real binary, real database)", .serialized, .dropsScratchDatabases)
struct FeedbackLoopTests {
    static func post(_ port: Int, _ path: String, _ body: String) async throws -> (status: Int, json: [String: Any], requestID: String?) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(body.utf8)
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as? HTTPURLResponse
        return (http?.statusCode ?? 0, (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:],
                http?.value(forHTTPHeaderField: "x-request-id"))
    }

    @Test("decisions of /v1/route land in the log with their prompts; feedback joins them by request id; eval --from-log replays them (the same files agree on every one) and train --feedback adds the corrections")
    func loop() async throws {
        let url = try ScratchDatabase.create(prefix: "t_")
        let port = Int.random(in: 20_000...40_000)
        let dir = TestPaths.temporaryDirectory("feedback-loop")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: PointsmanBinary.path)
        process.arguments = ["serve", "--port", String(port), "--log-prompts", "--decision-spill", dir + "/spill.jsonl"]
        process.environment = ProcessInfo.processInfo.environment.merging(["POINTSMAN_DATABASE_URL": url]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { process.terminate(); process.waitUntilExit() }
        var ready = false
        for _ in 0..<200 where !ready {
            if let (_, response) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/readyz")!),
               (response as? HTTPURLResponse)?.statusCode == 200 { ready = true } else { try await Task.sleep(for: .milliseconds(100)) }
        }
        try #require(ready, "the service never became ready")

        let prompts = ["Write a short poem about the sea", "Fix this Python error: KeyError 'name' when I read a dict",
                       "What is the capital of Australia?", "Translate 'good morning' into Spanish"]
        var ids: [String] = []
        for prompt in prompts {
            let answer = try await Self.post(port, "/v1/route", #"{"prompt": "\#(prompt)"}"#)
            #expect(answer.status == 200)
            ids.append(try #require(answer.requestID))
        }
        // The poem was right; say the capital question wanted reasoning (a correction), and rate the code answer.
        let corrected = try await Self.post(port, "/v1/feedback", #"{"request_id": "\#(ids[2])", "capability": "reasoning", "comment": "wanted the why"}"#)
        #expect(corrected.status == 201 && corrected.json["request_id"] as? String == ids[2] && corrected.json["id"] is String)
        #expect(try await Self.post(port, "/v1/feedback", #"{"request_id": "\#(ids[1])", "rating": 1}"#).status == 201)
        for (body, param) in [(#"{"request_id": "\#(ids[0])", "capability": "astrology"}"#, "capability"),
                              (#"{"request_id": "\#(ids[0])", "rating": 5}"#, "rating"),
                              (#"{"capability": "code"}"#, "request_id"),
                              (#"{"request_id": "\#(ids[0])"}"#, "capability"),
                              (#"{"request_id": "\#(ids[0])", "rating": 1, "stars": 3}"#, "stars")] {
            let refused = try await Self.post(port, "/v1/feedback", body)
            #expect(refused.status == 400, "\(body)")
            #expect((refused.json["error"] as? [String: Any])?["param"] as? String == param, "\(body)")
        }

        // The log is written in the background: wait for the four rows.
        let database = try await PointsmanDatabase.open(url: url)
        defer { database.close() }
        let store = PostgresFeedbackStore(database: database)
        var logged: [LoggedDecision] = []
        for _ in 0..<100 {
            logged = try await store.loggedDecisions(withPromptsOnly: true)
            if logged.count == prompts.count { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(logged.map(\.record.prompt) == prompts)
        #expect(logged.map(\.record.requestID) == ids)
        #expect(logged.map(\.correctedCapability) == [nil, nil, "reasoning", nil])
        #expect(logged.allSatisfy { $0.record.source == "route" && $0.record.detector == "hybrid" && $0.record.routingVersion != nil })

        let replay = try PointsmanBinary.run(["eval", "--from-log", url, "--json"])
        #expect(replay.status == 0, "\(replay.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(replay.stdout.utf8)) as? [String: Any])
        #expect(report["replayed"] as? Int == 4)
        #expect(report["agreement"] as? Double == 1.0)  // the same files decide the same way
        #expect(report["corrected"] as? Int == 1)
        #expect(report["logged_accuracy"] as? Double == 0.0)
        #expect((report["logged_versions"] as? [String: Int])?[report["replayed_version"] as? String ?? ""] == 4)
        // The rules alone decide some of them differently, and the text report says how many stayed.
        let rules = try PointsmanBinary.run(["eval", "--from-log", url, "--detector", "regex"])
        #expect(rules.status == 0 && rules.stdout.contains("replayed 4"), "\(rules.stderr)")

        let data = dir + "/data.jsonl"
        try ["Write a haiku about autumn leaves", "Compose a limerick about a cat", "Sort these numbers in Python",
             "Write a bash loop over files", "Why is the sky blue?", "Who wrote Hamlet?"]
            .enumerated().map { #"{"text": "\#($1)", "label": "\#(["creative", "code", "qa"][$0 / 2])"}"# }
            .joined(separator: "\n").write(toFile: data, atomically: true, encoding: .utf8)
        let plain = try PointsmanBinary.run(["train", data, "--no-refine", "--k", "1", "--out", dir + "/plain.json"])
        #expect(plain.status == 0, "\(plain.stderr)")
        let withFeedback = try PointsmanBinary.run(["train", data, "--no-refine", "--k", "1", "--feedback", url, "--out", dir + "/fed.json"])
        #expect(withFeedback.status == 0, "\(withFeedback.stderr)")
        #expect(withFeedback.stderr.contains("adding 1 feedback corrections"))
        // The correction brings a label the data lacked.
        let labels = { (path: String) -> [String] in
            ((try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))) as? [String: Any])?["labels"] as? [String] ?? []
        }
        #expect(labels(dir + "/plain.json") == ["code", "creative", "qa"])
        #expect(labels(dir + "/fed.json") == ["code", "creative", "qa", "reasoning"])
    }
}
