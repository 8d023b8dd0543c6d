import Foundation
import Hummingbird
import NIOCore
import PointsmanCore

extension ServiceDependencies {
    /// `GET /v1/models`: the catalog's aliases and the auto model.
    func models() async -> Response {
        let snapshot = await state.current()
        let created = 0
        var data: [[String: Any]] = [["id": configuration.autoModelName, "object": "model", "created": created, "owned_by": "pointsman"]]
        for model in snapshot.catalog.models {
            data.append(["id": model.alias, "object": "model", "created": created, "owned_by": "pointsman",
                         "capabilities": model.capabilities, "upstream_model": model.upstreamID])
        }
        return jsonResponse(["object": "list", "data": data])
    }

    /// `GET /readyz`: encoder, catalog and centroids loaded (503 otherwise).
    func ready() async -> Response {
        let snapshot = await state.current()
        let encoderReady = batcher != nil
        let centroidsReady = configuration.centroidsPath == nil || snapshot.centroidsLoaded
        let ok = centroidsReady && (configuration.centroidsPath == nil || encoderReady)
        return jsonResponse(["ready": ok, "encoder": encoderReady, "catalog": true, "centroids": snapshot.centroidsLoaded,
                             "models": snapshot.catalog.models.count], status: ok ? .ok : .serviceUnavailable)
    }

    /// `POST /admin/reload`: reload catalog, rules and centroids together; a bad file keeps the old state.
    func reload() async -> Response {
        let result = await state.reload()
        metrics.reloaded(result)
        return jsonResponse(encoding: result, status: result.ok ? .ok : .unprocessableContent)
    }
}
