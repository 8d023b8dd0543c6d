import Foundation
import Testing
import VectorMath

func unitClusters(perCluster: Int, centres: [[Float]], spread: Float, seed: UInt64) throws -> (Matrix, [Int]) {
    var generator = SeededGenerator(seed: seed)
    var rows: [[Float]] = []
    var labels: [Int] = []
    for (c, centre) in centres.enumerated() {
        for _ in 0..<perCluster {
            rows.append(centre.map { $0 + spread * (Float(generator.next() % 2000) / 1000 - 1) })
            labels.append(c)
        }
    }
    var m = try Matrix(rowVectors: rows)
    m.normalizeRows()
    return (m, labels)
}

@Suite("Spherical k-means")
struct KMeansTests {
    let centres: [[Float]] = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]

    @Test("finds well-separated clusters")
    func separated() throws {
        let (points, labels) = try unitClusters(perCluster: 30, centres: centres, spread: 0.2, seed: 1)
        let result = try KMeans(k: 3, seed: 3).fit(points)
        // Every true cluster maps to exactly one found cluster.
        for c in 0..<3 {
            let found = Set(labels.indices.filter { labels[$0] == c }.map { result.assignments[$0] })
            #expect(found.count == 1)
        }
        #expect(Set(result.assignments).count == 3)
        for r in 0..<3 { #expect(abs(BLAS.norm(result.centroids.row(r)) - 1) < 1e-5) }
    }

    @Test("same seed, same input: identical output; another seed may differ but still converges")
    func deterministic() throws {
        let (points, _) = try unitClusters(perCluster: 25, centres: centres, spread: 0.6, seed: 2)
        let a = try KMeans(k: 4, seed: 11).fit(points)
        let b = try KMeans(k: 4, seed: 11).fit(points)
        #expect(a.centroids == b.centroids)
        #expect(a.assignments == b.assignments)
        #expect(try KMeans(k: 4, seed: 12).fit(points).centroids.rows == 4)
    }

    @Test("k larger than the points is capped; duplicate points leave no cluster empty")
    func edgeCases() throws {
        let same = try Matrix(rowVectors: Array(repeating: [Float(1), 0], count: 5) + [[0, 1]])
        let result = try KMeans(k: 3, seed: 1).fit(same)
        #expect(result.centroids.rows == 3)
        var counts = [0, 0, 0]
        for a in result.assignments { counts[a] += 1 }
        #expect(counts.allSatisfy { $0 > 0 })
        #expect(try KMeans(k: 10, seed: 1).fit(try Matrix(rowVectors: [[1, 0], [0, 1]])).centroids.rows == 2)
        #expect(throws: VectorMathError.self) { try KMeans(k: 2).fit(Matrix(rows: 0, cols: 2)) }
    }

    @Test("silhouette is high for clear clusters and low for one blob split in two")
    func silhouette() throws {
        let (clear, labels) = try unitClusters(perCluster: 20, centres: centres, spread: 0.1, seed: 4)
        #expect(try KMeans.silhouette(clear, assignments: labels, k: 3) > 0.7)
        let (blob, _) = try unitClusters(perCluster: 40, centres: [[1, 1, 1, 1]], spread: 0.5, seed: 5)
        let split = try KMeans(k: 2, seed: 1).fit(blob)
        #expect(try KMeans.silhouette(blob, assignments: split.assignments, k: 2) < 0.5)
    }
}

@Suite("Cosine-softmax centroid refinement")
struct RefinerTests {
    @Test("refinement raises accuracy over class means on overlapping classes")
    func improves() throws {
        // Two classes whose means are close but whose points separate along one axis.
        var generator = SeededGenerator(seed: 9)
        var rows: [[Float]] = []
        var labels: [Int] = []
        for i in 0..<400 {
            let label = i % 2
            let noise = { Float(generator.next() % 2000) / 1000 - 1 }
            rows.append([1 + 0.6 * noise(), (label == 0 ? 0.25 : -0.25) + 0.2 * noise(), 0.8 * noise()])
            labels.append(label)
        }
        var points = try Matrix(rowVectors: rows)
        points.normalizeRows()
        var means = Matrix(rows: 2, cols: 3)
        for (r, label) in labels.enumerated() { for c in 0..<3 { means[label, c] += points[r, c] } }
        means.normalizeRows()
        let before = try CentroidRefiner.accuracy(points, labels, means, [0, 1])
        let result = try CentroidRefiner(scale: 16, epochs: 40, learningRate: 0.02, batchSize: 64, seed: 1)
            .refine(points: points, labels: labels, centroids: means, owners: [0, 1])
        let after = try CentroidRefiner.accuracy(points, labels, result.centroids, [0, 1])
        #expect(after >= before)
        #expect(after > 0.9)
        #expect(result.finalLoss.isFinite)
        let again = try CentroidRefiner(scale: 16, epochs: 40, learningRate: 0.02, batchSize: 64, seed: 1)
            .refine(points: points, labels: labels, centroids: means, owners: [0, 1])
        #expect(again.centroids == result.centroids)
    }
}

@Suite("Fast float functions")
struct FastMathTests {
    @Test("exp and erf stay within their stated error over their ranges")
    func accuracy() {
        var worstExp: Double = 0, worstErf: Double = 0
        var x: Float = -30
        while x <= 30 {
            let e = Double(FastMath.exp(x)), reference = Foundation.exp(Double(x))
            worstExp = max(worstExp, abs(e - reference) / reference)
            x += 0.01
        }
        x = -6
        while x <= 6 {
            worstErf = max(worstErf, abs(Double(FastMath.erf(x)) - Foundation.erf(Double(x))))
            x += 0.001
        }
        #expect(worstExp < 3e-7)
        #expect(worstErf < 5e-7)
        let lanes = SIMD8<Float>(-3, -1, -0.5, 0, 0.5, 1, 3, 8)
        let vector = FastMath.exp(lanes), erfs = FastMath.erf(lanes)
        for i in 0..<8 {
            #expect(vector[i] == FastMath.exp(lanes[i]))
            #expect(erfs[i] == FastMath.erf(lanes[i]))
        }
    }
}
