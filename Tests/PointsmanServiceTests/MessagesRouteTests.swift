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
