import Foundation
import PointsmanCore

/// Everything `pointsman eval` measures, with stable field names (the `--json` output).
public struct EvaluationReport: Sendable, Codable {
    /// One router's results.
    public struct RouterResult: Sendable, Codable {
        public struct Latency: Sendable, Codable {
            /// Per-prompt decision time with vectors already computed (cache hits), ms.
            public var scoringP50Ms: Double
            public var scoringP99Ms: Double
            /// Per-prompt decision time including embedding the prompt, ms.
            public var withEmbeddingP50Ms: Double
            public var withEmbeddingP99Ms: Double
            public var sampled: Int

            enum CodingKeys: String, CodingKey {
                case scoringP50Ms = "scoring_p50_ms", scoringP99Ms = "scoring_p99_ms"
                case withEmbeddingP50Ms = "with_embedding_p50_ms", withEmbeddingP99Ms = "with_embedding_p99_ms", sampled
            }
        }

        public struct Cost: Sendable, Codable {
            /// Sum over rows of the routed model's price for the prompt's tokens and the assumed completion.
            public var routed: Double
            /// The same rows all sent to the most capable model.
            public var allToTopModel: Double
            public var topModel: String
            /// 1 − routed / allToTopModel.
            public var savings: Double

            enum CodingKeys: String, CodingKey { case routed, allToTopModel = "all_to_top_model", topModel = "top_model", savings }
        }

        public struct CalibrationBin: Sendable, Codable {
            public var lower: Double
            public var upper: Double
            public var count: Int
            public var accuracy: Double
            public var meanConfidence: Double

            enum CodingKeys: String, CodingKey { case lower, upper, count, accuracy, meanConfidence = "mean_confidence" }
        }

        public var name: String
        public var accuracy: Double
        public var macroF1: Double
        /// Share of rows the router's own method decided (not a fallback, not a default rule).
        public var coverage: Double
        public var fallbackRate: Double
        public var fallbackReasons: [String: Int]
        public var perLabel: [String: ValidationReport.LabelMetrics]
        /// confusion[truth][predicted] = rows
        public var confusion: [String: [String: Int]]
        public var latency: Latency
        public var cost: Cost
        public var calibration: [CalibrationBin]
        /// Per row, in input order.
        public var predictions: [String]
        public var confidences: [Double]
        public var methods: [String]
        /// Share of rows whose prediction is the label or in the row's list of acceptable labels; nil when the data
        /// has no such lists.
        public var acceptableAccuracy: Double? = nil

        enum CodingKeys: String, CodingKey {
            case name, accuracy, macroF1 = "macro_f1", coverage, fallbackRate = "fallback_rate"
            case acceptableAccuracy = "acceptable_accuracy"
            case fallbackReasons = "fallback_reasons", perLabel = "per_label", confusion, latency, cost, calibration
            case predictions, confidences, methods
        }
    }

    /// Two routers compared row by row.
    public struct PairComparison: Sendable, Codable {
        public struct Disagreement: Sendable, Codable {
            public var row: Int
            public var text: String
            public var truth: String
            public var a: String
            public var aConfidence: Double
            public var b: String
            public var bConfidence: Double

            enum CodingKeys: String, CodingKey {
                case row, text, truth, a, aConfidence = "a_confidence", b, bConfidence = "b_confidence"
            }
        }

        public var a: String
        public var b: String
        /// Share of rows with the same capability.
        public var agreement: Double
        /// agreementMatrix[a's capability][b's capability] = rows
        public var agreementMatrix: [String: [String: Int]]
        public var mcnemar: McNemarTest
        public var disagreements: [Disagreement]

        enum CodingKeys: String, CodingKey {
            case a, b, agreement, agreementMatrix = "agreement_matrix", mcnemar, disagreements
        }
    }

    public var rows: Int
    public var labels: [String]
    /// Where the rows came from.
    public var source: String
    /// The completion length assumed for cost estimates.
    public var assumedCompletionTokens: Int
    public var routers: [RouterResult]
    public var comparisons: [PairComparison]
    /// Texts and true labels, in input order (for the report's tables).
    public var texts: [String]
    public var truth: [String]

    enum CodingKeys: String, CodingKey {
        case rows, labels, source, assumedCompletionTokens = "assumed_completion_tokens", routers, comparisons, texts, truth
    }
}
