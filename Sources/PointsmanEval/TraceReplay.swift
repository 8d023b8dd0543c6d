import Foundation
import PointsmanCore

/// What a recorded A/B trace says: traffic per arm, agreement between arms where both decided (shadow mode), and,
/// where the records carry true labels (or a labels file gives them by id), the metrics of each arm.
public struct ReplayReport: Sendable, Codable {
    public struct ArmMetrics: Sendable, Codable {
        public var arm: String
        public var labeledRows: Int
        public var accuracy: Double
        public var macroF1: Double
        public var perLabel: [String: ValidationReport.LabelMetrics]

        enum CodingKeys: String, CodingKey { case arm, labeledRows = "labeled_rows", accuracy, macroF1 = "macro_f1", perLabel = "per_label" }
    }

    public var records: Int
    public var arms: [String: Int]
    /// Records where both arms decided.
    public var paired: Int
    public var agreement: Double?
    public var agreementMatrix: [String: [String: Int]]
    public var metrics: [ArmMetrics]
    public var mcnemar: McNemarTest?
    public var meanLatencyMs: [String: Double]

    enum CodingKeys: String, CodingKey {
        case records, arms, paired, agreement, agreementMatrix = "agreement_matrix", metrics, mcnemar
        case meanLatencyMs = "mean_latency_ms"
    }

    /// Reads a trace written by `ABTraceWriter`; `labels` maps record ids to true labels (overriding the records').
    public static func replay(tracePath: String, labels: [String: String] = [:]) throws -> ReplayReport {
        guard let text = try? String(contentsOfFile: tracePath, encoding: .utf8) else {
            throw DatasetError(file: tracePath, row: nil, problem: "cannot read the trace")
        }
        var records: [ABDecisionRecord] = []
        for (index, line) in text.split(separator: "\n").enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            guard let record = try? JSONDecoder().decode(ABDecisionRecord.self, from: Data(line.utf8)) else {
                throw DatasetError(file: tracePath, row: index + 1, problem: "not an A/B decision record")
            }
            records.append(record)
        }
        guard !records.isEmpty else { throw DatasetError(file: tracePath, row: nil, problem: "the trace has no records") }
        var arms: [String: Int] = [:]
        var matrix: [String: [String: Int]] = [:]
        var same = 0, paired = 0
        var latency: [String: [Double]] = [:]
        for r in records {
            arms[r.arm, default: 0] += 1
            if let l = r.aLatencyMs { latency["A", default: []].append(l) }
            if let l = r.bLatencyMs { latency["B", default: []].append(l) }
            if let a = r.a, let b = r.b {
                paired += 1
                matrix[a.capability, default: [:]][b.capability, default: 0] += 1
                if a.capability == b.capability { same += 1 }
            }
        }
        var metrics: [ArmMetrics] = []
        var correctness: [String: [String: Bool]] = [:]
        for arm in ["A", "B"] {
            var truth: [String] = [], predicted: [String?] = []
            for r in records {
                guard let label = labels[r.id] ?? r.label, let decision = arm == "A" ? r.a : r.b else { continue }
                truth.append(label)
                predicted.append(decision.capability)
                correctness[arm, default: [:]][r.id] = decision.capability == label
            }
            guard !truth.isEmpty else { continue }
            let m = ClassificationMetrics(truth: truth, predicted: predicted)
            metrics.append(.init(arm: arm, labeledRows: truth.count, accuracy: m.accuracy, macroF1: m.macroF1, perLabel: m.perLabel))
        }
        var test: McNemarTest?
        if let a = correctness["A"], let b = correctness["B"] {
            let shared = a.keys.filter { b[$0] != nil }.sorted()
            if !shared.isEmpty { test = McNemarTest(aCorrect: shared.map { a[$0]! }, bCorrect: shared.map { b[$0]! }) }
        }
        return ReplayReport(
            records: records.count, arms: arms, paired: paired, agreement: paired > 0 ? Double(same) / Double(paired) : nil,
            agreementMatrix: matrix, metrics: metrics, mcnemar: test,
            meanLatencyMs: latency.mapValues { $0.reduce(0, +) / Double($0.count) })
    }

    /// A readable summary.
    public var text: String {
        var lines = ["\(records) records; arms: " + arms.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")]
        if let agreement { lines.append(String(format: "both arms decided %d records; agreement %.3f", paired, agreement)) }
        for (arm, ms) in meanLatencyMs.sorted(by: { $0.key < $1.key }) { lines.append(String(format: "arm %@ mean decision latency %.2f ms", arm, ms)) }
        for m in metrics { lines.append(String(format: "arm %@ on %d labeled records: accuracy %.3f, macro-F1 %.3f", m.arm, m.labeledRows, m.accuracy, m.macroF1)) }
        if let mcnemar { lines.append(String(format: "McNemar: only A right %d, only B right %d, χ² %.2f, exact p %.3g", mcnemar.onlyA, mcnemar.onlyB, mcnemar.statistic, mcnemar.pValue)) }
        return lines.joined(separator: "\n")
    }
}
