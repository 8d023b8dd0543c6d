import Foundation
import VectorMath

/// Scores unit vectors against a centroid artifact: one BLAS pass against the centroid matrix, for one prompt (sgemv)
/// or a batch (sgemm; see `ScoringMatrix`). Prompts of an artifact with word features are scored by parts (see
/// `SplitCentroids`).
public struct CentroidClassifier: Sendable {
    /// One vector's outcome.
    public struct Score: Sendable, Equatable {
        /// Winning label id and name.
        public var labelIndex: Int
        public var label: String
        public var capability: String
        /// Softmax probability of the winning label (its centroids' share of the mass at the artifact's scale).
        public var confidence: Double
        /// Best cosine per label.
        public var labelCosines: [Double]
        /// Winner's best cosine minus the runner-up label's.
        public var margin: Double
        /// The value of `gate` the winner needs not to abstain.
        public var threshold: Double
        /// The winner is the abstain label ("none of these").
        public var isAbstainLabel: Bool
        /// Which score the threshold applies to.
        public var gate: ThresholdScore = .confidence
        public var abstains: Bool { isAbstainLabel || value(gate) < threshold }

        /// The winner's score of kind `kind`.
        public func value(_ kind: ThresholdScore) -> Double {
            switch kind {
            case .confidence: confidence
            case .cosine: labelCosines[labelIndex]
            case .margin: margin
            }
        }

        public init(labelIndex: Int, label: String, capability: String, confidence: Double, labelCosines: [Double],
                    margin: Double, threshold: Double, isAbstainLabel: Bool = false, gate: ThresholdScore = .confidence) {
            self.gate = gate
            self.isAbstainLabel = isAbstainLabel
            self.labelIndex = labelIndex
            self.label = label
            self.capability = capability
            self.confidence = confidence
            self.labelCosines = labelCosines
            self.margin = margin
            self.threshold = threshold
        }
    }

    public let artifact: CentroidArtifact
    /// The artifact's glossaries, by language.
    public let glossaries: GlossarySet
    /// The artifact's centroids in aligned memory.
    private let centroids: ScoringMatrix
    /// With word features: the centroids split into their embedding columns and their word columns.
    private let split: SplitCentroids?

    /// The centroids of an artifact with word features, split so that a prompt is scored without building its
    /// routing vector: one BLAS pass over the embedding columns, then the few word columns the prompt has, added one
    /// by one (a prompt has a few dozen of the thousands of terms, and the pass over the zeros was most of the
    /// scoring time). The cosines equal the one-pass ones up to rounding.
    private struct SplitCentroids: Sendable {
        /// The embedding columns, in aligned memory.
        let embedding: ScoringMatrix
        /// The word columns, term-major: term `t`'s weights for every centroid at `t * centroids ..< (t + 1) * centroids`.
        let words: [Float]
        let centroidCount: Int

        init?(_ centroids: Matrix, terms: Int) {
            let embeddingColumns = centroids.cols - terms
            guard terms > 0, embeddingColumns > 0 else { return nil }
            var head = [Float](repeating: 0, count: centroids.rows * embeddingColumns)
            var words = [Float](repeating: 0, count: terms * centroids.rows)
            for r in 0..<centroids.rows {
                let row = centroids.row(r)
                for c in 0..<embeddingColumns { head[r * embeddingColumns + c] = row[c] }
                for t in 0..<terms { words[t * centroids.rows + r] = row[embeddingColumns + t] }
            }
            guard let matrix = try? Matrix(rows: centroids.rows, cols: embeddingColumns, values: head) else { return nil }
            embedding = ScoringMatrix(matrix)
            self.words = words
            centroidCount = centroids.rows
        }
    }

    /// Whether prompts are scored by parts (an artifact with word features and no linear map).
    var scoresByParts: Bool { split != nil }

    public init(artifact: CentroidArtifact) {
        self.artifact = artifact
        self.glossaries = GlossarySet(artifact.gloss)
        self.centroids = ScoringMatrix(artifact.centroids)
        self.split = artifact.lexical.flatMap { lexical in
            artifact.linearMap == nil ? SplitCentroids(artifact.centroids, terms: lexical.terms.count) : nil
        }
    }

    /// Scores prompts from their embeddings and the texts that were embedded (the artifact's prompt view applied;
    /// the texts matter only to artifacts with lexical features).
    public func score(_ embeddings: Matrix, texts: [String]) throws -> [Score] {
        guard let split, let lexical = artifact.lexical else {
            return try score(routingVectors: try routingVectors(embeddings, texts: texts))
        }
        guard embeddings.rows == texts.count else {
            throw VectorMathError.dimensionMismatch("\(embeddings.rows) embeddings for \(texts.count) texts")
        }
        // As `routingVectors` builds them: the unit embedding followed by the weighted term vector, normalised; here
        // the dot products are taken part by part and divided by the routing vector's norm at the end.
        var unit = embeddings
        unit.normalizeRows()
        let products = try split.embedding.products(with: unit)
        let m = split.centroidCount
        return texts.indices.map { i in
            var cosines = products.row(i)
            var squaredNorm = unit.row(i).reduce(Float(0)) { $0 + $1 * $1 }
            for (column, value) in lexical.weightedTerms(texts[i]) {
                squaredNorm += value * value
                let base = column * m
                for j in 0..<m { cosines[j] += value * split.words[base + j] }
            }
            if squaredNorm > 0 {
                let inverse = 1 / squaredNorm.squareRoot()
                for j in 0..<m { cosines[j] *= inverse }
            }
            return score(row: cosines)
        }
    }

    /// The vectors compared with the centroids: unit embeddings, through the linear map or followed by the lexical
    /// features when the artifact has them.
    public func routingVectors(_ embeddings: Matrix, texts: [String]) throws -> Matrix {
        guard embeddings.rows == texts.count else {
            throw VectorMathError.dimensionMismatch("\(embeddings.rows) embeddings for \(texts.count) texts")
        }
        if let lexical = artifact.lexical { return try lexical.augment(embeddings, texts: texts) }  // normalises them
        var unit = embeddings
        unit.normalizeRows()
        return try CentroidRefiner.project(unit, map: artifact.linearMap)
    }

    /// Scores routing vectors (rows are normalised here).
    public func score(routingVectors vectors: Matrix) throws -> [Score] {
        var unit = vectors
        unit.normalizeRows()
        let cosines = try centroids.products(with: unit)
        return (0..<unit.rows).map { score(row: cosines.row($0)) }
    }

    func score(row cosines: [Float]) -> Score {
        let labels = artifact.labels
        var best = [Double](repeating: -2, count: labels.count)
        var mass = [Double](repeating: 0, count: labels.count)
        let peak = Double(cosines.max() ?? 0)
        var total = 0.0
        for (j, cosine) in cosines.enumerated() {
            let owner = artifact.centroidLabels[j]
            best[owner] = max(best[owner], Double(cosine))
            let e = Foundation.exp(Double(artifact.scale) * (Double(cosine) - peak))
            mass[owner] += e
            total += e
        }
        var winner = 0
        for l in 1..<labels.count where best[l] > best[winner] { winner = l }
        var runnerUp = -2.0
        for l in labels.indices where l != winner { runnerUp = max(runnerUp, best[l]) }
        let label = labels[winner]
        return Score(
            labelIndex: winner, label: label, capability: artifact.capabilities[label] ?? label,
            confidence: mass[winner] / total, labelCosines: best,
            margin: labels.count > 1 ? best[winner] - runnerUp : 1,
            threshold: artifact.thresholds[label] ?? artifact.defaultThreshold,
            isAbstainLabel: label == artifact.abstainLabel, gate: artifact.thresholdScore)
    }
}

extension CentroidClassifier {
    /// What routing reads of prompts: the prompt view of each as written (for the word features and, with its gloss,
    /// for the encoder), the prompt view of its gloss when the artifact has a glossary for its language, and the
    /// language of each prompt when it had to be worked out for that (nil otherwise).
    public func views(of prompts: [String]) -> (read: [String], glossed: [String?], languages: [String?]) {
        glossaries.views(of: prompts, promptView: artifact.promptView)
    }
}
