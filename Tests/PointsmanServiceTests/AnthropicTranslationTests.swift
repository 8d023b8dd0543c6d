import Foundation
import PointsmanService
import Testing

@Suite("Anthropic Messages ⇄ Chat Completions translation")
struct AnthropicTranslationTests {
    static func object(_ text: String) throws -> [String: JSONValue] {
        guard case .object(let fields) = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else {
            throw CocoaError(.coderReadCorrupt)
        }
        return fields
    }

    static func data(_ value: [String: JSONValue]) throws -> Any {
        try JSONSerialization.jsonObject(with: JSONEncoder().encode(JSONValue.object(value)))
    }

    @Test("a request with system blocks, images, tools, a tool call and its result becomes the equivalent chat request")
    func request() throws {
        let body = try Self.object(#"""
        {"model": "auto", "max_tokens": 300, "temperature": 0.2, "top_p": 0.9, "stop_sequences": ["END"], "stream": true,
         "metadata": {"user_id": "u-1"},
         "system": [{"type": "text", "text": "You are terse."}, {"type": "text", "text": "Answer in French."}],
         "tools": [{"name": "weather", "description": "Current weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
         "tool_choice": {"type": "tool", "name": "weather"},
         "messages": [
           {"role": "user", "content": [{"type": "text", "text": "What is in this picture, and the weather in Paris?"},
                                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}]},
           {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}}]},
           {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "18 C, sunny"},
                                        {"type": "text", "text": "Thanks"}]}
         ]}
        """#)
        let chat = try #require(try Self.data(AnthropicTranslation.chatRequest(fromMessages: body)) as? [String: Any])
        #expect(chat["model"] as? String == "auto" && chat["max_tokens"] as? Int == 300 && chat["stop"] as? [String] == ["END"])
        #expect(chat["temperature"] as? Double == 0.2 && chat["stream"] as? Bool == true && chat["user"] as? String == "u-1")
        let messages = try #require(chat["messages"] as? [[String: Any]])
        #expect(messages.map { $0["role"] as? String } == ["system", "user", "assistant", "tool", "user"])
        #expect(messages[0]["content"] as? String == "You are terse.\nAnswer in French.")
        let parts = try #require(messages[1]["content"] as? [[String: Any]])
        #expect((parts[1]["image_url"] as? [String: Any])?["url"] as? String == "data:image/png;base64,AAAA")
        let call = try #require((messages[2]["tool_calls"] as? [[String: Any]])?.first)
        #expect(call["id"] as? String == "toolu_1")
        #expect((call["function"] as? [String: Any])?["arguments"] as? String == #"{"city":"Paris"}"#)
        #expect(messages[3]["tool_call_id"] as? String == "toolu_1" && messages[3]["content"] as? String == "18 C, sunny")
        let tool = try #require((chat["tools"] as? [[String: Any]])?.first?["function"] as? [String: Any])
        #expect(tool["name"] as? String == "weather" && (tool["parameters"] as? [String: Any])?["type"] as? String == "object")
        #expect(((chat["tool_choice"] as? [String: Any])?["function"] as? [String: Any])?["name"] as? String == "weather")
    }

    @Test("bad requests name the field", arguments: [
        (#"{"model": "auto", "messages": [{"role": "user", "content": "hi"}]}"#, "max_tokens"),
        (#"{"model": "auto", "max_tokens": 5, "messages": []}"#, "messages"),
        (#"{"model": "auto", "max_tokens": 5, "messages": [{"role": "robot", "content": "hi"}]}"#, "messages[0].role"),
        (#"{"model": "auto", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "video"}]}]}"#, "messages[0].content[0].type"),
    ])
    func badRequests(text: String, field: String) throws {
        #expect { try AnthropicTranslation.chatRequest(fromMessages: Self.object(text)) } throws: { error in
            (error as? RequestError)?.param == field
        }
    }

    @Test("an answer with text and a tool call becomes a message with blocks, stop reason and usage")
    func answer() throws {
        let chat = try Self.object(#"""
        {"id": "c1", "choices": [{"finish_reason": "tool_calls", "message": {"role": "assistant", "content": "Let me check.",
          "tool_calls": [{"id": "call_9", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}}]}}],
         "usage": {"prompt_tokens": 12, "completion_tokens": 7}}
        """#)
        let message = try #require(try Self.data(AnthropicTranslation.message(fromChat: chat, model: "auto")) as? [String: Any])
        #expect(message["type"] as? String == "message" && message["role"] as? String == "assistant" && message["model"] as? String == "auto")
        #expect(message["stop_reason"] as? String == "tool_use")
        let content = try #require(message["content"] as? [[String: Any]])
        #expect(content.map { $0["type"] as? String } == ["text", "tool_use"])
        #expect((content[1]["input"] as? [String: Any])?["city"] as? String == "Paris" && content[1]["id"] as? String == "call_9")
        #expect((message["usage"] as? [String: Any])?["input_tokens"] as? Int == 12)
        #expect(AnthropicTranslation.stopReason("length") == "max_tokens" && AnthropicTranslation.stopReason("stop") == "end_turn")
    }

    @Test("a chat stream becomes Anthropic's event sequence, text and tool-call JSON in pieces, with stop reason and usage")
    func stream() throws {
        var translator = AnthropicStreamTranslator(model: "auto")
        var out = ""
        for chunk in [
            #"{"id": "s1", "choices": [{"delta": {"role": "assistant", "content": "Hel"}}]}"#,
            #"{"choices": [{"delta": {"content": "lo"}}]}"#,
            #"{"choices": [{"delta": {"tool_calls": [{"index": 0, "id": "call_1", "function": {"name": "weather", "arguments": "{\"ci"}}]}}]}"#,
            #"{"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": "ty\":\"Paris\"}"}}]}}]}"#,
            #"{"choices": [{"delta": {}, "finish_reason": "tool_calls"}]}"#,
            #"{"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 4}}"#,
        ] { out += translator.events(for: try Self.object(chunk)) }
        out += translator.finishEvents()
        let events = out.split(separator: "\n\n").map { String($0.split(separator: "\n")[0].dropFirst("event: ".count)) }
        // Text streams as it comes; each tool call goes out whole at the end (its JSON in one delta).
        #expect(events == ["message_start", "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
                           "content_block_start", "content_block_delta", "content_block_stop",
                           "message_delta", "message_stop"])
        #expect(out.contains(#""partial_json":"{\"city\":\"Paris\"}""#) && out.contains(#""stop_reason":"tool_use""#) && out.contains(#""output_tokens":4"#))
        #expect(AnthropicStreamTranslator.errorEvent("cut").hasPrefix("event: error\n"))
    }
}
