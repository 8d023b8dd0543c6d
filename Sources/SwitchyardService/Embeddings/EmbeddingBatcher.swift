import Foundation
import MiniLMEncoder
import SwitchyardCore
import VectorMath

/// The queue is full: the caller should answer 503 with `Retry-After`.
public struct EmbeddingQueueFull: Error, Sendable {}

/// Micro-batches concurrent embedding requests. One batch runs at a time; requests that arrive while it computes wait
/// and go together into the next encoder call (up to `maxTexts` texts). When the encoder is idle, the first request
/// waits at most `maxWait` for company (zero: it starts at once). The queue is bounded: past `queueLimit` waiting texts
/// new requests are refused.
public actor EmbeddingBatcher: EmbeddingProvider {
    struct Waiting {
        var texts: [String]
        var continuation: CheckedContinuation<Matrix, any Error>
    }

    public let encoder: MiniLMEncoder
    let maxTexts: Int
    let maxWait: Duration
    let queueLimit: Int
    let metrics: ServiceMetrics?
    private var waiting: [Waiting] = []
    private var queued = 0
    private var running = false
    private var timerArmed = false

    public init(encoder: MiniLMEncoder, maxTexts: Int, maxWait: Duration, queueLimit: Int, metrics: ServiceMetrics? = nil) {
        self.encoder = encoder
        self.maxTexts = max(1, maxTexts)
        self.maxWait = maxWait
        self.queueLimit = max(1, queueLimit)
        self.metrics = metrics
    }

    public func fingerprint() async throws -> EmbedderFingerprint { encoder.currentFingerprint }

    /// Texts waiting now.
    public var depth: Int { queued }

    public func embed(_ texts: [String]) async throws -> Matrix {
        if texts.isEmpty { return Matrix(rows: 0, cols: encoder.dimension) }
        guard queued + texts.count <= queueLimit else { throw EmbeddingQueueFull() }
        return try await withCheckedThrowingContinuation { continuation in
            waiting.append(Waiting(texts: texts, continuation: continuation))
            queued += texts.count
            metrics?.queueDepth.set(Double(queued))
            schedule()
        }
    }

    private func schedule() {
        guard !running, !waiting.isEmpty else { return }
        if queued >= maxTexts || maxWait <= .zero {
            Task { await self.runBatch() }
        } else if !timerArmed {
            timerArmed = true
            let wait = maxWait
            Task {
                try? await Task.sleep(for: wait)
                await self.timerFired()
            }
        }
    }

    private func timerFired() {
        timerArmed = false
        if !running && !waiting.isEmpty { Task { await self.runBatch() } }
    }

    private func runBatch() async {
        guard !running, !waiting.isEmpty else { return }
        running = true
        // Whole requests, up to maxTexts (a single larger request goes alone).
        var batch: [Waiting] = []
        var count = 0
        while let next = waiting.first, batch.isEmpty || count + next.texts.count <= maxTexts {
            batch.append(waiting.removeFirst())
            count += next.texts.count
        }
        queued -= count
        metrics?.queueDepth.set(Double(queued))
        metrics?.batchSize.record(Double(count))
        let start = ContinuousClock.now
        do {
            let vectors = try await encoder.embed(batch.flatMap(\.texts))
            metrics?.embedSeconds.recordNanoseconds(Self.nanoseconds(ContinuousClock.now - start))
            var row = 0
            for request in batch {
                let slice = try Matrix(rows: request.texts.count, cols: vectors.cols,
                                       values: Array(vectors.values[(row * vectors.cols)..<((row + request.texts.count) * vectors.cols)]))
                row += request.texts.count
                request.continuation.resume(returning: slice)
            }
        } catch {
            for request in batch { request.continuation.resume(throwing: error) }
        }
        running = false
        schedule()
    }

    static func nanoseconds(_ d: Duration) -> Int64 {
        d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000
    }
}
