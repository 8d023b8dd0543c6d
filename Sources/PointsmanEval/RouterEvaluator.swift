import Foundation
import PointsmanCore
import PointsmanInterfaces
import VectorMath

/// A router under evaluation: a name and its detector. `timedDetector` is the same detector with an uncached
/// embedder, for end-to-end latency; nil when there is no embedding step.
public struct NamedDetector: Sendable {
    public var name: String
    public var detector: any IntentDetector
    public var timedDetector: (any IntentDetector)?

    public init(name: String, detector: any IntentDetector, timedDetector: (any IntentDetector)? = nil) {
        self.name = name
        self.detector = detector
        self.timedDetector = timedDetector
    }
}

/// Runs several routers over the same labeled prompts and compares them.
public struct RouterEvaluator: Sendable {
    public var catalog: Catalog
    /// Tokens of a prompt (the native tokenizer's count, or an estimate).
    public var tokenCount: @Sendable (String) -> Int
    public var assumedCompletionTokens: Int
    /// Prompts timed one by one for latency.
    public var latencySample: Int

    public init(catalog: Catalog, tokenCount: @escaping @Sendable (String) -> Int, assumedCompletionTokens: Int = 200, latencySample: Int = 100) {
        self.catalog = catalog
        self.tokenCount = tokenCount
        self.assumedCompletionTokens = assumedCompletionTokens
        self.latencySample = latencySample
    }

    public func evaluate(_ rows: [LabeledPrompt], routers: [NamedDetector], source: String) async throws -> EvaluationReport {
        guard !rows.isEmpty else { throw DatasetError(file: source, row: nil, problem: "no rows to evaluate") }
        let texts = rows.map(\.text), truth = rows.map(\.label)
        let labels = Array(Set(truth)).sorted()
        let selector = ModelSelector()
        let top = topModel()
        let tokens = texts.map(tokenCount)
        var results: [EvaluationReport.RouterResult] = []
        for router in routers {
            let detections = try await router.detector.detect(batch: texts)
            let predictions = detections.map(\.capability)
            let metrics = ClassificationMetrics(truth: truth, predicted: predictions, labels: labels)
            var reasons: [String: Int] = [:]
            var covered = 0
            for d in detections {
                switch d.method {
                case .fallback:
                    let reason = d.reasons.first ?? "fallback"
                    let key = reason.hasPrefix("low confidence") ? "low confidence" : reason.hasPrefix("embedder unavailable") ? "embedder unavailable" : "other"
                    reasons[key, default: 0] += 1
                case .regex:
                    if d.confidence > 0 { covered += 1 }
                case .embedding:
                    covered += 1
                case .requested:
                    break  // detectors never answer this
                }
            }
            var routed = 0.0, allTop = 0.0
            for (index, d) in detections.enumerated() {
                let model = selector.select(capability: d.capability, prompt: texts[index], in: catalog).model
                routed += model.cost(promptTokens: tokens[index], completionTokens: assumedCompletionTokens)
                allTop += top.cost(promptTokens: tokens[index], completionTokens: assumedCompletionTokens)
            }
            let latency = try await measureLatency(router, texts: texts)
            let fallbackCount = reasons.values.reduce(0, +)
            results.append(.init(
                name: router.name, accuracy: metrics.accuracy, macroF1: metrics.macroF1,
                coverage: Double(covered) / Double(rows.count), fallbackRate: Double(fallbackCount) / Double(rows.count),
                fallbackReasons: reasons, perLabel: metrics.perLabel, confusion: metrics.confusion, latency: latency,
                cost: .init(routed: routed, allToTopModel: allTop, topModel: top.alias, savings: allTop > 0 ? 1 - routed / allTop : 0),
                calibration: Self.calibration(confidences: detections.map(\.confidence), correct: zip(predictions, truth).map { $0 == $1 }),
                predictions: predictions, confidences: detections.map(\.confidence), methods: detections.map(\.method.rawValue),
                acceptableAccuracy: Self.acceptableAccuracy(rows, predictions: predictions)))
        }
        var comparisons: [EvaluationReport.PairComparison] = []
        for i in results.indices {
            for j in results.indices where j > i {
                comparisons.append(Self.compare(results[i], results[j], texts: texts, truth: truth))
            }
        }
        return EvaluationReport(rows: rows.count, labels: labels, source: source, assumedCompletionTokens: assumedCompletionTokens,
                                routers: results, comparisons: comparisons, texts: texts, truth: truth)
    }

    /// Share of rows predicted as their label or one of their acceptable labels; nil when no row lists any.
    public static func acceptableAccuracy(_ rows: [LabeledPrompt], predictions: [String]) -> Double? {
        guard rows.contains(where: { $0.acceptable != nil }), !rows.isEmpty else { return nil }
        let right = zip(rows, predictions).filter { row, predicted in
            predicted == row.label || (row.acceptable ?? []).contains(predicted)
        }.count
        return Double(right) / Double(rows.count)
    }

    /// The most capable model: the escalation target, else the most expensive.
    func topModel() -> ModelEntry {
        if let target = catalog.escalation?.target, let model = catalog.model(target) { return model }
        return catalog.models.max { ($0.costPer1KInput + $0.costPer1KOutput) < ($1.costPer1KInput + $1.costPer1KOutput) }!
    }

    func measureLatency(_ router: NamedDetector, texts: [String]) async throws -> EvaluationReport.RouterResult.Latency {
        let sample = Array(texts.prefix(latencySample))
        let clock = ContinuousClock()
        func time(_ detector: any IntentDetector) async throws -> [Double] {
            var out: [Double] = []
            for text in sample {
                let start = clock.now
                _ = try await detector.detect(text)
                let d = clock.now - start
                out.append(Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15)
            }
            return out
        }
        let scoring = try await time(router.detector)
        var full = scoring
        if let timed = router.timedDetector { full = try await time(timed) }
        return .init(scoringP50Ms: SampleStatistics.percentile(scoring, 50), scoringP99Ms: SampleStatistics.percentile(scoring, 99),
                     withEmbeddingP50Ms: SampleStatistics.percentile(full, 50), withEmbeddingP99Ms: SampleStatistics.percentile(full, 99), sampled: sample.count)
    }

    static func calibration(confidences: [Double], correct: [Bool], bins: Int = 10) -> [EvaluationReport.RouterResult.CalibrationBin] {
        (0..<bins).compactMap { bin in
            let lower = Double(bin) / Double(bins), upper = Double(bin + 1) / Double(bins)
            let members = confidences.indices.filter { confidences[$0] >= lower && (confidences[$0] < upper || (bin == bins - 1 && confidences[$0] <= upper)) }
            guard !members.isEmpty else { return nil }
            let count = Double(members.count)
            let right = Double(members.filter { correct[$0] }.count)
            var total = 0.0
            for m in members { total += confidences[m] }
            return EvaluationReport.RouterResult.CalibrationBin(
                lower: lower, upper: upper, count: members.count, accuracy: right / count, meanConfidence: total / count)
        }
    }

    static func compare(_ a: EvaluationReport.RouterResult, _ b: EvaluationReport.RouterResult, texts: [String], truth: [String]) -> EvaluationReport.PairComparison {
        var matrix: [String: [String: Int]] = [:]
        var same = 0
        var disagreements: [EvaluationReport.PairComparison.Disagreement] = []
        for row in truth.indices {
            matrix[a.predictions[row], default: [:]][b.predictions[row], default: 0] += 1
            if a.predictions[row] == b.predictions[row] {
                same += 1
            } else {
                disagreements.append(.init(row: row, text: texts[row], truth: truth[row], a: a.predictions[row],
                                           aConfidence: a.confidences[row], b: b.predictions[row], bConfidence: b.confidences[row]))
            }
        }
        let test = McNemarTest(aCorrect: zip(a.predictions, truth).map { $0 == $1 }, bCorrect: zip(b.predictions, truth).map { $0 == $1 })
        return .init(a: a.name, b: b.name, agreement: Double(same) / Double(max(1, truth.count)), agreementMatrix: matrix,
                     mcnemar: test, disagreements: disagreements)
    }
}
