import Foundation
import Logging
import MiniLMEncoder
import PointsmanCore

/// What the routes work with; `buildApplication` wires the real implementations.
public struct ServiceDependencies: Sendable {
    public var configuration: ServiceConfiguration
    public var state: RoutingState
    /// The micro-batched local encoder for `/v1/embeddings` and routing; nil: no encoder (regex routing only).
    public var batcher: EmbeddingBatcher?
    public var proxy: UpstreamProxy
    public var metrics: ServiceMetrics
    public var trace: ABTraceWriter?
    public var logger: Logger
}
