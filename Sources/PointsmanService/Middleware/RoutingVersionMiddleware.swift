import HTTPTypes
import Hummingbird
import PointsmanCore

/// The outermost middleware: stamps every response, errors included, with `x-pointsman-routing-version`. A response
/// that a routing decision produced already carries the version that decided; any other gets the version in force.
public struct RoutingVersionMiddleware<Context: RequestContext>: RouterMiddleware {
    let state: RoutingStore

    /// Reads the version from `state`.
    public init(state: RoutingStore) { self.state = state }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            var response = try await next(request, context)
            if response.headers[.pointsmanRoutingVersion] == nil {
                response.headers[.pointsmanRoutingVersion] = await state.current().setup.version
            }
            return response
        } catch var error as OpenAIError {
            if error.extraHeaders[.pointsmanRoutingVersion] == nil {
                error.extraHeaders[.pointsmanRoutingVersion] = await state.current().setup.version
            }
            throw error
        }
    }
}
