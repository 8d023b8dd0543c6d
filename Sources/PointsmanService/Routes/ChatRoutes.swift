import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PointsmanCore
import PointsmanInterfaces

extension HTTPField.Name {
    static let pointsmanModel = Self("x-pointsman-model")!
    static let pointsmanCapability = Self("x-pointsman-capability")!
    static let pointsmanMethod = Self("x-pointsman-method")!
    static let pointsmanConfidence = Self("x-pointsman-confidence")!
}

extension ServiceDependencies {
    /// `POST /v1/chat/completions`: `auto` is routed (with the catalog's fallbacks), anything else forwarded as asked.
    func chatCompletions(_ request: Request) async throws -> Response {
        var body = try await request.jsonObject(limit: configuration.maxBodyBytes)
        guard let requested = body["model"] else { throw OpenAIError.missing("model") }
        guard let modelName = requested as? String else { throw OpenAIError.wrongType("model", "a string") }
        guard let rawMessages = body["messages"] else { throw OpenAIError.missing("messages") }
        guard let list = rawMessages as? [[String: Any]] else { throw OpenAIError.wrongType("messages", "a list of message objects") }
        guard !list.isEmpty else { throw OpenAIError(.badRequest, "messages is empty", code: "empty_input", param: "messages") }
        var messages: [ChatMessage] = []
        for (index, item) in list.enumerated() {
            guard let roleName = item["role"] as? String, let role = ChatRole(rawValue: roleName) else {
                throw OpenAIError.wrongType("messages[\(index)].role", "one of system, user, assistant, tool, developer")
            }
            guard let text = messageText(item["content"]) ?? (item["content"] == nil || item["content"] is NSNull ? "" : nil) else {
                throw OpenAIError.wrongType("messages[\(index)].content", "a string or a list of content parts")
            }
            messages.append(ChatMessage(role: role, content: text))
        }
        let stream = body["stream"] as? Bool ?? false
        let snapshot = await state.current()

        var chain: [ModelEntry]
        var decision: RouteDecision?
        if modelName == configuration.autoModelName {
            let start = ContinuousClock.now
            let routed: RouteDecision
            do {
                if let ab = snapshot.ab, let last = messages.last(where: { $0.role == .user })?.content {
                    let id = (body["user"] as? String) ?? request.headers[.init("x-pointsman-user")!] ?? UUID().uuidString
                    let (used, record) = try await ab.route(last, id: id)
                    await trace?.write(record)
                    metrics.decision(capability: used.capability, model: used.model, method: used.method.rawValue, arm: record.arm)
                    routed = used
                } else {
                    routed = try await snapshot.router.route(messages: messages)
                    metrics.decision(capability: routed.capability, model: routed.model, method: routed.method.rawValue, arm: "A")
                }
            } catch let error as RoutingError {
                throw OpenAIError(.badRequest, error.description, code: "empty_input", param: "messages")
            }
            metrics.scoreSeconds.recordNanoseconds(EmbeddingBatcher.nanoseconds(ContinuousClock.now - start))
            decision = routed
            if configuration.logPrompts {
                logger.info("routed", metadata: ["prompt": "\(messages.last?.content ?? "")", "model": "\(routed.model)"])
            }
            let selected = snapshot.catalog.model(routed.model)!
            chain = snapshot.catalog.fallbackChain(for: selected)
        } else if let entry = snapshot.catalog.model(modelName) {
            chain = [entry]
        } else {
            throw OpenAIError(.notFound, "model \"\(modelName)\" is not in the catalog; use \"\(configuration.autoModelName)\" or one of: \(snapshot.catalog.models.map(\.alias).joined(separator: ", "))",
                              type: "invalid_request_error", code: "model_not_found", param: "model")
        }

        var failures: [String] = []
        for entry in chain {
            body["model"] = entry.upstreamID
            let data = (try? JSONSerialization.data(withJSONObject: body)) ?? Data()
            let start = ContinuousClock.now
            switch await proxy.post(data, model: entry) {
            case .failed(let reason):
                metrics.upstreamFailure(model: entry.alias)
                failures.append("\(entry.alias): \(reason)")
                logger.warning("upstream attempt failed", metadata: ["model": "\(entry.alias)", "reason": "\(reason)"])
                continue
            case .clientError(let status, let bytes):
                var headers = routingHeaders(decision, model: entry)
                headers[.contentType] = "application/json"
                return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: bytes))
            case .success(let response):
                metrics.upstreamSeconds.recordNanoseconds(EmbeddingBatcher.nanoseconds(ContinuousClock.now - start))
                var headers = routingHeaders(decision, model: entry)
                headers[.contentType] = response.headers.first(name: "Content-Type") ?? (stream ? "text/event-stream" : "application/json")
                if stream {
                    headers[.cacheControl] = "no-cache"
                    let logger = self.logger
                    return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                        do {
                            for try await chunk in response.body { try await writer.write(chunk) }
                        } catch {
                            // After the first byte there is no fallback: end the stream with an error event.
                            logger.warning("upstream stream broke", metadata: ["error": "\(error)"])
                            let event = #"data: {"error":{"message":"upstream stream interrupted","type":"server_error","code":"upstream_interrupted"}}"# + "\n\n"
                            try await writer.write(ByteBuffer(string: event))
                        }
                        try await writer.finish(nil)
                    })
                }
                let bytes = try await response.body.collect(upTo: 64 << 20)
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: bytes))
            }
        }
        throw OpenAIError(.badGateway, "every upstream failed: " + failures.joined(separator: "; "), code: "upstream_unavailable")
    }

    func routingHeaders(_ decision: RouteDecision?, model: ModelEntry) -> HTTPFields {
        var headers: HTTPFields = [.pointsmanModel: model.alias]
        if let decision {
            headers[.pointsmanCapability] = decision.capability
            headers[.pointsmanMethod] = decision.method.rawValue
            headers[.pointsmanConfidence] = String(format: "%.4f", decision.confidence)
        }
        return headers
    }
}

