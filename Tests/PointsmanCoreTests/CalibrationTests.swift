import Foundation
import PointsmanCore
import Testing

@Suite("Cross-validated threshold calibration")
struct CalibrationTests {
    func score(_ label: String, confidence: Double, cosine: Double, margin: Double = 0.1, abstainLabel: Bool = false) -> CentroidClassifier.Score {
        CentroidClassifier.Score(labelIndex: 0, label: label, capability: label, confidence: confidence, labelCosines: [cosine],
                                 margin: margin, threshold: 0, isAbstainLabel: abstainLabel)
    }

    @Test("folds deal whole groups when a label has enough of them, else rows; every row lands in exactly one fold")
    func folds() {
        var rows: [LabeledPrompt] = []
        for g in 0..<10 { for i in 0..<3 { rows.append(LabeledPrompt(text: "a\(g)-\(i)", label: "a", group: "a\(g)")) } }
        for i in 0..<17 { rows.append(LabeledPrompt(text: "b\(i)", label: "b")) }
        let folds = CentroidTrainer.folds(Array(rows.indices), rows: rows, count: 5, seed: 3)
        #expect(folds.count == 5)
        #expect(folds.flatMap { $0 }.sorted() == Array(rows.indices))
        for fold in folds {
            let groups = Set(fold.compactMap { rows[$0].group })
            for group in groups { #expect(rows.indices.filter { rows[$0].group == group }.allSatisfy(fold.contains)) }
            // Ten groups and 17 ungrouped rows over five folds: two groups (six rows) and three or four rows of b each.
            #expect(fold.filter { rows[$0].label == "a" }.count == 6)
            #expect((3...4).contains(fold.filter { rows[$0].label == "b" }.count))
        }
        #expect(CentroidTrainer.folds(Array(rows.indices), rows: rows, count: 5, seed: 3) == folds)
    }

    @Test("shrinkage pulls a label with few predictions towards the global threshold; the gate picks the score")
    func shrinkage() {
        // Label x: 4 predictions, precision reaches 1.0 only above 0.9; label y: 40 predictions, all right above 0.3.
        var scores: [CentroidClassifier.Score] = [], truth: [String] = []
        for (confidence, right) in [(0.95, true), (0.9, true), (0.505, false), (0.405, false)] {
            scores.append(score("x", confidence: confidence, cosine: 0.5)); truth.append(right ? "x" : "y")
        }
        for i in 0..<40 { scores.append(score("y", confidence: 0.3 + Double(i) / 100, cosine: 0.6)); truth.append("y") }
        let plain = ThresholdCalibration(targetPrecision: 1, abstainRecallTarget: nil, shrinkage: 0)
        let (unshrunk, global) = plain.calibrate(scores: scores, truth: truth, labels: ["x", "y"])
        #expect(unshrunk["x"] == global)  // four predictions: too few for a threshold of its own
        let shrunk = ThresholdCalibration(targetPrecision: 1, abstainRecallTarget: nil, shrinkage: 4)
        let (pulled, sameGlobal) = shrunk.calibrate(scores: scores, truth: truth, labels: ["x", "y"])
        #expect(sameGlobal == global)
        #expect(abs(pulled["x"]! - (4 * 0.9 + 4 * global) / 8) < 1e-12)
        #expect(abs(pulled["y"]! - (40 * 0.3 + 4 * global) / 44) < 1e-12)
        // Gated by cosine, the thresholds are cosines.
        let cosine = ThresholdCalibration(targetPrecision: 1, abstainRecallTarget: nil, gate: .cosine, shrinkage: 0)
        #expect(cosine.calibrate(scores: scores, truth: truth, labels: ["x", "y"]).thresholds["y"] == 0.6)
    }

    @Test("a score abstains on the value its gate names")
    func gate() {
        var s = score("x", confidence: 0.9, cosine: 0.2, margin: 0.05)
        s.threshold = 0.5
        #expect(!s.abstains)
        s.gate = .cosine
        #expect(s.abstains)
        s.gate = .margin
        s.threshold = 0.04
        #expect(!s.abstains)
    }

    @Test("calibration settings are checked: folds 2-20, shrinkage not negative, a known score")
    func settings() throws {
        func config(_ calibration: String) throws -> TrainingConfiguration {
            try JSONDecoder().decode(TrainingConfiguration.self, from: Data(#"{"name": "t", "data": ["x.jsonl"], "calibration": \#(calibration)}"#.utf8))
        }
        #expect(try config(#"{"folds": 3, "score": "cosine"}"#).calibration == .init(folds: 3, shrinkage: 20, score: .cosine))
        #expect(try config(#"{"score": "auto"}"#).calibration?.score == nil)
        #expect(throws: (any Error).self) { try config(#"{"score": "vibes"}"#) }
        #expect(throws: (any Error).self) { try config(#"{"fold": 3}"#) }
        #expect(throws: DatasetError.self) { try config(#"{"folds": 1}"#).validate() }
        #expect(throws: DatasetError.self) { try config(#"{"shrinkage": -1}"#).validate() }
    }
}
