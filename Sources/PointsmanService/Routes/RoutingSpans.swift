import Foundation
import PointsmanCore
import Tracing

/// The spans the service adds inside each request's server span: `pointsman.route` (the decision, with its
/// capability, model, method, confidence, language and routing version), `pointsman.embed` (one per embedding call,
/// with the number of texts) and `pointsman.upstream` (one per model attempt, with the model and the status). They cost
/// nothing without a tracer.
enum RoutingSpans {
    /// Runs `decide` in a `pointsman.route` span and records the decision on it.
    static func route<T>(source: String, _ decide: () async throws -> (T, RouteDecision)) async throws -> T {
        try await withSpan("pointsman.route", ofKind: .internal) { span in
            span.attributes["pointsman.source"] = source
            let (value, decision) = try await decide()
            record(decision, on: span)
            return value
        }
    }

    static func record(_ decision: RouteDecision, on span: any Span) {
        span.attributes["pointsman.capability"] = decision.capability
        span.attributes["pointsman.model"] = decision.model
        span.attributes["pointsman.method"] = decision.method.rawValue
        span.attributes["pointsman.confidence"] = decision.confidence
        span.attributes["pointsman.language"] = decision.language
        if let version = decision.routingVersion { span.attributes["pointsman.routing_version"] = version }
        if let fallback = decision.fallback { span.attributes["pointsman.fallback"] = fallback.rawValue }
    }
}
