import CBLAS

/// A read-only matrix of centroids (one per row) kept dimension-major in 64-byte-aligned memory, for the one BLAS pass
/// that scores prompts against them.
///
/// Why not a `Matrix`: a Swift array's elements start 32 bytes into a 16-byte-aligned allocation, so they are never
/// cache-line aligned. Measured with OpenBLAS 0.3.21 on the project's machine (AMD EPYC, `Cooperlake` kernels), one
/// prompt against 128 × 384 centroids takes about 2.0 µs from a 64-byte-aligned matrix and 2.4 µs from one 16 bytes
/// off; and the dimension-major copy (`[cols × rows]`, no transpose in the sgemm call) is a few percent faster still
/// than the row-major one (1.73 against 1.79 µs in interleaved runs). A batch goes through sgemm, one query through
/// sgemv: on that machine a one-row sgemm was a little faster (2.0 against 2.4 µs), but on two later machines of the
/// same kind (`Haswell` kernels) it took 14–16 and 8.6 µs, where sgemv took 3.2–3.8 µs (on a plain `Matrix`) and
/// 2.0 µs (on this memory). On the second, sgemv on a plain row-major `Matrix` was faster still (1.6 µs): for one
/// query the alignment and the layout no longer pay; they are kept for batches.
///
/// The memory is written once, in `init`, and never again, which is what makes sharing it across tasks safe.
public final class ScoringMatrix: @unchecked Sendable {
    /// Number of rows (centroids).
    public let rows: Int
    /// Number of columns (the vector dimension).
    public let cols: Int
    private let storage: UnsafeMutableBufferPointer<Float>

    /// Copies `matrix` into aligned memory.
    public init(_ matrix: Matrix) {
        rows = matrix.rows
        cols = matrix.cols
        let count = max(matrix.values.count, 1)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Float>.stride, alignment: 64)
        storage = UnsafeMutableBufferPointer(start: raw.bindMemory(to: Float.self, capacity: count), count: count)
        storage.initialize(repeating: 0)
        let rows = matrix.rows, cols = matrix.cols
        matrix.values.withUnsafeBufferPointer { source in
            for r in 0..<rows {
                for c in 0..<cols { storage[c * rows + r] = source[r * cols + c] }
            }
        }
    }

    deinit {
        storage.deallocate()
    }

    /// `queries · selfᵀ`: row i holds the dot products of query i with every row of this matrix. One sgemm, or sgemv for a
    /// single query (see the type's note).
    public func products(with queries: Matrix) throws(VectorMathError) -> Matrix {
        guard queries.cols == cols else {
            throw .dimensionMismatch("queries have \(queries.cols) columns, the scoring matrix \(cols)")
        }
        var out = Matrix(rows: queries.rows, cols: rows)
        try products(with: queries, into: &out)
        return out
    }

    /// `queries · selfᵀ` into an existing matrix of `queries.rows × rows`, so that a hot loop allocates nothing.
    public func products(with queries: Matrix, into out: inout Matrix) throws(VectorMathError) {
        guard queries.cols == cols else {
            throw .dimensionMismatch("queries have \(queries.cols) columns, the scoring matrix \(cols)")
        }
        guard out.rows == queries.rows, out.cols == rows else {
            throw .dimensionMismatch("output is \(out.rows)x\(out.cols), expected \(queries.rows)x\(rows)")
        }
        if queries.rows == 0 || rows == 0 { return }
        if cols == 0 {
            BLAS.scale(&out.values, by: 0)
            return
        }
        let m = queries.rows, n = rows, k = cols
        let centroids = UnsafePointer(storage.baseAddress)
        if m == 1 {
            queries.values.withUnsafeBufferPointer { pq in
                out.values.withUnsafeMutableBufferPointer { po in
                    cblas_sgemv(CblasRowMajor, CblasTrans, blasint(k), blasint(n), 1, centroids, blasint(n),
                                pq.baseAddress, 1, 0, po.baseAddress, 1)
                }
            }
            return
        }
        queries.values.withUnsafeBufferPointer { pq in
            out.values.withUnsafeMutableBufferPointer { po in
                // queries [m × k] times the dimension-major centroids [k × n].
                cblas_sgemm(
                    CblasRowMajor, CblasNoTrans, CblasNoTrans,
                    blasint(m), blasint(n), blasint(k),
                    1, pq.baseAddress, blasint(k),
                    centroids, blasint(n),
                    0, po.baseAddress, blasint(n)
                )
            }
        }
    }
}
