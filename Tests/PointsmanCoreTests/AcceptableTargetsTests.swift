import Foundation
@testable import PointsmanCore
import PointsmanTestSupport
import Testing
import VectorMath

@Suite("Acceptable alternatives in training")
struct AcceptableTargetsTests {
    /// Label `q` around 0°–20°, label `g` around 70°–90°, and ten rows labeled `q` at 80°–85° whose `ok` lists
    /// are `ok`.
    static func rows(ok: [String]?) throws -> (rows: [LabeledPrompt], vectors: Matrix) {
        var rows: [LabeledPrompt] = [], vectors: [[Float]] = []
        func add(_ degrees: Float, _ label: String, _ ok: [String]?) {
            rows.append(LabeledPrompt(text: "\(degrees)", label: label, acceptable: ok))
            vectors.append([cosf(degrees * .pi / 180), sinf(degrees * .pi / 180)])
        }
        for i in 0..<40 { add(Float(i) / 2, "q", nil) }
        for i in 0..<40 { add(70 + Float(i) / 2, "g", nil) }
        for i in 0..<10 { add(80 + Float(i) / 2, "q", ok) }
        return (rows, try Matrix(rowVectors: vectors))
    }

    /// The angle of label `q`'s centroid after a fit with `weight`.
    static func fitAngle(ok: [String]?, weight: Float, labelMap: [String: String]? = nil) throws -> Float {
        let (rows, vectors) = try Self.rows(ok: ok)
        var config = TrainingConfiguration(name: "ok", data: ["unused"], labelMap: labelMap, k: 1, seed: 3,
                                           refinement: .init(scale: 16, epochs: 40, learningRate: 0.02, batchSize: 30,
                                                             acceptableWeight: weight))
        config.lexical = nil
        let fitted = try CentroidTrainer(embedder: ConstantEmbedder(), cache: nil).fit(
            Array(rows.indices), rows: rows, vectors: vectors, labels: ["q", "g"], config: config, validation: nil,
            progress: { _ in })
        let row = try #require(fitted.owners.firstIndex(of: 0))
        return atan2f(fitted.centroids[row, 1], fitted.centroids[row, 0]) * 180 / .pi
    }

    @Test("rows whose alternative fits stop pulling their own label towards it; lists naming no label change nothing")
    func training() throws {
        let strict = try Self.fitAngle(ok: ["q", "g"], weight: 0)
        let lenient = try Self.fitAngle(ok: ["q", "g"], weight: 1)
        // With the alternative accepted, label q's centroid leans far less towards the ten rows near g.
        #expect(lenient < strict - 5)
        // Alternatives that are not labels of the file are dropped: the strict fit.
        #expect(try Self.fitAngle(ok: ["nonsense"], weight: 1) == strict)
        #expect(try Self.fitAngle(ok: nil, weight: 1) == strict)
        // Alternatives are mapped like labels (the rows' labels are already mapped when `fit` sees them).
        #expect(try Self.fitAngle(ok: ["G"], weight: 1, labelMap: ["Q": "q", "G": "g"]) == lenient)
    }

    @Test("acceptable_weight is read from config files and checked")
    func configuration() throws {
        let dir = TestPaths.temporaryDirectory("acceptable")
        try #"{"name": "x", "data": ["a.jsonl"], "refinement": {"acceptable_weight": 0.5}}"#
            .write(toFile: dir + "/ok.config.json", atomically: true, encoding: .utf8)
        let config = try TrainingConfiguration.load(from: dir + "/ok.config.json")
        #expect(config.refinement?.acceptableWeight == 0.5)
        try config.validate()
        try #"{"name": "x", "data": ["a.jsonl"], "refinement": {}}"#
            .write(toFile: dir + "/default.config.json", atomically: true, encoding: .utf8)
        #expect(try TrainingConfiguration.load(from: dir + "/default.config.json").refinement?.acceptableWeight == 0)
        for bad in ["1.5", "-0.1"] {
            try #"{"name": "x", "data": ["a.jsonl"], "refinement": {"acceptable_weight": \#(bad)}}"#
                .write(toFile: dir + "/bad.config.json", atomically: true, encoding: .utf8)
            #expect { try TrainingConfiguration.load(from: dir + "/bad.config.json").validate() } throws: {
                "\($0)".contains("acceptable_weight")
            }
        }
    }
}
