import CBLAS

/// Typed wrappers over the OpenBLAS calls Pointsman uses. Each checks dimensions before calling C.
public enum BLAS {
    /// `c = alpha * op(a) * op(b) + beta * c`, where `op` optionally transposes.
    public static func gemm(
        _ a: Matrix, transposeA: Bool = false,
        _ b: Matrix, transposeB: Bool = false,
        into c: inout Matrix, alpha: Float = 1, beta: Float = 0
    ) throws(VectorMathError) {
        let m = transposeA ? a.cols : a.rows
        let k = transposeA ? a.rows : a.cols
        let kb = transposeB ? b.cols : b.rows
        let n = transposeB ? b.rows : b.cols
        guard k == kb else {
            throw .dimensionMismatch("gemm inner dimensions \(k) and \(kb) differ")
        }
        guard c.rows == m, c.cols == n else {
            throw .dimensionMismatch("gemm output is \(c.rows)x\(c.cols), expected \(m)x\(n)")
        }
        if m == 0 || n == 0 { return }
        if k == 0 {
            scale(&c.values, by: beta)
            return
        }
        a.values.withUnsafeBufferPointer { pa in
            b.values.withUnsafeBufferPointer { pb in
                c.values.withUnsafeMutableBufferPointer { pc in
                    cblas_sgemm(
                        CblasRowMajor,
                        transposeA ? CblasTrans : CblasNoTrans,
                        transposeB ? CblasTrans : CblasNoTrans,
                        blasint(m), blasint(n), blasint(k),
                        alpha, pa.baseAddress, blasint(a.cols),
                        pb.baseAddress, blasint(b.cols),
                        beta, pc.baseAddress, blasint(n)
                    )
                }
            }
        }
    }

    /// `y = alpha * op(a) * x + beta * y`.
    public static func gemv(
        _ a: Matrix, transpose: Bool = false, _ x: [Float],
        into y: inout [Float], alpha: Float = 1, beta: Float = 0
    ) throws(VectorMathError) {
        let inLength = transpose ? a.rows : a.cols
        let outLength = transpose ? a.cols : a.rows
        guard x.count == inLength else {
            throw .dimensionMismatch("gemv input has \(x.count) values, expected \(inLength)")
        }
        guard y.count == outLength else {
            throw .dimensionMismatch("gemv output has \(y.count) values, expected \(outLength)")
        }
        if a.rows == 0 || a.cols == 0 { return }
        a.values.withUnsafeBufferPointer { pa in
            x.withUnsafeBufferPointer { px in
                y.withUnsafeMutableBufferPointer { py in
                    cblas_sgemv(
                        CblasRowMajor, transpose ? CblasTrans : CblasNoTrans,
                        blasint(a.rows), blasint(a.cols), alpha, pa.baseAddress, blasint(a.cols),
                        px.baseAddress, 1, beta, py.baseAddress, 1
                    )
                }
            }
        }
    }

    /// The dot product of two vectors of equal length.
    public static func dot(_ x: [Float], _ y: [Float]) throws(VectorMathError) -> Float {
        guard x.count == y.count else {
            throw .dimensionMismatch("dot of vectors of length \(x.count) and \(y.count)")
        }
        return x.withUnsafeBufferPointer { px in
            y.withUnsafeBufferPointer { py in
                cblas_sdot(blasint(x.count), px.baseAddress, 1, py.baseAddress, 1)
            }
        }
    }

    /// The Euclidean norm of a vector.
    public static func norm(_ x: [Float]) -> Float {
        x.withUnsafeBufferPointer { px in cblas_snrm2(blasint(x.count), px.baseAddress, 1) }
    }

    /// Multiplies every value by `factor` in place.
    public static func scale(_ x: inout [Float], by factor: Float) {
        let count = x.count
        x.withUnsafeMutableBufferPointer { px in cblas_sscal(blasint(count), factor, px.baseAddress, 1) }
    }

    /// `y += alpha * x`.
    public static func axpy(_ alpha: Float, _ x: [Float], _ y: inout [Float]) throws(VectorMathError) {
        guard x.count == y.count else {
            throw .dimensionMismatch("axpy of vectors of length \(x.count) and \(y.count)")
        }
        let count = x.count
        x.withUnsafeBufferPointer { px in
            y.withUnsafeMutableBufferPointer { py in
                cblas_saxpy(blasint(count), alpha, px.baseAddress, 1, py.baseAddress, 1)
            }
        }
    }

    /// Strided gemm on sub-blocks of larger row-major buffers: the workhorse of multi-head attention.
    /// Offsets and leading dimensions are in elements. Checked so that every touched element lies inside its buffer.
    static func gemmStrided(
        m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafeBufferPointer<Float>, aOffset: Int, lda: Int, transposeA: Bool,
        b: UnsafeBufferPointer<Float>, bOffset: Int, ldb: Int, transposeB: Bool,
        beta: Float,
        c: UnsafeMutableBufferPointer<Float>, cOffset: Int, ldc: Int
    ) {
        let aRows = transposeA ? k : m, aCols = transposeA ? m : k
        let bRows = transposeB ? n : k, bCols = transposeB ? k : n
        precondition(aCols <= lda && aOffset + (aRows - 1) * lda + aCols <= a.count, "gemm A block out of bounds")
        precondition(bCols <= ldb && bOffset + (bRows - 1) * ldb + bCols <= b.count, "gemm B block out of bounds")
        precondition(n <= ldc && cOffset + (m - 1) * ldc + n <= c.count, "gemm C block out of bounds")
        cblas_sgemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            blasint(m), blasint(n), blasint(k), alpha,
            a.baseAddress! + aOffset, blasint(lda),
            b.baseAddress! + bOffset, blasint(ldb),
            beta, c.baseAddress! + cOffset, blasint(ldc)
        )
    }
}

extension BLAS {
    /// OpenBLAS's own thread count. Pointsman's kernels parallelise themselves and set this to 1.
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(newValue)) }
    }
}

extension BLAS {
    /// `gemm` with the output rows split over `parallelism` workers, each a single-threaded sgemm.
    public static func gemm(
        _ a: Matrix, transposeA: Bool = false, _ b: Matrix, transposeB: Bool = false,
        into c: inout Matrix, alpha: Float = 1, beta: Float = 0, parallelism: Int
    ) throws(VectorMathError) {
        let m = transposeA ? a.cols : a.rows
        let k = transposeA ? a.rows : a.cols
        let kb = transposeB ? b.cols : b.rows
        let n = transposeB ? b.rows : b.cols
        guard k == kb else { throw .dimensionMismatch("gemm inner dimensions \(k) and \(kb) differ") }
        guard c.rows == m, c.cols == n else {
            throw .dimensionMismatch("gemm output is \(c.rows)x\(c.cols), expected \(m)x\(n)")
        }
        if parallelism <= 1 || m < 64 || k == 0 {
            try gemm(a, transposeA: transposeA, b, transposeB: transposeB, into: &c, alpha: alpha, beta: beta)
            return
        }
        let blocks = Parallel.blocks(count: m, parts: parallelism, multiple: 8)
        let lda = a.cols, ldb = b.cols
        a.values.withUnsafeBufferPointer { pa in
            b.values.withUnsafeBufferPointer { pb in
                c.values.withUnsafeMutableBufferPointer { pc in
                    Parallel.run(blocks.count) { part in
                        let rows = blocks[part]
                        gemmStrided(
                            m: rows.count, n: n, k: k, alpha: alpha,
                            a: pa, aOffset: transposeA ? rows.lowerBound : rows.lowerBound * lda, lda: lda,
                            transposeA: transposeA,
                            b: pb, bOffset: 0, ldb: ldb, transposeB: transposeB,
                            beta: beta, c: pc, cOffset: rows.lowerBound * n, ldc: n)
                    }
                }
            }
        }
    }
}

extension Matrix {
    /// Scales every row to unit Euclidean length (zero rows stay zero).
    public mutating func normalizeRows() {
        let width = cols
        for r in 0..<rows {
            var squares: Float = 0
            for j in 0..<width { squares += values[r * width + j] * values[r * width + j] }
            let norm = squares.squareRoot()
            guard norm > 0 else { continue }
            for j in 0..<width { values[r * width + j] /= norm }
        }
    }

    /// The rows at `indices`, in that order.
    public func rows(_ indices: [Int]) -> Matrix {
        var out = Matrix(rows: indices.count, cols: cols)
        for (target, source) in indices.enumerated() {
            out.values.replaceSubrange((target * cols)..<((target + 1) * cols),
                                       with: values[(source * cols)..<((source + 1) * cols)])
        }
        return out
    }
}
