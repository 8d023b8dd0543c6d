import Foundation
import MiniLMEncoder
import PointsmanCore
import PointsmanInterfaces
import VectorMath

/// The queue is full: the caller should answer 503 with `Retry-After`.
public struct EmbeddingQueueFull: Error, Sendable {}

/// One request holds more texts than the whole queue: retrying cannot help (the caller should answer 400).
public struct EmbeddingRequestTooLarge: Error, Sendable {
    public var texts: Int
    public var limit: Int
}

/// Micro-batches concurrent embedding requests. One batch runs at a time; requests that arrive while it computes wait
/// and go together into the next encoder call (up to `maxTexts` texts). Large requests are embedded a slice at a time,
/// taking turns with the others, so a batch of a thousand prompts cannot hold up a single one behind it. When the encoder is idle, the first request
/// waits at most `maxWait` for company (zero: it starts at once). The queue is bounded: past `queueLimit` waiting texts
/// new requests are refused. Routing may ask for lead-token pooling (`embedder(leadTokens:)`) while `/v1/embeddings`
/// asks for plain sentence vectors: a batch only takes requests that pool alike, the oldest request's way first.
public actor EmbeddingBatcher: LeadTokenEmbedder {
    struct Waiting {
        var id: Int
        var texts: [String]
        var leadTokens: Int
        var continuation: CheckedContinuation<Matrix, any Error>
        /// Texts already embedded, and their vectors.
        var done = 0
        var vectors: [Float] = []
    }

    public let encoder: MiniLMEncoder
    let maxTexts: Int
    let maxWait: Duration
    let queueLimit: Int
    let metrics: ServiceMetrics?
    private var waiting: [Waiting] = []
    private var nextID = 0
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

    /// Plain sentence vectors, what `/v1/embeddings` serves.
    public func embed(_ texts: [String]) async throws -> Matrix {
        try await embed(texts, leadTokens: 0)
    }

    public nonisolated func embedder(leadTokens count: Int) throws -> any EmbeddingProvider {
        guard count >= 0 else { throw EmbeddingBatcherError.invalidLeadTokens(count) }
        var fingerprint = encoder.currentFingerprint
        fingerprint.leadTokens = count == 0 ? nil : count
        return LeadTokenView(batcher: self, leadTokens: count, identity: fingerprint)
    }

    /// Vectors pooled with `leadTokens` lead tokens, batched with other requests that pool the same way.
    func embed(_ texts: [String], leadTokens: Int) async throws -> Matrix {
        if texts.isEmpty { return Matrix(rows: 0, cols: encoder.dimension) }
        // A request larger than the whole queue could never be taken: that is the caller's error, not load.
        guard texts.count <= queueLimit else { throw EmbeddingRequestTooLarge(texts: texts.count, limit: queueLimit) }
        guard queued + texts.count <= queueLimit else { throw EmbeddingQueueFull() }
        nextID += 1
        let id = nextID
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                waiting.append(Waiting(id: id, texts: texts, leadTokens: leadTokens, continuation: continuation))
                queued += texts.count
                metrics?.queueDepth.set(Double(queued))
                schedule()
            }
        } onCancel: {
            Task { await self.cancel(id) }
        }
    }

    /// A caller that stopped waiting (a routing timeout, a closed connection) leaves the queue: its texts left are
    /// not embedded.
    private func cancel(_ id: Int) {
        guard let index = waiting.firstIndex(where: { $0.id == id }) else { return }
        let request = waiting.remove(at: index)
        queued -= request.texts.count - request.done
        metrics?.queueDepth.set(Double(queued))
        request.continuation.resume(throwing: CancellationError())
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
                self.timerFired()
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
        // Fair shares among the requests that pool like the oldest one (up to maxTexts in all). A request with texts
        // left afterwards goes to the back of the queue, so a large batch is embedded a slice at a time between other
        // requests and cannot starve them.
        let leadTokens = waiting[0].leadTokens
        let alike = waiting.indices.filter { waiting[$0].leadTokens == leadTokens }
        // Every waiting request first gets an equal share of the batch (at least one text), so a large request
        // cannot fill it while a single prompt waits; what the shares leave free goes to the queue in order.
        let share = max(1, maxTexts / alike.count)
        var taken: [Int: Int] = [:]
        var count = 0
        for index in alike where count < maxTexts {
            let take = min(waiting[index].texts.count - waiting[index].done, share, maxTexts - count)
            taken[index] = take
            count += take
        }
        for index in alike where count < maxTexts {
            let left = waiting[index].texts.count - waiting[index].done - (taken[index] ?? 0)
            let take = min(left, maxTexts - count)
            taken[index, default: 0] += take
            count += take
        }
        var parts: [(id: Int, range: Range<Int>)] = []
        var texts: [String] = []
        for index in alike {
            guard let take = taken[index], take > 0 else { continue }
            let start = waiting[index].done
            parts.append((waiting[index].id, start..<(start + take)))
            texts += waiting[index].texts[start..<(start + take)]
            waiting[index].done += take
        }
        queued -= texts.count
        metrics?.queueDepth.set(Double(queued))
        metrics?.batchSize.record(Double(texts.count))
        let start = ContinuousClock.now
        do {
            let vectors = try await encoder.withLeadTokens(leadTokens).embed(texts)
            metrics?.embedSeconds.recordNanoseconds(Self.nanoseconds(ContinuousClock.now - start))
            var row = 0
            for part in parts {
                guard let index = waiting.firstIndex(where: { $0.id == part.id }) else { continue }
                waiting[index].vectors += vectors.values[(row * vectors.cols)..<((row + part.range.count) * vectors.cols)]
                row += part.range.count
                let request = waiting[index]
                if request.done == request.texts.count {
                    waiting.remove(at: index)
                    request.continuation.resume(with: Result {
                        try Matrix(rows: request.texts.count, cols: vectors.cols, values: request.vectors)
                    })
                } else {
                    waiting.append(waiting.remove(at: index))
                }
            }
        } catch {
            for part in parts {
                guard let index = waiting.firstIndex(where: { $0.id == part.id }) else { continue }
                let request = waiting.remove(at: index)
                queued -= request.texts.count - request.done
                request.continuation.resume(throwing: error)
            }
            metrics?.queueDepth.set(Double(queued))
        }
        running = false
        schedule()
    }

    static func nanoseconds(_ d: Duration) -> Int64 {
        d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000
    }
}

/// The batcher seen as an embedder that pools with a fixed number of lead tokens (what routing uses).
struct LeadTokenView: EmbeddingProvider {
    let batcher: EmbeddingBatcher
    let leadTokens: Int
    let identity: EmbedderFingerprint

    func fingerprint() async throws -> EmbedderFingerprint { identity }

    func embed(_ texts: [String]) async throws -> Matrix {
        try await batcher.embed(texts, leadTokens: leadTokens)
    }
}

/// A lead-token count the batcher cannot pool with.
public enum EmbeddingBatcherError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidLeadTokens(Int)

    public var description: String {
        switch self {
        case .invalidLeadTokens(let count): "lead-token pooling needs a count of at least 0, got \(count)"
        }
    }
}
