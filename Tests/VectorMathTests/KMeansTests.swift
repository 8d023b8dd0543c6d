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

extension RefinerTests {
    /// Two labels on a circle: label 0 has a big source near 0° and a small one near 100°, label 1 sits near 140°.
    static func imbalancedSources() throws -> (points: Matrix, labels: [Int], small: [Int], means: Matrix) {
        var rows: [[Float]] = []
        var labels: [Int] = []
        var small: [Int] = []
        func at(_ degrees: Float) -> [Float] { [cosf(degrees * .pi / 180), sinf(degrees * .pi / 180)] }
        for i in 0..<200 { rows.append(at(Float(i % 20) - 10)); labels.append(0) }
        for i in 0..<10 { small.append(rows.count); rows.append(at(95 + Float(i))); labels.append(0) }
        for i in 0..<100 { rows.append(at(130 + Float(i % 20))); labels.append(1) }
        var points = try Matrix(rowVectors: rows)
        points.normalizeRows()
        var means = Matrix(rows: 2, cols: 2)
        for (r, label) in labels.enumerated() { for c in 0..<2 { means[label, c] += points[r, c] } }
        means.normalizeRows()
        return (points, labels, small, means)
    }

    @Test("per-point weights move the boundary toward the lighter class where two classes overlap")
    func weights() throws {
        // Label 0 spans 0°–60°, label 1 spans 40°–100°: no boundary gets both right.
        var rows: [[Float]] = []
        var labels: [Int] = []
        for i in 0..<120 {
            let degrees = Float(i % 60) + (i < 60 ? 0 : 40)
            rows.append([cosf(degrees * .pi / 180), sinf(degrees * .pi / 180)])
            labels.append(i < 60 ? 0 : 1)
        }
        let points = try Matrix(rowVectors: rows)
        var means = try Matrix(rowVectors: [rows[30], rows[90]])
        means.normalizeRows()
        let refiner = CentroidRefiner(scale: 16, epochs: 60, learningRate: 0.02, batchSize: 32, seed: 3)
        let plain = try refiner.refine(points: points, labels: labels, centroids: means, owners: [0, 1])
        let favourZero: [Float] = labels.map { $0 == 0 ? 1.9 : 0.1 }
        let weighted = try refiner.refine(points: points, labels: labels, centroids: means, owners: [0, 1], weights: favourZero)
        func accuracy(_ label: Int, _ centroids: Matrix) throws -> Double {
            let members = labels.indices.filter { labels[$0] == label }
            return try CentroidRefiner.accuracy(points.rows(members), members.map { labels[$0] }, centroids, [0, 1])
        }
        #expect(try accuracy(0, weighted.centroids) > accuracy(0, plain.centroids))
        #expect(try accuracy(1, weighted.centroids) < accuracy(1, plain.centroids))
        // Weighted accuracy counts each point by its weight.
        let plainAll = try CentroidRefiner.accuracy(points, labels, weighted.centroids, [0, 1])
        let weightedAll = try CentroidRefiner.accuracy(points, labels, weighted.centroids, [0, 1], weights: favourZero)
        #expect(weightedAll > plainAll)
    }

    /// Label 0 around 0°–20°, label 1 around 70°–90°, and ten rows labeled 0 at 80°–85° for which label 1 is
    /// acceptable too.
    static func acceptableRows() throws -> (points: Matrix, labels: [Int], acceptable: [[Int]], means: Matrix) {
        var rows: [[Float]] = [], labels: [Int] = [], acceptable: [[Int]] = []
        func add(_ degrees: Float, _ label: Int, _ ok: [Int]) {
            rows.append([cosf(degrees * .pi / 180), sinf(degrees * .pi / 180)])
            labels.append(label)
            acceptable.append(ok)
        }
        for i in 0..<40 { add(Float(i) / 2, 0, []) }
        for i in 0..<40 { add(70 + Float(i) / 2, 1, []) }
        for i in 0..<10 { add(80 + Float(i) / 2, 0, [1]) }
        var means = try Matrix(rowVectors: [rows[20], rows[60]])
        means.normalizeRows()
        return (try Matrix(rowVectors: rows), labels, acceptable, means)
    }

    @Test("rows whose alternative is acceptable stop pulling their own label's centroid")
    func acceptableAlternatives() throws {
        let (points, labels, acceptable, means) = try Self.acceptableRows()
        func refine(_ share: Float, _ lists: [[Int]]?) throws -> Matrix {
            try CentroidRefiner(scale: 16, epochs: 40, learningRate: 0.02, batchSize: 30, seed: 5, acceptableWeight: share)
                .refine(points: points, labels: labels, centroids: means, owners: [0, 1], acceptable: lists).centroids
        }
        func degrees(_ centroids: Matrix) -> Float { atan2f(centroids[0, 1], centroids[0, 0]) * 180 / .pi }
        let strict = try refine(0, acceptable), lenient = try refine(1, acceptable), half = try refine(0.5, acceptable)
        // Label 0's centroid leans towards the ten rows at 80°–85° less the more their alternative counts.
        #expect(degrees(lenient) < degrees(half))
        #expect(degrees(half) < degrees(strict))
        #expect(degrees(strict) - degrees(lenient) > 5)
        // Every row of label 0 near 0°–20° stays right with the lenient loss.
        let near = Array(0..<40)
        #expect(try CentroidRefiner.accuracy(points.rows(near), near.map { labels[$0] }, lenient, [0, 1]) == 1)
        // Without lists, or with share 0, the loss is the plain one.
        #expect(try refine(1, nil).values == refine(0, nil).values)
        #expect(try refine(0, acceptable).values == refine(0, nil).values)
    }

    @Test("an acceptable share outside [0, 1] or lists of the wrong count are refused")
    func badAcceptable() throws {
        let (points, labels, acceptable, means) = try Self.acceptableRows()
        #expect(throws: VectorMathError.invalidValue("refiner: acceptableWeight must be in [0, 1]")) {
            try CentroidRefiner(epochs: 1, acceptableWeight: 1.5)
                .refine(points: points, labels: labels, centroids: means, owners: [0, 1], acceptable: acceptable)
        }
        #expect(throws: VectorMathError.self) {
            try CentroidRefiner(epochs: 1, acceptableWeight: 1)
                .refine(points: points, labels: labels, centroids: means, owners: [0, 1], acceptable: Array(acceptable.dropLast()))
        }
    }

    @Test("weights of the wrong count or sign are refused")
    func badWeights() throws {
        let (points, labels, _, means) = try Self.imbalancedSources()
        let refiner = CentroidRefiner(epochs: 1, seed: 1)
        #expect(throws: VectorMathError.self) {
            try refiner.refine(points: points, labels: labels, centroids: means, owners: [0, 1], weights: [1, 2])
        }
        #expect(throws: VectorMathError.invalidValue("refiner: point weights must be finite and positive")) {
            try refiner.refine(points: points, labels: labels, centroids: means, owners: [0, 1],
                               weights: [Float](repeating: 1, count: labels.count - 1) + [0])
        }
    }

    @Test("without validation the last epoch is the best epoch; with it, the best epoch is one that ran")
    func bestEpoch() throws {
        let (points, labels, _, means) = try Self.imbalancedSources()
        let plain = try CentroidRefiner(epochs: 5, seed: 1).refine(points: points, labels: labels, centroids: means, owners: [0, 1])
        #expect(plain.bestEpoch == 5)
        let validated = try CentroidRefiner(epochs: 30, seed: 1, patience: 2)
            .refine(points: points, labels: labels, centroids: means, owners: [0, 1], validation: (points, labels))
        #expect(validated.bestEpoch <= validated.epochsRun)
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
