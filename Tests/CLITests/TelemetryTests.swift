import Foundation
#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import PointsmanTestSupport
import Testing

@Suite("Central telemetry: OTLP traces to a real receiver and JSON log lines (real binary)", .serialized)
struct TelemetryTests {
    @Test("serve --otlp-endpoint exports a server span per request with route, embed and upstream spans inside it, carrying the routing attributes; --log-format json writes one object per line with the request id")
    func tracesAndLogs() async throws {
        let python = try Peers.openAIPython()
        let dir = TestPaths.temporaryDirectory("telemetry")
        let receiver = Process()
        receiver.executableURL = URL(fileURLWithPath: python)
        receiver.arguments = [TestPaths.fixture("otlp/otlp_receiver.py"), dir + "/port", dir + "/spans.jsonl"]
        receiver.standardError = FileHandle.nullDevice
        try receiver.run()
        // SIGKILL: a child may inherit SIGTERM blocked from the test process's threads.
        defer { kill(receiver.processIdentifier, SIGKILL); receiver.waitUntilExit() }
        var otlpPort: String?
        for _ in 0..<100 where otlpPort == nil {
            otlpPort = try? String(contentsOfFile: dir + "/port", encoding: .utf8)
            if otlpPort == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        let receiverPort = try #require(otlpPort, "the OTLP receiver did not start")

        let upstream = try await FakeOpenAIServer { _ in .respond(status: 200, body: FakeBodies.chat("Rain on the roof")) }
        let port = Int.random(in: 20_000...40_000)
        let logPath = dir + "/serve.log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        let serve = Process()
        serve.executableURL = URL(fileURLWithPath: PointsmanBinary.path)
        serve.arguments = ["serve", "--port", String(port), "--upstream", upstream.baseURL, "--log-prompts",
                           "--log-format", "json", "--otlp-endpoint", "http://127.0.0.1:\(receiverPort)"]
        serve.standardOutput = log
        serve.standardError = log
        try serve.run()
        defer { serve.terminate(); serve.waitUntilExit() }
        var ready = false
        for _ in 0..<200 where !ready {
            if let (_, response) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/readyz")!),
               (response as? HTTPURLResponse)?.statusCode == 200 { ready = true } else { try await Task.sleep(for: .milliseconds(100)) }
        }
        try #require(ready, "the service never became ready")

        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/chat/completions")!)
        request.httpMethod = "POST"
        request.httpBody = Data(#"{"model": "auto", "messages": [{"role": "user", "content": "Write a haiku about rain"}]}"#.utf8)
        let (_, response) = try await URLSession.shared.data(for: request)
        let requestID = try #require((response as? HTTPURLResponse)?.value(forHTTPHeaderField: "x-request-id"))

        // Spans leave in batches every second.
        var spans: [[String: Any]] = []
        for _ in 0..<100 {
            spans = (try? TestPaths.jsonLines(dir + "/spans.jsonl")) ?? []
            if spans.contains(where: { $0["name"] as? String == "pointsman.upstream" }) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        func span(_ name: String) -> [String: Any]? { spans.last { $0["name"] as? String == name } }
        let server = try #require(span("/v1/chat/completions"), "no server span in \(spans.map { $0["name"] ?? "" })")
        let route = try #require(span("pointsman.route"))
        let embed = try #require(span("pointsman.embed"))
        let upstreamSpan = try #require(span("pointsman.upstream"))
        #expect(server["service"] as? String == "pointsman")
        let serverAttributes = server["attributes"] as? [String: Any] ?? [:]
        #expect(serverAttributes["http.response.status_code"] as? Int == 200)
        #expect(serverAttributes["http.response.header.x_request_id"] as? String == requestID)
        // One trace: route and upstream inside the server span, embed inside route.
        #expect(route["trace_id"] as? String == server["trace_id"] as? String)
        #expect(route["parent_span_id"] as? String == server["span_id"] as? String)
        #expect(embed["parent_span_id"] as? String == route["span_id"] as? String)
        #expect(upstreamSpan["parent_span_id"] as? String == server["span_id"] as? String)
        let routeAttributes = route["attributes"] as? [String: Any] ?? [:]
        #expect(routeAttributes["pointsman.capability"] as? String == "creative")
        #expect(routeAttributes["pointsman.model"] as? String == "mistral-7b")
        #expect(routeAttributes["pointsman.method"] as? String == "embedding")
        #expect(routeAttributes["pointsman.language"] as? String == "en")
        #expect(routeAttributes["pointsman.routing_version"] is String)
        #expect((routeAttributes["pointsman.confidence"] as? Double ?? 0) > 0.5)
        let upstreamAttributes = upstreamSpan["attributes"] as? [String: Any] ?? [:]
        #expect(upstreamAttributes["pointsman.model"] as? String == "mistral-7b")
        #expect(upstreamAttributes["http.response.status_code"] as? Int == 200)

        // Every line is a JSON object; the request's own line carries its id.
        let lines = try String(contentsOfFile: logPath, encoding: .utf8).split(separator: "\n")
        let objects = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(objects.count == lines.count, "a log line is not JSON: \(lines.first { line in (try? JSONSerialization.jsonObject(with: Data(line.utf8))) == nil } ?? "")")
        #expect(objects.allSatisfy { $0["time"] is String && $0["level"] is String && $0["message"] is String })
        let routed = try #require(objects.first { $0["message"] as? String == "routed" })
        #expect(routed["request_id"] as? String == requestID)
        #expect(routed["model"] as? String == "mistral-7b")
    }
}
