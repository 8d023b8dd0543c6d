import Crypto
import Foundation
import PointsmanInterfaces
import VectorMath

/// What to train and how: a config file in `training/` (JSON), or flags.
public struct TrainingConfiguration: Sendable, Codable, Equatable {
    /// Artifact name.
    public var name: String
    /// Data files (JSON Lines or CSV); relative paths are relative to the config file's folder.
    public var data: [String]
    public var textField: String
    public var labelField: String
    public var groupField: String
    /// Label → capability; labels missing from the map are an error. Nil: each label is its own capability.
    public var labelMap: [String: String]?
    /// The label that means "none of these" (never a centroid; its rows calibrate abstention).
    public var abstainLabel: String?
    /// Centroids per label; nil chooses per label by silhouette, up to `maxK`.
    public var k: Int?
    public var maxK: Int
    public var seed: UInt64
    /// Share of each label's rows held out for validation (whole groups where a label has three or more).
    public var validationFraction: Double
    /// Precision each label's threshold must reach on validation.
    public var targetPrecision: Double
    /// With an abstain label: the share of its validation rows the thresholds must reject.
    public var abstainRecallTarget: Double?
    /// With an abstain label: learn this many centroids for it too, so that prompts near them abstain outright.
    public var abstainK: Int?
    /// Cosine-softmax refinement; nil skips it (plain k-means centroids).
    public var refinement: Refinement?
    /// Embed only the head and tail of long prompts (stored in the artifact; routing applies it too).
    public var promptView: PromptView?
    /// English glosses for the encoder of prompts written in the glossaries' languages, in training and routing (the
    /// glossaries are copied into the artifact). Nil: every prompt is embedded as written.
    public var gloss: Gloss?

    /// Which glossaries to use and how (see `Glossary`, `GlossMode`).
    public struct Gloss: Sendable, Codable, Equatable {
        /// Glossary files (see `Glossary.load(from:)`); relative paths are relative to the config file's folder.
        public var files: [String]
        /// `blend` (the default) or `replace`.
        public var mode: GlossMode

        /// Settings for `files`, used in `mode`.
        public init(files: [String], mode: GlossMode = .blend) {
            self.files = files
            self.mode = mode
        }

        enum CodingKeys: String, CodingKey, CaseIterable { case files, mode }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            files = try c.decode([String].self, forKey: .files)
            mode = try c.decodeIfPresent(GlossMode.self, forKey: .mode) ?? .blend
        }

        /// Reads the glossary files: at most one per language.
        public func load() throws(DatasetError) -> GlossRecipe {
            var glossaries: [Glossary] = []
            for path in files {
                let glossary = try Glossary.load(from: path)
                if let other = glossaries.firstIndex(where: { $0.language == glossary.language }) {
                    throw DatasetError(file: path, row: nil, problem: "a second glossary for \(glossary.language) (the first is \(files[other]))")
                }
                glossaries.append(glossary)
            }
            return GlossRecipe(mode: mode, glossaries: glossaries)
        }
    }
    /// Lead-token pooling of the local encoder (0 or nil: plain sentence vectors). The embedder must be set up the
    /// same way; its fingerprint, stored in the artifact, records it, so routing uses it too.
    public var leadTokens: Int?
    /// A low-rank adapter file for the local encoder (see `docs/training.md`, "Encoder adapters"); relative paths are
    /// relative to the config file's folder. Like `leadTokens`, the embedder must be set up with it (the command line
    /// does this); the artifact's fingerprint records its sha256.
    public var encoderAdapter: String?
    /// After validation and threshold calibration, train the shipped centroids again on every row (validation rows
    /// included) with the same k per label and the epoch count that validation chose. The thresholds and the reported
    /// metrics stay those of the held-out run.
    public var finalFit: Bool
    /// Word features appended to the embeddings (see `LexicalFeatures`); nil: embeddings alone.
    public var lexical: Lexical?
    /// The rows whose `split` field has this value are the validation set (instead of a drawn split): never fitted on.
    /// With `calibration`, nothing but the report reads them; without it, they also drive early stopping and the
    /// thresholds. Cannot be combined with `final_fit`.
    public var validationSplit: String?
    /// Thresholds calibrated by cross-validation over the training rows instead of on the validation split.
    public var calibration: Calibration?
    /// Choose k, the word-feature weight and the softmax scale by grouped cross-validation over the training rows
    /// before fitting; nil: use the configuration's values as they are.
    public var search: Search?

    /// The recipe search: candidates are scored by out-of-fold macro-F1 (folds of whole groups where labels have
    /// enough of them), one dimension at a time: k first (at the first word weight and scale), then the scale, then
    /// the word weights (the costly ones), each around the best so far. Candidates not started within `seconds` are
    /// skipped and counted.
    public struct Search: Sendable, Codable, Equatable {
        /// Folds (2–10).
        public var folds: Int
        /// Centroids per label to try.
        public var k: [Int]
        /// Word-feature weights to try (0: embeddings alone).
        public var lexicalWeights: [Float]
        /// Softmax scales of the refinement to try.
        public var scales: [Float]
        /// Time for the search, after embedding; at least one candidate is always scored.
        public var seconds: Double
        /// The longest search allowed: a week.
        public static let maxSeconds: Double = 7 * 86_400

        public init(folds: Int = 3, k: [Int] = [1, 2], lexicalWeights: [Float] = [0, 0.5, 1], scales: [Float] = [20, 30],
                    seconds: Double = 120) {
            self.folds = folds
            self.k = k
            self.lexicalWeights = lexicalWeights
            self.scales = scales
            self.seconds = seconds
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case folds, k, lexicalWeights = "lexical_weights", scales, seconds
        }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let defaults = Search()
            folds = try c.decodeIfPresent(Int.self, forKey: .folds) ?? defaults.folds
            k = try c.decodeIfPresent([Int].self, forKey: .k) ?? defaults.k
            lexicalWeights = try c.decodeIfPresent([Float].self, forKey: .lexicalWeights) ?? defaults.lexicalWeights
            scales = try c.decodeIfPresent([Float].self, forKey: .scales) ?? defaults.scales
            seconds = try c.decodeIfPresent(Double.self, forKey: .seconds) ?? defaults.seconds
        }
    }

    /// Cross-validated threshold calibration: every training row is scored by centroids trained without its fold
    /// (whole groups per fold when the rows have enough groups), and thresholds are fitted on those scores.
    public struct Calibration: Sendable, Codable, Equatable {
        /// Folds (2–20).
        public var folds: Int
        /// Pull of each label's threshold towards the global one, in rows (0: none).
        public var shrinkage: Double
        /// The score thresholds apply to; nil: the candidate with the best out-of-fold in-scope accuracy.
        public var score: ThresholdScore?

        public init(folds: Int = 5, shrinkage: Double = 20, score: ThresholdScore? = nil) {
            self.folds = folds
            self.shrinkage = shrinkage
            self.score = score
        }

        enum CodingKeys: String, CodingKey, CaseIterable { case folds, shrinkage, score }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            folds = try c.decodeIfPresent(Int.self, forKey: .folds) ?? 5
            shrinkage = try c.decodeIfPresent(Double.self, forKey: .shrinkage) ?? 20
            let named = try c.decodeIfPresent(String.self, forKey: .score)
            if let named, named != "auto" {
                guard let kind = ThresholdScore(rawValue: named) else {
                    throw DecodingError.dataCorruptedError(forKey: .score, in: c,
                        debugDescription: "must be auto, confidence, cosine or margin")
                }
                score = kind
            } else {
                score = nil
            }
        }
    }

    /// How to learn the word features.
    public struct Lexical: Sendable, Codable, Equatable {
        /// The term vector's weight against the unit embedding.
        public var weight: Float
        /// Largest vocabulary (the most frequent terms).
        public var maxTerms: Int
        /// Fewest training rows a term must occur in.
        public var minDocumentFrequency: Int
        /// Lengths of the character n-grams taken from each word (empty: none).
        public var characterNGrams: [Int]

        public init(weight: Float = 1, maxTerms: Int = 4096, minDocumentFrequency: Int = 2, characterNGrams: [Int] = []) {
            self.weight = weight
            self.maxTerms = maxTerms
            self.minDocumentFrequency = minDocumentFrequency
            self.characterNGrams = characterNGrams
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case weight, maxTerms = "max_terms", minDocumentFrequency = "min_df", characterNGrams = "char_ngrams"
        }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            weight = try c.decodeIfPresent(Float.self, forKey: .weight) ?? 1
            maxTerms = try c.decodeIfPresent(Int.self, forKey: .maxTerms) ?? 4096
            minDocumentFrequency = try c.decodeIfPresent(Int.self, forKey: .minDocumentFrequency) ?? 2
            characterNGrams = try c.decodeIfPresent([Int].self, forKey: .characterNGrams) ?? []
        }
    }

    public struct Refinement: Sendable, Codable, Equatable {
        public var scale: Float
        public var epochs: Int
        public var learningRate: Float
        public var batchSize: Int
        /// Learn a linear map of the prompt vectors too.
        public var linearMap: Bool
        /// How rows weigh in the loss.
        public var weighting: Weighting
        /// Share of the loss of a row with an `ok` list that asks only for one of its acceptable labels (its label or
        /// an alternative), in [0, 1]; 0 (the default) trains on the labels alone.
        public var acceptableWeight: Float

        /// Row weights in the refinement loss.
        public enum Weighting: String, Sendable, Codable, Equatable {
            /// Every label weighs the same, however many rows it has.
            case label
            /// Every label weighs the same, and within a label every `group` (source, template, style) weighs the same,
            /// so 400 rows of one benchmark template do not outvote ten differently written prompts. Rows without a
            /// group share one group per label.
            case group
        }

        public init(scale: Float = 20, epochs: Int = 30, learningRate: Float = 0.01, batchSize: Int = 512, linearMap: Bool = false,
                    weighting: Weighting = .label, acceptableWeight: Float = 0) {
            self.acceptableWeight = acceptableWeight
            self.linearMap = linearMap
            self.weighting = weighting
            self.scale = scale
            self.epochs = epochs
            self.learningRate = learningRate
            self.batchSize = batchSize
        }

        enum CodingKeys: String, CodingKey {
            case scale, epochs, learningRate = "learning_rate", batchSize = "batch_size", linearMap = "linear_map", weighting,
                 acceptableWeight = "acceptable_weight"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            scale = try c.decodeIfPresent(Float.self, forKey: .scale) ?? 20
            epochs = try c.decodeIfPresent(Int.self, forKey: .epochs) ?? 30
            learningRate = try c.decodeIfPresent(Float.self, forKey: .learningRate) ?? 0.01
            batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? 512
            linearMap = try c.decodeIfPresent(Bool.self, forKey: .linearMap) ?? false
            weighting = try c.decodeIfPresent(Weighting.self, forKey: .weighting) ?? .label
            acceptableWeight = try c.decodeIfPresent(Float.self, forKey: .acceptableWeight) ?? 0
        }
    }

    public init(
        name: String, data: [String], textField: String = "text", labelField: String = "label",
        groupField: String = "group", labelMap: [String: String]? = nil, abstainLabel: String? = nil, k: Int? = nil,
        maxK: Int = 1, seed: UInt64 = 7, validationFraction: Double = 0.2, targetPrecision: Double = 0.9,
        abstainRecallTarget: Double? = nil, abstainK: Int? = nil, refinement: Refinement? = Refinement(), finalFit: Bool = false
    ) {
        self.finalFit = finalFit
        self.abstainK = abstainK
        self.name = name
        self.data = data
        self.textField = textField
        self.labelField = labelField
        self.groupField = groupField
        self.labelMap = labelMap
        self.abstainLabel = abstainLabel
        self.k = k
        self.maxK = maxK
        self.seed = seed
        self.validationFraction = validationFraction
        self.targetPrecision = targetPrecision
        self.abstainRecallTarget = abstainRecallTarget
        self.refinement = refinement
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, data, textField = "text_field", labelField = "label_field", groupField = "group_field"
        case labelMap = "label_map", abstainLabel = "abstain_label", k, maxK = "max_k", seed
        case validationFraction = "validation_fraction", targetPrecision = "target_precision"
        case abstainRecallTarget = "abstain_recall_target", abstainK = "abstain_k", refinement, promptView = "prompt_view"
        case finalFit = "final_fit", leadTokens = "lead_tokens", encoderAdapter = "encoder_adapter", lexical
        case validationSplit = "validation_split", calibration, search, gloss
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        data = try c.decode([String].self, forKey: .data)
        textField = try c.decodeIfPresent(String.self, forKey: .textField) ?? "text"
        labelField = try c.decodeIfPresent(String.self, forKey: .labelField) ?? "label"
        groupField = try c.decodeIfPresent(String.self, forKey: .groupField) ?? "group"
        labelMap = try c.decodeIfPresent([String: String].self, forKey: .labelMap)
        abstainLabel = try c.decodeIfPresent(String.self, forKey: .abstainLabel)
        k = try c.decodeIfPresent(Int.self, forKey: .k)
        maxK = try c.decodeIfPresent(Int.self, forKey: .maxK) ?? 1
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? 7
        validationFraction = try c.decodeIfPresent(Double.self, forKey: .validationFraction) ?? 0.2
        targetPrecision = try c.decodeIfPresent(Double.self, forKey: .targetPrecision) ?? 0.9
        abstainRecallTarget = try c.decodeIfPresent(Double.self, forKey: .abstainRecallTarget)
        abstainK = try c.decodeIfPresent(Int.self, forKey: .abstainK)
        promptView = try c.decodeIfPresent(PromptView.self, forKey: .promptView)
        finalFit = try c.decodeIfPresent(Bool.self, forKey: .finalFit) ?? false
        leadTokens = try c.decodeIfPresent(Int.self, forKey: .leadTokens)
        encoderAdapter = try c.decodeIfPresent(String.self, forKey: .encoderAdapter)
        lexical = try c.decodeIfPresent(Lexical.self, forKey: .lexical)
        validationSplit = try c.decodeIfPresent(String.self, forKey: .validationSplit)
        calibration = try c.decodeIfPresent(Calibration.self, forKey: .calibration)
        search = try c.decodeIfPresent(Search.self, forKey: .search)
        gloss = try c.decodeIfPresent(Gloss.self, forKey: .gloss)
        refinement = c.contains(.refinement) ? try c.decodeIfPresent(Refinement.self, forKey: .refinement) : Refinement()
    }

    /// Reads a config file; data paths become relative to its folder.
    public static func load(from path: String) throws(DatasetError) -> TrainingConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DatasetError(file: path, row: nil, problem: "cannot read the config file")
        }
        do {
            var config = try JSONDecoder().decode(TrainingConfiguration.self, from: data)
            let folder = (path as NSString).deletingLastPathComponent
            config.data = config.data.map { $0.hasPrefix("/") ? $0 : (folder as NSString).appendingPathComponent($0) }
            config.encoderAdapter = config.encoderAdapter.map {
                $0.isEmpty || $0.hasPrefix("/") ? $0 : (folder as NSString).appendingPathComponent($0)
            }
            if var gloss = config.gloss {
                gloss.files = gloss.files.map { $0.hasPrefix("/") ? $0 : (folder as NSString).appendingPathComponent($0) }
                config.gloss = gloss
            }
            return config
        } catch {
            let (field, problem) = DecodingDiagnostics.describe(error)
            throw DatasetError(file: path, row: nil, problem: field.isEmpty ? problem : "\(field): \(problem)")
        }
    }

    /// Checks the numbers.
    public func validate() throws(DatasetError) {
        func fail(_ problem: String) -> DatasetError { DatasetError(file: name, row: nil, problem: problem) }
        guard !data.isEmpty else { throw fail("no data files") }
        if let gloss, gloss.files.isEmpty { throw fail("gloss.files must list at least one glossary file (or leave gloss out)") }
        if let k, k < 1 { throw fail("k must be at least 1") }
        guard maxK >= 1 else { throw fail("max_k must be at least 1") }
        if let leadTokens, leadTokens < 0 { throw fail("lead_tokens must be at least 0") }
        if let encoderAdapter, encoderAdapter.isEmpty { throw fail("encoder_adapter must name a file (or leave it out)") }
        guard validationFraction > 0, validationFraction < 1 else { throw fail("validation_fraction must be in (0, 1)") }
        guard targetPrecision > 0, targetPrecision <= 1 else { throw fail("target_precision must be in (0, 1]") }
        if let r = abstainRecallTarget, !(0...1).contains(r) { throw fail("abstain_recall_target must be in [0, 1]") }
        if validationSplit != nil, finalFit { throw fail("validation_split and final_fit cannot be combined: the named split would be trained on") }
        if let refinement {
            guard refinement.acceptableWeight.isFinite, (0...1).contains(refinement.acceptableWeight) else {
                throw fail("refinement.acceptable_weight must be between 0 and 1")
            }
        }
        if let calibration {
            guard (2...20).contains(calibration.folds) else { throw fail("calibration.folds must be between 2 and 20") }
            guard calibration.shrinkage >= 0, calibration.shrinkage.isFinite else { throw fail("calibration.shrinkage must be 0 or more") }
        }
        if let search {
            guard (2...10).contains(search.folds) else { throw fail("search.folds must be between 2 and 10") }
            guard !search.k.isEmpty, search.k.allSatisfy({ $0 >= 1 }) else { throw fail("search.k must list numbers of 1 or more") }
            guard !search.lexicalWeights.isEmpty, search.lexicalWeights.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
                throw fail("search.lexical_weights must list numbers of 0 or more")
            }
            guard !search.scales.isEmpty, search.scales.allSatisfy({ $0.isFinite && $0 > 0 }) else {
                throw fail("search.scales must list positive numbers")
            }
            guard search.seconds > 0, search.seconds <= Search.maxSeconds else {
                throw fail("search.seconds must be a positive number of at most \(Int(Search.maxSeconds)) (a week)")
            }
            if refinement?.linearMap == true, search.lexicalWeights.contains(where: { $0 > 0 }) {
                throw fail("search.lexical_weights above 0 and refinement.linear_map cannot be combined")
            }
        }
        if let lexical {
            guard lexical.weight.isFinite, lexical.weight > 0 else { throw fail("lexical.weight must be a positive number") }
            guard lexical.maxTerms >= 1 else { throw fail("lexical.max_terms must be at least 1") }
            guard lexical.minDocumentFrequency >= 1 else { throw fail("lexical.min_df must be at least 1") }
            guard lexical.characterNGrams.allSatisfy({ (1...8).contains($0) }) else {
                throw fail("lexical.char_ngrams must list lengths from 1 to 8")
            }
            if refinement?.linearMap == true { throw fail("lexical features and refinement.linear_map cannot be combined") }
        }
    }
}
