import Testing
import VectorMath

@Suite("ScoringMatrix: the aligned centroid matrix routing scores against")
struct ScoringMatrixTests {
    @Test("one query and a batch give the dot products with every row, as a hand computation does")
    func products() throws {
        let centroids = try Matrix(rows: 3, cols: 2, values: [1, 0, 0, 1, 0.6, 0.8])
        let scoring = ScoringMatrix(centroids)
        #expect(scoring.rows == 3 && scoring.cols == 2)
        let one = try scoring.products(with: try Matrix(rows: 1, cols: 2, values: [0.8, 0.6]))
        #expect(one.rows == 1 && one.cols == 3)
        #expect(zip(one.values, [0.8, 0.6, 0.96] as [Float]).allSatisfy { abs($0 - $1) < 1e-6 })
        let batch = try scoring.products(with: try Matrix(rows: 2, cols: 2, values: [1, 0, 0, -1]))
        #expect(batch.values == [1, 0, 0.6, 0, -1, -0.8])
    }

    @Test("matches BLAS.gemm on a 128 x 384 matrix, for 1 and 7 queries")
    func matchesGemm() throws {
        var generator = SeededGenerator(seed: 3)
        func random(_ rows: Int) throws -> Matrix {
            try Matrix(rows: rows, cols: 384, values: (0..<(rows * 384)).map { _ in Float(generator.next() % 2001) / 1000 - 1 })
        }
        let centroids = try random(128)
        let scoring = ScoringMatrix(centroids)
        for count in [1, 7] {
            let queries = try random(count)
            var expected = Matrix(rows: count, cols: 128)
            try BLAS.gemm(queries, centroids, transposeB: true, into: &expected)
            var out = Matrix(rows: count, cols: 128)
            try scoring.products(with: queries, into: &out)
            #expect(zip(out.values, expected.values).allSatisfy { abs($0 - $1) < 1e-4 })
        }
    }

    @Test("wrong query width or output shape is an error that names the dimensions")
    func mismatches() throws {
        let scoring = ScoringMatrix(Matrix(rows: 4, cols: 3))
        #expect(throws: VectorMathError.dimensionMismatch("queries have 2 columns, the scoring matrix 3")) {
            try scoring.products(with: Matrix(rows: 1, cols: 2))
        }
        var wrong = Matrix(rows: 1, cols: 3)
        #expect(throws: VectorMathError.dimensionMismatch("output is 1x3, expected 1x4")) {
            try scoring.products(with: Matrix(rows: 1, cols: 3), into: &wrong)
        }
    }
}
