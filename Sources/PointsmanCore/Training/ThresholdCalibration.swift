import Crypto
import Foundation
import PointsmanInterfaces
import VectorMath

/// Chooses per-label thresholds on held-out scores: the lowest threshold at which the label's predictions reach the
/// target precision. Without shrinkage, labels with too few predictions share one threshold computed over all labels;
/// with it, each label's own threshold is pulled towards that global one as if `shrinkage` more rows had it
/// (`(n * own + shrinkage * global) / (n + shrinkage)`). With an abstain label, every threshold is then raised to at
/// least the level that rejects the target share of its rows. `gate` says which score the thresholds apply to.
public struct ThresholdCalibration: Sendable {
    public var targetPrecision: Double
    public var abstainRecallTarget: Double?
    public var minimumPredictions = 8
    public var gate: ThresholdScore
    public var shrinkage: Double

    public init(targetPrecision: Double, abstainRecallTarget: Double?, gate: ThresholdScore = .confidence, shrinkage: Double = 0) {
        self.targetPrecision = targetPrecision
        self.abstainRecallTarget = abstainRecallTarget
        self.gate = gate
        self.shrinkage = shrinkage
    }

    /// The lowest confidence cut-off whose kept predictions reach the target precision (1 if none does).
    func cutoff(_ predictions: [(confidence: Double, correct: Bool)]) -> Double {
        let sorted = predictions.sorted { $0.confidence > $1.confidence }
        var correct = 0
        var threshold = 1.0
        for (i, prediction) in sorted.enumerated() {
            if prediction.correct { correct += 1 }
            if Double(correct) / Double(i + 1) >= targetPrecision { threshold = prediction.confidence }
        }
        return threshold
    }

    public func calibrate(scores: [CentroidClassifier.Score], truth: [String], labels: [String]) -> (thresholds: [String: Double], fallback: Double) {
        let gate = gate
        let all = zip(scores, truth).map { (confidence: $0.value(gate), correct: $0.label == $1) }
        let fallback = cutoff(all)
        var thresholds: [String: Double] = [:]
        for label in labels {
            let predictions = zip(scores, truth).filter { $0.0.label == label }.map { (confidence: $0.0.value(gate), correct: $0.0.label == $0.1) }
            if shrinkage > 0 {
                let n = Double(predictions.count)
                thresholds[label] = predictions.isEmpty ? fallback : (n * cutoff(predictions) + shrinkage * fallback) / (n + shrinkage)
            } else {
                thresholds[label] = predictions.count >= minimumPredictions ? cutoff(predictions) : fallback
            }
        }
        if let target = abstainRecallTarget {
            let outside = zip(scores, truth).filter { !labels.contains($0.1) }.map(\.0)
            let already = outside.filter(\.isAbstainLabel).count
            let needed = Int((Double(outside.count) * target).rounded(.up)) - already
            let rest = outside.filter { !$0.isAbstainLabel }.map { $0.value(gate) }.sorted()
            if needed > 0, !rest.isEmpty {
                let floor = min(rest[min(needed, rest.count) - 1] + 1e-9, 1)
                for label in labels { thresholds[label] = max(thresholds[label]!, floor) }
                return (thresholds, max(fallback, floor))
            }
        }
        return (thresholds, fallback)
    }
}
