import Foundation
import PointsmanInterfaces

/// One model call, as written to the JSON Lines trace.
public struct TraceEvent: Sendable, Codable, Equatable {
    /// Run identifier, shared by every call of one pipeline run or route.
    public var task: String
    /// 0 for the plan, 1…N for the steps, N+1 for the refine call.
    public var step: Int
    /// `plan`, `solve`, `refine` or `route`.
    public var phase: String
    public var capability: String
    public var method: DetectionMethod
    /// The alias called.
    public var model: String
    /// 1 for the selected model, 2… for fallbacks.
    public var attempt: Int
    public var latencyMs: Double
    public var promptTokens: Int?
    public var completionTokens: Int?
    public var totalTokens: Int?
    /// Cost of this call from the catalog's prices; nil when the server reported no token counts.
    public var cost: Double?
    public var cached: Bool
    /// The error of a failed attempt, else nil.
    public var error: String?
    /// ISO-8601 time the call started.
    public var timestamp: String
    /// The routing table's version (`RoutingSetup.version`) in force when the model was chosen; nil when unknown.
    public var routingVersion: String?

    enum CodingKeys: String, CodingKey {
        case task, step, phase, capability, method, model, attempt
        case latencyMs = "latency_ms", promptTokens = "prompt_tokens", completionTokens = "completion_tokens"
        case totalTokens = "total_tokens", cost, cached, error, timestamp, routingVersion = "routing_version"
    }

    public init(
        task: String, step: Int, phase: String, capability: String, method: DetectionMethod, model: String,
        attempt: Int, latencyMs: Double, usage: TokenUsage?, cost: Double?, cached: Bool, error: String?,
        timestamp: Date, routingVersion: String? = nil
    ) {
        self.task = task
        self.step = step
        self.phase = phase
        self.capability = capability
        self.method = method
        self.model = model
        self.attempt = attempt
        self.latencyMs = latencyMs
        self.promptTokens = usage?.promptTokens
        self.completionTokens = usage?.completionTokens
        self.totalTokens = usage?.totalTokens ?? {
            guard let p = usage?.promptTokens, let c = usage?.completionTokens else { return nil }
            return p + c
        }()
        self.cost = cost
        self.cached = cached
        self.error = error
        self.timestamp = ISO8601DateFormatter().string(from: timestamp)
        self.routingVersion = routingVersion
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(task, forKey: .task)
        try c.encode(step, forKey: .step)
        try c.encode(phase, forKey: .phase)
        try c.encode(capability, forKey: .capability)
        try c.encode(method, forKey: .method)
        try c.encode(model, forKey: .model)
        try c.encode(attempt, forKey: .attempt)
        try c.encode(latencyMs, forKey: .latencyMs)
        try c.encode(promptTokens, forKey: .promptTokens)  // null when unknown, never missing
        try c.encode(completionTokens, forKey: .completionTokens)
        try c.encode(totalTokens, forKey: .totalTokens)
        try c.encode(cost, forKey: .cost)
        try c.encode(cached, forKey: .cached)
        try c.encode(error, forKey: .error)
        try c.encode(timestamp, forKey: .timestamp)
        try c.encode(routingVersion, forKey: .routingVersion)
    }
}

/// Collects trace events and appends them to a JSON Lines file as they happen.
public actor TraceRecorder {
    private let handle: FileHandle?
    /// Every event recorded so far.
    public private(set) var events: [TraceEvent] = []

    /// Records in memory, and to `path` (appending; created if needed) when given.
    public init(path: String? = nil) throws {
        if let path {
            let fm = FileManager.default
            if !fm.fileExists(atPath: path) {
                guard fm.createFile(atPath: path, contents: nil) else {
                    throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
                }
            }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle.seekToEnd()
            self.handle = handle
        } else {
            handle = nil
        }
    }

    /// Records one event.
    public func record(_ event: TraceEvent) {
        events.append(event)
        guard let handle else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        if var line = try? encoder.encode(event) {
            line.append(0x0A)
            try? handle.write(contentsOf: line)
        }
    }

    /// Flushes and closes the file.
    public func close() {
        try? handle?.synchronize()
        try? handle?.close()
    }
}
