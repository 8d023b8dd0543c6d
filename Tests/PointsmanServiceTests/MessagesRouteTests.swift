import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PointsmanCore
import PointsmanService
import PointsmanTestSupport
import Testing

@Suite("POST /v1/messages (Anthropic Messages; fake upstream, no sockets)")
struct MessagesRouteTests {
    static let answer = #"{"id":"c7","choices":[{"finish_reason":"stop","message":{"role":"assistant","content":"Bonjour"}}],"usage":{"prompt_tokens":11,"completion_tokens":2}}"#
    static let model = HTTPField.Name("x-pointsman-model")!

    @Test("auto is routed like chat completions and the answer comes back as an Anthropic message")
    func plain() async throws {
        let upstream = RecordingUpstream(replies: ["qwen2.5-1.5b": .json(Self.answer)])
        let app = Application(router: buildRouter(try await fakeDependencies(upstream, keys: ["k1"])))
        let request = try body(["model": "auto", "max_tokens": 64, "system": "Be brief.",
                                "messages": [["role": "user", "content": "Translate good morning into French"]]])
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/messages", method: .post, headers: [HTTPField.Name("x-api-key")!: "k1"], body: request) { response in
                #expect(response.status == .ok && response.headers[Self.model] == "qwen2.5-1.5b")
                let message = json(response.body)
                #expect(message["type"] as? String == "message" && message["model"] as? String == "auto")
                #expect((message["content"] as? [[String: Any]])?.first?["text"] as? String == "Bonjour")
                #expect(message["stop_reason"] as? String == "end_turn")
                #expect((message["usage"] as? [String: Any])?["output_tokens"] as? Int == 2)
            }
            // Errors in Anthropic's shape: no key, a bad body, an unknown model.
            try await client.execute(uri: "/v1/messages", method: .post, body: request) { response in
                #expect(response.status == .unauthorized)
                #expect((json(response.body)["error"] as? [String: Any])?["type"] as? String == "authentication_error")
            }
            let noMax = try body(["model": "auto", "messages": [["role": "user", "content": "hi"]]])
            try await client.execute(uri: "/v1/messages", method: .post, headers: [HTTPField.Name("x-api-key")!: "k1"], body: noMax) { response in
                #expect(response.status == .badRequest && json(response.body)["type"] as? String == "error")
                let error = json(response.body)["error"] as? [String: Any]
                #expect(error?["type"] as? String == "invalid_request_error" && (error?["message"] as? String)?.contains("max_tokens") == true)
            }
            let unknown = try body(["model": "claude-9", "max_tokens": 5, "messages": [["role": "user", "content": "hi"]]])
            try await client.execute(uri: "/v1/messages", method: .post, headers: [.authorization: "Bearer k1"], body: unknown) { response in
                #expect(response.status == .notFound)
                #expect((json(response.body)["error"] as? [String: Any])?["type"] as? String == "not_found_error")
            }
        }
        let sent = try #require(upstream.received.first?.body)
        #expect((sent["messages"] as? [[String: Any]])?.first?["role"] as? String == "system")
        #expect(sent["max_tokens"] as? Int == 64 && sent["model"] as? String == "qwen2.5-1.5b")
    }

    @Test("a tool round trip: the upstream's tool call comes back as a tool_use block; the result goes up as a tool message")
    func toolRoundTrip() async throws {
        let call = #"{"choices":[{"finish_reason":"tool_calls","message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_5","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Oslo\"}"}}]}}],"usage":{"prompt_tokens":20,"completion_tokens":9}}"#
        let upstream = RecordingUpstream(replies: ["phi-4-mini": .json(call)])
        let app = Application(router: buildRouter(try await fakeDependencies(upstream)))
        try await app.test(.router) { client in
            let tools: [[String: Any]] = [["name": "weather", "input_schema": ["type": "object", "properties": ["city": ["type": "string"]]]]]
            let first: [[String: Any]] = [["role": "user", "content": "Give me some advice for my weekend plans in Oslo"]]
            var toolUse: [String: Any] = [:]
            try await client.execute(uri: "/v1/messages", method: .post, body: try body(["model": "auto", "max_tokens": 50, "tools": tools, "messages": first])) { response in
                let message = json(response.body)
                #expect(message["stop_reason"] as? String == "tool_use")
                toolUse = (message["content"] as? [[String: Any]])?.first ?? [:]
                #expect(toolUse["type"] as? String == "tool_use" && (toolUse["input"] as? [String: Any])?["city"] as? String == "Oslo")
            }
            let second = first + [["role": "assistant", "content": [toolUse]],
                                  ["role": "user", "content": [["type": "tool_result", "tool_use_id": toolUse["id"] as? String ?? "", "content": "Sunny"]]]]
            try await client.execute(uri: "/v1/messages", method: .post, body: try body(["model": "auto", "max_tokens": 50, "tools": tools, "messages": second])) {
                #expect($0.status == .ok)
            }
        }
        let sent = try #require(upstream.received.last?.body["messages"] as? [[String: Any]])
        #expect(sent.map { $0["role"] as? String } == ["user", "assistant", "tool"])
        #expect(sent[2]["tool_call_id"] as? String == "call_5" && sent[2]["content"] as? String == "Sunny")
    }

    @Test("a model asked by name that cannot do what the request needs is a clear error in the client's format")
    func unsupportedByModel() async throws {
        let app = Application(router: buildRouter(try await fakeDependencies(RecordingUpstream())))
        try await app.test(.router) { client in
            let tools: [[String: Any]] = [["name": "weather", "input_schema": ["type": "object"]]]
            try await client.execute(uri: "/v1/messages", method: .post, body: try body([
                "model": "mistral-7b", "max_tokens": 20, "tools": tools, "messages": [["role": "user", "content": "Weather?"]]])) { response in
                #expect(response.status == .badRequest)
                let error = json(response.body)["error"] as? [String: Any]
                #expect(error?["type"] as? String == "invalid_request_error")
                #expect((error?["message"] as? String)?.contains("model \"mistral-7b\" cannot serve this request: no tool calls") == true)
            }
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: try body([
                "model": "mistral-7b", "tools": [["type": "function", "function": ["name": "weather"]]],
                "messages": [["role": "user", "content": "Weather?"]]])) { response in
                expectError(response, .badRequest, code: "unsupported_by_model")
            }
        }
    }

    @Test("a stream comes back as Anthropic's event sequence, chunk by chunk")
    func stream() async throws {
        let sse = "data: {\"id\":\"s1\",\"choices\":[{\"delta\":{\"content\":\"Bon\"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"jour\"},\"finish_reason\":\"stop\"}]}\n\n"
            + "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2}}\n\ndata: [DONE]\n\n"
        let upstream = RecordingUpstream(replies: ["qwen2.5-1.5b": .json(sse)])
        let app = Application(router: buildRouter(try await fakeDependencies(upstream)))
        let request = try body(["model": "auto", "max_tokens": 64, "stream": true,
                                "messages": [["role": "user", "content": [["type": "text", "text": "Translate good morning into French"]]]]])
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/messages", method: .post, body: request) { response in
                #expect(response.status == .ok && response.headers[.contentType] == "text/event-stream")
                let text = String(buffer: response.body)
                let events = text.split(separator: "\n\n").compactMap { $0.split(separator: "\n").first.map { String($0.dropFirst(7)) } }
                #expect(events == ["message_start", "content_block_start", "content_block_delta", "content_block_delta",
                                   "content_block_stop", "message_delta", "message_stop"])
                #expect(text.contains(#""text":"Bon""#) && text.contains(#""stop_reason":"end_turn""#) && text.contains(#""output_tokens":2"#))
                #expect(!text.contains("[DONE]"))
            }
        }
    }
}
