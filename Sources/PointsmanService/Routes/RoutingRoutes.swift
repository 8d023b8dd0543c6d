import Foundation
import Hummingbird
import NIOCore
import PointsmanCore
import PointsmanInterfaces
import VectorMath

extension ServiceDependencies {
    /// `POST /v1/route`: `{"prompt": "…"}`, `{"prompts": [...]}` or `{"messages": [...]}` → decisions, no model called.
    func route(_ request: Request) async throws -> Response {
        let body = try await request.jsonObject(limit: configuration.maxBodyBytes)
        let snapshot = await state.current()
        func encode(_ decision: RouteDecision) throws -> Any {
            try JSONSerialization.jsonObject(with: JSONEncoder().encode(decision))
        }
        let start = ContinuousClock.now
        defer { metrics.scoreSeconds.recordNanoseconds(EmbeddingBatcher.nanoseconds(ContinuousClock.now - start)) }
        do {
            if let prompt = body["prompt"] {
                guard let text = prompt as? String else { throw OpenAIError.wrongType("prompt", "a string") }
                guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                    throw OpenAIError(.badRequest, "prompt is empty", code: "empty_input", param: "prompt")
                }
                let decision = try await snapshot.router.route(text)
                metrics.decision(capability: decision.capability, model: decision.model, method: decision.method.rawValue, arm: "A")
                return jsonResponse(try encode(decision))
            }
            if let prompts = body["prompts"] {
                guard let texts = prompts as? [String] else { throw OpenAIError.wrongType("prompts", "a list of strings") }
                guard !texts.isEmpty else { throw OpenAIError(.badRequest, "prompts is empty", code: "empty_input", param: "prompts") }
                let decisions = try await snapshot.router.route(batch: texts)
                for d in decisions { metrics.decision(capability: d.capability, model: d.model, method: d.method.rawValue, arm: "A") }
                return jsonResponse(["decisions": try decisions.map(encode)])
            }
            if let raw = body["messages"] {
                guard let list = raw as? [[String: Any]] else { throw OpenAIError.wrongType("messages", "a list of message objects") }
                let messages = try list.enumerated().map { index, item -> ChatMessage in
                    guard let roleName = item["role"] as? String, let role = ChatRole(rawValue: roleName) else {
                        throw OpenAIError.wrongType("messages[\(index)].role", "one of system, user, assistant, tool, developer")
                    }
                    guard let text = messageText(item["content"]) else {
                        throw OpenAIError.wrongType("messages[\(index)].content", "a string or a list of content parts")
                    }
                    return ChatMessage(role: role, content: text)
                }
                let decision = try await snapshot.router.route(messages: messages)
                metrics.decision(capability: decision.capability, model: decision.model, method: decision.method.rawValue, arm: "A")
                return jsonResponse(try encode(decision))
            }
        } catch let error as RoutingError {
            throw OpenAIError(.badRequest, error.description, code: "empty_input")
        }
        throw OpenAIError(.badRequest, "give \"prompt\", \"prompts\" or \"messages\"", code: "missing_field")
    }

    /// `POST /v1/embeddings`: OpenAI shape, served by the local encoder (micro-batched).
    func embeddings(_ request: Request) async throws -> Response {
        guard let batcher else { throw OpenAIError(.serviceUnavailable, "no local encoder is loaded", code: "encoder_unavailable") }
        let body = try await request.jsonObject(limit: configuration.maxBodyBytes)
        guard let input = body["input"] else { throw OpenAIError.missing("input") }
        let texts: [String]
        if let one = input as? String {
            texts = [one]
        } else if let many = input as? [String] {
            texts = many
        } else {
            throw OpenAIError.wrongType("input", "a string or a list of strings")
        }
        guard !texts.isEmpty else { throw OpenAIError(.badRequest, "input is empty", code: "empty_input", param: "input") }
        let format = body["encoding_format"] as? String ?? "float"
        guard format == "float" || format == "base64" else { throw OpenAIError.wrongType("encoding_format", "\"float\" or \"base64\"") }
        let fingerprint = batcher.encoder.currentFingerprint
        if let model = body["model"] as? String, !model.isEmpty, model != fingerprint.model, model != configuration.autoModelName {
            throw OpenAIError(.notFound, "embedding model \"\(model)\" is not served here; use \"\(fingerprint.model)\"", code: "model_not_found", param: "model")
        }
        let vectors: Matrix
        do { vectors = try await batcher.embed(texts) } catch is EmbeddingQueueFull {
            throw OpenAIError.overloaded(retryAfter: 1)
        }
        let tokens = texts.reduce(0) { $0 + batcher.encoder.tokenizer.encode($1).count }
        var data: [[String: Any]] = []
        for row in 0..<vectors.rows {
            let vector = vectors.row(row)
            let embedding: Any
            if format == "base64" {
                embedding = Data(LittleEndianFloats.bytes(vector)).base64EncodedString()
            } else {
                embedding = vector.map { Double($0) }
            }
            data.append(["object": "embedding", "index": row, "embedding": embedding])
        }
        return jsonResponse(["object": "list", "data": data, "model": fingerprint.model,
                             "usage": ["prompt_tokens": tokens, "total_tokens": tokens]])
    }
}
