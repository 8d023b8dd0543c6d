import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOPosix
import OpenAIClient
import PointsmanCore
import PointsmanService
import PointsmanTestSupport
import Testing
import PointsmanInterfaces

/// A catalog whose models are all served by the llama peer; `creative` starts at a dead endpoint with a fallback.
func livePeerCatalog(_ url: String, in dir: String) throws -> String {
    var catalog = Catalog.shipped
    for index in catalog.models.indices {
        catalog.models[index].upstreamModel = "smollm2-135m-instruct"
        catalog.models[index].baseURL = catalog.models[index].alias == "mistral-7b" ? "http://127.0.0.1:9/v1" : url
    }
    let path = dir + "/catalog.json"
    try catalog.jsonText().write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

@Suite("Service live on 127.0.0.1 against the llama peer", .serialized)
struct ServiceLiveTests {
    @Test("auto-routed chat, streamed chunk by chunk, and fallback when the first upstream is down")
    func chat() async throws {
        let url = try Peers.llama()
        let config = testConfiguration(upstream: url, catalog: try livePeerCatalog(url, in: TestPaths.temporaryDirectory("live")))
        try await makeApp(config).test(.live) { client in
            let port = try #require(client.port)
            let pointsman = try OpenAIClient(configuration: .init(baseURL: "http://127.0.0.1:\(port)/v1"))
            let answer = try await pointsman.complete(ChatRequest(model: "auto", messages: [.user("Write a Python function that adds two numbers")],
                                                                    parameters: .init(maxTokens: 16, temperature: 0)))
            #expect(!answer.content.isEmpty)
            var chunks: [ChatChunk] = []
            for try await chunk in try await pointsman.stream(ChatRequest(model: "auto", messages: [.user("Count from one to ten in words")],
                                                                           parameters: .init(maxTokens: 24, temperature: 0))) {
                chunks.append(chunk)
            }
            #expect(chunks.filter { !$0.delta.isEmpty }.count > 3)
            try await pointsman.shutdown()
            // Creative goes to mistral-7b (dead endpoint) and falls back to phi-4-mini on the peer.
            try await client.execute(uri: "/v1/chat/completions", method: .post,
                                     body: try body(["model": "auto", "max_tokens": 8, "messages": [["role": "user", "content": "Write a short poem about the moon"]]])) { response in
                #expect(response.status == .ok)
                #expect(response.headers[HTTPField.Name("x-pointsman-capability")!] == "creative")
                #expect(response.headers[HTTPField.Name("x-pointsman-model")!] == "phi-4-mini")
            }
        }
    }

    @Test("spend is recorded for plain and streamed answers of the real peer (it ignores stream_options.include_usage, so a stream's tokens are counted)")
    func spend() async throws {
        let url = try Peers.llama()
        let config = testConfiguration(upstream: url, catalog: try livePeerCatalog(url, in: TestPaths.temporaryDirectory("live-spend")))
        try await makeApp(config).test(.live) { client in
            let ask: [String: Any] = ["model": "auto", "max_tokens": 12, "temperature": 0,
                                      "messages": [["role": "user", "content": "Give me some advice for my weekend plans"]]]
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: try body(ask)) { #expect($0.status == .ok) }
            var afterPlain = 0.0
            try await client.execute(uri: "/v1/spend", method: .get) { response in
                afterPlain = (json(response.body)["totals"] as? [String: Double])?["global_day"] ?? 0
            }
            #expect(afterPlain > 0)
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: try body(ask.merging(["stream": true]) { $1 })) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("data:"))
            }
            try await client.execute(uri: "/v1/spend", method: .get) { response in
                #expect(((json(response.body)["totals"] as? [String: Double])?["global_day"] ?? 0) > afterPlain)
            }
        }
    }

    @Test("streamed chunks reach the client as they are produced, not all at the end")
    func passThrough() async throws {
        // A slow fake upstream: four events 300 ms apart. The first must arrive long before the last is sent.
        let upstream = try await FakeOpenAIServer { _ in
            .stream(pieces: ["a", "b", "c", "d"].map { FakeBodies.chunk($0) } + ["data: [DONE]\n\n"], gap: .milliseconds(300))
        }
        try await makeApp(testConfiguration(upstream: upstream.baseURL)).test(.live) { client in
            let port = try #require(client.port)
            let pointsman = try OpenAIClient(configuration: .init(baseURL: "http://127.0.0.1:\(port)/v1"))
            let start = ContinuousClock.now
            var arrivals: [Duration] = []
            for try await chunk in try await pointsman.stream(ChatRequest(model: "auto", messages: [.user("hi")])) where !chunk.delta.isEmpty {
                arrivals.append(ContinuousClock.now - start)
            }
            try await pointsman.shutdown()
            #expect(arrivals.count == 4)
            #expect(arrivals[3] - arrivals[0] > .milliseconds(600))
        }
        try await upstream.stop()
    }

    @Test("a stream cut by the upstream after the first byte ends with an error event")
    func cutStream() async throws {
        let upstream = try await FakeOpenAIServer { _ in .stream(pieces: [FakeBodies.chunk("partial")], cut: true) }
        try await makeApp(testConfiguration(upstream: upstream.baseURL)).test(.live) { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post,
                                     body: try body(["model": "auto", "stream": true, "messages": [["role": "user", "content": "hi"]]])) { response in
                let text = String(buffer: response.body)
                #expect(text.contains("partial"))
                #expect(text.contains("upstream_interrupted"))
            }
        }
        try await upstream.stop()
    }

    @Test("in Messages and Responses format, a stream cut mid-way ends with that format's error event; an upstream error before the first byte is that format's error")
    func cutStreamInOtherFormats() async throws {
        let upstream = try await FakeOpenAIServer { request in
            (request.json["max_tokens"] as? Int) == 7 ? .respond(status: 500, body: #"{"error":{"message":"boom"}}"#)
                : .stream(pieces: [FakeBodies.chunk("partial")], cut: true)
        }
        try await makeApp(testConfiguration(upstream: upstream.baseURL)).test(.live) { client in
            try await client.execute(uri: "/v1/messages", method: .post, body: try body([
                "model": "auto", "max_tokens": 20, "stream": true, "messages": [["role": "user", "content": "hi"]]])) { response in
                let text = String(buffer: response.body)
                #expect(text.contains("event: content_block_delta") && text.contains("partial"))
                #expect(text.hasSuffix("\n\n") && text.contains("event: error\ndata: {\"error\":{\"message\":\"upstream stream interrupted\""))
                #expect(!text.contains("message_stop"))
            }
            try await client.execute(uri: "/v1/responses", method: .post, body: try body([
                "model": "auto", "input": "hi", "stream": true])) { response in
                let text = String(buffer: response.body)
                #expect(text.contains("event: response.output_text.delta") && text.contains("event: error"))
                #expect(!text.contains("response.completed"))
            }
            // Every model fails before the first byte: a 502 in each format's own shape.
            try await client.execute(uri: "/v1/messages", method: .post, body: try body([
                "model": "auto", "max_tokens": 7, "messages": [["role": "user", "content": "hi"]]])) { response in
                #expect(response.status == .badGateway && json(response.body)["type"] as? String == "error")
                #expect((json(response.body)["error"] as? [String: Any])?["type"] as? String == "api_error")
            }
            try await client.execute(uri: "/v1/responses", method: .post, body: try body([
                "model": "auto", "input": "hi", "max_output_tokens": 7])) { response in
                expectError(response, .badGateway, code: "upstream_unavailable")
            }
        }
        try await upstream.stop()
    }

    @Test("a reload during a stream of requests loses none of them")
    func reloadUnderLoad() async throws {
        try await makeApp(testConfiguration()).test(.live) { client in
            try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for i in 0..<60 {
                    group.addTask {
                        try await client.execute(uri: "/v1/route", method: .post, body: try body(["prompt": "Translate sentence \(i) into German"])).status
                    }
                    if i % 10 == 0 { group.addTask { try await client.execute(uri: "/admin/reload", method: .post).status } }
                }
                var statuses: [HTTPResponse.Status] = []
                for try await status in group { statuses.append(status) }
                #expect(statuses.count == 66)
                #expect(statuses.allSatisfy { $0 == .ok })
            }
        }
    }

    @Test("the anthropic Python package talks to the service through /v1/messages: plain, streamed, and an error")
    func anthropicPackage() async throws {
        let url = try Peers.llama()
        let python = try Peers.openAIPython()
        let config = testConfiguration(upstream: url, catalog: try livePeerCatalog(url, in: TestPaths.temporaryDirectory("live-anthropic")))
        try await makeApp(config).test(.live) { client in
            let port = try #require(client.port)
            let script = """
            import json, anthropic
            c = anthropic.Anthropic(base_url="http://127.0.0.1:\(port)", api_key="unused", max_retries=0)
            m = c.messages.create(model="auto", max_tokens=12, system="Answer briefly.",
                                  messages=[{"role": "user", "content": "Give me some advice for my weekend plans"}])
            turns = c.messages.create(model="auto", max_tokens=12, system=[{"type": "text", "text": "Be brief."}], messages=[
                {"role": "user", "content": "My name is Ada."}, {"role": "assistant", "content": "Nice to meet you, Ada."},
                {"role": "user", "content": [{"type": "text", "text": "What is my name?"}]}])
            texts, kinds = [], []
            with c.messages.stream(model="auto", max_tokens=12, messages=[{"role": "user", "content": "Count to five"}]) as s:
                for event in s:
                    kinds.append(event.type)
                final = s.get_final_message()
            try:
                c.messages.create(model="no-such-model", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
                error = None
            except anthropic.NotFoundError as e:
                error = e.body["error"]["type"]
            print(json.dumps({"type": m.type, "text": m.content[0].text if m.content else "", "stop": m.stop_reason,
                              "out": m.usage.output_tokens, "kinds": sorted(set(kinds)),
                              "final": "".join(b.text for b in final.content if b.type == "text"), "error": error,
                              "turns": turns.content[0].text if turns.content else ""}))
            """
            let run = try runProcess(python, ["-c", script])
            #expect(run.status == 0, "\(run.stderr)")
            let result = (try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]) ?? [:]
            #expect(result["type"] as? String == "message")
            #expect(!((result["text"] as? String) ?? "").isEmpty)
            #expect(["end_turn", "max_tokens"].contains(result["stop"] as? String ?? ""))
            #expect((result["out"] as? Int ?? 0) > 0)
            #expect(Set(result["kinds"] as? [String] ?? []).isSuperset(of: ["message_start", "content_block_start", "content_block_delta", "message_stop"]))
            #expect(!((result["final"] as? String) ?? "").isEmpty)
            #expect(result["error"] as? String == "not_found_error")
            #expect(!((result["turns"] as? String) ?? "").isEmpty)
        }
    }

    @Test("the openai Python package's Responses calls work through /v1/responses: plain, streamed, multi-turn with instructions")
    func responsesPackage() async throws {
        let url = try Peers.llama()
        let python = try Peers.openAIPython()
        let config = testConfiguration(upstream: url, catalog: try livePeerCatalog(url, in: TestPaths.temporaryDirectory("live-responses")))
        try await makeApp(config).test(.live) { client in
            let port = try #require(client.port)
            let script = """
            import json, openai
            c = openai.OpenAI(base_url="http://127.0.0.1:\(port)/v1", api_key="unused", max_retries=0)
            r = c.responses.create(model="auto", input="Give me some advice for my weekend plans", max_output_tokens=16)
            turns = c.responses.create(model="auto", instructions="Answer in one short sentence.", max_output_tokens=16, input=[
                {"role": "user", "content": "My name is Ada."},
                {"role": "assistant", "content": "Nice to meet you, Ada."},
                {"role": "user", "content": "What is my name?"}])
            kinds, deltas = [], []
            for event in c.responses.create(model="auto", input="Count to five", max_output_tokens=16, stream=True):
                kinds.append(event.type)
                if event.type == "response.output_text.delta":
                    deltas.append(event.delta)
            try:
                c.responses.create(model="auto", input="hi", previous_response_id="resp_x")
                error = None
            except openai.BadRequestError as e:
                error = e.body["code"] if isinstance(e.body, dict) else str(e)
            print(json.dumps({"object": r.object, "text": r.output_text, "tokens": r.usage.output_tokens,
                              "turns": turns.output_text, "kinds": kinds, "streamed": "".join(deltas), "error": error}))
            """
            let run = try runProcess(python, ["-c", script])
            #expect(run.status == 0, "\(run.stderr)")
            let result = (try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]) ?? [:]
            #expect(result["object"] as? String == "response")
            #expect(!((result["text"] as? String) ?? "").isEmpty && (result["tokens"] as? Int ?? 0) > 0)
            #expect(!((result["turns"] as? String) ?? "").isEmpty)
            let kinds = result["kinds"] as? [String] ?? []
            #expect(kinds.first == "response.created" && kinds.last == "response.completed" || kinds.last == "response.incomplete")
            #expect(!((result["streamed"] as? String) ?? "").isEmpty)
            #expect(result["error"] as? String == "unsupported_parameter")
        }
    }

    @Test("the openai Python package talks to the service: chat, streaming, embeddings")
    func openAIPackage() async throws {
        let url = try Peers.llama()
        let python = try Peers.openAIPython()
        let config = testConfiguration(upstream: url, catalog: try livePeerCatalog(url, in: TestPaths.temporaryDirectory("live")))
        try await makeApp(config).test(.live) { client in
            let port = try #require(client.port)
            let script = """
            import base64, json, sys
            from openai import OpenAI
            c = OpenAI(base_url="http://127.0.0.1:\(port)/v1", api_key="unused", max_retries=0)
            chat = c.chat.completions.create(model="auto", messages=[{"role": "user", "content": "Write a Python function that adds two numbers"}], max_tokens=12, temperature=0)
            parts = [ch.choices[0].delta.content or "" for ch in c.chat.completions.create(model="auto", messages=[{"role": "user", "content": "Count to five"}], max_tokens=12, stream=True) if ch.choices]
            emb = c.embeddings.create(model="all-MiniLM-L6-v2", input=["hello world", "route me"])
            b64 = c.embeddings.create(model="all-MiniLM-L6-v2", input="hello world", encoding_format="base64")
            print(json.dumps({"chat": chat.choices[0].message.content, "chunks": len([p for p in parts if p]),
                              "dims": [len(d.embedding) for d in emb.data], "usage": emb.usage.prompt_tokens,
                              "b64_dim": len(base64.b64decode(b64.data[0].embedding)) // 4}))
            """
            let run = try runProcess(python, ["-c", script])
            #expect(run.status == 0, "\(run.stderr)")
            let result = (try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]) ?? [:]
            #expect(!((result["chat"] as? String) ?? "").isEmpty)
            #expect((result["chunks"] as? Int ?? 0) > 2)
            #expect(result["dims"] as? [Int] == [384, 384])
            #expect(result["usage"] as? Int == 8)  // [CLS] hello world [SEP] + [CLS] route me [SEP]
            #expect(result["b64_dim"] as? Int == 384)
        }
    }
}

func runProcess(_ executable: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Both pipes are read at once, so a chatty stderr can never block the child.
    let e = LockedValues<Data>()
    let reader = Thread { e.append(err.fileHandleForReading.readDataToEndOfFile()) }
    reader.start()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    while e.values.isEmpty { usleep(1000) }
    return (process.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e.values[0], as: UTF8.self))
}

@Suite("Connection timeouts")
struct HeaderTimeoutTests {
    @Test("a request body trickled below the minimum rate gets the connection closed, and is not counted as a 500")
    func slowBody() async throws {
        var config = testConfiguration()
        config.bodyTimeout = .seconds(3)
        config.bodyRateGrace = .milliseconds(300)
        config.minimumBodyBytesPerSecond = 1024
        try await makeApp(config).test(.live) { client in
            let port = try #require(client.port)
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port).get()
            let start = ContinuousClock.now
            // A complete head announcing 1,000 bytes, then a byte every 100 ms.
            try await channel.writeAndFlush(ByteBuffer(string: "POST /v1/route HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")).get()
            let trickle = Task {
                for _ in 0..<50 {
                    try await Task.sleep(for: .milliseconds(100))
                    try await channel.writeAndFlush(ByteBuffer(string: " ")).get()
                }
            }
            try await channel.closeFuture.get()
            trickle.cancel()
            let elapsed = ContinuousClock.now - start
            #expect(elapsed >= .milliseconds(250) && elapsed < .seconds(2), "closed after \(elapsed)")
            try await Task.sleep(for: .milliseconds(200))
            let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/metrics")!)
            let metrics = String(decoding: data, as: UTF8.self)
            #expect(!metrics.contains(#"status="500""#), "\(metrics.split(separator: "\n").filter { $0.contains("http_requests") })")
        }
    }

    @Test("a request head trickled slower than the header timeout gets the connection closed; normal requests pass")
    func slowHead() async throws {
        var config = testConfiguration()
        config.headerTimeout = .milliseconds(300)
        try await makeApp(config).test(.live) { client in
            let port = try #require(client.port)
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port).get()
            let start = ContinuousClock.now
            // Half a request head, then a byte every 100 ms: never idle, never complete.
            try await channel.writeAndFlush(ByteBuffer(string: "POST /v1/route HTTP/1.1\r\nHost: x\r\n")).get()
            let trickle = Task {
                for _ in 0..<30 {
                    try await Task.sleep(for: .milliseconds(100))
                    try await channel.writeAndFlush(ByteBuffer(string: "X")).get()
                }
            }
            try await channel.closeFuture.get()
            trickle.cancel()
            let elapsed = ContinuousClock.now - start
            #expect(elapsed >= .milliseconds(250))
            #expect(elapsed < .seconds(2))
            // A fresh connection with a prompt request head is served (the test client's own idle connection was
            // closed by the same timeout, as any keep-alive connection without a new request would be).
            let (_, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/healthz")!)
            #expect((response as? HTTPURLResponse)?.statusCode == 200)
        }
    }
}
