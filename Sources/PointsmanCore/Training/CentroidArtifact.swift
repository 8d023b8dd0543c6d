import Foundation
import PointsmanInterfaces
import VectorMath

/// Per-label and overall quality on a validation split.
public struct ValidationReport: Sendable, Codable, Equatable {
    public struct LabelMetrics: Sendable, Codable, Equatable {
        public var precision: Double
        public var recall: Double
        public var f1: Double
        public var support: Int

        public init(precision: Double, recall: Double, f1: Double, support: Int) {
            self.precision = precision
            self.recall = recall
            self.f1 = f1
            self.support = support
        }
    }

    /// Validation rows (abstain-label rows included).
    public var rows: Int
    /// Top-1 accuracy over rows with a trained label, no abstention.
    public var accuracy: Double
    /// Macro-F1 over trained labels, no abstention.
    public var macroF1: Double
    /// Accuracy on in-scope rows with the shipped thresholds (abstaining counts as an error).
    public var inScopeAccuracyWithThresholds: Double
    /// Share of in-scope rows not abstained.
    public var coverage: Double
    /// Share of abstain-label rows abstained (nil without an abstain label).
    public var abstainRecall: Double?
    /// How the split was made.
    public var split: String
    public var perLabel: [String: LabelMetrics]

    enum CodingKeys: String, CodingKey {
        case rows, accuracy, macroF1 = "macro_f1", inScopeAccuracyWithThresholds = "in_scope_accuracy_with_thresholds"
        case coverage, abstainRecall = "abstain_recall", split, perLabel = "per_label"
    }
}

/// Which of a decision's scores the thresholds apply to.
public enum ThresholdScore: String, Sendable, Codable, CaseIterable {
    /// The winning label's share of the softmax mass (the default).
    case confidence
    /// The winning label's best cosine.
    case cosine
    /// The winner's best cosine minus the runner-up label's.
    case margin
}

/// How thresholds were calibrated by cross-validation, when they were (`calibration` in the training config).
public struct CalibrationRecord: Sendable, Codable, Equatable {
    /// Folds of the training rows; every training row was scored by centroids that never saw it.
    public var folds: Int
    /// Pull of a label's own threshold towards the global one, in rows.
    public var shrinkage: Double
    /// The score the thresholds apply to.
    public var score: ThresholdScore
    /// Per candidate score, on the out-of-fold scores with its thresholds: in-scope accuracy and abstain recall.
    public var candidates: [String: [String: Double]]

    public init(folds: Int, shrinkage: Double, score: ThresholdScore, candidates: [String: [String: Double]]) {
        self.folds = folds
        self.shrinkage = shrinkage
        self.score = score
        self.candidates = candidates
    }
}

/// The recipe search's result: every candidate scored, the one chosen.
public struct SearchRecord: Sendable, Codable, Equatable {
    /// One recipe and its out-of-fold scores.
    public struct Candidate: Sendable, Codable, Equatable {
        public var k: Int
        public var lexicalWeight: Float
        public var scale: Float
        public var accuracy: Double
        public var macroF1: Double
        public var seconds: Double

        public init(k: Int, lexicalWeight: Float, scale: Float, accuracy: Double, macroF1: Double, seconds: Double) {
            self.k = k
            self.lexicalWeight = lexicalWeight
            self.scale = scale
            self.accuracy = accuracy
            self.macroF1 = macroF1
            self.seconds = seconds
        }

        enum CodingKeys: String, CodingKey {
            case k, lexicalWeight = "lexical_weight", scale, accuracy, macroF1 = "macro_f1", seconds
        }
    }

    /// Folds of the training rows (whole groups per label where a label has enough groups).
    public var folds: Int
    /// Candidates in the order they were scored.
    public var candidates: [Candidate]
    /// The candidate with the best out-of-fold macro-F1 (the first of equals).
    public var chosen: Candidate
    /// Candidates not scored because they would not have ended within the search's time.
    public var skipped: Int
    public var seconds: Double

    public init(folds: Int, candidates: [Candidate], chosen: Candidate, skipped: Int, seconds: Double) {
        self.folds = folds
        self.candidates = candidates
        self.chosen = chosen
        self.skipped = skipped
        self.seconds = seconds
    }
}

/// How the centroids were made.
public struct TrainingRecord: Sendable, Codable, Equatable {
    public var files: [String]
    /// sha256 over the training rows (text, label) in order.
    public var dataHash: String
    public var trainRows: Int
    public var seed: UInt64
    public var created: String
    public var refinementEpochs: Int
    public var seconds: Double
    /// True when the centroids were trained again on every row after validation (`final_fit`); absent otherwise.
    public var finalFit: Bool?
    /// The cross-validated threshold calibration, when the config asked for one.
    public var calibration: CalibrationRecord?
    /// The recipe search, when one chose k, the word weight and the scale.
    public var search: SearchRecord?
    /// Why a search the configuration asked for did not run.
    public var searchNote: String?

    public init(files: [String], dataHash: String, trainRows: Int, seed: UInt64, created: String, refinementEpochs: Int, seconds: Double) {
        self.files = files
        self.dataHash = dataHash
        self.trainRows = trainRows
        self.seed = seed
        self.created = created
        self.refinementEpochs = refinementEpochs
        self.seconds = seconds
    }

    enum CodingKeys: String, CodingKey {
        case files, dataHash = "data_hash", trainRows = "train_rows", seed, created
        case refinementEpochs = "refinement_epochs", seconds, finalFit = "final_fit", calibration, search, searchNote = "search_note"
    }
}

/// The centroid file: everything needed to route by cosine against trained centroids, and to check that the vectors
/// being compared come from the same embedder.
public struct CentroidArtifact: Sendable, Codable, Equatable {
    public static let format = "pointsman-centroids"
    /// The newest version this build writes: 4 for a file trained on an adapted encoder, 3 for a file with glosses,
    /// 2 when the thresholds gate something other than the confidence (older builds then refuse the file instead of
    /// misreading it), else 1.
    public static let currentVersion = 4
    /// The versions this build reads.
    public static let readableVersions = 1...4

    /// Where the encoder adapter the embedder names lies, relative to the centroid file's folder (or absolute), so
    /// that routing can load it without being told; nil when the file was trained without one.
    public var adapterFile: String?
    public var format: String
    public var version: Int
    public var name: String
    public var embedder: EmbedderFingerprint
    /// Labels, index = label id.
    public var labels: [String]
    /// Label → capability.
    public var capabilities: [String: String]
    /// Owner label id of each centroid row.
    public var centroidLabels: [Int]
    /// Unit centroids, `[centroidLabels.count × (embedder.dimension + lexical terms)]`.
    public var centroids: Matrix
    /// Optional learned map applied to prompt vectors before the cosine (`normalize(W x)`), `[d × d]`.
    public var linearMap: Matrix?
    /// The part of each prompt that is embedded (nil: the whole prompt).
    public var promptView: PromptView?
    /// Word features appended to the embedding (nil: the embedding alone).
    public var lexical: LexicalFeatures?
    /// English glosses for prompts written in the glossaries' languages (nil: every prompt embedded as written).
    public var gloss: GlossRecipe?
    /// Softmax scale used for confidences.
    public var scale: Float
    /// The value of `thresholdScore` below which the detector abstains, per label.
    public var thresholds: [String: Double]
    /// For labels without their own threshold.
    public var defaultThreshold: Double
    /// The score the thresholds apply to (absent in files before it existed: the confidence).
    public var thresholdScore: ThresholdScore = .confidence
    /// Centroids per label.
    public var k: [String: Int]
    /// The label trained as "none of these" (e.g. CLINC150's `oos`), if any: never a centroid, only abstention.
    public var abstainLabel: String?
    public var training: TrainingRecord
    public var validation: ValidationReport?

    enum CodingKeys: String, CodingKey {
        case format, version, name, embedder, labels, capabilities, centroidLabels = "centroid_labels", centroids
        case linearMap = "linear_map", promptView = "prompt_view", lexical, scale, thresholds, defaultThreshold = "default_threshold", k, abstainLabel = "abstain_label", training
        case gloss
        case thresholdScore = "threshold_score"
        case validation
    }

    enum FingerprintKeys: String, CodingKey {
        case model, dimension, normalized, weightsHash = "weights_hash", endpoint, leadTokens = "lead_tokens", adapter
        case adapterFile = "adapter_file"
    }
    enum MatrixKeys: String, CodingKey { case dtype, shape, data }

    public init(
        name: String, embedder: EmbedderFingerprint, labels: [String], capabilities: [String: String],
        centroidLabels: [Int], centroids: Matrix, scale: Float, thresholds: [String: Double], defaultThreshold: Double,
        k: [String: Int], abstainLabel: String?, training: TrainingRecord, validation: ValidationReport?
    ) {
        format = Self.format
        version = 1
        self.name = name
        self.embedder = embedder
        self.labels = labels
        self.capabilities = capabilities
        self.centroidLabels = centroidLabels
        self.centroids = centroids
        self.scale = scale
        self.thresholds = thresholds
        self.defaultThreshold = defaultThreshold
        self.k = k
        self.abstainLabel = abstainLabel
        self.training = training
        self.validation = validation
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        format = try c.decode(String.self, forKey: .format)
        version = try c.decode(Int.self, forKey: .version)
        name = try c.decode(String.self, forKey: .name)
        let e = try c.nestedContainer(keyedBy: FingerprintKeys.self, forKey: .embedder)
        embedder = EmbedderFingerprint(
            model: try e.decode(String.self, forKey: .model), dimension: try e.decode(Int.self, forKey: .dimension),
            normalized: try e.decode(Bool.self, forKey: .normalized),
            weightsHash: try e.decodeIfPresent(String.self, forKey: .weightsHash),
            endpoint: try e.decodeIfPresent(String.self, forKey: .endpoint),
            leadTokens: try e.decodeIfPresent(Int.self, forKey: .leadTokens),
            adapter: try e.decodeIfPresent(String.self, forKey: .adapter))
        adapterFile = try e.decodeIfPresent(String.self, forKey: .adapterFile)
        labels = try c.decode([String].self, forKey: .labels)
        capabilities = try c.decode([String: String].self, forKey: .capabilities)
        centroidLabels = try c.decode([Int].self, forKey: .centroidLabels)
        centroids = try Self.decodeMatrix(c.nestedContainer(keyedBy: MatrixKeys.self, forKey: .centroids))
        if c.contains(.linearMap), try !c.decodeNil(forKey: .linearMap) {
            linearMap = try Self.decodeMatrix(c.nestedContainer(keyedBy: MatrixKeys.self, forKey: .linearMap))
        }
        promptView = try c.decodeIfPresent(PromptView.self, forKey: .promptView)
        lexical = try c.decodeIfPresent(LexicalFeatures.self, forKey: .lexical)
        gloss = try c.decodeIfPresent(GlossRecipe.self, forKey: .gloss)
        scale = try c.decode(Float.self, forKey: .scale)
        thresholds = try c.decode([String: Double].self, forKey: .thresholds)
        defaultThreshold = try c.decode(Double.self, forKey: .defaultThreshold)
        thresholdScore = try c.decodeIfPresent(ThresholdScore.self, forKey: .thresholdScore) ?? .confidence
        k = try c.decode([String: Int].self, forKey: .k)
        abstainLabel = try c.decodeIfPresent(String.self, forKey: .abstainLabel)
        training = try c.decode(TrainingRecord.self, forKey: .training)
        validation = try c.decodeIfPresent(ValidationReport.self, forKey: .validation)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(format, forKey: .format)
        // Version 1 readers know only confidence-gated thresholds; version 2 readers do not know glosses; version 3
        // readers do not know encoder adapters (and would compare the file with a plain encoder's vectors).
        try c.encode(writtenVersion, forKey: .version)
        try c.encode(name, forKey: .name)
        var e = c.nestedContainer(keyedBy: FingerprintKeys.self, forKey: .embedder)
        try e.encode(embedder.model, forKey: .model)
        try e.encode(embedder.dimension, forKey: .dimension)
        try e.encode(embedder.normalized, forKey: .normalized)
        try e.encode(embedder.weightsHash, forKey: .weightsHash)
        try e.encode(embedder.endpoint, forKey: .endpoint)
        try e.encodeIfPresent(embedder.leadTokens, forKey: .leadTokens)
        try e.encodeIfPresent(embedder.adapter, forKey: .adapter)
        try e.encodeIfPresent(adapterFile, forKey: .adapterFile)
        try c.encode(labels, forKey: .labels)
        try c.encode(capabilities, forKey: .capabilities)
        try c.encode(centroidLabels, forKey: .centroidLabels)
        var m = c.nestedContainer(keyedBy: MatrixKeys.self, forKey: .centroids)
        try Self.encodeMatrix(centroids, into: &m)
        if let linearMap {
            var lm = c.nestedContainer(keyedBy: MatrixKeys.self, forKey: .linearMap)
            try Self.encodeMatrix(linearMap, into: &lm)
        } else {
            try c.encodeNil(forKey: .linearMap)
        }
        try c.encode(promptView, forKey: .promptView)
        try c.encodeIfPresent(lexical, forKey: .lexical)
        try c.encodeIfPresent(gloss, forKey: .gloss)
        try c.encode(scale, forKey: .scale)
        try c.encode(thresholds, forKey: .thresholds)
        try c.encode(defaultThreshold, forKey: .defaultThreshold)
        if thresholdScore != .confidence { try c.encode(thresholdScore, forKey: .thresholdScore) }
        try c.encode(k, forKey: .k)
        try c.encode(abstainLabel, forKey: .abstainLabel)
        try c.encode(training, forKey: .training)
        try c.encode(validation, forKey: .validation)
    }

    static func decodeMatrix(_ m: KeyedDecodingContainer<MatrixKeys>) throws -> Matrix {
        let dtype = try m.decode(String.self, forKey: .dtype)
        guard dtype == "float32" else {
            throw DecodingError.dataCorruptedError(forKey: .dtype, in: m, debugDescription: "dtype \(dtype) is not float32")
        }
        let shape = try m.decode([Int].self, forKey: .shape)
        guard shape.count == 2, shape.allSatisfy({ $0 >= 0 }) else {
            throw DecodingError.dataCorruptedError(forKey: .shape, in: m, debugDescription: "shape \(shape) is not [rows, columns]")
        }
        guard let bytes = Data(base64Encoded: try m.decode(String.self, forKey: .data)), bytes.count == shape[0] * shape[1] * 4 else {
            throw DecodingError.dataCorruptedError(forKey: .data, in: m, debugDescription: "data is not base64 float32 of shape \(shape)")
        }
        return try Matrix(rows: shape[0], cols: shape[1], values: LittleEndianFloats.values(bytes))
    }

    static func encodeMatrix(_ matrix: Matrix, into m: inout KeyedEncodingContainer<MatrixKeys>) throws {
        try m.encode("float32", forKey: .dtype)
        try m.encode([matrix.rows, matrix.cols], forKey: .shape)
        try m.encode(Data(LittleEndianFloats.bytes(matrix.values)).base64EncodedString(), forKey: .data)
    }

    /// The version written: the lowest that can read everything the file holds (2 for thresholds on another score
    /// than the confidence, 3 for glosses, 4 for an adapted encoder).
    var writtenVersion: Int {
        if embedder.adapter != nil { return max(version, 4) }
        if gloss != nil { return max(version, 3) }
        return thresholdScore == .confidence ? version : max(version, 2)
    }

    /// Checks meaning beyond shape: version, dimensions, finite values, label references, thresholds, glosses.
    public func validate(file: String) throws(CentroidFileError) {
        func fail(_ problem: String) -> CentroidFileError { CentroidFileError(file: file, problem: problem) }
        guard format == Self.format else { throw fail("format \"\(format)\" is not \(Self.format)") }
        guard Self.readableVersions.contains(version) else {
            throw fail("unknown version \(version) (this build reads versions \(Self.readableVersions.lowerBound)–\(Self.readableVersions.upperBound))")
        }
        guard version >= 2 || thresholdScore == .confidence else {
            throw fail("threshold_score \(thresholdScore.rawValue) needs version 2")
        }
        guard version >= 3 || gloss == nil else { throw fail("gloss needs version 3") }
        guard version >= 4 || embedder.adapter == nil else { throw fail("an encoder adapter needs version 4") }
        guard adapterFile == nil || embedder.adapter != nil else {
            throw fail("embedder.adapter_file without embedder.adapter (the adapter's sha256)")
        }
        if let adapterFile, adapterFile.isEmpty { throw fail("embedder.adapter_file is empty") }
        if let gloss {
            guard !gloss.glossaries.isEmpty else { throw fail("gloss has no glossaries") }
            let languages = gloss.glossaries.map(\.language)
            guard Set(languages).count == languages.count else {
                throw fail("gloss has two glossaries for one language (\(languages.joined(separator: ", ")))")
            }
            for glossary in gloss.glossaries {
                guard LanguageDetector.codes.contains(glossary.language), !["en", "und"].contains(glossary.language) else {
                    throw fail("gloss: \(glossary.language) is not a non-English language code the detector returns")
                }
                guard !glossary.entries.isEmpty else { throw fail("gloss: the \(glossary.language) glossary has no entries") }
            }
        }
        guard embedder.dimension > 0 else { throw fail("embedder dimension must be positive") }
        if let lead = embedder.leadTokens, lead < 1 { throw fail("embedder lead_tokens must be at least 1 when present, got \(lead)") }
        if let lexical {
            guard !lexical.terms.isEmpty, Set(lexical.terms).count == lexical.terms.count else {
                throw fail("lexical terms are empty or repeated")
            }
            guard lexical.idf.count == lexical.terms.count else {
                throw fail("lexical idf has \(lexical.idf.count) values for \(lexical.terms.count) terms")
            }
            guard lexical.idf.allSatisfy({ $0.isFinite && $0 > 0 }) else { throw fail("lexical idf values must be positive numbers") }
            guard lexical.weight.isFinite, lexical.weight > 0 else { throw fail("lexical weight must be a positive number") }
            guard linearMap == nil else { throw fail("a linear map and lexical features cannot be combined") }
            guard lexical.characterNGrams.allSatisfy({ (1...8).contains($0) }) else {
                throw fail("lexical char_ngrams must list lengths from 1 to 8")
            }
        }
        let expected = embedder.dimension + (lexical?.terms.count ?? 0)
        guard centroids.cols == expected else {
            throw fail(lexical == nil
                ? "centroids have \(centroids.cols) columns but the embedder's dimension is \(embedder.dimension)"
                : "centroids have \(centroids.cols) columns, expected \(expected) (dimension \(embedder.dimension) + \(lexical!.terms.count) lexical terms)")
        }
        guard centroids.rows > 0, centroids.rows == centroidLabels.count else {
            throw fail("\(centroids.rows) centroids but \(centroidLabels.count) centroid labels")
        }
        guard centroids.isFinite else { throw fail("centroids contain NaN or infinity") }
        if let linearMap {
            guard linearMap.rows == embedder.dimension, linearMap.cols == embedder.dimension else {
                throw fail("linear map is \(linearMap.rows)x\(linearMap.cols), expected \(embedder.dimension)x\(embedder.dimension)")
            }
            guard linearMap.isFinite else { throw fail("linear map contains NaN or infinity") }
        }
        guard Set(labels).count == labels.count, !labels.isEmpty else { throw fail("labels are empty or repeated") }
        if let bad = centroidLabels.first(where: { $0 < 0 || $0 >= labels.count }) {
            throw fail("centroid label \(bad) is outside 0..<\(labels.count)")
        }
        if let missing = labels.first(where: { capabilities[$0] == nil }) {
            throw fail("label \"\(missing)\" has no capability")
        }
        guard scale.isFinite, scale > 0 else { throw fail("scale must be a positive number") }
        for (label, t) in thresholds where !(0...1).contains(t) || !t.isFinite {
            throw fail("threshold of \"\(label)\" is \(t), outside 0...1")
        }
        guard (0...1).contains(defaultThreshold) else { throw fail("default threshold \(defaultThreshold) is outside 0...1") }
    }

    /// Reads and validates a centroid file.
    public static func load(from path: String) throws(CentroidFileError) -> CentroidArtifact {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CentroidFileError(file: path, problem: "cannot read the file (missing or unreadable)")
        }
        let artifact: CentroidArtifact
        do { artifact = try JSONDecoder().decode(CentroidArtifact.self, from: data) } catch {
            let (field, problem) = DecodingDiagnostics.describe(error)
            throw CentroidFileError(file: path, problem: field.isEmpty ? problem : "\(field): \(problem)")
        }
        try artifact.validate(file: path)
        return artifact
    }

    /// The adapter file a centroid file names (`embedder.adapter_file`), resolved against the file's folder; nil when
    /// it names none or cannot be read (loading the file later reports why). Decodes only the `embedder` section's
    /// field, though the JSON parser still reads the whole file.
    public static func resolvedAdapterPath(ofCentroidFile path: String) -> String? {
        struct Peek: Decodable {
            struct Embedder: Decodable { var adapter_file: String? }
            var embedder: Embedder
        }
        guard let data = FileManager.default.contents(atPath: path),
              let file = (try? JSONDecoder().decode(Peek.self, from: data))?.embedder.adapter_file, !file.isEmpty
        else { return nil }
        return file.hasPrefix("/") ? file : ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent(file)
    }

    /// Writes the file (pretty JSON, stable key order), atomically.
    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(self).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    private static func adapterHint(trained: String?) -> String {
        trained.map { " (this file needs the encoder adapter whose sha256 is \($0); the native encoder must be loaded with that file: the one the centroid file names in adapter_file, --encoder-adapter or POINTSMAN_ENCODER_ADAPTER; a running service needs a restart)" }
            ?? " (this file was trained without an encoder adapter: load the native encoder without one)"
    }

    /// Refuses vectors of another embedder.
    public func checkCompatible(with active: EmbedderFingerprint, file: String) throws(CentroidFileError) {
        guard embedder.isCompatible(with: active) else {
            throw CentroidFileError(file: file, problem:
                "trained with \(embedder) but the active embedder is \(active); vectors of different models or poolings are not comparable: retrain with `pointsman train` or use the matching embedder"
                    + (embedder.adapter != active.adapter ? Self.adapterHint(trained: embedder.adapter) : ""))
        }
    }
}

/// A centroid file that cannot be used.
public struct CentroidFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var problem: String

    public init(file: String, problem: String) {
        self.file = file
        self.problem = problem
    }

    public var description: String { "\(file): \(problem)" }
}
