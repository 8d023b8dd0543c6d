import Foundation
import Logging

/// Log lines as JSON objects, one per line, for central log collectors: `time` (ISO 8601, milliseconds, UTC),
/// `level`, `logger`, `message`, `request_id` (the `x-request-id` of the request being served, on every line a
/// request logs) and the line's other metadata as string fields. `serve --log-format json` installs it.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let label: String
    let write: @Sendable (String) -> Void

    /// A handler for `label` writing to standard error (or to `write`, in tests).
    public init(label: String, metadataProvider: Logger.MetadataProvider? = nil,
                write: @escaping @Sendable (String) -> Void = JSONLogHandler.standardError) {
        self.label = label
        self.metadataProvider = metadataProvider
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Field names the handler writes itself; metadata with these names is prefixed with `meta_`.
    static let reserved: Set<String> = ["time", "level", "logger", "message", "request_id", "source"]

    public func log(event: LogEvent) {
        var fields: [String: String] = [:]
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        for (key, value) in merged {
            switch key {
            case "hb.request.id": fields["request_id"] = "\(value)"
            case let name where Self.reserved.contains(name): fields["meta_" + name] = "\(value)"
            default: fields[key] = "\(value)"
            }
        }
        fields["time"] = Date().formatted(.iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: true).timeSeparator(.colon)) + "Z"
        fields["level"] = event.level.rawValue
        fields["logger"] = label
        fields["message"] = "\(event.message)"
        fields["source"] = event.source
        guard let data = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes]),
              let line = String(data: data, encoding: .utf8) else { return }
        write(line + "\n")
    }

    /// Writes to standard error in one call per line, so lines from concurrent requests do not interleave.
    public static let standardError: @Sendable (String) -> Void = { line in
        FileHandle.standardError.write(Data(line.utf8))
    }
}
