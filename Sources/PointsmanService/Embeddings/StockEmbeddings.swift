import Dispatch
import MiniLMEncoder

/// The published model's own vectors, for `/v1/embeddings` requests that do not ask for an adapted encoder's vectors
/// by name while routing runs on one (the shipped task router's default). The stock encoder is loaded on the first
/// such request, not at start, so a service nobody asks for vectors keeps one model in memory; the load runs on a
/// thread of its own (it reads and checks about 90 MB), not on the request's. It gets a micro-batcher of its own.
/// A load that fails is reported to the requests waiting for it; the next attempt comes after `retryAfter` at the
/// earliest, and requests in between get the same failure at once.
public actor StockEmbeddings {
    /// The model name the stock vectors are served under (the adapted encoder's base model).
    public nonisolated let modelName: String
    private let configuration: MiniLMEncoder.Configuration
    private let makeBatcher: @Sendable (MiniLMEncoder) -> EmbeddingBatcher
    private let retryAfter: Duration
    private var loading: Task<EmbeddingBatcher, any Error>?
    private var failed: (error: any Error, at: ContinuousClock.Instant)?

    /// For an encoder that carries an adapter: the same model folder and settings, without the adapter. Nil for an
    /// encoder without one (its vectors are the stock ones already).
    public init?(adapted encoder: MiniLMEncoder, retryAfter: Duration = .seconds(10),
                 makeBatcher: @escaping @Sendable (MiniLMEncoder) -> EmbeddingBatcher) {
        guard encoder.configuration.adapter != nil else { return nil }
        var stock = encoder.configuration
        stock.adapter = nil
        stock.leadTokens = 0
        configuration = stock
        modelName = encoder.currentFingerprint.model
        self.retryAfter = retryAfter
        self.makeBatcher = makeBatcher
    }

    /// The stock encoder's batcher, loading the encoder the first time.
    public func batcher() async throws -> EmbeddingBatcher {
        if let loading { return try await loading.value }
        if let failed, ContinuousClock.now - failed.at < retryAfter { throw failed.error }
        let configuration = configuration, makeBatcher = makeBatcher
        let task = Task {
            let encoder = try await withCheckedThrowingContinuation { continuation in
                DispatchQueue.global().async {
                    continuation.resume(with: Result { () throws(EncoderError) in try MiniLMEncoder(configuration: configuration) })
                }
            }
            return makeBatcher(encoder)
        }
        loading = task
        do {
            let batcher = try await task.value
            failed = nil
            return batcher
        } catch {
            if loading == task {
                loading = nil
                failed = (error, ContinuousClock.now)
            }
            throw error
        }
    }
}
