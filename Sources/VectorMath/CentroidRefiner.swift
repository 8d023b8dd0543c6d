import Foundation

/// Discriminative refinement of class centroids under a cosine-softmax objective.
///
/// Each class owns one or more centroids. A point's probability of class `l` is the softmax mass, at temperature
/// `1/scale`, of the cosines to `l`'s centroids among all centroids. Minimising the cross-entropy moves the centroids
/// so that the nearest-centroid rule separates the classes better; routing stays one cosine pass (one BLAS call) against the
/// centroid matrix. Adam on mini-batches, deterministic for a given seed; early stopping on validation accuracy.
public struct CentroidRefiner: Sendable {
    /// Softmax scale applied to cosines.
    public var scale: Float
    /// Passes over the training points.
    public var epochs: Int
    public var learningRate: Float
    public var batchSize: Int
    public var seed: UInt64
    /// Stop after this many epochs without a better validation accuracy.
    public var patience: Int
    /// Also learn a linear map `W` applied to each point before the cosine (`normalize(W x)`), starting at the identity.
    public var learnLinearMap: Bool
    /// L2 pull of the map towards the identity, per step.
    public var mapDecay: Float
    /// Share of a point's loss that asks only for one of its acceptable classes (its class or one of the alternatives
    /// passed to `refine` as `acceptable`): `-log` of their summed probability. The rest asks for its own class. 0
    /// (the default) trains on the classes alone; points without alternatives are unaffected at any share.
    public var acceptableWeight: Float

    public init(scale: Float = 20, epochs: Int = 30, learningRate: Float = 0.01, batchSize: Int = 512, seed: UInt64 = 7,
                patience: Int = 6, learnLinearMap: Bool = false, mapDecay: Float = 1e-4, acceptableWeight: Float = 0) {
        self.acceptableWeight = acceptableWeight
        self.learnLinearMap = learnLinearMap
        self.mapDecay = mapDecay
        self.scale = scale
        self.epochs = epochs
        self.learningRate = learningRate
        self.batchSize = batchSize
        self.seed = seed
        self.patience = patience
    }

    /// The refined centroids and how training went.
    public struct Result: Sendable {
        /// Unit centroids (same order and owners as the input).
        public var centroids: Matrix
        public var epochsRun: Int
        /// The epoch whose centroids were returned (the best on validation; the last without validation).
        public var bestEpoch: Int
        /// Mean training loss of the last epoch run.
        public var finalLoss: Double
        /// Validation accuracy of the returned centroids, when validation points were given.
        public var validationAccuracy: Double?
        /// The learned map (`[d × d]`, applied as `W x`), when asked for.
        public var linearMap: Matrix?
    }

    /// `normalize(points · Wᵀ)`, or the points themselves without a map.
    public static func project(_ points: Matrix, map: Matrix?) throws(VectorMathError) -> Matrix {
        guard let map else { return points }
        var out = Matrix(rows: points.rows, cols: map.rows)
        try BLAS.gemm(points, map, transposeB: true, into: &out, parallelism: Parallel.cores)
        out.normalizeRows()
        return out
    }

    /// Refines `centroids` (rows owned by `owners[j]`) on unit `points` with class `labels`.
    ///
    /// `weights` are per-point loss weights (positive); nil weighs the points so that every class contributes equally,
    /// however many rows it has. The trainer passes weights that also balance the sources within a class.
    /// `acceptable` lists, per point, other classes that would also be right for it (used with `acceptableWeight`).
    public func refine(
        points: Matrix, labels: [Int], centroids initial: Matrix, owners: [Int], weights pointWeights: [Float]? = nil,
        acceptable: [[Int]]? = nil,
        validation: (points: Matrix, labels: [Int])? = nil, validationWeights: [Float]? = nil
    ) throws(VectorMathError) -> Result {
        let n = points.rows, d = points.cols, m = initial.rows
        guard labels.count == n, owners.count == m, initial.cols == d else {
            throw .dimensionMismatch("refiner: \(n) points, \(labels.count) labels, \(m) centroids, \(owners.count) owners")
        }
        if let acceptable, acceptable.count != n {
            throw .dimensionMismatch("refiner: \(n) points, \(acceptable.count) lists of acceptable classes")
        }
        guard acceptableWeight.isFinite, (0...1).contains(acceptableWeight) else {
            throw .invalidValue("refiner: acceptableWeight must be in [0, 1]")
        }
        let setShare = acceptable == nil ? 0 : acceptableWeight
        if let pointWeights {
            guard pointWeights.count == n else { throw .dimensionMismatch("refiner: \(n) points, \(pointWeights.count) weights") }
            guard pointWeights.allSatisfy({ $0.isFinite && $0 > 0 }) else { throw .invalidValue("refiner: point weights must be finite and positive") }
        }
        var weights = initial
        var firstMoment = Matrix(rows: m, cols: d), secondMoment = Matrix(rows: m, cols: d)
        var generator = SeededGenerator(seed: seed)
        var order = Array(0..<n)
        var step: Float = 0
        let beta1: Float = 0.9, beta2: Float = 0.999
        var best = initial
        best.normalizeRows()
        // Class-balanced weights: every class contributes equally, however many rows it has.
        var classCounts: [Int: Int] = [:]
        for label in labels { classCounts[label, default: 0] += 1 }
        let classWeight = classCounts.mapValues { Float(n) / (Float(classCounts.count) * Float($0)) }
        let rowWeight: [Float] = pointWeights ?? labels.map { classWeight[$0]! }
        var map: Matrix? = nil
        var mapFirst = Matrix(rows: d, cols: d), mapSecond = Matrix(rows: d, cols: d)
        if learnLinearMap {
            var identity = Matrix(rows: d, cols: d)
            for i in 0..<d { identity[i, i] = 1 }
            map = identity
        }
        var bestMap = map
        if let validation, let validationWeights, validationWeights.count != validation.labels.count {
            throw .dimensionMismatch("refiner: \(validation.labels.count) validation points, \(validationWeights.count) weights")
        }
        var bestAccuracy = try validation.map { v throws(VectorMathError) in
            try Self.accuracy(v.points, v.labels, best, owners, weights: validationWeights)
        } ?? -1
        var stale = 0
        var epochsRun = 0
        var bestEpoch = 0
        var lastLoss = 0.0
        for _ in 0..<max(0, epochs) {
            epochsRun += 1
            order.shuffle(using: &generator)
            var lossSum = 0.0
            var start = 0
            while start < n {
                let batch = Array(order[start..<min(start + batchSize, n)])
                start += batch.count
                let raw = points.rows(batch)
                var projected = raw
                var projectedNorms = [Float](repeating: 1, count: batch.count)
                if let map {
                    projected = Matrix(rows: batch.count, cols: d)
                    try BLAS.gemm(raw, map, transposeB: true, into: &projected, parallelism: Parallel.cores)
                    for r in 0..<batch.count {
                        var s: Float = 0
                        for c in 0..<d { s += projected[r, c] * projected[r, c] }
                        projectedNorms[r] = max(s.squareRoot(), 1e-12)
                        for c in 0..<d { projected[r, c] /= projectedNorms[r] }
                    }
                }
                let x = projected
                var normalized = weights
                var norms = [Float](repeating: 1, count: m)
                for j in 0..<m {
                    var s: Float = 0
                    for c in 0..<d { s += weights[j, c] * weights[j, c] }
                    norms[j] = max(s.squareRoot(), 1e-12)
                    for c in 0..<d { normalized[j, c] /= norms[j] }
                }
                var cosines = Matrix(rows: batch.count, cols: m)
                try BLAS.gemm(x, normalized, transposeB: true, into: &cosines, parallelism: Parallel.cores)
                // dLoss/dCosine, in place.
                let invBatch = 1 / Float(batch.count)
                for r in 0..<batch.count {
                    let y = labels[batch[r]]
                    let others = setShare > 0 ? acceptable![batch[r]] : []
                    let weight = rowWeight[batch[r]]
                    let loss = Self.pointLoss(&cosines, row: r, owners: owners, label: y, alternatives: others,
                                              share: setShare, scale: scale, gradientFactor: weight * scale * invBatch)
                    lossSum += Double(weight * loss)
                }
                var gradient = Matrix(rows: m, cols: d)
                try BLAS.gemm(cosines, transposeA: true, x, into: &gradient, parallelism: Parallel.cores)
                step += 1
                let correction1 = 1 - powf(beta1, step), correction2 = 1 - powf(beta2, step)
                if var current = map {
                    // dLoss/dProjected = G · Ĉ, back through the row normalisation, then dLoss/dW = dXwᵀ · X.
                    var dProjected = Matrix(rows: batch.count, cols: d)
                    try BLAS.gemm(cosines, normalized, into: &dProjected, parallelism: Parallel.cores)
                    for r in 0..<batch.count {
                        var radial: Float = 0
                        for c in 0..<d { radial += dProjected[r, c] * x[r, c] }
                        for c in 0..<d { dProjected[r, c] = (dProjected[r, c] - radial * x[r, c]) / projectedNorms[r] }
                    }
                    var mapGradient = Matrix(rows: d, cols: d)
                    try BLAS.gemm(dProjected, transposeA: true, raw, into: &mapGradient, parallelism: Parallel.cores)
                    for i in 0..<d {
                        for c in 0..<d {
                            let g = mapGradient[i, c] + mapDecay * (current[i, c] - (i == c ? 1 : 0))
                            let m1 = beta1 * mapFirst[i, c] + (1 - beta1) * g
                            let m2 = beta2 * mapSecond[i, c] + (1 - beta2) * g * g
                            mapFirst[i, c] = m1
                            mapSecond[i, c] = m2
                            current[i, c] -= learningRate * (m1 / correction1) / ((m2 / correction2).squareRoot() + 1e-8)
                        }
                    }
                    map = current
                }
                // Through the normalisation, then Adam.
                for j in 0..<m {
                    var radial: Float = 0
                    for c in 0..<d { radial += gradient[j, c] * normalized[j, c] }
                    for c in 0..<d {
                        let g = (gradient[j, c] - radial * normalized[j, c]) / norms[j]
                        let m1 = beta1 * firstMoment[j, c] + (1 - beta1) * g
                        let m2 = beta2 * secondMoment[j, c] + (1 - beta2) * g * g
                        firstMoment[j, c] = m1
                        secondMoment[j, c] = m2
                        weights[j, c] -= learningRate * (m1 / correction1) / ((m2 / correction2).squareRoot() + 1e-8)
                    }
                }
            }
            lastLoss = lossSum / Double(n)
            if let validation {
                var candidate = weights
                candidate.normalizeRows()
                let accuracy = try Self.accuracy(try Self.project(validation.points, map: map), validation.labels, candidate, owners,
                                                 weights: validationWeights)
                if accuracy > bestAccuracy {
                    bestAccuracy = accuracy
                    best = candidate
                    bestMap = map
                    bestEpoch = epochsRun
                    stale = 0
                } else {
                    stale += 1
                    if stale >= patience { break }
                }
            } else {
                best = weights
                best.normalizeRows()
                bestMap = map
                bestEpoch = epochsRun
            }
        }
        return Result(centroids: best, epochsRun: epochsRun, bestEpoch: bestEpoch, finalLoss: lastLoss,
                      validationAccuracy: validation == nil ? nil : bestAccuracy, linearMap: bestMap)
    }

    /// One point's loss under the softmax at `scale` over every centroid, −(1 − share) · log P(`label`) −
    /// share · log P(`label` or one of `alternatives`) (the plain −log P(`label`) when `alternatives` names no other
    /// class), where a class's probability is the mass of its centroids. On entry row `r` of `cosines` holds the
    /// point's cosines; on return, the loss's gradient with respect to them times `gradientFactor / scale` (the
    /// refiner folds the point's weight and the batch size into it; `scale` gives the gradient itself).
    static func pointLoss(
        _ cosines: inout Matrix, row r: Int, owners: [Int], label y: Int, alternatives: [Int], share setShare: Float,
        scale: Float, gradientFactor: Float
    ) -> Float {
        let m = cosines.cols
        let others = alternatives.filter { $0 != y }
        var peak = -Float.infinity
        for j in 0..<m { peak = max(peak, scale * cosines[r, j]) }
        var total: Float = 0
        for j in 0..<m {
            let e = FastMath.exp(scale * cosines[r, j] - peak)
            cosines[r, j] = e
            total += e
        }
        var own: Float = 0, inSet: Float = 0
        for j in 0..<m {
            cosines[r, j] /= total
            if owners[j] == y { own += cosines[r, j] }
            if owners[j] == y || others.contains(owners[j]) { inSet += cosines[r, j] }
        }
        own = max(own, 1e-30)
        inSet = max(inSet, 1e-30)
        let share = others.isEmpty ? 0 : setShare
        // d/dz_j of −(1−a)·log P(class) − a·log P(set), z = scale·cosine: q_j minus each term's share of q_j.
        for j in 0..<m {
            let q = cosines[r, j]
            var target: Float = owners[j] == y ? (1 - share) * q / own : 0
            if share > 0, owners[j] == y || others.contains(owners[j]) { target += share * q / inSet }
            cosines[r, j] = gradientFactor * (q - target)
        }
        return -((1 - share) * logf(own) + share * logf(inSet))
    }

    /// Share of points (or of their total weight) whose best-scoring centroid belongs to their class.
    public static func accuracy(_ points: Matrix, _ labels: [Int], _ centroids: Matrix, _ owners: [Int],
                                weights: [Float]? = nil) throws(VectorMathError) -> Double {
        guard points.rows > 0 else { return 0 }
        var cosines = Matrix(rows: points.rows, cols: centroids.rows)
        try BLAS.gemm(points, centroids, transposeB: true, into: &cosines, parallelism: Parallel.cores)
        var correct = 0.0, total = 0.0
        for r in 0..<points.rows {
            var bestJ = 0
            for j in 1..<max(1, centroids.rows) where cosines[r, j] > cosines[r, bestJ] { bestJ = j }
            let weight = Double(weights?[r] ?? 1)
            total += weight
            if owners[bestJ] == labels[r] { correct += weight }
        }
        return total > 0 ? correct / total : 0
    }
}
