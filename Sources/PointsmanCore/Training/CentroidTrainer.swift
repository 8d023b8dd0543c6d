import Crypto
import Foundation
import PointsmanInterfaces
import VectorMath

/// Progress of a training run, for a progress bar.
public struct TrainingProgress: Sendable {
    public var phase: String
    public var done: Int
    public var total: Int
}

/// Learns capability centroids from labeled prompts: split, embed (cached), k-means per label, cosine-softmax
/// refinement, threshold calibration and validation metrics.
public struct CentroidTrainer: Sendable {
    public let embedder: any EmbeddingProvider
    public let cache: EmbeddingCache?

    public init(embedder: any EmbeddingProvider, cache: EmbeddingCache?) {
        self.embedder = embedder
        self.cache = cache
    }

    /// The embedder must carry exactly the adapter the config names (compared by sha256), or none when it names none:
    /// otherwise the file would describe vectors it was not trained on.
    public static func checkAdapter(_ config: TrainingConfiguration, against fingerprint: EmbedderFingerprint) throws(DatasetError) {
        func fail(_ problem: String) -> DatasetError { DatasetError(file: config.name, row: nil, problem: problem) }
        guard let path = config.encoderAdapter else {
            if let carried = fingerprint.adapter {
                throw fail("the embedder carries an encoder adapter (sha256 \(carried.prefix(12))) that the config does not name in encoder_adapter")
            }
            return
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw fail("encoder_adapter \(path) cannot be read") }
        let hash = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
        guard fingerprint.adapter == hash else {
            throw fail("the config names encoder_adapter \(path), but the embedder "
                + (fingerprint.adapter.map { "carries another adapter (sha256 \($0.prefix(12)))" } ?? "has no adapter")
                + ": the native encoder must be loaded with that file")
        }
    }

    /// The rows a configuration names, labels mapped to capabilities.
    public static func loadRows(_ config: TrainingConfiguration) throws(DatasetError) -> [LabeledPrompt] {
        let reader = LabeledDatasetReader(textField: config.textField, labelField: config.labelField, groupField: config.groupField)
        var rows: [LabeledPrompt] = []
        for file in config.data { rows += try reader.read(file) }
        if let map = config.labelMap {
            for (index, row) in rows.enumerated() where row.label != config.abstainLabel {
                guard let capability = map[row.label] else {
                    throw DatasetError(file: row.origin, row: nil, problem: "label \"\(row.label)\" is not in the label map")
                }
                rows[index].label = capability
            }
        }
        return rows
    }

    /// The training and validation rows a config asks for: the rows of its `validation_split`, or a drawn split.
    public static func validationSplit(_ rows: [LabeledPrompt], config: TrainingConfiguration) throws(DatasetError)
        -> (train: [Int], validation: [Int])
    {
        guard let named = config.validationSplit else {
            return split(rows, fraction: config.validationFraction, seed: config.seed)
        }
        let validation = rows.indices.filter { rows[$0].split == named }
        guard !validation.isEmpty else {
            throw DatasetError(file: config.name, row: nil, problem: "validation_split \"\(named)\": no row has split \"\(named)\"")
        }
        return (rows.indices.filter { rows[$0].split != named }, validation)
    }

    /// Deterministic validation split: per label, whole (group, label) units when the label has three or more
    /// groups, else a stratified share of its rows.
    public static func split(_ rows: [LabeledPrompt], fraction: Double, seed: UInt64) -> (train: [Int], validation: [Int]) {
        var generator = SeededGenerator(seed: seed)
        var byLabel: [String: [Int]] = [:]
        for (index, row) in rows.enumerated() { byLabel[row.label, default: []].append(index) }
        var validation: Set<Int> = []
        for label in byLabel.keys.sorted() {
            let indices = byLabel[label]!
            let wanted = max(1, Int((Double(indices.count) * fraction).rounded()))
            var groups: [String: [Int]] = [:]
            for index in indices { if let g = rows[index].group { groups[g, default: []].append(index) } }
            var taken = 0
            if groups.count >= 3 {
                // Whole groups, skipping any that would overshoot the share by half or take the label's last group.
                var names = groups.keys.sorted()
                names.shuffle(using: &generator)
                var left = groups.count
                for name in names where taken < wanted && left > 1 {
                    let size = groups[name]!.count
                    if taken + size > wanted + wanted / 2 { continue }
                    validation.formUnion(groups[name]!)
                    taken += size
                    left -= 1
                }
            }
            if taken == 0 && indices.count >= 2 {
                var shuffled = indices
                shuffled.shuffle(using: &generator)
                validation.formUnion(shuffled.prefix(min(wanted, indices.count - 1)))
            }
        }
        let train = rows.indices.filter { !validation.contains($0) }
        return (train, validation.sorted())
    }

    /// Runs the whole training.
    public func train(
        _ config: TrainingConfiguration, progress: @escaping @Sendable (TrainingProgress) -> Void = { _ in }
    ) async throws -> CentroidArtifact {
        try config.validate()
        var config = config
        let started = ContinuousClock.now
        let rows = try Self.loadRows(config)
        let (trainIndices, validationIndices) = try Self.validationSplit(rows, config: config)
        let fingerprint = try await embedder.fingerprint()
        guard (fingerprint.leadTokens ?? 0) == (config.leadTokens ?? 0) else {
            throw DatasetError(
                file: config.name, row: nil,
                problem: "the config asks for lead_tokens \(config.leadTokens ?? 0) but the embedder gives \(fingerprint.leadTokens ?? 0)"
                    + " (lead-token pooling needs the local encoder)")
        }
        try Self.checkAdapter(config, against: fingerprint)
        // The word features read each prompt as written; the encoder reads it and its gloss where a glossary applies.
        let gloss = try config.gloss.map { settings throws(DatasetError) in try settings.load() }
        let glossarySet = GlossarySet(gloss)
        let (texts, glossed, _) = glossarySet.views(of: rows.map(\.text), promptView: config.promptView)
        let report: @Sendable (Int, Int) -> Void = { progress(TrainingProgress(phase: "embedding", done: $0, total: $1)) }
        var vectors: Matrix
        if let cache {
            vectors = try await glossarySet.embed(read: texts, glossed: glossed) { try await cache.embed($0, with: embedder, progress: report) }
        } else {
            vectors = try await glossarySet.embed(read: texts, glossed: glossed) { all in
                var parts: [[Float]] = []
                var start = 0
                report(0, all.count)
                while start < all.count {
                    let batch = Array(all[start..<min(start + 64, all.count)])
                    parts += try await embedder.embed(batch).rowVectors
                    start += batch.count
                    report(start, all.count)
                }
                return try Matrix(rowVectors: parts)
            }
        }
        vectors.normalizeRows()
        let embeddings = vectors

        // The abstain label gets centroids only when asked (abstain_k); it never decides a capability.
        let excluded = config.abstainK == nil ? [config.abstainLabel].compactMap { $0 } : []
        let labels = Array(Set(rows.map(\.label)).subtracting(excluded)).sorted()
        let inScopeLabels = labels.filter { $0 != config.abstainLabel }
        let labelIndex = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })
        let trainInScope = trainIndices.filter { labelIndex[rows[$0].label] != nil }
        let validationInScope = validationIndices.filter { labelIndex[rows[$0].label] != nil }

        // The recipe search picks k, the word weight and the scale on the training rows (never the validation rows).
        var searchRecord: SearchRecord?
        var searchNote: String?
        if var search = config.search {
            if config.refinement == nil { search.scales = [20] }  // the scale only shapes the refinement; 20 otherwise
            var counts: [String: Int] = [:]
            for index in trainInScope { counts[rows[index].label, default: 0] += 1 }
            if let (label, count) = counts.filter({ $0.value < search.folds }).min(by: { $0.key < $1.key }) {
                searchNote = "no recipe search: label \"\(label)\" has \(count) training rows, fewer than the \(search.folds) folds; the configuration's recipe was used"
            } else {
                let record = try searchRecipe(search, config: config, rows: rows, texts: texts, embeddings: embeddings,
                                              trainIndices: trainInScope, labels: labels, fingerprint: fingerprint,
                                              progress: progress)
                config.k = record.chosen.k
                if record.chosen.lexicalWeight > 0 {
                    var settings = config.lexical ?? TrainingConfiguration.Lexical()
                    settings.weight = record.chosen.lexicalWeight
                    config.lexical = settings
                } else {
                    config.lexical = nil
                }
                config.refinement?.scale = record.chosen.scale
                searchRecord = record
            }
        }

        // Word features: the vocabulary comes from the training rows only, so validation measures unseen words too.
        var lexical: LexicalFeatures?
        if let settings = config.lexical {
            let learned = LexicalFeatures.fit(trainIndices.map { texts[$0] }, weight: settings.weight,
                                              maxTerms: settings.maxTerms, minDocumentFrequency: settings.minDocumentFrequency,
                                              characterNGrams: settings.characterNGrams)
            if learned.terms.isEmpty, searchRecord != nil {
                config.lexical = nil  // the search's folds had words to weigh; the whole set's vocabulary has none
            } else {
                guard !learned.terms.isEmpty else {
                    throw DatasetError(file: config.name, row: nil, problem: "lexical: no term occurs in \(settings.minDocumentFrequency) or more training rows")
                }
                lexical = learned
                vectors = try learned.augment(embeddings, texts: texts)
            }
        }

        // k-means per label, then the refinement (early stopping on the validation rows, unless thresholds are
        // cross-validated: then nothing but the report touches the validation rows).
        let validation = validationInScope.isEmpty || config.calibration != nil ? nil
            : (points: vectors.rows(validationInScope), labels: validationInScope.map { labelIndex[rows[$0].label]! })
        var fitted = try fit(trainInScope, rows: rows, vectors: vectors, labels: labels, config: config, validation: validation,
                             validationWeights: config.refinement.map {
                                 Self.rowWeights(validationInScope, rows: rows, weighting: $0.weighting)
                             }, progress: progress)
        let scale = config.refinement?.scale ?? 20

        var hasher = SHA256()
        for index in trainIndices { hasher.update(data: Data((rows[index].text + "\u{1F}" + rows[index].label + "\u{1E}").utf8)) }
        let elapsed = ContinuousClock.now - started
        var artifact = CentroidArtifact(
            name: config.name, embedder: fingerprint, labels: labels,
            capabilities: Dictionary(uniqueKeysWithValues: labels.map { ($0, $0) }),
            centroidLabels: fitted.owners, centroids: fitted.centroids, scale: scale, thresholds: [:], defaultThreshold: 0,
            k: fitted.kPerLabel,
            abstainLabel: config.abstainLabel,
            training: TrainingRecord(
                files: config.data.map { ($0 as NSString).lastPathComponent },
                dataHash: hasher.finalize().map { String(format: "%02x", $0) }.joined(), trainRows: trainIndices.count,
                seed: config.seed, created: ISO8601DateFormatter().string(from: Date()), refinementEpochs: fitted.epochs,
                seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18),
            validation: nil)
        artifact.linearMap = fitted.linearMap
        artifact.promptView = config.promptView
        artifact.gloss = gloss
        if gloss != nil { artifact.version = max(artifact.version, 3) }
        artifact.lexical = lexical
        artifact.training.search = searchRecord
        artifact.training.searchNote = searchNote

        // Calibrate thresholds: by cross-validation over the training rows when asked, else on the validation split.
        if let calibration = config.calibration {
            let (thresholds, fallback, record) = try crossValidatedThresholds(
                calibration, config: config, rows: rows, texts: texts, embeddings: embeddings, trainIndices: trainIndices,
                labels: labels, inScopeLabels: inScopeLabels, base: artifact, epochs: max(1, fitted.bestEpoch), kPerLabel: fitted.kPerLabel,
                progress: progress)
            artifact.thresholds = thresholds
            artifact.defaultThreshold = fallback
            artifact.thresholdScore = record.score
            if record.score != .confidence { artifact.version = max(artifact.version, 2) }
            artifact.training.calibration = record
        }
        if !validationIndices.isEmpty {
            let truth = validationIndices.map { rows[$0].label }
            if config.calibration == nil {
                let scores = try CentroidClassifier(artifact: artifact)
                    .score(routingVectors: CentroidRefiner.project(vectors.rows(validationIndices), map: artifact.linearMap))
                let calibration = ThresholdCalibration(targetPrecision: config.targetPrecision,
                                                       abstainRecallTarget: config.abstainRecallTarget)
                let (thresholds, fallback) = calibration.calibrate(scores: scores, truth: truth, labels: inScopeLabels)
                artifact.thresholds = thresholds
                artifact.defaultThreshold = fallback
            }
            let final = try CentroidClassifier(artifact: artifact)
                .score(routingVectors: CentroidRefiner.project(vectors.rows(validationIndices), map: artifact.linearMap))
            artifact.validation = Self.report(scores: final, truth: truth, labels: inScopeLabels, abstainLabel: config.abstainLabel,
                                              split: Self.describeSplit(rows, validationIndices, config))
        }

        // The shipped centroids may learn from every row once validation has done its work.
        if config.finalFit, !validationIndices.isEmpty {
            var fixed = config
            fixed.refinement?.epochs = max(1, fitted.bestEpoch)
            let allInScope = rows.indices.filter { labelIndex[rows[$0].label] != nil }
            if let settings = config.lexical {
                // The shipped vocabulary learns from every row too.
                let learned = LexicalFeatures.fit(texts, weight: settings.weight, maxTerms: settings.maxTerms,
                                                  minDocumentFrequency: settings.minDocumentFrequency,
                                                  characterNGrams: settings.characterNGrams)
                artifact.lexical = learned
                vectors = try learned.augment(embeddings, texts: texts)
            }
            fitted = try fit(allInScope, rows: rows, vectors: vectors, labels: labels, config: fixed, validation: nil,
                             fixedK: fitted.kPerLabel, progress: progress)
            artifact.centroids = fitted.centroids
            artifact.centroidLabels = fitted.owners
            artifact.linearMap = fitted.linearMap
            artifact.training.trainRows = allInScope.count
            artifact.training.refinementEpochs = fitted.epochs
            artifact.training.finalFit = true
            var hasher = SHA256()
            for index in allInScope { hasher.update(data: Data((rows[index].text + "\u{1F}" + rows[index].label + "\u{1E}").utf8)) }
            artifact.training.dataHash = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        }
        let total = ContinuousClock.now - started
        artifact.training.seconds = Double(total.components.seconds) + Double(total.components.attoseconds) / 1e18
        return artifact
    }

    /// Thresholds fitted on out-of-fold scores: the training rows are cut into folds (whole groups per label when a
    /// label has at least as many groups as folds, else a share of its rows), each fold is scored by centroids (and a
    /// word vocabulary) learned from the other folds only, and each candidate score's thresholds are calibrated on
    /// those scores with shrinkage towards the global threshold. The candidate whose thresholds give the best in-scope
    /// accuracy on those same scores wins (in-sample for the thresholds, out-of-fold for the centroids). The number of
    /// centroids per label (when chosen automatically) comes from the fit on every training row.
    func crossValidatedThresholds(
        _ calibration: TrainingConfiguration.Calibration, config: TrainingConfiguration, rows: [LabeledPrompt],
        texts: [String], embeddings: Matrix, trainIndices: [Int], labels: [String], inScopeLabels: [String],
        base: CentroidArtifact, epochs: Int, kPerLabel: [String: Int],
        progress: @escaping @Sendable (TrainingProgress) -> Void
    ) throws -> (thresholds: [String: Double], fallback: Double, record: CalibrationRecord) {
        let labelSet = Set(labels)
        var perLabel: [String: Int] = [:]
        for index in trainIndices where labelSet.contains(rows[index].label) { perLabel[rows[index].label, default: 0] += 1 }
        if let (label, count) = perLabel.first(where: { $0.value < 2 }) {
            throw DatasetError(file: config.name, row: nil,
                               problem: "label \"\(label)\" has \(count) training row; cross-validated calibration needs at least 2 per label")
        }
        let folds = Self.folds(trainIndices, rows: rows, count: calibration.folds, seed: config.seed)
        var fixed = config
        fixed.refinement?.epochs = epochs
        var outOfFold: [(index: Int, score: CentroidClassifier.Score)] = []
        for (number, fold) in folds.enumerated() {
            progress(TrainingProgress(phase: "calibration", done: number, total: folds.count))
            let held = Set(fold)
            let fitRows = trainIndices.filter { !held.contains($0) }
            var vectors = embeddings
            var artifact = base
            if let settings = config.lexical {
                let learned = LexicalFeatures.fit(fitRows.map { texts[$0] }, weight: settings.weight, maxTerms: settings.maxTerms,
                                                  minDocumentFrequency: settings.minDocumentFrequency,
                                                  characterNGrams: settings.characterNGrams)
                artifact.lexical = learned
                vectors = try learned.augment(embeddings, texts: texts)
            }
            let fitted = try fit(fitRows.filter { labelSet.contains(rows[$0].label) }, rows: rows, vectors: vectors, labels: labels,
                                 config: fixed, validation: nil, fixedK: kPerLabel, progress: { _ in })
            artifact.centroids = fitted.centroids
            artifact.centroidLabels = fitted.owners
            artifact.linearMap = fitted.linearMap
            let scores = try CentroidClassifier(artifact: artifact)
                .score(routingVectors: CentroidRefiner.project(vectors.rows(fold), map: artifact.linearMap))
            outOfFold += zip(fold, scores).map { ($0, $1) }
        }
        progress(TrainingProgress(phase: "calibration", done: folds.count, total: folds.count))
        let scores = outOfFold.map(\.score)
        let truth = outOfFold.map { rows[$0.index].label }
        var best: (kind: ThresholdScore, thresholds: [String: Double], fallback: Double, accuracy: Double)?
        var candidates: [String: [String: Double]] = [:]
        for kind in calibration.score.map({ [$0] }) ?? ThresholdScore.allCases {
            let calibrator = ThresholdCalibration(targetPrecision: config.targetPrecision, abstainRecallTarget: config.abstainRecallTarget,
                                                  gate: kind, shrinkage: calibration.shrinkage)
            var (thresholds, fallback) = calibrator.calibrate(scores: scores, truth: truth, labels: inScopeLabels)
            thresholds = thresholds.mapValues { min(max($0, 0), 1) }
            fallback = min(max(fallback, 0), 1)
            // In-scope accuracy and abstain recall of these thresholds on the same out-of-fold scores.
            let gated = scores.map { score -> Bool in
                var s = score
                s.gate = kind
                s.threshold = thresholds[s.label] ?? fallback
                return s.abstains
            }
            let inScope = truth.indices.filter { truth[$0] != config.abstainLabel }
            let accuracy = Double(inScope.filter { !gated[$0] && scores[$0].label == truth[$0] }.count) / Double(max(1, inScope.count))
            var record = ["in_scope_accuracy": accuracy]
            let outside = truth.indices.filter { truth[$0] == config.abstainLabel }
            if !outside.isEmpty { record["abstain_recall"] = Double(outside.filter { gated[$0] }.count) / Double(outside.count) }
            candidates[kind.rawValue] = record
            if best == nil || accuracy > best!.accuracy { best = (kind, thresholds, fallback, accuracy) }
        }
        let chosen = best!
        return (chosen.thresholds, chosen.fallback,
                CalibrationRecord(folds: folds.count, shrinkage: calibration.shrinkage, score: chosen.kind, candidates: candidates))
    }

    /// `count` folds of `indices`: per label, whole groups dealt round-robin when the label has at least `count`
    /// groups, else its rows dealt round-robin; seeded.
    public static func folds(_ indices: [Int], rows: [LabeledPrompt], count: Int, seed: UInt64) -> [[Int]] {
        var generator = SeededGenerator(seed: seed &+ 0x5EED)
        var byLabel: [String: [Int]] = [:]
        for index in indices { byLabel[rows[index].label, default: []].append(index) }
        var folds = [[Int]](repeating: [], count: count)
        var next = 0
        for label in byLabel.keys.sorted() {
            let members = byLabel[label]!
            var groups: [String: [Int]] = [:]
            for index in members { if let g = rows[index].group { groups[g, default: []].append(index) } }
            if groups.count >= count, groups.values.reduce(0, { $0 + $1.count }) == members.count {
                var names = groups.keys.sorted()
                names.shuffle(using: &generator)
                for name in names {
                    folds[next % count] += groups[name]!
                    next += 1
                }
            } else {
                var shuffled = members
                shuffled.shuffle(using: &generator)
                for index in shuffled {
                    folds[next % count].append(index)
                    next += 1
                }
            }
        }
        return folds.filter { !$0.isEmpty }.map { $0.sorted() }
    }

    /// Centroids learned from some rows: the result of `fit`.
    struct FittedCentroids {
        var centroids: Matrix
        var owners: [Int]
        var kPerLabel: [String: Int]
        var linearMap: Matrix?
        var epochs: Int
        var bestEpoch: Int
    }

    /// Per-row loss weights: every label weighs the same; with group weighting, so does every group within a label.
    public static func rowWeights(_ indices: [Int], rows: [LabeledPrompt], weighting: TrainingConfiguration.Refinement.Weighting) -> [Float] {
        var unitSize: [String: Int] = [:]
        var labelUnits: [String: Set<String>] = [:]
        var labelSize: [String: Int] = [:]
        func unit(_ row: LabeledPrompt) -> String {
            weighting == .group ? row.label + "\u{1F}" + (row.group ?? "") : row.label
        }
        for index in indices {
            let row = rows[index]
            unitSize[unit(row), default: 0] += 1
            labelUnits[row.label, default: []].insert(unit(row))
            labelSize[row.label, default: 0] += 1
        }
        // A label's weight is split evenly over its units, a unit's evenly over its rows; the mean weight is 1.
        let labels = Float(labelUnits.count), n = Float(indices.count)
        return indices.map { index in
            let row = rows[index]
            return n / labels / Float(labelUnits[row.label]!.count) / Float(unitSize[unit(row)]!)
        }
    }

    /// k-means per label over `indices`, then the refinement if configured.
    func fit(
        _ indices: [Int], rows: [LabeledPrompt], vectors: Matrix, labels: [String], config: TrainingConfiguration,
        validation: (points: Matrix, labels: [Int])?, validationWeights: [Float]? = nil, fixedK: [String: Int]? = nil,
        progress: @escaping @Sendable (TrainingProgress) -> Void
    ) throws -> FittedCentroids {
        let labelIndex = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })
        progress(TrainingProgress(phase: "k-means", done: 0, total: labels.count))
        var centroidRows: [[Float]] = []
        var owners: [Int] = []
        var kPerLabel: [String: Int] = [:]
        for (l, label) in labels.enumerated() {
            let members = indices.filter { rows[$0].label == label }
            guard !members.isEmpty else {
                throw DatasetError(file: config.name, row: nil, problem: "label \"\(label)\" has no training rows after the validation split")
            }
            let points = vectors.rows(members)
            var perLabel = config
            if label == config.abstainLabel, let k = config.abstainK { perLabel.k = k }
            if let k = fixedK?[label] { perLabel.k = min(k, points.rows) }
            let result = try chooseClusters(points, config: perLabel, seed: config.seed &+ UInt64(l))
            kPerLabel[label] = result.centroids.rows
            centroidRows += result.centroids.rowVectors
            owners += Array(repeating: l, count: result.centroids.rows)
            progress(TrainingProgress(phase: "k-means", done: l + 1, total: labels.count))
        }
        var fitted = FittedCentroids(centroids: try Matrix(rowVectors: centroidRows), owners: owners, kPerLabel: kPerLabel,
                                     linearMap: nil, epochs: 0, bestEpoch: 0)
        guard let refinement = config.refinement else { return fitted }
        progress(TrainingProgress(phase: "refinement", done: 0, total: refinement.epochs))
        let refiner = CentroidRefiner(scale: refinement.scale, epochs: refinement.epochs,
                                      learningRate: refinement.learningRate, batchSize: refinement.batchSize, seed: config.seed,
                                      learnLinearMap: refinement.linearMap, acceptableWeight: refinement.acceptableWeight)
        // A row's acceptable labels: an alternative the label map names is mapped, one it does not name is taken as it
        // is (the shared sets' `ok` lists already name capabilities); alternatives that are not labels of this file
        // are dropped.
        let acceptable: [[Int]]? = refinement.acceptableWeight > 0
            ? indices.map { index in
                (rows[index].acceptable ?? []).compactMap { labelIndex[config.labelMap?[$0] ?? $0] }
            }
            : nil
        let result = try refiner.refine(
            points: vectors.rows(indices), labels: indices.map { labelIndex[rows[$0].label]! },
            centroids: fitted.centroids, owners: owners,
            weights: Self.rowWeights(indices, rows: rows, weighting: refinement.weighting), acceptable: acceptable,
            validation: validation,
            validationWeights: validation == nil ? nil : validationWeights)
        fitted.centroids = result.centroids
        fitted.linearMap = result.linearMap
        fitted.epochs = result.epochsRun
        fitted.bestEpoch = result.bestEpoch
        progress(TrainingProgress(phase: "refinement", done: refinement.epochs, total: refinement.epochs))
        return fitted
    }

    func chooseClusters(_ points: Matrix, config: TrainingConfiguration, seed: UInt64) throws -> KMeans.Result {
        if let k = config.k { return try KMeans(k: k, seed: seed).fit(points) }
        var best = try KMeans(k: 1, seed: seed).fit(points)
        guard config.maxK > 1, points.rows >= 8 else { return best }
        var bestScore = 0.05  // a split must beat a weak silhouette to replace one centroid
        for k in 2...min(config.maxK, points.rows / 4) {
            let candidate = try KMeans(k: k, seed: seed).fit(points)
            let score = try KMeans.silhouette(points, assignments: candidate.assignments, k: k)
            if score > bestScore {
                bestScore = score
                best = candidate
            }
        }
        return best
    }

    static func describeSplit(_ rows: [LabeledPrompt], _ validation: [Int], _ config: TrainingConfiguration) -> String {
        if let named = config.validationSplit {
            return "the \(validation.count) rows of split \(named), "
                + (config.calibration == nil ? "used by this run for early stopping and the thresholds only"
                                              : "never trained or calibrated on by this run")
        }
        let grouped = Set(validation.compactMap { rows[$0].group }).count
        return "\(validation.count) rows held out (\(Int(config.validationFraction * 100))% per label; whole groups for labels with 3+ groups: \(grouped) groups), seed \(config.seed)"
    }

    static func report(scores: [CentroidClassifier.Score], truth: [String], labels: [String], abstainLabel: String?,
                       split: String) -> ValidationReport {
        let inScope = truth.indices.filter { truth[$0] != abstainLabel }
        let raw = ClassificationMetrics(truth: inScope.map { truth[$0] }, predicted: inScope.map { scores[$0].label }, labels: labels)
        let thresholded = ClassificationMetrics(truth: inScope.map { truth[$0] },
                                                predicted: inScope.map { scores[$0].abstains ? nil : scores[$0].label }, labels: labels)
        var abstainRecall: Double?
        if let abstainLabel {
            let out = truth.indices.filter { truth[$0] == abstainLabel }
            if !out.isEmpty { abstainRecall = Double(out.filter { scores[$0].abstains }.count) / Double(out.count) }
        }
        return ValidationReport(
            rows: truth.count, accuracy: raw.accuracy, macroF1: raw.macroF1,
            inScopeAccuracyWithThresholds: thresholded.accuracy, coverage: thresholded.coverage,
            abstainRecall: abstainRecall, split: split,
            perLabel: raw.perLabel.filter { labels.contains($0.key) })
    }
}
