import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import OpenAIClient
import PointsmanCore
import PointsmanInterfaces
import Tracing

extension HTTPField.Name {
    static let pointsmanModel = Self("x-pointsman-model")!
    static let pointsmanCapability = Self("x-pointsman-capability")!
    static let pointsmanMethod = Self("x-pointsman-method")!
    static let pointsmanConfidence = Self("x-pointsman-confidence")!
    static let pointsmanUser = Self("x-pointsman-user")!
    static let pointsmanRoutingVersion = Self("x-pointsman-routing-version")!
    static let pointsmanQuality = Self("x-pointsman-quality")!
    static let pointsmanSession = Self("x-pointsman-session")!
    static let pointsmanSessionOutcome = Self("x-pointsman-session-outcome")!
}

/// The wire format a client speaks; answers and stream events go back in it.
enum ReplyDialect: Sendable {
    /// OpenAI Chat Completions: the upstream's answer as it is.
    case openAI
    /// Anthropic Messages, for a client that asked for `model`.
    case anthropic(model: String)
    /// OpenAI Responses, for a client that asked for `model`; `id` names the response.
    case responses(model: String, id: String, createdAt: Int)
}

extension ServiceDependencies {
    /// `POST /v1/chat/completions`: `auto` is routed (with the catalog's fallbacks), a catalog alias forwarded as
    /// asked. Every field the router does not read goes upstream unchanged.
    func chatCompletions(_ request: Request, context: some RequestContext) async throws -> Response {
        let fields = try await request.jsonFields(limit: configuration.maxBodyBytes)
        let chat: ChatCompletionRequest
        do { chat = try ChatCompletionRequest(json: fields) } catch { throw OpenAIError(error) }
        return try await serveChat(chat, request: request, context: context, dialect: .openAI)
    }

    /// `POST /v1/messages` (Anthropic Messages): translated to a chat request, routed and forwarded exactly like
    /// `/v1/chat/completions`, and the answer (or its stream) translated back. Errors take Anthropic's shape.
    func messages(_ request: Request, context: some RequestContext) async throws -> Response {
        let fields = try await request.jsonFields(limit: configuration.maxBodyBytes)
        let chat: ChatCompletionRequest
        do { chat = try ChatCompletionRequest(json: AnthropicTranslation.chatRequest(fromMessages: fields)) } catch {
            throw OpenAIError(error)
        }
        return try await serveChat(chat, request: request, context: context, dialect: .anthropic(model: chat.model))
    }

    /// `POST /v1/responses` (OpenAI Responses): translated to a chat request, routed and forwarded exactly like
    /// `/v1/chat/completions`, and the answer (or its stream) translated back.
    func responses(_ request: Request, context: some RequestContext) async throws -> Response {
        let fields = try await request.jsonFields(limit: configuration.maxBodyBytes)
        let chat: ChatCompletionRequest
        do { chat = try ChatCompletionRequest(json: ResponsesTranslation.chatRequest(fromResponses: fields)) } catch {
            throw OpenAIError(error)
        }
        let id = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        return try await serveChat(chat, request: request, context: context,
                                   dialect: .responses(model: chat.model, id: id, createdAt: Int(Date().timeIntervalSince1970)))
    }

    /// Routes and forwards one chat request; the answer goes back in `dialect`.
    func serveChat(_ chat: ChatCompletionRequest, request: Request, context: some RequestContext,
                   dialect: ReplyDialect) async throws -> Response {
        let started = ContinuousClock.now
        let snapshot = await state.current()
        var draft: DecisionDraft?
        let chain: FallbackChain
        var decision: RouteDecision?
        var needs = chat.needs(catalog: snapshot.catalog, countTokens: countTokens)
        // Anthropic clients must send max_tokens and usually send a ceiling (Claude Code-style tools ask for tens of
        // thousands): it is not a need here; the forwarded value is clamped to what fits the chosen model.
        if case .anthropic = dialect { needs.maxOutputTokens = nil }
        var quality = try chat.quality ?? Self.quality(request.headers[.pointsmanQuality]) ?? configuration.quality
        var sessionOutcome: SessionStickiness.Outcome?
        // Without configured keys, whatever a client presents is not an identity (and must not grow the ledger).
        let key = configuration.apiKeys.isEmpty ? "anonymous" : SpendLedgers.keyID(APIKeyMiddleware<BasicRequestContext>.presentedKey(request))
        // Above a soft limit the request still runs, on the cheapest capable model and without escalation.
        let softLimit = try await checkBudget(key: key, logger: context.logger)
        if softLimit != nil { quality = .economy }
        if chat.model == configuration.autoModelName, !chat.hasUserText, chat.hasUserNonTextContent {
            // Only images (or other non-text parts) to go on: nothing to route by, so the catalog's default model
            // answers, or the nearest model that can read images when it cannot.
            let selection: Selection
            do {
                selection = try ModelSelector().select(capability: "", prompt: "", in: snapshot.catalog, needs: needs, quality: quality)
            } catch { throw Self.unservable(error) }
            chain = FallbackChain(models: able(selection.model, needs, snapshot.catalog))
            draft = decisionDraft(requestID: context.id, source: "chat", decision: nil, model: selection.model.alias,
                                  arm: "A", snapshot: snapshot, routeTime: nil, prompt: nil, key: key, started: started)
            draft?.record.detector = "default"
        } else if chat.model == configuration.autoModelName {
            // Without a user, the request's own id picks the arm (the `x-request-id` the client gets back).
            let id = chat.user ?? request.headers[.pointsmanUser] ?? context.id
            let session = (request.headers[.pointsmanSession].map { "header:" + Self.digest($0) })
                ?? (chat.user.map { "user:" + Self.digest($0) }) ?? Self.sessionKey(chat.chatMessages)
            let routeStart = ContinuousClock.now
            let (routed, outcome, arm) = try await routeConversation(
                chat.chatMessages, id: id, snapshot: snapshot, needs: needs, quality: quality, session: session)
            sessionOutcome = outcome
            decision = routed
            draft = decisionDraft(requestID: context.id, source: "chat", decision: routed, model: routed.model, arm: arm,
                                  snapshot: snapshot, routeTime: ContinuousClock.now - routeStart,
                                  prompt: chat.chatMessages.last { $0.role == .user }?.content, key: key, started: started)
            if configuration.logPrompts {
                context.logger.info("routed", metadata: ["prompt": "\(chat.chatMessages.last?.content ?? "")", "model": "\(routed.model)"])
            }
            chain = FallbackChain(models: able(routed.selected, needs, snapshot.catalog))
        } else if let entry = snapshot.catalog.model(chat.model) {
            // A model asked by name is used as asked, unless its catalog entry says it cannot do what the request needs.
            let problems = needs.unmet(by: entry)
            guard problems.isEmpty else {
                throw OpenAIError(.badRequest, "model \"\(entry.alias)\" cannot serve this request: \(problems.joined(separator: ", ")); use \"\(configuration.autoModelName)\" to route to a model that can",
                                  type: "invalid_request_error", code: "unsupported_by_model", param: "model")
            }
            chain = FallbackChain(models: [entry])
            draft = decisionDraft(requestID: context.id, source: "chat", decision: nil, model: entry.alias, arm: "A",
                                  snapshot: snapshot, routeTime: nil,
                                  prompt: chat.chatMessages.last { $0.role == .user }?.content, key: key, started: started)
        } else {
            throw OpenAIError(.notFound, "model \"\(chat.model)\" is not in the catalog; use \"\(configuration.autoModelName)\" or one of: \(snapshot.catalog.models.map(\.alias).joined(separator: ", "))",
                              type: "invalid_request_error", code: "model_not_found", param: "model")
        }
        do {
            let deadline = configuration.requestDeadline
            return try await withThrowingTaskGroup(of: Response?.self) { group in
                let logger = context.logger, decided = decision, outcome = sessionOutcome, drafted = draft
                group.addTask {
                    try await chain.run { entry, _ in
                        try await forward(chat, to: entry, decision: decided, key: key, dialect: dialect, logger: logger,
                                         draft: drafted)
                    }
                }
                group.addTask {
                    try await Task.sleep(for: deadline)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), var response = first else {
                    throw OpenAIError(.gatewayTimeout, "no upstream model started answering within \(deadline)", code: "upstream_timeout")
                }
                if let outcome { response.headers[.pointsmanSessionOutcome] = outcome.rawValue }
                if let softLimit { response.headers[.pointsmanBudget] = "soft limit: \(softLimit)" }
                return response
            }
        } catch let failure as AllModelsFailedError {
            for attempt in failure.attempts {
                context.logger.warning("upstream attempt failed", metadata: ["model": "\(attempt.model)", "error": "\(attempt.error)"])
            }
            let tried = failure.attempts.map { "\($0.model): \(Self.shortReason($0.error))" }.joined(separator: "; ")
            // Rate limits pass through with the upstream's Retry-After, so clients back off instead of retrying at once.
            let waits = failure.attempts.compactMap { attempt -> String? in
                guard case .rateLimited(_, let retryAfter, _)? = attempt.error as? OpenAIClientError else { return nil }
                return retryAfter ?? "1"
            }
            if !waits.isEmpty {
                let wait = waits.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.min().map(String.init) ?? waits[0]
                throw OpenAIError(.tooManyRequests, "the upstream models are rate limited (\(tried)); retry later",
                                  type: "rate_limit_error", code: "rate_limited", headers: [.retryAfter: wait])
            }
            throw OpenAIError(.badGateway, "no upstream model answered (\(tried))", code: "upstream_unavailable")
        }
    }

    /// A conversation's session key when the client names none: a hash of its first user turn.
    static func sessionKey(_ messages: [ChatMessage]) -> String {
        "first-turn:" + digest(messages.first { $0.role == .user }?.content ?? "")
    }

    /// A fixed-size key for client-supplied text (session ids, user ids, first turns): memory stays bounded per entry.
    static func digest(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).prefix(16).map { String(format: "%02x", $0) }.joined()
    }

    /// Routes a conversation with the primary router, or with both A/B arms when A/B is on (the same conversation
    /// blending either way), keeps it on its session's model unless the turn calls for a switch (`session`: its key,
    /// nil: no stickiness), and counts the decision.
    func routeConversation(_ messages: [ChatMessage], id: String, snapshot: RoutingStore.Snapshot,
                           needs: RequestNeeds = .none, quality: RoutingQuality = .balanced, session: String? = nil)
        async throws -> (decision: RouteDecision, session: SessionStickiness.Outcome?, arm: String)
    {
        let start = ContinuousClock.now
        defer { metrics.scoreSeconds.recordNanoseconds(EmbeddingBatcher.nanoseconds(ContinuousClock.now - start)) }
        func sticky(_ decision: RouteDecision) async -> (RouteDecision, SessionStickiness.Outcome?) {
            guard let sessions, let session else { return (decision, nil) }
            // An explicit trade-off (economy, best, or a soft budget limit) chooses this turn's model itself; the
            // session follows it.
            guard quality == .balanced else {
                await sessions.remember(session, SessionEntry(model: decision.model, capability: decision.capability, lastSeen: .now))
                return (decision, nil)
            }
            let policy = SessionStickiness(switchConfidence: configuration.sessionSwitchConfidence)
            let (kept, entry, outcome) = policy.apply(decision, previous: await sessions.session(session), catalog: snapshot.catalog, needs: needs)
            await sessions.remember(session, entry)
            metrics.session(outcome: outcome.rawValue)
            return (kept, outcome)
        }
        do {
            return try await RoutingSpans.route(source: "chat") {
                let result = try await decideConversation(messages, id: id, snapshot: snapshot, needs: needs, quality: quality, sticky: sticky)
                return (result, result.decision)
            }
        } catch let error as RoutingError {
            throw OpenAIError(.badRequest, error.description, code: "empty_input", param: "messages")
        } catch let error as UnservableRequestError {
            throw Self.unservable(error)
        }
    }

    /// The primary router's or the A/B arms' decision, kept on the session's model when it should be, counted.
    private func decideConversation(
        _ messages: [ChatMessage], id: String, snapshot: RoutingStore.Snapshot, needs: RequestNeeds, quality: RoutingQuality,
        sticky: (RouteDecision) async -> (RouteDecision, SessionStickiness.Outcome?)
    ) async throws -> (decision: RouteDecision, session: SessionStickiness.Outcome?, arm: String) {
        do {
            if let ab = snapshot.ab {
                let (used, record) = try await ab.route(messages: messages, id: id, needs: needs, quality: quality)
                await trace?.write(record)
                let (decided, outcome) = await sticky(used)
                history.record(decided, source: "chat")
                metrics.decision(capability: decided.capability, model: decided.model, method: decided.method.rawValue, arm: record.arm, language: decided.language, fallback: decided.fallback?.rawValue)
                return (decided, outcome, record.arm)
            }
            let routed = try await snapshot.router.route(messages: messages, needs: needs, quality: quality)
            let (decided, outcome) = await sticky(routed)
            history.record(decided, source: "chat")
            metrics.decision(capability: decided.capability, model: decided.model, method: decided.method.rawValue, arm: "A", language: decided.language, fallback: decided.fallback?.rawValue)
            return (decided, outcome, "A")
        }
    }

    /// The `x-pointsman-quality` header: nil when absent, a 400 naming the header when it is not a known value.
    static func quality(_ header: String?) throws -> RoutingQuality? {
        guard let header else { return nil }
        guard let quality = RoutingQuality(name: header) else {
            throw OpenAIError(.badRequest, "x-pointsman-quality must be economy, balanced or best, got \"\(header)\"",
                              type: "invalid_request_error", code: "invalid_value", param: "x-pointsman-quality")
        }
        return quality
    }

    /// No model can serve the request: a 400 that names what it needs and why each model falls short.
    static func unservable(_ error: UnservableRequestError) -> OpenAIError {
        OpenAIError(.badRequest, error.description, type: "invalid_request_error", code: "no_capable_model")
    }

    /// `model` and those of its fallbacks that can serve `needs`.
    func able(_ model: ModelEntry, _ needs: RequestNeeds, _ catalog: Catalog) -> [ModelEntry] {
        catalog.fallbackChain(for: model).filter { $0.alias == model.alias || needs.unmet(by: $0).isEmpty }
    }

    /// Tokens of a text with the native tokenizer, not truncated; without a local encoder, an estimate of one token
    /// per 4 bytes of UTF-8.
    func countTokens(_ text: String) -> Int {
        if let tokenizer = batcher?.encoder.tokenizer { return tokenizer.encode(text, truncate: false).count }
        return (text.utf8.count + 3) / 4
    }

    /// One upstream attempt. Failures before the first byte throw (the chain tries the next model); a client error
    /// from upstream is the answer, passed on as it is.
    func forward(_ chat: ChatCompletionRequest, to entry: ModelEntry, decision: RouteDecision?, key: String,
                 dialect: ReplyDialect = .openAI, logger: Logger, draft: DecisionDraft? = nil) async throws -> Response {
        let injectedUsage = ledger != nil && chat.stream && chat.otherFields["stream_options"] == nil
        var sent = chat
        if case .anthropic = dialect, let window = entry.contextLength, case .integer(let asked)? = chat.otherFields["max_tokens"] {
            // An estimate of the prompt's size that errs high (3 bytes a token), so the answer's room errs low.
            let prompt = chat.messages.reduce(0) { $0 + 4 + $1.text.utf8.count / 3 }
            if Int(clamping: asked) > window - prompt { sent.otherFields["max_tokens"] = .integer(Int64(max(16, window - prompt))) }
        }
        let body = ByteBuffer(bytes: try sent.upstreamBody(model: entry.upstreamID, includeUsage: ledger != nil))
        let start = ContinuousClock.now
        let answer: ForwardedResponse
        do {
            answer = try await withSpan("pointsman.upstream", ofKind: .client) { span in
                span.attributes["pointsman.model"] = entry.alias
                span.attributes["pointsman.upstream_model"] = entry.upstreamID
                let answer = try await upstream.forwardChatCompletion(body, baseURL: entry.baseURL, timeouts: UpstreamTimeouts(entry))
                switch answer {
                case .accepted: span.attributes["http.response.status_code"] = 200
                case .rejected(let status, _, _): span.attributes["http.response.status_code"] = status
                }
                return answer
            }
        } catch {
            metrics.upstreamFailure(model: entry.alias)
            throw error
        }
        var headers = routingHeaders(decision, model: entry)
        switch answer {
        case .rejected(let status, let contentType, let bytes):
            await logDecision(draft, model: entry, usage: nil, status: status)
            headers[.contentType] = contentType ?? "application/json"
            guard case .anthropic = dialect else {
                return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: bytes))
            }
            // The upstream's own error message, in Anthropic's shape.
            let object = (try? JSONDecoder().decode(JSONValue.self, from: Data(bytes.readableBytesView)))
            var message = "the upstream model answered HTTP \(status)"
            if case .object(let top)? = object, case .object(let error)? = top["error"], case .string(let text)? = error["message"] {
                message = text
            }
            headers[.contentType] = "application/json"
            return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(string:
                AnthropicTranslation.jsonText(.object(AnthropicTranslation.errorBody(status: status, message: message))))))
        case .accepted(let response):
            metrics.upstreamSeconds.recordNanoseconds(EmbeddingBatcher.nanoseconds(ContinuousClock.now - start))
            headers[.contentType] = response.headers.first(name: "Content-Type") ?? (chat.stream ? "text/event-stream" : "application/json")
            guard chat.stream else {
                let bytes = try await response.body.collect(upTo: 64 << 20)
                if case .openAI = dialect {
                    let counts = usage(ofAnswer: bytes, request: chat)
                    await recordSpend(key: key, model: entry, usage: counts, logger: logger)
                    await logDecision(draft, model: entry, usage: counts, status: 200)
                    return Response(status: .ok, headers: headers, body: .init(byteBuffer: bytes))
                }
                let object: [String: JSONValue]
                do {
                    guard case .object(let fields) = try JSONDecoder().decode(JSONValue.self, from: Data(bytes.readableBytesView)) else {
                        throw OpenAIClientError.malformedResponse(url: entry.alias, reason: "not a JSON object")
                    }
                    object = fields
                } catch {
                    throw OpenAIClientError.malformedResponse(url: entry.alias, reason: "the answer is not a chat completion")
                }
                // Charged once the answer is known to be good: a malformed one falls back without a charge.
                let counts = usage(ofAnswer: bytes, request: chat)
                await recordSpend(key: key, model: entry, usage: counts, logger: logger)
                await logDecision(draft, model: entry, usage: counts, status: 200)
                headers[.contentType] = "application/json"
                let translated: [String: JSONValue] = switch dialect {
                case .openAI: object
                case .anthropic(let model): AnthropicTranslation.message(fromChat: object, model: model)
                case .responses(let model, let id, let createdAt):
                    ResponsesTranslation.response(fromChat: object, model: model, id: id, createdAt: createdAt)
                }
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: AnthropicTranslation.jsonText(.object(translated)))))
            }
            let translation: StreamTranslation? = switch dialect {
            case .openAI: nil
            case .anthropic(let model): .anthropic(AnthropicStreamTranslator(model: model))
            case .responses(let model, let id, let createdAt): .responses(ResponsesStreamTranslator(model: model, id: id, createdAt: createdAt))
            }
            if translation != nil { headers[.contentType] = "text/event-stream" }
            headers[.cacheControl] = "no-cache"
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                var reader = StreamUsageReader()
                var translator = translation
                // Spend is recorded however the stream ends: from the upstream's usage chunk, else counted here.
                func record() async {
                    let usage = reader.usage.map { UsageCount(promptTokens: $0.prompt, completionTokens: $0.completion, reported: true) }
                        ?? counted(chat, answer: reader.text)
                    await recordSpend(key: key, model: entry, usage: usage, logger: logger)
                    await logDecision(draft, model: entry, usage: usage, status: 200)
                }
                do {
                    var failed = false
                    for try await chunk in response.body {
                        let lines = reader.read(chunk, payloads: translator != nil)
                        guard translator != nil else {
                            // The usage chunk the service asked for is not passed to a client that did not ask.
                            guard injectedUsage else {
                                try await writer.write(chunk)
                                continue
                            }
                            let kept = lines.filter { !$0.usageOnly }.flatMap(\.raw)
                            if !kept.isEmpty { try await writer.write(ByteBuffer(bytes: kept)) }
                            continue
                        }
                        var events = ""
                        for line in lines {
                            guard let object = line.object, !failed else { continue }
                            if object["error"] != nil {
                                // An error the upstream sent inside the stream ends it, in the client's format.
                                failed = true
                                var message = "the upstream model reported an error"
                                if case .object(let error)? = object["error"], case .string(let text)? = error["message"] { message = text }
                                events += translator?.errorEvent(message) ?? ""
                                continue
                            }
                            events += translator?.events(for: object) ?? ""
                        }
                        if !events.isEmpty { try await writer.write(ByteBuffer(string: events)) }
                    }
                    if !failed, var translator { try await writer.write(ByteBuffer(string: translator.finishEvents())) }
                    await record()
                } catch {
                    await record()
                    // After the first byte there is no fallback: end the stream with an error event.
                    logger.warning("upstream stream broke", metadata: ["model": "\(entry.alias)", "error": "\(error)"])
                    let event = translator?.errorEvent("upstream stream interrupted")
                        ?? #"data: {"error":{"message":"upstream stream interrupted","type":"server_error","code":"upstream_interrupted"}}"# + "\n\n"
                    try await writer.write(ByteBuffer(string: event))
                }
                try await writer.finish(nil)
            })
        }
    }

    /// What a client may read about a failed attempt: a few words, never an upstream URL or a library's error type
    /// (those go to the log with the request id).
    static func shortReason(_ error: any Error) -> String {
        (error as? OpenAIClientError)?.summary ?? "failed"
    }

    func routingHeaders(_ decision: RouteDecision?, model: ModelEntry) -> HTTPFields {
        var headers: HTTPFields = [.pointsmanModel: model.alias]
        if let decision {
            headers[.pointsmanCapability] = decision.capability
            headers[.pointsmanMethod] = decision.method.rawValue
            headers[.pointsmanConfidence] = String(format: "%.4f", decision.confidence)
            headers[.pointsmanRoutingVersion] = decision.routingVersion
        }
        return headers
    }
}
