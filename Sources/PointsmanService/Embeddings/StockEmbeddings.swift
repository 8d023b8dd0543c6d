import MiniLMEncoder

/// The published model's own vectors, for `/v1/embeddings` requests that name it while routing runs on an adapted
/// encoder (the shipped task router's default). The stock encoder is loaded on the first such request, not at start,
/// so a service nobody asks for plain vectors keeps one model in memory; it gets a micro-batcher of its own with the
/// same limits as the routing encoder's. A load that fails is reported to that request and tried again by the next.
public actor StockEmbeddings {
    /// The model name the stock vectors are served under (the adapted encoder's base model).
    public nonisolated let modelName: String
    private let configuration: MiniLMEncoder.Configuration
    private let makeBatcher: @Sendable (MiniLMEncoder) -> EmbeddingBatcher
    private var loading: Task<EmbeddingBatcher, any Error>?

    /// For an encoder that carries an adapter: the same model folder and settings, without the adapter. Nil for an
    /// encoder without one (its vectors are the stock ones already).
    public init?(adapted encoder: MiniLMEncoder, makeBatcher: @escaping @Sendable (MiniLMEncoder) -> EmbeddingBatcher) {
        guard encoder.configuration.adapter != nil else { return nil }
        var stock = encoder.configuration
        stock.adapter = nil
        stock.leadTokens = 0
        configuration = stock
        modelName = encoder.currentFingerprint.model
        self.makeBatcher = makeBatcher
    }

    /// The stock encoder's batcher, loading the encoder the first time.
    public func batcher() async throws -> EmbeddingBatcher {
        if let loading { return try await loading.value }
        let configuration = configuration, makeBatcher = makeBatcher
        let task = Task { makeBatcher(try MiniLMEncoder(configuration: configuration)) }
        loading = task
        do {
            return try await task.value
        } catch {
            if loading == task { loading = nil }
            throw error
        }
    }
}
