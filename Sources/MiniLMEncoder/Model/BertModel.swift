import VectorMath

/// The weights of a BERT encoder and its forward pass over packed sequences (no padding).
public struct BertModel: Sendable {
    struct Layer: Sendable {
        var qkvWeight: LinearWeight   // [3H, H]: query, key, value stacked
        var qkvBias: [Float]
        var attentionOutputWeight: LinearWeight
        var attentionOutputBias: [Float]
        var attentionNormGamma: [Float]
        var attentionNormBeta: [Float]
        var intermediateWeight: LinearWeight
        var intermediateBias: [Float]
        var outputWeight: LinearWeight
        var outputBias: [Float]
        var outputNormGamma: [Float]
        var outputNormBeta: [Float]
    }

    /// Architecture numbers.
    public let configuration: BertConfiguration
    let wordEmbeddings: Matrix
    let positionEmbeddings: Matrix
    let tokenTypeRow: [Float]
    let embeddingNormGamma: [Float]
    let embeddingNormBeta: [Float]
    let layers: [Layer]

    /// Loads every tensor the configuration calls for, checking names and shapes. Accepts names with or without the
    /// `bert.` prefix. An `adapter`'s low-rank updates are added into the linear maps they name.
    public init(
        weights: SafeTensorsFile, configuration c: BertConfiguration, adapter: LowRankAdapter? = nil
    ) throws(EncoderError) {
        let prefix = weights.tensors["bert.embeddings.word_embeddings.weight"] != nil ? "bert." : ""
        func m(_ name: String, _ rows: Int, _ cols: Int) throws(EncoderError) -> Matrix {
            try weights.matrix(prefix + name, rows: rows, cols: cols)
        }
        func v(_ name: String, _ count: Int) throws(EncoderError) -> [Float] {
            try weights.vector(prefix + name, count: count)
        }
        var linearMaps = Set<String>()
        /// A linear map's weight, with the adapter's update for it added.
        func w(_ map: String, _ rows: Int, _ cols: Int) throws(EncoderError) -> Matrix {
            linearMaps.insert(map)
            let weight = try m(map + ".weight", rows, cols)
            return try adapter?.merged(weight, map: map) ?? weight
        }
        let h = c.hiddenSize, i = c.intermediateSize
        configuration = c
        wordEmbeddings = try m("embeddings.word_embeddings.weight", c.vocabSize, h)
        positionEmbeddings = try m("embeddings.position_embeddings.weight", c.maxPositionEmbeddings, h)
        tokenTypeRow = try m("embeddings.token_type_embeddings.weight", c.typeVocabSize, h).row(0)
        embeddingNormGamma = try v("embeddings.LayerNorm.weight", h)
        embeddingNormBeta = try v("embeddings.LayerNorm.bias", h)
        var layers: [Layer] = []
        for index in 0..<c.numHiddenLayers {
            let p = "encoder.layer.\(index)."
            let q = try w(p + "attention.self.query", h, h)
            let k = try w(p + "attention.self.key", h, h)
            let vw = try w(p + "attention.self.value", h, h)
            let qkv: Matrix
            do { qkv = try Matrix(rows: 3 * h, cols: h, values: q.values + k.values + vw.values) } catch {
                throw .computation(error.description)
            }
            layers.append(Layer(
                qkvWeight: LinearWeight(qkv),
                qkvBias: try v(p + "attention.self.query.bias", h) + v(p + "attention.self.key.bias", h)
                    + v(p + "attention.self.value.bias", h),
                attentionOutputWeight: LinearWeight(try w(p + "attention.output.dense", h, h)),
                attentionOutputBias: try v(p + "attention.output.dense.bias", h),
                attentionNormGamma: try v(p + "attention.output.LayerNorm.weight", h),
                attentionNormBeta: try v(p + "attention.output.LayerNorm.bias", h),
                intermediateWeight: LinearWeight(try w(p + "intermediate.dense", i, h)),
                intermediateBias: try v(p + "intermediate.dense.bias", i),
                outputWeight: LinearWeight(try w(p + "output.dense", h, i)),
                outputBias: try v(p + "output.dense.bias", h),
                outputNormGamma: try v(p + "output.LayerNorm.weight", h),
                outputNormBeta: try v(p + "output.LayerNorm.bias", h)
            ))
        }
        try adapter?.checkCovered(by: linearMaps)
        self.layers = layers
    }

    /// Runs the encoder over a batch of token-id sequences (each non-empty, at most `maxPositionEmbeddings` long) and
    /// pools each sequence to one vector (`leadTokens`: see `TransformerKernels.pool`).
    public func encode(
        _ sequences: [[Int32]], pooling: PoolingMode, normalize: Bool, leadTokens: Int = 0, parallelism: Int = 1
    ) throws(EncoderError) -> Matrix {
        if sequences.isEmpty { return Matrix(rows: 0, cols: configuration.hiddenSize) }
        let hidden = try hiddenStates(sequences, parallelism: parallelism)
        do {
            return try TransformerKernels.pool(
                hidden, sequenceLengths: sequences.map(\.count), mode: pooling, normalize: normalize, leadTokens: leadTokens)
        } catch {
            throw .computation(error.description)
        }
    }

    /// The last layer's token vectors of a batch, packed: the rows of each sequence one after the other, in order.
    /// Buffers are allocated once per batch and reused across layers.
    public func hiddenStates(_ sequences: [[Int32]], parallelism: Int = 1) throws(EncoderError) -> Matrix {
        let c = configuration
        if sequences.isEmpty { return Matrix(rows: 0, cols: c.hiddenSize) }
        let lengths = sequences.map(\.count)
        let total = lengths.reduce(0, +)
        do {
            var hidden = Matrix(rows: total, cols: c.hiddenSize)
            try TransformerKernels.embed(
                sequences: sequences, wordTable: wordEmbeddings, positionTable: positionEmbeddings,
                typeRow: tokenTypeRow, into: &hidden)
            try TransformerKernels.addLayerNorm(
                &hidden, residual: nil, gamma: embeddingNormGamma, beta: embeddingNormBeta, epsilon: c.layerNormEps)
            var qkv = Matrix(rows: total, cols: 3 * c.hiddenSize)
            var context = Matrix(rows: total, cols: c.hiddenSize)
            var projected = Matrix(rows: total, cols: c.hiddenSize)
            var intermediate = Matrix(rows: total, cols: c.intermediateSize)
            var scores: [Float] = []
            for layer in layers {
                try TransformerKernels.linear(
                    hidden, weight: layer.qkvWeight, bias: layer.qkvBias, into: &qkv, parallelism: parallelism)
                try TransformerKernels.selfAttention(
                    qkv: qkv, sequenceLengths: lengths, heads: c.numAttentionHeads, scores: &scores, into: &context,
                    parallelism: parallelism)
                try TransformerKernels.linear(
                    context, weight: layer.attentionOutputWeight, bias: layer.attentionOutputBias, into: &projected,
                    parallelism: parallelism)
                try TransformerKernels.addLayerNorm(
                    &projected, residual: hidden, gamma: layer.attentionNormGamma, beta: layer.attentionNormBeta,
                    epsilon: c.layerNormEps, parallelism: parallelism)
                swap(&hidden, &projected)
                try TransformerKernels.linear(
                    hidden, weight: layer.intermediateWeight, bias: layer.intermediateBias, into: &intermediate,
                    parallelism: parallelism, gelu: true)
                try TransformerKernels.linear(
                    intermediate, weight: layer.outputWeight, bias: layer.outputBias, into: &projected,
                    parallelism: parallelism)
                try TransformerKernels.addLayerNorm(
                    &projected, residual: hidden, gamma: layer.outputNormGamma, beta: layer.outputNormBeta,
                    epsilon: c.layerNormEps, parallelism: parallelism)
                swap(&hidden, &projected)
            }
            return hidden
        } catch {
            throw .computation(error.description)
        }
    }
}
