import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How token vectors become one sentence vector.
public enum PoolingMode: String, Sendable, Codable, CaseIterable {
    /// Average of the sequence's token vectors.
    case mean
    /// The first ([CLS]) token's vector.
    case cls
    /// Element-wise maximum over the sequence.
    case max
    /// Sum of the token vectors divided by the square root of the length.
    case meanSqrtLength = "mean_sqrt_len"
}

/// The numeric kernels of a BERT-style encoder over *packed* sequences: the rows of a batch are the tokens of every
/// sequence one after the other, with no padding, so every projection is one sgemm over all tokens of the batch and
/// attention runs per sequence on exactly its own tokens (equivalent to padding with an attention mask).
public enum TransformerKernels {
    /// Writes `word[id] + position[p] + type` into consecutive rows of `out`, one row per token.
    public static func embed(
        sequences: [[Int32]], wordTable: Matrix, positionTable: Matrix, typeRow: [Float], into out: inout Matrix
    ) throws(VectorMathError) {
        let hidden = wordTable.cols
        let total = sequences.reduce(0) { $0 + $1.count }
        guard positionTable.cols == hidden, typeRow.count == hidden else {
            throw .dimensionMismatch("embedding tables have widths \(hidden), \(positionTable.cols), \(typeRow.count)")
        }
        guard out.rows == total, out.cols == hidden else {
            throw .dimensionMismatch("embedding output is \(out.rows)x\(out.cols), expected \(total)x\(hidden)")
        }
        for sequence in sequences {
            guard sequence.count <= positionTable.rows else {
                throw .dimensionMismatch("sequence of \(sequence.count) tokens exceeds \(positionTable.rows) positions")
            }
            for id in sequence where id < 0 || Int(id) >= wordTable.rows {
                throw .outOfBounds("token id \(id) outside a vocabulary of \(wordTable.rows)")
            }
        }
        wordTable.values.withUnsafeBufferPointer { words in
            positionTable.values.withUnsafeBufferPointer { positions in
                typeRow.withUnsafeBufferPointer { type in
                    out.values.withUnsafeMutableBufferPointer { o in
                        var row = 0
                        for sequence in sequences {
                            for (position, id) in sequence.enumerated() {
                                let w = Int(id) * hidden, p = position * hidden, r = row * hidden
                                for j in 0..<hidden {
                                    o[r + j] = words[w + j] + positions[p + j] + type[j]
                                }
                                row += 1
                            }
                        }
                    }
                }
            }
        }
    }

    /// `out = input · weightᵀ + bias`, with `weight` in PyTorch layout `[outFeatures, inFeatures]`.
    ///
    /// With `parallelism` > 1 the output features are split over that many workers, each running single-threaded
    /// sgemm calls on its own share (OpenBLAS's own threading costs more than it gives at these sizes; see
    /// `BLAS.threads`). Up to `packedBatchRows` token rows the calls read the weight's packed copy in narrow blocks;
    /// larger batches use the PyTorch layout in one wide block per worker. `gelu` applies the activation to each block
    /// while it is still in cache.
    public static func linear(
        _ input: Matrix, weight: LinearWeight, bias: [Float], into out: inout Matrix, parallelism: Int = 1, gelu: Bool = false
    ) throws(VectorMathError) {
        guard bias.count == weight.outFeatures else {
            throw .dimensionMismatch("bias has \(bias.count) values for \(weight.outFeatures) outputs")
        }
        guard weight.inFeatures == input.cols else {
            throw .dimensionMismatch("linear input has \(input.cols) features, weight expects \(weight.inFeatures)")
        }
        guard out.rows == input.rows, out.cols == weight.outFeatures else {
            throw .dimensionMismatch("linear output is \(out.rows)x\(out.cols), expected \(input.rows)x\(weight.outFeatures)")
        }
        let width = out.cols, rows = out.rows, depth = input.cols
        if rows == 0 { return }
        let packed = rows <= packedBatchRows
        // Each worker takes a contiguous run of blocks: packed blocks for small batches, else one wide block.
        let blocks: [Range<Int>] = packed
            ? weight.blocks.map { $0.first..<($0.first + $0.width) }
            : Parallel.blocks(count: width, parts: max(1, parallelism), multiple: 16)
        let workers = max(1, min(parallelism, blocks.count))
        let shares = Parallel.blocks(count: blocks.count, parts: workers, multiple: 1)
        input.values.withUnsafeBufferPointer { x in
            (packed ? weight.packed : weight.matrix.values).withUnsafeBufferPointer { w in
                bias.withUnsafeBufferPointer { b in
                    out.values.withUnsafeMutableBufferPointer { o in
                        Parallel.run(shares.count) { worker in
                            for block in shares[worker].map({ blocks[$0] }) {
                                for r in 0..<rows {
                                    (o.baseAddress! + r * width + block.lowerBound)
                                        .update(from: b.baseAddress! + block.lowerBound, count: block.count)
                                }
                                if packed {
                                    BLAS.gemmStrided(
                                        m: rows, n: block.count, k: depth, alpha: 1,
                                        a: x, aOffset: 0, lda: depth, transposeA: false,
                                        b: w, bOffset: block.lowerBound * depth, ldb: block.count, transposeB: false,
                                        beta: 1, c: o, cOffset: block.lowerBound, ldc: width)
                                } else {
                                    BLAS.gemmStrided(
                                        m: rows, n: block.count, k: depth, alpha: 1,
                                        a: x, aOffset: 0, lda: depth, transposeA: false,
                                        b: w, bOffset: block.lowerBound * depth, ldb: depth, transposeB: true,
                                        beta: 1, c: o, cOffset: block.lowerBound, ldc: width)
                                }
                                if gelu {
                                    for r in 0..<rows { geluInPlace(o, from: r * width + block.lowerBound, count: block.count) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    static func geluInPlace(_ v: UnsafeMutableBufferPointer<Float>, from start: Int, count: Int) {
        let base = UnsafeMutableRawPointer(v.baseAddress! + start)
        var i = 0
        while i + 8 <= count {
            let a = base.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            base.storeBytes(of: 0.5 * a * (1 + FastMath.erf(a * 0.70710678118654752)), toByteOffset: 4 * i, as: SIMD8<Float>.self)
            i += 8
        }
        while i < count {
            let a = v[start + i]
            v[start + i] = 0.5 * a * (1 + FastMath.erf(a * 0.70710678118654752))
            i += 1
        }
    }

    /// Up to this many token rows a linear layer reads the packed weights in narrow blocks.
    public static let packedBatchRows = 128

    /// `x = LayerNorm(x + residual) * gamma + beta`, row by row (biased variance, as PyTorch).
    public static func addLayerNorm(
        _ x: inout Matrix, residual: Matrix?, gamma: [Float], beta: [Float], epsilon: Float, parallelism: Int = 1
    ) throws(VectorMathError) {
        let width = x.cols
        guard gamma.count == width, beta.count == width else {
            throw .dimensionMismatch("layer norm parameters have \(gamma.count), \(beta.count) values for width \(width)")
        }
        if let residual, residual.rows != x.rows || residual.cols != width {
            throw .dimensionMismatch("residual is \(residual.rows)x\(residual.cols), expected \(x.rows)x\(width)")
        }
        let rows = x.rows
        if rows == 0 { return }
        let empty: [Float] = []
        // Rows are independent: a worker per block of rows once there are enough of them to pay for the hand-off.
        let shares = Parallel.blocks(count: rows, parts: rows >= 64 ? parallelism : 1, multiple: 8)
        (residual?.values ?? empty).withUnsafeBufferPointer { res in
            gamma.withUnsafeBufferPointer { g in
                beta.withUnsafeBufferPointer { b in
                    x.values.withUnsafeMutableBufferPointer { v in
                        Parallel.run(shares.count) { worker in
                            for r in shares[worker] {
                                normalizeRow(v, residual: res, gamma: g, beta: b, base: r * width, width: width, epsilon: epsilon)
                            }
                        }
                    }
                }
            }
        }
    }

    /// One row of `addLayerNorm`, eight lanes at a time (sums in eight partial lanes, then across them).
    @inline(__always)
    static func normalizeRow(
        _ v: UnsafeMutableBufferPointer<Float>, residual res: UnsafeBufferPointer<Float>, gamma g: UnsafeBufferPointer<Float>,
        beta b: UnsafeBufferPointer<Float>, base: Int, width: Int, epsilon: Float
    ) {
        let row = UnsafeMutableRawPointer(v.baseAddress! + base)
        let vector = width / 8 * 8
        var lanes = SIMD8<Float>()
        var tail: Float = 0
        if !res.isEmpty {
            let add = UnsafeRawPointer(res.baseAddress! + base)
            var j = 0
            while j < vector {
                let sum = row.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self)
                    + add.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self)
                row.storeBytes(of: sum, toByteOffset: 4 * j, as: SIMD8<Float>.self)
                lanes += sum
                j += 8
            }
            for j in vector..<width {
                v[base + j] += res[base + j]
                tail += v[base + j]
            }
        } else {
            var j = 0
            while j < vector {
                lanes += row.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self)
                j += 8
            }
            for j in vector..<width { tail += v[base + j] }
        }
        let mean = (lanes.sum() + tail) / Float(width)
        var squareLanes = SIMD8<Float>()
        var squareTail: Float = 0
        var j = 0
        while j < vector {
            let d = row.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self) - mean
            squareLanes += d * d
            j += 8
        }
        for j in vector..<width {
            let d = v[base + j] - mean
            squareTail += d * d
        }
        let inverse = 1 / ((squareLanes.sum() + squareTail) / Float(width) + epsilon).squareRoot()
        let scale = UnsafeRawPointer(g.baseAddress!), shift = UnsafeRawPointer(b.baseAddress!)
        j = 0
        while j < vector {
            let value = row.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self)
            let normalized = (value - mean) * inverse * scale.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self)
                + shift.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self)
            row.storeBytes(of: normalized, toByteOffset: 4 * j, as: SIMD8<Float>.self)
            j += 8
        }
        for j in vector..<width {
            v[base + j] = (v[base + j] - mean) * inverse * g[j] + b[j]
        }
    }

    /// The erf GELU, in place: `0.5 · x · (1 + erf(x / √2))`, with `FastMath.erf` (absolute error < 2e-7).
    public static func gelu(_ x: inout Matrix, parallelism: Int = 1) {
        let count = x.values.count
        let blocks = Parallel.blocks(count: count, parts: parallelism, multiple: 64)
        x.values.withUnsafeMutableBufferPointer { v in
            let base = UnsafeMutableRawPointer(v.baseAddress!)
            Parallel.run(blocks.count) { part in
                let block = blocks[part]
                var i = block.lowerBound
                while i + 8 <= block.upperBound {
                    let a = base.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
                    let g = 0.5 * a * (1 + FastMath.erf(a * 0.70710678118654752))
                    base.storeBytes(of: g, toByteOffset: 4 * i, as: SIMD8<Float>.self)
                    i += 8
                }
                while i < block.upperBound {
                    let a = v[i]
                    v[i] = 0.5 * a * (1 + FastMath.erf(a * 0.70710678118654752))
                    i += 1
                }
            }
        }
    }

    /// Multi-head scaled dot-product self-attention over packed sequences.
    ///
    /// `qkv` holds, per token row, the query, key and value projections side by side (`3 · hidden` columns).
    /// `context` receives the concatenated heads (`hidden` columns). `scores` is a reusable workspace. The
    /// (sequence, head) pairs are shared out over `parallelism` workers.
    public static func selfAttention(
        qkv: Matrix, sequenceLengths: [Int], heads: Int, scores: inout [Float], into context: inout Matrix,
        parallelism: Int = 1
    ) throws(VectorMathError) {
        let hidden = context.cols
        guard heads > 0, hidden % heads == 0 else {
            throw .dimensionMismatch("hidden size \(hidden) is not divisible by \(heads) heads")
        }
        guard qkv.cols == 3 * hidden, qkv.rows == context.rows else {
            throw .dimensionMismatch("qkv is \(qkv.rows)x\(qkv.cols), expected \(context.rows)x\(3 * hidden)")
        }
        guard sequenceLengths.reduce(0, +) == qkv.rows, sequenceLengths.allSatisfy({ $0 > 0 }) else {
            throw .dimensionMismatch("sequence lengths \(sequenceLengths) do not cover \(qkv.rows) rows")
        }
        let headWidth = hidden / heads
        let scale = 1 / Float(headWidth).squareRoot()
        let longest = sequenceLengths.max() ?? 0
        let workers = max(1, min(parallelism, sequenceLengths.count * heads))
        let area = longest * longest
        if scores.count < workers * area {
            scores = [Float](repeating: 0, count: workers * area)
        }
        var starts: [Int] = []
        var start = 0
        for length in sequenceLengths {
            starts.append(start)
            start += length
        }
        let jobs = sequenceLengths.count * heads
        let stride = 3 * hidden
        qkv.values.withUnsafeBufferPointer { q in
            scores.withUnsafeMutableBufferPointer { s in
                context.values.withUnsafeMutableBufferPointer { c in
                    Parallel.run(workers) { worker in
                        let workspace = UnsafeMutableBufferPointer(rebasing: s[(worker * area)..<((worker + 1) * area)])
                        var job = worker
                        while job < jobs {
                            let sequence = job / heads, head = job % heads
                            let length = sequenceLengths[sequence], first = starts[sequence]
                            let column = head * headWidth
                            BLAS.gemmStrided(
                                m: length, n: length, k: headWidth, alpha: scale,
                                a: q, aOffset: first * stride + column, lda: stride, transposeA: false,
                                b: q, bOffset: first * stride + hidden + column, ldb: stride, transposeB: true,
                                beta: 0, c: workspace, cOffset: 0, ldc: length)
                            softmaxRows(workspace, rows: length, cols: length)
                            BLAS.gemmStrided(
                                m: length, n: headWidth, k: length, alpha: 1,
                                a: UnsafeBufferPointer(workspace), aOffset: 0, lda: length, transposeA: false,
                                b: q, bOffset: first * stride + 2 * hidden + column, ldb: stride, transposeB: false,
                                beta: 0, c: c, cOffset: first * hidden + column, ldc: hidden)
                            job += workers
                        }
                    }
                }
            }
        }
    }

    private static func softmaxRows(_ s: UnsafeMutableBufferPointer<Float>, rows: Int, cols: Int) {
        for r in 0..<rows {
            let base = r * cols
            let raw = UnsafeMutableRawPointer(s.baseAddress! + base)
            var peaks = SIMD8<Float>(repeating: -.infinity)
            var j = 0
            while j + 8 <= cols {
                let v = raw.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self)
                peaks = peaks.replacing(with: v, where: v .> peaks)
                j += 8
            }
            var peak = peaks.max()
            while j < cols {
                peak = Swift.max(peak, s[base + j])
                j += 1
            }
            var sum: Float = 0
            j = 0
            var lanes = SIMD8<Float>()
            while j + 8 <= cols {
                let e = FastMath.exp(raw.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self) - peak)
                raw.storeBytes(of: e, toByteOffset: 4 * j, as: SIMD8<Float>.self)
                lanes += e
                j += 8
            }
            sum = lanes.sum()
            while j < cols {
                let e = FastMath.exp(s[base + j] - peak)
                s[base + j] = e
                sum += e
                j += 1
            }
            let inverse = 1 / sum
            for j in 0..<cols { s[base + j] *= inverse }
        }
    }

    /// One vector per packed sequence, pooled as `mode` says, optionally L2-normalised.
    ///
    /// With `leadTokens` > 0 (which needs `normalize`), each vector is the normalised sum of two unit vectors: the
    /// pooled vector, and the mean of the first `leadTokens` tokens after [CLS] (fewer when the text is shorter; the
    /// pooled vector alone when it has no tokens). Those first tokens mostly carry what the prompt asks for
    /// ("Summarize", "Translate", "Write a function"), which the mean over a long text dilutes.
    public static func pool(
        _ hiddenStates: Matrix, sequenceLengths: [Int], mode: PoolingMode, normalize: Bool, leadTokens: Int = 0
    ) throws(VectorMathError) -> Matrix {
        guard sequenceLengths.reduce(0, +) == hiddenStates.rows else {
            throw .dimensionMismatch("sequence lengths \(sequenceLengths) do not cover \(hiddenStates.rows) rows")
        }
        guard leadTokens >= 0, leadTokens == 0 || normalize else {
            throw .invalidValue("lead-token pooling needs normalised vectors and a count of at least 0, got \(leadTokens)")
        }
        let width = hiddenStates.cols
        var out = Matrix(rows: sequenceLengths.count, cols: width)
        hiddenStates.values.withUnsafeBufferPointer { h in
            out.values.withUnsafeMutableBufferPointer { o in
                var start = 0
                for (index, length) in sequenceLengths.enumerated() {
                    let dest = index * width
                    switch mode {
                    case .cls:
                        for j in 0..<width { o[dest + j] = h[start * width + j] }
                    case .max:
                        for j in 0..<width { o[dest + j] = -Float.infinity }
                        for r in start..<(start + length) {
                            for j in 0..<width { o[dest + j] = Swift.max(o[dest + j], h[r * width + j]) }
                        }
                    case .mean, .meanSqrtLength:
                        for r in start..<(start + length) {
                            for j in 0..<width { o[dest + j] += h[r * width + j] }
                        }
                        let divisor = mode == .mean ? Float(length) : Float(length).squareRoot()
                        for j in 0..<width { o[dest + j] /= divisor }
                    }
                    if normalize {
                        Self.normalize(o, at: dest, width: width)
                    }
                    // Tokens 1...count sit between [CLS] and [SEP].
                    let count = Swift.min(leadTokens, length - 2)
                    if count > 0 {
                        var lead = [Float](repeating: 0, count: width)
                        for r in (start + 1)...(start + count) {
                            for j in 0..<width { lead[j] += h[r * width + j] }
                        }
                        var squares: Float = 0
                        for j in 0..<width { squares += lead[j] * lead[j] }
                        let norm = Swift.max(squares.squareRoot(), 1e-12)
                        for j in 0..<width { o[dest + j] += lead[j] / norm }
                        Self.normalize(o, at: dest, width: width)
                    }
                    start += length
                }
            }
        }
        return out
    }

    /// Scales `buffer[offset..<offset + width]` to unit length (a zero vector stays zero).
    private static func normalize(_ buffer: UnsafeMutableBufferPointer<Float>, at offset: Int, width: Int) {
        var squares: Float = 0
        for j in 0..<width { squares += buffer[offset + j] * buffer[offset + j] }
        let norm = Swift.max(squares.squareRoot(), 1e-12)
        for j in 0..<width { buffer[offset + j] /= norm }
    }
}
