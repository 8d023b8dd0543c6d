/// Spherical k-means (cosine similarity) on unit vectors: k-means++ seeding, Lloyd iterations with similarities by
/// sgemm, repair of empty clusters, and a convergence tolerance. A fixed seed gives identical output for identical input.
public struct KMeans: Sendable {
    /// Clusters wanted.
    public var k: Int
    /// Most Lloyd iterations.
    public var maxIterations: Int
    /// Stop when no centroid moves (in cosine distance) more than this.
    public var tolerance: Float
    /// Random seed.
    public var seed: UInt64

    public init(k: Int, maxIterations: Int = 50, tolerance: Float = 1e-5, seed: UInt64 = 7) {
        self.k = k
        self.maxIterations = maxIterations
        self.tolerance = tolerance
        self.seed = seed
    }

    /// The fitted clustering.
    public struct Result: Sendable {
        /// Unit centroids, one row per cluster.
        public var centroids: Matrix
        /// The cluster of each input row.
        public var assignments: [Int]
        /// Iterations run.
        public var iterations: Int
    }

    /// Clusters the rows of `points` (unit vectors). `k` is capped by the number of points.
    public func fit(_ points: Matrix) throws(VectorMathError) -> Result {
        let n = points.rows
        guard n > 0 else { throw .dimensionMismatch("k-means needs at least one point") }
        let k = max(1, min(self.k, n))
        var generator = SeededGenerator(seed: seed)
        var centroids = try seedPlusPlus(points, k: k, generator: &generator)
        var assignments = [Int](repeating: 0, count: n)
        var similarities = Matrix(rows: n, cols: k)
        var iterations = 0
        for iteration in 1...max(1, maxIterations) {
            iterations = iteration
            try BLAS.gemm(points, centroids, transposeB: true, into: &similarities, parallelism: Parallel.cores)
            var best = [Float](repeating: -.infinity, count: n)
            for i in 0..<n {
                for j in 0..<k where similarities[i, j] > best[i] {
                    best[i] = similarities[i, j]
                    assignments[i] = j
                }
            }
            // Repair empty clusters with the points farthest from their centroids.
            var counts = [Int](repeating: 0, count: k)
            for a in assignments { counts[a] += 1 }
            var order = (0..<n).sorted { (best[$0], $0) < (best[$1], $1) }
            for j in 0..<k where counts[j] == 0 {
                while let far = order.first, counts[assignments[far]] <= 1 { order.removeFirst() }
                guard let far = order.first else { break }
                order.removeFirst()
                counts[assignments[far]] -= 1
                assignments[far] = j
                counts[j] = 1
            }
            var next = Matrix(rows: k, cols: points.cols)
            for i in 0..<n {
                let j = assignments[i]
                for c in 0..<points.cols { next[j, c] += points[i, c] }
            }
            next.normalizeRows()
            var shift: Float = 0
            for j in 0..<k {
                var dot: Float = 0
                for c in 0..<points.cols { dot += next[j, c] * centroids[j, c] }
                shift = max(shift, 1 - dot)
            }
            centroids = next
            if shift <= tolerance { break }
        }
        return Result(centroids: centroids, assignments: assignments, iterations: iterations)
    }

    /// k-means++: the first centre at random, each next one with probability proportional to its squared distance
    /// (1 - cosine) to the nearest centre chosen so far.
    func seedPlusPlus(_ points: Matrix, k: Int, generator: inout SeededGenerator) throws(VectorMathError) -> Matrix {
        let n = points.rows
        var chosen = [Int(generator.next() % UInt64(n))]
        var nearest = [Float](repeating: .infinity, count: n)
        while chosen.count < k {
            let last = points.row(chosen[chosen.count - 1])
            var similarity = [Float](repeating: 0, count: n)
            try BLAS.gemv(points, last, into: &similarity)
            var total: Double = 0
            for i in 0..<n {
                let distance = max(0, 1 - similarity[i])
                nearest[i] = min(nearest[i], distance * distance)
                total += Double(nearest[i])
            }
            var pick = Int(generator.next() % UInt64(n))
            if total > 0 {
                var target = Double(generator.next() >> 11) / Double(1 << 53) * total
                for i in 0..<n {
                    target -= Double(nearest[i])
                    if target <= 0 {
                        pick = i
                        break
                    }
                }
            }
            chosen.append(pick)
        }
        return points.rows(chosen)
    }

    /// Mean silhouette of a clustering under cosine distance (0 for a single cluster).
    public static func silhouette(_ points: Matrix, assignments: [Int], k: Int) throws(VectorMathError) -> Double {
        let n = points.rows
        guard k > 1, n > k else { return 0 }
        var similarities = Matrix(rows: n, cols: n)
        try BLAS.gemm(points, points, transposeB: true, into: &similarities, parallelism: Parallel.cores)
        var counts = [Int](repeating: 0, count: k)
        for a in assignments { counts[a] += 1 }
        var total = 0.0
        for i in 0..<n {
            var sums = [Double](repeating: 0, count: k)
            for j in 0..<n where j != i { sums[assignments[j]] += Double(1 - similarities[i, j]) }
            let own = assignments[i]
            guard counts[own] > 1 else { continue }
            let a = sums[own] / Double(counts[own] - 1)
            var b = Double.infinity
            for c in 0..<k where c != own && counts[c] > 0 { b = min(b, sums[c] / Double(counts[c])) }
            total += (b - a) / max(a, b)
        }
        return total / Double(n)
    }
}
