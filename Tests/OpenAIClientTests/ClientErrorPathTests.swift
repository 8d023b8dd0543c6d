import Foundation
@testable import OpenAIClient
import PointsmanInterfaces
import PointsmanTestSupport
import Testing

func makeClient(_ server: FakeOpenAIServer, timeout: Duration = .seconds(5), idle: Duration = .seconds(5),
                retries: Int = 2, key: String? = nil) throws -> OpenAIClient {
    try OpenAIClient(configuration: .init(
        baseURL: server.baseURL, apiKey: key, requestTimeout: timeout, streamTimeout: timeout, idleTimeout: idle,
        maxRetries: retries, initialBackoff: .milliseconds(10), maxBackoff: .seconds(2)))
}

func collect(_ stream: AsyncThrowingStream<ChatChunk, any Error>) async throws -> [ChatChunk] {
    var out: [ChatChunk] = []
    for try await chunk in stream { out.append(chunk) }
    return out
}

@Suite("OpenAI client against an in-process fake server")
struct ClientErrorPathTests {
    let request = ChatRequest(model: "m", messages: [.user("hi")], parameters: .init(maxTokens: 5, temperature: 0))

    @Test("usage counts no server could mean (negative, fractional, beyond 2^40) read as missing")
    func implausibleUsage() {
        let usage = OpenAIClient.usage(["prompt_tokens": -3, "completion_tokens": 12.5, "total_tokens": 1 << 50])
        #expect(usage?.promptTokens == nil && usage?.completionTokens == nil && usage?.totalTokens == nil)
        let fine = OpenAIClient.usage(["prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7])
        #expect(fine?.promptTokens == 3 && fine?.completionTokens == 4 && fine?.totalTokens == 7)
    }

    @Test("500 then success: retried, and the request body is what the protocol says")
    func retryAfter500() async throws {
        let server = try await FakeOpenAIServer { r in
            r.index == 0 ? .respond(status: 500, body: #"{"error":{"message":"boom"}}"#) : .respond(status: 200, body: FakeBodies.chat("ok"))
        }
        let client = try makeClient(server, key: "sk-test")
        let answer = try await client.complete(request)
        #expect(answer.content == "ok")
        #expect(answer.usage == TokenUsage(promptTokens: 5, completionTokens: 2, totalTokens: 7))
        #expect(server.requests.count == 2)
        let sent = server.requests[1]
        #expect(sent.uri == "/v1/chat/completions")
        #expect(sent.header("Authorization") == "Bearer sk-test")
        #expect(sent.json["model"] as? String == "m")
        #expect(sent.json["max_tokens"] as? Int == 5)
        #expect((sent.json["messages"] as? [[String: String]])?.first?["content"] == "hi")
        try await client.shutdown()
        try await server.stop()
    }

    @Test("429 with Retry-After waits that long before retrying")
    func retryAfter429() async throws {
        let server = try await FakeOpenAIServer { r in
            r.index == 0
                ? .respond(status: 429, headers: [("Retry-After", "1"), ("Content-Type", "application/json")], body: #"{"error":{"message":"slow down"}}"#)
                : .respond(status: 200, body: FakeBodies.chat("later"))
        }
        let client = try makeClient(server)
        let start = ContinuousClock.now
        let answer = try await client.complete(request)
        let waited = ContinuousClock.now - start
        #expect(answer.content == "later")
        #expect(waited >= .milliseconds(950))
        try await client.shutdown()
        try await server.stop()
    }

    @Test("persistent 500 gives up after the retries with the server's message")
    func persistent500() async throws {
        let server = try await FakeOpenAIServer { _ in .respond(status: 503, body: #"{"error":{"message":"overloaded"}}"#) }
        let client = try makeClient(server, retries: 2)
        await #expect(throws: OpenAIClientError.http(status: 503, url: server.baseURL + "/chat/completions", message: "overloaded")) {
            _ = try await client.complete(request)
        }
        #expect(server.requests.count == 3)
        try await client.shutdown()
        try await server.stop()
    }

    @Test("400 is not retried; 404 naming the model is model-not-found")
    func clientErrors() async throws {
        let server = try await FakeOpenAIServer { r in
            r.json["model"] as? String == "ghost"
                ? .respond(status: 404, body: #"{"error":{"message":"The model `ghost` does not exist","code":"model_not_found"}}"#)
                : .respond(status: 400, body: #"{"error":{"message":"bad messages"}}"#)
        }
        let client = try makeClient(server)
        do {
            _ = try await client.complete(request)
            Issue.record("expected an error")
        } catch let error as OpenAIClientError {
            #expect(error == .http(status: 400, url: server.baseURL + "/chat/completions", message: "bad messages"))
        }
        #expect(server.requests.count == 1)
        do {
            _ = try await client.complete(ChatRequest(model: "ghost", messages: [.user("x")]))
            Issue.record("expected an error")
        } catch let error as OpenAIClientError {
            guard case .modelNotFound(let model, _, _) = error else { Issue.record("got \(error)"); return }
            #expect(model == "ghost")
            #expect(error.description.contains("ghost"))
        }
        try await client.shutdown()
        try await server.stop()
    }

    @Test("malformed JSON is a malformed-response error")
    func malformed() async throws {
        let server = try await FakeOpenAIServer { _ in .respond(status: 200, body: "{not json") }
        let client = try makeClient(server)
        await #expect {
            _ = try await client.complete(request)
        } throws: { error in
            guard case .malformedResponse = error as? OpenAIClientError else { return false }
            return true
        }
        try await client.shutdown()
        try await server.stop()
    }

    @Test("a server slower than the timeout is a timeout error naming the URL")
    func slowServer() async throws {
        // The answer comes far later than the timeout, so a busy machine cannot let it win the race.
        let server = try await FakeOpenAIServer { _ in .delayed(.seconds(30), .respond(status: 200, body: FakeBodies.chat("late"))) }
        let client = try makeClient(server, timeout: .milliseconds(300), retries: 0)
        await #expect {
            _ = try await client.complete(request)
        } throws: { error in
            guard case .timedOut(let url, _) = error as? OpenAIClientError else { return false }
            return url.hasSuffix("/chat/completions")
        }
        try await client.shutdown()
        try await server.stop()
    }

    @Test("an unreachable endpoint names the URL")
    func unreachable() async throws {
        let client = try OpenAIClient(configuration: .init(baseURL: "http://127.0.0.1:9/v1", maxRetries: 1, initialBackoff: .milliseconds(5)))
        await #expect {
            _ = try await client.complete(request)
        } throws: { error in
            guard case .unreachable(let url, _) = error as? OpenAIClientError else { return false }
            return url == "http://127.0.0.1:9/v1/chat/completions"
        }
        try await client.shutdown()
    }

    @Test("streaming: events split across reads, comments, multi-line data, [DONE]")
    func streaming() async throws {
        let body = FakeBodies.chunk("Hel") + ": keep-alive comment\n\n" + FakeBodies.chunk("lo") + FakeBodies.chunk(" world")
            + #"data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":3,"total_tokens":6}}"# + "\r\n\r\n" + "data: [DONE]\n\n"
        // Cut into 7-byte pieces so events, lines and CRLFs are split across reads.
        let bytes = Array(body.utf8)
        let pieces = stride(from: 0, to: bytes.count, by: 7).map { String(decoding: bytes[$0..<min($0 + 7, bytes.count)], as: UTF8.self) }
        let server = try await FakeOpenAIServer { _ in .stream(pieces: pieces, gap: .milliseconds(2)) }
        let client = try makeClient(server)
        let chunks = try await collect(try await client.stream(request))
        #expect(chunks.map(\.delta).joined() == "Hello world")
        #expect(chunks.last?.usage?.totalTokens == 6)
        #expect(server.requests[0].json["stream"] as? Bool == true)
        try await client.shutdown()
        try await server.stop()
    }

    @Test("a stream cut in the middle ends with an error after the pieces that arrived")
    func streamCut() async throws {
        let server = try await FakeOpenAIServer { _ in .stream(pieces: [FakeBodies.chunk("partial")], cut: true) }
        let client = try makeClient(server)
        var received = ""
        do {
            for try await chunk in try await client.stream(request) { received += chunk.delta }
            Issue.record("expected the stream to fail")
        } catch let error as OpenAIClientError {
            guard case .streamInterrupted = error else { Issue.record("got \(error)"); return }
        }
        #expect(received == "partial")
        #expect(server.requests.count == 1)  // never retried once the stream started
        try await client.shutdown()
        try await server.stop()
    }

    @Test("a stream that stalls longer than the idle timeout fails as stalled")
    func streamStall() async throws {
        let server = try await FakeOpenAIServer { _ in .stream(pieces: [FakeBodies.chunk("a"), FakeBodies.chunk("b")], gap: .seconds(30)) }
        let client = try makeClient(server, idle: .milliseconds(400))
        await #expect {
            for try await _ in try await client.stream(request) {}
        } throws: { error in
            guard case .streamStalled = error as? OpenAIClientError else { return false }
            return true
        }
        try await client.shutdown()
        try await server.stop()
    }

    @Test("embeddings: batched input, float and base64, order by index")
    func embeddings() async throws {
        let server = try await FakeOpenAIServer { r in
            let inputs = r.json["input"] as? [String] ?? []
            let base64 = r.json["encoding_format"] as? String == "base64"
            let items = inputs.enumerated().reversed().map { index, text -> String in
                let vector: [Float] = [Float(text.count), Float(index), 0.5]
                let encoded: String
                if base64 {
                    var data = Data()
                    for v in vector { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
                    encoded = "\"\(data.base64EncodedString())\""
                } else {
                    encoded = "[" + vector.map { String($0) }.joined(separator: ",") + "]"
                }
                return #"{"object":"embedding","index":\#(index),"embedding":\#(encoded)}"#
            }
            return .respond(status: 200, body: #"{"object":"list","data":[\#(items.joined(separator: ","))],"model":"e"}"#)
        }
        let client = try OpenAIClient(configuration: .init(baseURL: server.baseURL, embeddingBatchSize: 2))
        let texts = ["a", "bb", "ccc"]
        let floats = try await client.embeddings(texts, model: "e", encoding: .float)
        let base64 = try await client.embeddings(texts, model: "e", encoding: .base64)
        #expect(floats == [[1, 0, 0.5], [2, 1, 0.5], [3, 0, 0.5]])
        #expect(base64 == floats)
        #expect(server.requests.count == 4)  // two batches per call
        try await client.shutdown()
        try await server.stop()
    }

    @Test("the API key never appears in the configuration's description")
    func keyRedacted() throws {
        let configuration = OpenAIClientConfiguration(baseURL: "http://127.0.0.1:1/v1", apiKey: "sk-secret")
        #expect(!configuration.description.contains("sk-secret"))
        #expect(throws: OpenAIClientError.self) { try OpenAIClient(configuration: .init(baseURL: "not a url")) }
    }
}

@Suite("Server-sent events parser")
struct SSEParserTests {
    @Test("every split point of a stream gives the same events")
    func splits() {
        let text = "data: one\n\n: comment\nevent: x\ndata: two\ndata: lines\n\ndata:three\r\n\r\ndata: [DONE]\n\n"
        let bytes = Array(text.utf8)
        for cut in 0...bytes.count {
            var parser = ServerSentEventParser()
            let events = parser.feed(bytes[..<cut]) + parser.feed(bytes[cut...]) + parser.finish()
            #expect(events == ["one", "two\nlines", "three", "[DONE]"], "cut at \(cut)")
        }
    }

    @Test("a UTF-8 sequence split across reads stays intact")
    func utf8Split() {
        let bytes = Array("data: héllo 🍕\n\n".utf8)
        var parser = ServerSentEventParser()
        var events: [String] = []
        for byte in bytes { events += parser.feed([byte]) }
        #expect(events == ["héllo 🍕"])
    }
}

@Suite("Client lifetime")
struct ClientLifetimeTests {
    @Test("a client dropped without shutdown after a failed call closes itself")
    func droppedClient() async throws {
        var client: OpenAIClient? = try OpenAIClient(configuration: .init(baseURL: "http://127.0.0.1:9/v1", maxRetries: 0))
        await #expect(throws: OpenAIClientError.self) { _ = try await client!.models() }
        client = nil  // must not crash the process
        let again = try OpenAIClient(configuration: .init(baseURL: "http://127.0.0.1:9/v1"))
        try await again.shutdown()
        #expect(client == nil)
    }
}
