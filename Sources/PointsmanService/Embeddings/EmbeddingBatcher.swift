import Foundation
import Tracing
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
/// and go together into the next encoder call, which holds at most `maxTexts` texts and `maxTokens` tokens.
/// `EmbeddingCallPlanner` chooses them: new requests get a call of their own, alternating with calls for requests
/// already under way, so a batch of long prompts holds up a short prompt that arrives behind it for about two calls
/// (the one running and at most one more), and a stream of new requests cannot starve the batch either. Texts
/// are tokenised by the caller's task, not on the actor. When the encoder is idle, the first request waits at most
/// `maxWait` for company (zero: it starts at once). The queue is bounded: past `queueLimit` waiting texts
/// new requests are refused. Routing may ask for lead-token pooling (`embedder(leadTokens:)`) while `/v1/embeddings`
/// asks for plain sentence vectors: a batch only takes requests that pool alike, the oldest request's way first.
public actor EmbeddingBatcher: LeadTokenEmbedder {
    struct Waiting {
        var id: Int
        var sequences: [[Int32]]
        var leadTokens: Int
        var continuation: CheckedContinuation<Matrix, any Error>
        /// Texts already embedded, and their vectors.
        var done = 0
        var vectors: [Float] = []
        /// Tokens of its texts embedded so far: the least served request goes first.
        var servedTokens = 0
    }

    public let encoder: MiniLMEncoder
    let maxTexts: Int
    let maxTokens: Int
    let maxWait: Duration
    let queueLimit: Int
    let metrics: ServiceMetrics?
    private var waiting: [Waiting] = []
    private var nextID = 0
    private var queued = 0
    private var running = false
    private var timerArmed = false
    private var planner: EmbeddingCallPlanner

    public init(
        encoder: MiniLMEncoder, maxTexts: Int, maxTokens: Int = .max, maxWait: Duration, queueLimit: Int,
        metrics: ServiceMetrics? = nil
    ) {
        self.encoder = encoder
        self.maxTexts = max(1, maxTexts)
        self.maxTokens = max(1, maxTokens)
        planner = EmbeddingCallPlanner(maxTexts: maxTexts, maxTokens: maxTokens)
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
    nonisolated func embed(_ texts: [String], leadTokens: Int) async throws -> Matrix {
        if texts.isEmpty { return Matrix(rows: 0, cols: encoder.dimension) }
        // A request larger than the whole queue could never be taken: that is the caller's error, not load.
        guard texts.count <= queueLimit else { throw EmbeddingRequestTooLarge(texts: texts.count, limit: queueLimit) }
        return try await withSpan("pointsman.embed", ofKind: .internal) { span in
            span.attributes["pointsman.texts"] = texts.count
            let sequences = texts.map { encoder.tokenizer.encode($0) }
            return try await enqueue(sequences, leadTokens: leadTokens)
        }
    }

    private func enqueue(_ sequences: [[Int32]], leadTokens: Int) async throws -> Matrix {
        guard queued + sequences.count <= queueLimit else { throw EmbeddingQueueFull() }
        nextID += 1
        let id = nextID
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                waiting.append(Waiting(id: id, sequences: sequences, leadTokens: leadTokens, continuation: continuation))
                queued += sequences.count
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
        queued -= request.sequences.count - request.done
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
        let leadTokens = waiting[0].leadTokens
        let alike = waiting.filter { $0.leadTokens == leadTokens }.map {
            EmbeddingCallPlanner.Pending(
                id: $0.id, remaining: $0.sequences[$0.done...].map(\.count)[...], servedTokens: $0.servedTokens)
        }
        var parts: [(id: Int, range: Range<Int>)] = []
        var sequences: [[Int32]] = []
        for slice in planner.nextCall(alike) {
            guard let index = waiting.firstIndex(where: { $0.id == slice.id }) else { continue }
            let range = waiting[index].done..<(waiting[index].done + slice.count)
            parts.append((slice.id, range))
            sequences += waiting[index].sequences[range]
            waiting[index].done += slice.count
            waiting[index].servedTokens += waiting[index].sequences[range].reduce(0) { $0 + $1.count }
        }
        queued -= sequences.count
        metrics?.queueDepth.set(Double(queued))
        metrics?.batchSize.record(Double(sequences.count))
        let start = ContinuousClock.now
        do {
            let vectors = try await encoder.withLeadTokens(leadTokens).embed(sequences: sequences)
            metrics?.embedSeconds.recordNanoseconds(Self.nanoseconds(ContinuousClock.now - start))
            var row = 0
            for part in parts {
                // Rows advance for every part, even one whose request was cancelled while the encoder ran.
                defer { row += part.range.count }
                guard let index = waiting.firstIndex(where: { $0.id == part.id }) else { continue }
                waiting[index].vectors += vectors.values[(row * vectors.cols)..<((row + part.range.count) * vectors.cols)]
                let request = waiting[index]
                if request.done == request.sequences.count {
                    waiting.remove(at: index)
                    request.continuation.resume(with: Result {
                        try Matrix(rows: request.sequences.count, cols: vectors.cols, values: request.vectors)
                    })
                } else {
                    waiting.append(waiting.remove(at: index))
                }
            }
        } catch {
            for part in parts {
                guard let index = waiting.firstIndex(where: { $0.id == part.id }) else { continue }
                let request = waiting.remove(at: index)
                queued -= request.sequences.count - request.done
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
