import Foundation
import PointsmanInterfaces
import VectorMath

/// The native sentence encoder: all-MiniLM-L6-v2 (or any BERT-family sentence-transformers model of the same layout)
/// in process on OpenBLAS. Produces the same vectors as the reference sentence-transformers pipeline.
public struct MiniLMEncoder: LeadTokenEmbedder {
    /// Loading options.
    public struct Configuration: Sendable {
        /// The model folder.
        public var directory: ModelDirectory
        /// Model name recorded in the fingerprint.
        public var modelName: String
        /// Longest sequence in tokens, [CLS] and [SEP] included.
        public var maxSequenceLength: Int
        /// L2-normalise the pooled vectors.
        public var normalize: Bool
        /// Sequences per forward pass when `embed` is given many texts.
        public var batchSize: Int
        /// Cores one forward pass uses (its kernels split work themselves; OpenBLAS runs single-threaded).
        public var threads: Int
        /// Lead-token pooling for routing vectors: 0 gives the model's own sentence vectors (what `/v1/embeddings`
        /// serves and what the reference pipeline computes); n > 0 adds the mean of the first n tokens after [CLS]
        /// to the pooled vector, both at unit length, and normalises the sum. Needs `normalize`.
        public var leadTokens: Int
        /// A low-rank adapter file (see `LowRankAdapter`) added into the weights at load, or nil for the model as
        /// published. Its sha256 becomes part of the fingerprint, so centroids trained on adapted vectors are never
        /// compared with plain ones.
        public var adapter: String?

        /// Defaults of all-MiniLM-L6-v2.
        public init(
            directory: ModelDirectory, modelName: String = "all-MiniLM-L6-v2", maxSequenceLength: Int = 256,
            normalize: Bool = true, batchSize: Int = 32, threads: Int = Parallel.cores, leadTokens: Int = 0,
            adapter: String? = nil
        ) {
            self.adapter = adapter
            self.threads = max(1, threads)
            self.leadTokens = leadTokens
            self.directory = directory
            self.modelName = modelName
            self.maxSequenceLength = maxSequenceLength
            self.normalize = normalize
            self.batchSize = batchSize
        }
    }

    /// The tokenizer.
    public let tokenizer: BertTokenizer
    /// The transformer.
    public let model: BertModel
    /// The pooling mode from the pooling config.
    public let pooling: PoolingMode
    /// Options in force.
    public let configuration: Configuration
    private let identity: EmbedderFingerprint

    /// Verifies and loads the model folder.
    public init(configuration: Configuration) throws(EncoderError) {
        let directory = configuration.directory
        let hashes = try directory.verify()
        let bert = try BertConfiguration.load(from: directory.file(ModelDirectory.configFile))
        let pooling = try PoolingConfiguration.load(from: directory.file(ModelDirectory.poolingConfigFile))
        guard configuration.maxSequenceLength >= 2, configuration.maxSequenceLength <= bert.maxPositionEmbeddings else {
            throw .configuration(
                file: directory.file(ModelDirectory.configFile),
                reason: "max sequence length \(configuration.maxSequenceLength) outside 2...\(bert.maxPositionEmbeddings)")
        }
        let weights = try SafeTensorsFile(path: directory.file(ModelDirectory.weightsFile))
        BLAS.threads = 1
        let adapter = try configuration.adapter.map { path throws(EncoderError) in try LowRankAdapter(path: path) }
        model = try BertModel(weights: weights, configuration: bert, adapter: adapter)
        tokenizer = try BertTokenizer(
            vocabularyFile: directory.file(ModelDirectory.vocabularyFile), maxLength: configuration.maxSequenceLength)
        guard configuration.leadTokens >= 0, configuration.leadTokens == 0 || configuration.normalize else {
            throw .configuration(
                file: directory.file(ModelDirectory.poolingConfigFile),
                reason: "lead-token pooling (\(configuration.leadTokens) tokens) needs normalised vectors and a count of at least 0")
        }
        guard tokenizer.tokens.count == bert.vocabSize else {
            throw .tokenizer("vocab.txt has \(tokenizer.tokens.count) tokens, config.json says \(bert.vocabSize)")
        }
        self.pooling = pooling.mode
        self.configuration = configuration
        identity = EmbedderFingerprint(
            model: configuration.modelName, dimension: bert.hiddenSize, normalized: configuration.normalize,
            weightsHash: hashes[ModelDirectory.weightsFile], leadTokens: configuration.leadTokens,
            adapter: adapter?.sha256)
    }

    private init(copying other: MiniLMEncoder, leadTokens: Int) {
        tokenizer = other.tokenizer
        model = other.model
        pooling = other.pooling
        var configuration = other.configuration
        configuration.leadTokens = leadTokens
        self.configuration = configuration
        var identity = other.identity
        identity.leadTokens = leadTokens == 0 ? nil : leadTokens
        self.identity = identity
    }

    /// The same loaded model with another lead-token pooling (see `Configuration.leadTokens`); the weights are
    /// shared, not loaded again.
    public func withLeadTokens(_ leadTokens: Int) throws(EncoderError) -> MiniLMEncoder {
        guard leadTokens >= 0, leadTokens == 0 || configuration.normalize else {
            throw .computation("lead-token pooling (\(leadTokens) tokens) needs normalised vectors and a count of at least 0")
        }
        return MiniLMEncoder(copying: self, leadTokens: leadTokens)
    }

    /// Vector length.
    public var dimension: Int { model.configuration.hiddenSize }

    public func embedder(leadTokens count: Int) throws -> any EmbeddingProvider { try withLeadTokens(count) }

    public func fingerprint() async throws -> EmbedderFingerprint { identity }

    /// The identity of this encoder's vectors, without suspending.
    public var currentFingerprint: EmbedderFingerprint { identity }

    /// Embeds texts. The CPU-bound work runs on a Dispatch worker, not on the Swift concurrency pool, so other tasks
    /// (network I/O, timers) keep running while a batch is encoded.
    public func embed(_ texts: [String]) async throws -> Matrix {
        if texts.isEmpty { return Matrix(rows: 0, cols: dimension) }
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                continuation.resume(with: Result { () throws(EncoderError) -> Matrix in
                    try self.encode(texts.map { self.tokenizer.encode($0) })
                })
            }
        }
    }

    /// Embeds already tokenised sequences (what `tokenizer.encode` returns) on a Dispatch worker, like `embed`.
    public func embed(sequences: [[Int32]]) async throws -> Matrix {
        if sequences.isEmpty { return Matrix(rows: 0, cols: dimension) }
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                continuation.resume(with: Result { () throws(EncoderError) -> Matrix in try self.encode(sequences) })
            }
        }
    }

    /// Embeds already tokenised sequences (each with [CLS] and [SEP]), batching by similar length and returning rows
    /// in input order.
    public func encode(_ sequences: [[Int32]]) throws(EncoderError) -> Matrix {
        var out = Matrix(rows: sequences.count, cols: dimension)
        if sequences.isEmpty { return out }
        // Sorting by length keeps each forward pass's work even; packing means no padding is ever computed.
        let order = sequences.indices.sorted { sequences[$0].count > sequences[$1].count }
        var start = 0
        while start < order.count {
            let batch = Array(order[start..<min(start + configuration.batchSize, order.count)])
            let vectors = try model.encode(
                batch.map { sequences[$0] }, pooling: pooling, normalize: configuration.normalize,
                leadTokens: configuration.leadTokens, parallelism: configuration.threads)
            for (row, index) in batch.enumerated() {
                out.setRow(index, vectors.row(row))
            }
            start += batch.count
        }
        return out
    }
}
