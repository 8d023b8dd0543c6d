import Foundation
import HTTPTypes
import Hummingbird

extension HTTPField.Name {
    static let requestID = Self("x-request-id")!
}

/// The outermost middleware: counts every request by its matched route template (an unmatched path counts as
/// `unmatched`, so no label grows with what clients send) and status, tags the response with the request id, and
/// turns any error into the OpenAI error shape. An unexpected error is logged with the request id; the client sees
/// only that id, never the error's text.
public struct RequestOutcomeMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServiceMetrics

    /// Counts into `metrics`.
    public init(metrics: ServiceMetrics) { self.metrics = metrics }

    /// The route label: the matched template, never the raw path.
    static func routeLabel(_ context: Context) -> String { context.endpointPath ?? "unmatched" }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            var response = try await next(request, context)
            metrics.request(route: Self.routeLabel(context), status: Int(response.status.code))
            response.headers[.requestID] = context.id
            return response
        } catch let error as OpenAIError {
            metrics.request(route: Self.routeLabel(context), status: Int(error.status.code))
            var tagged = error
            tagged.extraHeaders[.requestID] = context.id
            throw tagged
        } catch let error as any HTTPResponseError {
            metrics.request(route: Self.routeLabel(context), status: Int(error.status.code))
            throw OpenAIError(error.status, error.status.reasonPhrase, headers: [.requestID: context.id])
        } catch {
            metrics.request(route: Self.routeLabel(context), status: 500)
            context.logger.error("request failed", metadata: ["error": "\(error)"])
            throw OpenAIError(.internalServerError, "internal error (request id \(context.id))", code: "internal_error",
                              headers: [.requestID: context.id])
        }
    }
}
