import Foundation
import PointsmanInterfaces
import VectorMath

/// The recipe search: k, the word-feature weight and the softmax scale chosen by grouped cross-validation over the
/// training rows (the validation rows are never read), so a new data set gets the recipe that suits it.
extension CentroidTrainer {
    /// One recipe to score.
    struct Recipe: Hashable {
        var k: Int
        var lexicalWeight: Float
        var scale: Float
    }

    /// Scores recipes one dimension at a time (k, then scales, then word weights, each around the best so far) until
    /// the search's time runs out, and returns the record with the chosen recipe. `trainIndices` are in-scope rows.
    func searchRecipe(
        _ search: TrainingConfiguration.Search, config: TrainingConfiguration, rows: [LabeledPrompt], texts: [String],
        embeddings: Matrix, trainIndices: [Int], labels: [String], fingerprint: EmbedderFingerprint,
        progress: @escaping @Sendable (TrainingProgress) -> Void
    ) throws -> SearchRecord {
        let started = ContinuousClock.now
        let budget = Duration.milliseconds(Int64(min(search.seconds, TrainingConfiguration.Search.maxSeconds) * 1000))
        let folds = Self.folds(trainIndices, rows: rows, count: search.folds, seed: config.seed)
        let planned = search.lexicalWeights.count + search.k.count - 1 + search.scales.count - 1
        var scored: [SearchRecord.Candidate] = []
        var seen: Set<Recipe> = []
        var skipped = 0
        var best: SearchRecord.Candidate?

        func score(_ recipe: Recipe) throws {
            guard seen.insert(recipe).inserted else { return }
            let sofar = Self.seconds(ContinuousClock.now - started)
            guard scored.isEmpty || Self.fits(elapsed: sofar, expected: Self.expectedSeconds(recipe, after: scored),
                                              budget: Self.seconds(budget)) else {
                skipped += 1
                return
            }
            progress(TrainingProgress(phase: "recipe search", done: scored.count, total: planned))
            let candidateStart = ContinuousClock.now
            let (accuracy, macroF1) = try crossValidate(recipe, folds: folds, config: config, rows: rows, texts: texts,
                                                        embeddings: embeddings, labels: labels, fingerprint: fingerprint)
            let elapsed = ContinuousClock.now - candidateStart
            let candidate = SearchRecord.Candidate(k: recipe.k, lexicalWeight: recipe.lexicalWeight, scale: recipe.scale,
                                                   accuracy: accuracy, macroF1: macroF1, seconds: Self.seconds(elapsed))
            scored.append(candidate)
            if best == nil || candidate.macroF1 > best!.macroF1 { best = candidate }
        }

        // The cheap dimensions first (word features make every vector about ten times wider): k and the scale on the
        // first word weight, then the word weights at the best of those.
        let firstWeight = search.lexicalWeights[0], firstScale = search.scales[0]
        for k in search.k { try score(Recipe(k: k, lexicalWeight: firstWeight, scale: firstScale)) }
        let k = best!.k
        for scale in search.scales { try score(Recipe(k: k, lexicalWeight: firstWeight, scale: scale)) }
        let scale = best!.scale
        for weight in search.lexicalWeights { try score(Recipe(k: k, lexicalWeight: weight, scale: scale)) }
        progress(TrainingProgress(phase: "recipe search", done: planned, total: planned))
        return SearchRecord(folds: folds.count, candidates: scored, chosen: best!, skipped: skipped,
                            seconds: Self.seconds(ContinuousClock.now - started))
    }

    /// Out-of-fold accuracy and macro-F1 of `recipe`: each fold scored by centroids (and a word vocabulary) learned
    /// from the other folds only.
    func crossValidate(
        _ recipe: Recipe, folds: [[Int]], config: TrainingConfiguration, rows: [LabeledPrompt], texts: [String],
        embeddings: Matrix, labels: [String], fingerprint: EmbedderFingerprint
    ) throws -> (accuracy: Double, macroF1: Double) {
        var candidate = config
        candidate.k = recipe.k
        candidate.refinement?.scale = recipe.scale
        var truth: [String] = []
        var predicted: [String?] = []
        let all = folds.flatMap { $0 }
        for fold in folds {
            let held = Set(fold)
            let fitRows = all.filter { !held.contains($0) }
            var vectors = embeddings
            var lexical: LexicalFeatures?
            if recipe.lexicalWeight > 0 {
                let settings = config.lexical ?? TrainingConfiguration.Lexical()
                let learned = LexicalFeatures.fit(fitRows.map { texts[$0] }, weight: recipe.lexicalWeight,
                                                  maxTerms: settings.maxTerms, minDocumentFrequency: settings.minDocumentFrequency,
                                                  characterNGrams: settings.characterNGrams)
                if !learned.terms.isEmpty {
                    lexical = learned
                    vectors = try learned.augment(embeddings.rows(all), texts: all.map { texts[$0] })
                }
            }
            // With word features the vectors cover `all` only: index them by position there.
            let position = lexical == nil ? nil : Dictionary(uniqueKeysWithValues: all.enumerated().map { ($1, $0) })
            let local = { (index: Int) in position.map { $0[index]! } ?? index }
            let fitted = try fitSubset(fitRows, local: local, rows: rows, vectors: vectors, labels: labels, config: candidate)
            var artifact = CentroidArtifact(
                name: config.name, embedder: fingerprint, labels: labels,
                capabilities: Dictionary(uniqueKeysWithValues: labels.map { ($0, $0) }),
                centroidLabels: fitted.owners, centroids: fitted.centroids, scale: recipe.scale, thresholds: [:],
                defaultThreshold: 0, k: fitted.kPerLabel, abstainLabel: config.abstainLabel,
                training: TrainingRecord(files: [], dataHash: "", trainRows: fitRows.count, seed: config.seed, created: "",
                                         refinementEpochs: fitted.epochs, seconds: 0),
                validation: nil)
            artifact.linearMap = fitted.linearMap
            artifact.lexical = lexical
            let scores = try CentroidClassifier(artifact: artifact)
                .score(routingVectors: CentroidRefiner.project(vectors.rows(fold.map(local)), map: artifact.linearMap))
            truth += fold.map { rows[$0].label }
            predicted += scores.map(\.label)
        }
        // Scored over the in-scope rows, as the validation report is: the abstain label is not a class to get right.
        let inScope = truth.indices.filter { truth[$0] != config.abstainLabel }
        let metrics = ClassificationMetrics(truth: inScope.map { truth[$0] }, predicted: inScope.map { predicted[$0] },
                                            labels: labels.filter { $0 != config.abstainLabel })
        return (metrics.accuracy, metrics.macroF1)
    }

    /// `fit` over rows whose vectors sit at `local(index)` in `vectors`, with the same k for every label (at most
    /// the label's rows).
    private func fitSubset(
        _ indices: [Int], local: (Int) -> Int, rows: [LabeledPrompt], vectors: Matrix, labels: [String],
        config: TrainingConfiguration
    ) throws -> FittedCentroids {
        // `fit` reads rows and vectors by the same index: give it a compact copy.
        let compactRows = indices.map { rows[$0] }
        let compactVectors = vectors.rows(indices.map(local))
        // Every label gets the candidate's k, except an abstain label with centroids of its own (`abstain_k`).
        let k = config.k ?? 1
        let searched = labels.filter { config.abstainK == nil || $0 != config.abstainLabel }
        return try fit(Array(compactRows.indices), rows: compactRows, vectors: compactVectors, labels: labels,
                       config: config, validation: nil, fixedK: Dictionary(uniqueKeysWithValues: searched.map { ($0, k) }),
                       progress: { _ in })
    }

    /// How long scoring `recipe` should take, from the candidates scored so far: the last one with the same kind of
    /// vectors (with or without word features), scaled by k; a first recipe with word features is expected to cost
    /// `wordCostFactor` times the last one without. Nil when nothing comparable has been scored.
    static func expectedSeconds(_ recipe: Recipe, after scored: [SearchRecord.Candidate]) -> Double? {
        let words = recipe.lexicalWeight > 0
        if let same = scored.last(where: { ($0.lexicalWeight > 0) == words }) {
            return same.seconds * Double(recipe.k) / Double(max(1, same.k))
        }
        if words, let plain = scored.last(where: { $0.lexicalWeight == 0 }) {
            return plain.seconds * wordCostFactor * Double(recipe.k) / Double(max(1, plain.k))
        }
        return nil
    }

    /// Word features make each fit about this many times slower than plain vectors (measured on Banking77 and HWU64:
    /// 6 to 7).
    static let wordCostFactor = 6.0

    /// Whether a step expected to take `expected` seconds (nil: unknown) may start `elapsed` seconds into a search of
    /// `budget` seconds: only when it should end within the budget, so the search keeps to its time instead of
    /// starting a long step just before the end.
    static func fits(elapsed: Double, expected: Double?, budget: Double) -> Bool {
        guard elapsed < budget else { return false }
        guard let expected else { return true }
        return elapsed + expected <= budget
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
