import Foundation
import Logging
import OTel
import ServiceLifecycle

/// OpenTelemetry traces for `serve`: the process's tracer, exporting over OTLP/HTTP (protobuf) in batches, every
/// second. Logs and metrics stay where they are (stderr, `/metrics`).
enum TraceExport {
    /// Bootstraps the tracer for `endpoint` (a base URL; spans go to `<endpoint>/v1/traces`) and returns the exporter's
    /// service, which the server's service group runs and shuts down (flushing what is queued).
    static func bootstrap(endpoint: String, logger: Logger) throws -> some Service {
        guard let url = URL(string: endpoint), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
            throw CLIFailure("--otlp-endpoint must be an http(s) URL such as http://127.0.0.1:4318, got \(endpoint)")
        }
        var configuration = OTel.Configuration.default
        configuration.serviceName = "pointsman"
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.enabled = true
        configuration.traces.otlpExporter.endpoint = endpoint.hasSuffix("/v1/traces")
            ? endpoint : (endpoint.hasSuffix("/") ? endpoint + "v1/traces" : endpoint + "/v1/traces")
        configuration.traces.batchSpanProcessor.scheduleDelay = .seconds(1)
        configuration.diagnosticLogger = .custom(logger)
        configuration.diagnosticLogLevel = .warning
        return try OTel.bootstrap(configuration: configuration)
    }
}
