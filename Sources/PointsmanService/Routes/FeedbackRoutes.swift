import Foundation
import HTTPTypes
import Hummingbird
import PointsmanCore

extension ServiceDependencies {
    /// `POST /v1/feedback`: `{"request_id", "capability"?, "rating"?, "comment"?}` about a request this service (or a
    /// replica sharing its database) answered. Kept in the database, where `pointsman train --feedback` and
    /// `pointsman eval --from-log` read it; 201 with the feedback's id.
    func feedback(_ request: Request, context: some RequestContext) async throws -> Response {
        guard let feedbackStore else {
            throw OpenAIError(.notFound, "feedback is kept only by a service with a database (--database-url)", code: "not_found")
        }
        let fields = try await request.jsonFields(limit: 64 * 1024)
        let allowed: Set<String> = ["request_id", "capability", "rating", "comment"]
        if let unknown = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw OpenAIError(.badRequest, "unknown field \"\(unknown)\"; feedback takes request_id, capability, rating and comment",
                              type: "invalid_request_error", code: "unknown_parameter", param: unknown)
        }
        func invalid(_ message: String, _ param: String) -> OpenAIError {
            OpenAIError(.badRequest, message, type: "invalid_request_error", code: "invalid_value", param: param)
        }
        guard case .string(let requestID)? = fields["request_id"],
              !requestID.trimmingCharacters(in: .whitespaces).isEmpty, requestID.count <= 200,
              !requestID.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw invalid("request_id must be the x-request-id of an answered request (a string of 1 to 200 characters)", "request_id")
        }
        var capability: String?
        switch fields["capability"] {
        case nil, .null?: break
        case .string(let name)?:
            let known = await Set(state.current().catalog.models.flatMap(\.capabilities))
            guard known.contains(name) else {
                throw invalid("capability \"\(name.prefix(100))\" is not one the catalog serves: \(known.sorted().joined(separator: ", "))", "capability")
            }
            capability = name
        default: throw invalid("capability must be a string", "capability")
        }
        var rating: Int?
        switch fields["rating"] {
        case nil, .null?: break
        case .integer(let value)? where (-1...1).contains(value): rating = Int(value)
        default: throw invalid("rating must be -1 (bad), 0 or 1 (good)", "rating")
        }
        var comment: String?
        switch fields["comment"] {
        case nil, .null?: break
        case .string(let text)? where text.count <= 2000 && !text.unicodeScalars.contains("\u{0}"): comment = text
        default: throw invalid("comment must be a string of at most 2,000 characters, without NUL", "comment")
        }
        guard capability != nil || rating != nil else {
            throw invalid("give capability (the one that would have been right), rating, or both", "capability")
        }
        let key = configuration.apiKeys.isEmpty ? "anonymous" : SpendLedgers.keyID(APIKeyMiddleware<BasicRequestContext>.presentedKey(request))
        let feedback = RoutingFeedback(requestID: requestID, keyID: key, capability: capability, rating: rating, comment: comment)
        do {
            try await feedbackStore.record(feedback)
        } catch {
            context.logger.warning("feedback not stored", metadata: ["error": "\(String(reflecting: error).prefix(200))"])
            throw OpenAIError(.serviceUnavailable, "feedback cannot be stored right now; retry later", type: "server_error",
                              code: "feedback_unavailable", headers: [.retryAfter: "2"])
        }
        metrics.feedback(rating: rating, corrected: capability != nil)
        return jsonResponse(["object": "feedback", "id": feedback.id.uuidString.lowercased(), "request_id": requestID],
                            status: .created)
    }
}
