import Foundation
import Tracing
import Hummingbird
import NIOCore
import PointsmanCore
import PointsmanInterfaces
import VectorMath

extension ServiceDependencies {
    /// `POST /v1/route`: `{"prompt": "…"}`, `{"prompts": [...]}` or `{"messages": [...]}` → decisions, no model called.
    /// Messages are read exactly as `/v1/chat/completions` reads them.
    func route(_ request: Request, context: some RequestContext) async throws -> Response {
        let fields = try await request.jsonFields(limit: configuration.maxBodyBytes)
        let routeRequest: RouteRequest
        do { routeRequest = try RouteRequest(json: fields) } catch { throw OpenAIError(error) }
        if case .prompts(let texts) = routeRequest {
            guard texts.count <= configuration.maxRoutePrompts else {
                throw OpenAIError(.badRequest, "prompts has \(texts.count) items; at most \(configuration.maxRoutePrompts) are accepted per request",
                                  code: "too_many_inputs", param: "prompts")
            }
            let bytes = texts.reduce(0) { $0 + $1.utf8.count }
            guard bytes <= configuration.maxRoutePromptBytes else {
                throw OpenAIError(.badRequest, "prompts hold \(bytes) bytes of text; at most \(configuration.maxRoutePromptBytes) are accepted per request",
                                  code: "input_too_large", param: "prompts")
            }
        }
        let snapshot = await state.current()
        let start = ContinuousClock.now
        defer { metrics.scoreSeconds.recordNanoseconds(EmbeddingBatcher.nanoseconds(ContinuousClock.now - start)) }
        let key = configuration.apiKeys.isEmpty ? "anonymous" : SpendLedgers.keyID(APIKeyMiddleware<BasicRequestContext>.presentedKey(request))
        /// `index`: the prompt's place in a batch, whose rows are `<x-request-id>/<index>` (feedback names one).
        func count(_ decision: RouteDecision, prompt: String, index: Int? = nil) async {
            history.record(decision, source: "route")
            let draft = decisionDraft(requestID: index.map { "\(context.id)/\($0)" } ?? context.id, source: "route",
                                      decision: decision, model: decision.model, arm: "A", snapshot: snapshot,
                                      routeTime: ContinuousClock.now - start, prompt: prompt, key: key, started: start)
            await logDecision(draft, model: decision.selected, usage: nil, status: 200)
            metrics.decision(capability: decision.capability, model: decision.model, method: decision.method.rawValue, arm: "A", language: decision.language, fallback: decision.fallback?.rawValue)
        }
        do {
            switch routeRequest {
            case .prompt(let text):
                let decision = try await RoutingSpans.route(source: "route") {
                    let decision = try await snapshot.router.route(text)
                    return (decision, decision)
                }
                await count(decision, prompt: text)
                return jsonResponse(encoding: decision)
            case .prompts(let texts):
                let decisions = try await withSpan("pointsman.route", ofKind: .internal) { span in
                    span.attributes["pointsman.source"] = "route"
                    span.attributes["pointsman.prompts"] = texts.count
                    return try await snapshot.router.route(batch: texts)
                }
                for (index, (decision, text)) in zip(decisions, texts).enumerated() { await count(decision, prompt: text, index: index) }
                return jsonResponse(encoding: ["decisions": decisions])
            case .messages(let messages):
                let chat = messages.map(\.chatMessage)
                let decision = try await RoutingSpans.route(source: "route") {
                    let decision = try await snapshot.router.route(messages: chat)
                    return (decision, decision)
                }
                await count(decision, prompt: chat.last { $0.role == .user }?.content ?? "")
                return jsonResponse(encoding: decision)
            }
        } catch let error as RoutingError {
            throw OpenAIError(.badRequest, error.description, code: "empty_input")
        }
    }

    /// `POST /v1/embeddings`: OpenAI shape, served by the local encoder (micro-batched).
    func embeddings(_ request: Request, context: some RequestContext) async throws -> Response {
        let fields = try await request.jsonFields(limit: configuration.maxBodyBytes)
        let embeddingsRequest: EmbeddingsRequest
        do { embeddingsRequest = try EmbeddingsRequest(json: fields, maxInputs: configuration.maxEmbeddingInputs) } catch {
            throw OpenAIError(error)
        }
        let texts = embeddingsRequest.input
        guard var batcher else { throw OpenAIError(.serviceUnavailable, "no local encoder is loaded", code: "encoder_unavailable") }
        // An adapted encoder's vectors are not the published model's: they go out only to requests that name them,
        // under a name of their own; every other request (the published model's name, `auto` or no model) gets the
        // published model's own vectors, from a stock encoder beside the adapted one (without one, adapted vectors
        // under their own name).
        let fingerprint = batcher.encoder.currentFingerprint
        let adaptedName = fingerprint.adapter.map { fingerprint.model + "+adapter-\($0.prefix(12))" }
        let requested = embeddingsRequest.model.flatMap { $0 == configuration.autoModelName ? nil : $0 }
        var served = adaptedName ?? fingerprint.model
        if let adaptedName, requested != adaptedName, let stockEmbeddings, requested == nil || requested == fingerprint.model {
            do { batcher = try await stockEmbeddings.batcher() } catch {
                context.logger.error("the stock encoder for /v1/embeddings could not be loaded", metadata: ["error": "\(error)"])
                throw OpenAIError(.serviceUnavailable, "the encoder for \(fingerprint.model) is unavailable", code: "encoder_unavailable")
            }
            served = fingerprint.model
        } else if let requested, requested != served {
            let names = [served] + (adaptedName != nil && stockEmbeddings != nil ? [fingerprint.model] : [])
            throw OpenAIError(.notFound, "embedding model \"\(requested)\" is not served here; use \(names.map { "\"\($0)\"" }.joined(separator: " or "))",
                              code: "model_not_found", param: "model")
        }
        let vectors: Matrix
        do { vectors = try await batcher.embed(texts) } catch is EmbeddingQueueFull {
            throw OpenAIError.overloaded(retryAfter: 1)
        } catch let tooLarge as EmbeddingRequestTooLarge {
            throw OpenAIError(.badRequest, "input has \(tooLarge.texts) items; at most \(tooLarge.limit) fit the embedding queue",
                              code: "too_many_inputs", param: "input")
        }
        let tokens = texts.reduce(0) { $0 + batcher.encoder.tokenizer.encode($1).count }
        var data: [[String: Any]] = []
        for row in 0..<vectors.rows {
            let vector = vectors.row(row)
            let embedding: Any
            if embeddingsRequest.base64 {
                embedding = Data(LittleEndianFloats.bytes(vector)).base64EncodedString()
            } else {
                embedding = vector.map { Double($0) }
            }
            data.append(["object": "embedding", "index": row, "embedding": embedding])
        }
        return jsonResponse(["object": "list", "data": data, "model": served,
                             "usage": ["prompt_tokens": tokens, "total_tokens": tokens]])
    }
}
