/// Precision, recall and F1 per label, accuracy and macro-F1, from true labels and predictions (nil = abstained).
public struct ClassificationMetrics: Sendable, Equatable {
    public var labels: [String]
    public var perLabel: [String: ValidationReport.LabelMetrics]
    /// Correct predictions over all rows (abstentions count as wrong).
    public var accuracy: Double
    /// Mean F1 over `labels`.
    public var macroF1: Double
    /// Share of rows with a prediction.
    public var coverage: Double
    /// confusion[truth][predicted or "(abstained)"] = count
    public var confusion: [String: [String: Int]]

    public static let abstained = "(abstained)"

    /// Computes the metrics over `labels` (labels seen in truth or predictions are added).
    public init(truth: [String], predicted: [String?], labels given: [String] = []) {
        precondition(truth.count == predicted.count, "truth and predictions differ in length")
        var labels = given
        for label in truth + predicted.compactMap({ $0 }) where !labels.contains(label) { labels.append(label) }
        self.labels = labels
        var confusion: [String: [String: Int]] = [:]
        var correct = 0, covered = 0
        for (t, p) in zip(truth, predicted) {
            confusion[t, default: [:]][p ?? Self.abstained, default: 0] += 1
            if p != nil { covered += 1 }
            if p == t { correct += 1 }
        }
        var perLabel: [String: ValidationReport.LabelMetrics] = [:]
        for label in labels {
            let truePositive = confusion[label]?[label] ?? 0
            let support = confusion[label]?.values.reduce(0, +) ?? 0
            let predictedCount = confusion.values.reduce(0) { $0 + ($1[label] ?? 0) }
            let precision = predictedCount == 0 ? 0 : Double(truePositive) / Double(predictedCount)
            let recall = support == 0 ? 0 : Double(truePositive) / Double(support)
            let f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall)
            perLabel[label] = .init(precision: precision, recall: recall, f1: f1, support: support)
        }
        self.perLabel = perLabel
        self.confusion = confusion
        accuracy = truth.isEmpty ? 0 : Double(correct) / Double(truth.count)
        coverage = truth.isEmpty ? 0 : Double(covered) / Double(truth.count)
        let scored = labels.filter { (perLabel[$0]?.support ?? 0) > 0 }
        macroF1 = scored.isEmpty ? 0 : scored.map { perLabel[$0]!.f1 }.reduce(0, +) / Double(scored.count)
    }
}
