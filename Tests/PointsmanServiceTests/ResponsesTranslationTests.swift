import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PointsmanService
import PointsmanTestSupport
import Testing

@Suite("OpenAI Responses ⇄ Chat Completions translation, and POST /v1/responses")
struct ResponsesTranslationTests {
    static func object(_ text: String) throws -> [String: JSONValue] {
        guard case .object(let fields) = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else {
            throw CocoaError(.coderReadCorrupt)
        }
        return fields
    }

    static func plain(_ value: [String: JSONValue]) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: JSONEncoder().encode(JSONValue.object(value))) as? [String: Any] ?? [:]
    }

    @Test("instructions, message items with text and images, a function call and its output, tools and limits")
    func request() throws {
        let body = try Self.object(#"""
        {"model": "auto", "instructions": "Be brief.", "max_output_tokens": 50, "temperature": 0.1, "stream": true,
         "tools": [{"type": "function", "name": "weather", "description": "Weather", "parameters": {"type": "object"}}],
         "tool_choice": {"type": "function", "name": "weather"},
         "input": [
           {"role": "user", "content": [{"type": "input_text", "text": "Weather in Paris?"}, {"type": "input_image", "image_url": "https://x/y.png"}]},
           {"type": "function_call", "call_id": "call_1", "name": "weather", "arguments": "{\"city\":\"Paris\"}"},
           {"type": "function_call_output", "call_id": "call_1", "output": "18 C"},
           {"role": "developer", "content": "Use Celsius."}
         ]}
        """#)
        let chat = try Self.plain(ResponsesTranslation.chatRequest(fromResponses: body))
        let messages = try #require(chat["messages"] as? [[String: Any]])
        #expect(messages.map { $0["role"] as? String } == ["system", "user", "assistant", "tool", "system"])
        #expect(((messages[1]["content"] as? [[String: Any]])?[1]["image_url"] as? [String: Any])?["url"] as? String == "https://x/y.png")
        #expect(((messages[2]["tool_calls"] as? [[String: Any]])?.first?["function"] as? [String: Any])?["arguments"] as? String == #"{"city":"Paris"}"#)
        #expect(messages[3]["tool_call_id"] as? String == "call_1" && messages[3]["content"] as? String == "18 C")
        #expect(chat["max_tokens"] as? Int == 50 && chat["stream"] as? Bool == true)
        #expect(((chat["tools"] as? [[String: Any]])?.first?["function"] as? [String: Any])?["name"] as? String == "weather")
    }

    @Test("bad requests name the field", arguments: [
        (#"{"model": "auto"}"#, "input"),
        (#"{"model": "auto", "input": []}"#, "input"),
        (#"{"model": "auto", "input": "hi", "previous_response_id": "resp_1"}"#, "previous_response_id"),
        (#"{"model": "auto", "input": [{"type": "image_generation_call"}]}"#, "input[0].type"),
        (#"{"model": "auto", "input": [{"type": "reasoning", "summary": []}]}"#, "input"),
        (#"{"model": "auto", "input": "hi", "tools": [{"type": "web_search"}]}"#, "tools[0]"),
    ])
    func badRequests(text: String, field: String) throws {
        #expect { try ResponsesTranslation.chatRequest(fromResponses: Self.object(text)) } throws: { error in
            (error as? RequestError)?.param == field
        }
    }

    @Test("an answer becomes a response with a message item and a function_call item, status and usage")
    func answer() throws {
        let chat = try Self.object(#"""
        {"choices": [{"finish_reason": "tool_calls", "message": {"content": "Checking.", "tool_calls": [{"id": "call_2", "function": {"name": "weather", "arguments": "{}"}}]}}],
         "usage": {"prompt_tokens": 5, "completion_tokens": 3}}
        """#)
        let response = try Self.plain(ResponsesTranslation.response(fromChat: chat, model: "auto", id: "abc", createdAt: 1))
        #expect(response["object"] as? String == "response" && response["status"] as? String == "completed" && response["id"] as? String == "resp_abc")
        let output = try #require(response["output"] as? [[String: Any]])
        #expect(output.map { $0["type"] as? String } == ["message", "function_call"])
        #expect(((output[0]["content"] as? [[String: Any]])?.first?["text"] as? String) == "Checking.")
        #expect(output[1]["call_id"] as? String == "call_2")
        #expect((response["usage"] as? [String: Any])?["total_tokens"] as? Int == 8)
    }

    @Test("interleaved pieces of two function calls come out as two whole items; text.format becomes response_format")
    func interleavedCalls() throws {
        var translator = ResponsesStreamTranslator(model: "auto", id: "i", createdAt: 1)
        var out = ""
        for chunk in [
            #"{"choices": [{"delta": {"tool_calls": [{"index": 0, "id": "a", "function": {"name": "f", "arguments": ""}}]}}]}"#,
            #"{"choices": [{"delta": {"tool_calls": [{"index": 1, "id": "b", "function": {"name": "g", "arguments": "{}"}}]}}]}"#,
            #"{"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{\"x\":1}"}}]}, "finish_reason": "tool_calls"}]}"#,
        ] { out += translator.events(for: try Self.object(chunk)) }
        out += translator.finishEvents()
        let completed = try #require(out.split(separator: "\n\n").last.map { String($0.split(separator: "\n")[1].dropFirst(6)) })
        let response = try #require(try JSONSerialization.jsonObject(with: Data(completed.utf8)) as? [String: Any])
        let items = (response["response"] as? [String: Any])?["output"] as? [[String: Any]] ?? []
        #expect(items.map { $0["call_id"] as? String } == ["a", "b"])
        #expect(items.map { $0["arguments"] as? String } == [#"{"x":1}"#, "{}"])
        let chat = try Self.plain(ResponsesTranslation.chatRequest(fromResponses: Self.object(
            #"{"model": "auto", "input": "hi", "tools": [], "text": {"format": {"type": "json_schema", "name": "r", "schema": {"type": "object"}}}}"#)))
        #expect(((chat["response_format"] as? [String: Any])?["json_schema"] as? [String: Any])?["name"] as? String == "r")
        #expect(chat["tools"] == nil)
    }

    @Test("a chat stream becomes the Responses event stream; a cut stream ends with an error event")
    func stream() throws {
        var translator = ResponsesStreamTranslator(model: "auto", id: "s", createdAt: 1)
        var out = ""
        for chunk in [#"{"choices": [{"delta": {"content": "Hi"}}]}"#, #"{"choices": [{"delta": {"content": " there"}, "finish_reason": "stop"}]}"#,
                      #"{"choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 2}}"#] {
            out += translator.events(for: try Self.object(chunk))
        }
        out += translator.finishEvents()
        let types = out.split(separator: "\n\n").map { String($0.split(separator: "\n")[0].dropFirst(7)) }
        #expect(types == ["response.created", "response.output_item.added", "response.content_part.added", "response.output_text.delta",
                          "response.output_text.delta", "response.output_text.done", "response.content_part.done",
                          "response.output_item.done", "response.completed"])
        #expect(out.contains(#""text":"Hi there""#) && out.contains(#""total_tokens":6"#))
        var cut = ResponsesStreamTranslator(model: "auto", id: "t", createdAt: 1)
        _ = cut.events(for: try Self.object(#"{"choices": [{"delta": {"content": "Hi"}}]}"#))
        #expect(cut.errorEvent("upstream stream interrupted").hasPrefix("event: error\n"))
    }

    @Test("POST /v1/responses: routed like chat completions; plain, streamed, and a tool call translated back")
    func route() async throws {
        let toolAnswer = #"{"choices":[{"finish_reason":"tool_calls","message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_5","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Oslo\"}"}}]}}],"usage":{"prompt_tokens":20,"completion_tokens":9}}"#
        let sse = "data: {\"choices\":[{\"delta\":{\"content\":\"Hola\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n"
        let upstream = RecordingUpstream(replies: ["phi-4-mini": .json(toolAnswer), "qwen2.5-1.5b": .json(sse)])
        let app = Application(router: buildRouter(try await fakeDependencies(upstream)))
        try await app.test(.router) { client in
            let tools: [[String: Any]] = [["type": "function", "name": "weather", "parameters": ["type": "object"]]]
            try await client.execute(uri: "/v1/responses", method: .post, body: try body([
                "model": "auto", "input": "Give me some advice for my weekend plans", "tools": tools])) { response in
                #expect(response.status == .ok && response.headers[HTTPField.Name("x-pointsman-model")!] == "phi-4-mini")
                let output = json(response.body)["output"] as? [[String: Any]] ?? []
                #expect(output.first?["type"] as? String == "function_call" && output.first?["arguments"] as? String == #"{"city":"Oslo"}"#)
            }
            try await client.execute(uri: "/v1/responses", method: .post, body: try body([
                "model": "auto", "input": "Translate good morning into Spanish", "stream": true])) { response in
                #expect(response.headers[.contentType] == "text/event-stream")
                let text = String(buffer: response.body)
                #expect(text.contains("event: response.output_text.delta") && text.contains("event: response.completed") && text.contains("Hola"))
            }
            try await client.execute(uri: "/v1/responses", method: .post, body: try body(["model": "auto", "input": "hi", "previous_response_id": "r"])) { response in
                expectError(response, .badRequest, code: "unsupported_parameter")
            }
        }
        // The tool definitions reached the upstream as chat tools.
        #expect(((upstream.received.first?.body["tools"] as? [[String: Any]])?.first?["function"] as? [String: Any])?["name"] as? String == "weather")
    }
}
