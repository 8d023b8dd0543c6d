import AsyncHTTPClient
import Foundation
import NIOCore
import PointsmanInterfaces

extension OpenAIClient {
    func chatBody(_ request: ChatRequest, stream: Bool) -> Data {
        var body: [String: Any] = [
            "model": request.model,
            "messages": request.messages.map { ["role": $0.role.rawValue, "content": $0.content] },
            "stream": stream,
        ]
        let p = request.parameters
        if let v = p.maxTokens { body["max_tokens"] = v }
        if let v = p.temperature { body["temperature"] = v }
        if let v = p.topP { body["top_p"] = v }
        if let v = p.seed { body["seed"] = v }
        if stream { body["stream_options"] = ["include_usage": true] }
        return (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data()
    }

    /// `POST /chat/completions` without streaming.
    public func complete(_ request: ChatRequest) async throws -> ChatCompletion {
        let url = url("/chat/completions", base: request.baseURL)
        let body = chatBody(request, stream: false)
        let response = try await send({ self.request(url, body: body) }, url: url,
                                      timeout: configuration.requestTimeout, model: request.model)
        let json = try await readJSON(response, url: url)
        guard let choices = json["choices"] as? [[String: Any]], let first = choices.first,
              let message = first["message"] as? [String: Any]
        else { throw OpenAIClientError.malformedResponse(url: url, reason: "no choices[0].message") }
        let content = message["content"] as? String ?? ""
        return ChatCompletion(
            content: content, model: json["model"] as? String, finishReason: first["finish_reason"] as? String,
            usage: Self.usage(json["usage"]))
    }

    /// `POST /chat/completions` with `stream: true`. Connection and status errors are thrown (and retried) before the
    /// stream is returned; once data flows there are no retries, and a cut stream ends with an error.
    public func stream(_ request: ChatRequest) async throws -> AsyncThrowingStream<ChatChunk, any Error> {
        let url = url("/chat/completions", base: request.baseURL)
        let body = chatBody(request, stream: true)
        let response = try await send({ self.request(url, body: body) }, url: url,
                                      timeout: configuration.streamTimeout, model: request.model)
        let contentType = response.headers.first(name: "Content-Type") ?? ""
        let (stream, continuation) = AsyncThrowingStream<ChatChunk, any Error>.makeStream()
        let task = Task {
            do {
                if !contentType.contains("text/event-stream") {
                    // Some servers ignore `stream` and answer once: deliver that answer as one chunk.
                    let json = try await self.readJSON(response, url: url)
                    let choices = json["choices"] as? [[String: Any]]
                    let message = choices?.first?["message"] as? [String: Any]
                    guard let content = message?["content"] as? String else {
                        throw OpenAIClientError.malformedResponse(url: url, reason: "neither an event stream nor a chat completion")
                    }
                    continuation.yield(ChatChunk(delta: content, finishReason: choices?.first?["finish_reason"] as? String,
                                                 usage: Self.usage(json["usage"])))
                    continuation.finish()
                    return
                }
                var parser = ServerSentEventParser()
                var done = false
                func handle(_ events: [String]) throws {
                    for event in events where !done {
                        if event.trimmingCharacters(in: .whitespaces) == "[DONE]" {
                            done = true
                            return
                        }
                        continuation.yield(try Self.chunk(from: event, url: url))
                    }
                }
                do {
                    for try await buffer in response.body {
                        try handle(parser.feed(buffer.readableBytesView))
                        if done { break }
                    }
                } catch let error as OpenAIClientError {
                    throw error
                } catch {
                    throw self.classifyStream(error, url: url)
                }
                if !done { try handle(parser.finish()) }
                guard done else {
                    throw OpenAIClientError.streamInterrupted(url: url, reason: "the connection ended before [DONE]")
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    func classifyStream(_ error: any Error, url: String) -> any Error {
        if error is CancellationError { return error }
        if let client = error as? HTTPClientError {
            if client == .readTimeout { return OpenAIClientError.streamStalled(url: url, after: configuration.idleTimeout) }
            if client == .deadlineExceeded { return OpenAIClientError.timedOut(url: url, after: configuration.streamTimeout) }
        }
        return OpenAIClientError.streamInterrupted(url: url, reason: "\(error)")
    }

    static func chunk(from event: String, url: String) throws -> ChatChunk {
        guard let json = try? JSONSerialization.jsonObject(with: Data(event.utf8)) as? [String: Any] else {
            throw OpenAIClientError.malformedResponse(url: url, reason: "stream event is not JSON: \(event.prefix(200))")
        }
        if let error = json["error"] {
            let message = (error as? [String: Any])?["message"] as? String ?? "\(error)"
            throw OpenAIClientError.streamInterrupted(url: url, reason: "server sent an error event: \(message)")
        }
        let choice = (json["choices"] as? [[String: Any]])?.first
        let delta = choice?["delta"] as? [String: Any]
        return ChatChunk(
            delta: delta?["content"] as? String ?? "", finishReason: choice?["finish_reason"] as? String,
            usage: usage(json["usage"]))
    }

    static func usage(_ value: Any?) -> TokenUsage? {
        guard let usage = value as? [String: Any] else { return nil }
        // A count no server could mean (negative, fractional, or beyond 2^40) reads as missing, so that callers count
        // the tokens themselves rather than bill a faulty number.
        func count(_ key: String) -> Int? {
            guard let number = usage[key] as? NSNumber, let value = Int(exactly: number.doubleValue) else { return nil }
            return TokenUsage.plausible(value)
        }
        return TokenUsage(promptTokens: count("prompt_tokens"), completionTokens: count("completion_tokens"),
                          totalTokens: count("total_tokens"))
    }

    /// `GET /models`: the ids the server serves.
    public func models() async throws -> [String] {
        let url = url("/models")
        let response = try await send({ self.request(url, method: .GET) }, url: url,
                                      timeout: configuration.requestTimeout, model: nil)
        let json = try await readJSON(response, url: url)
        guard let data = json["data"] as? [[String: Any]] else {
            throw OpenAIClientError.malformedResponse(url: url, reason: "no data list")
        }
        return data.compactMap { $0["id"] as? String }
    }
}
