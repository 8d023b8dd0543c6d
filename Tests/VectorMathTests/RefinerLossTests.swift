import Foundation
import Testing
@testable import VectorMath

@Suite("Refinement loss of one point")
struct RefinerLossTests {
    static let owners = [0, 0, 1, 2, 2, 3]
    static let cosines: [Float] = [0.31, -0.12, 0.55, 0.47, 0.08, 0.62]
    static let scale: Float = 10

    /// The loss from its definition, in doubles: −(1 − a)·log P(label) − a·log P(label or an alternative).
    static func definition(_ cosines: [Double], label: Int, set: Set<Int>, share: Double) -> Double {
        let exps = cosines.map { exp(Double(scale) * $0) }
        let total = exps.reduce(0, +)
        let own = zip(owners, exps).filter { $0.0 == label }.map(\.1).reduce(0, +) / total
        let inSet = zip(owners, exps).filter { set.contains($0.0) }.map(\.1).reduce(0, +) / total
        return -(1 - share) * log(own) - share * log(inSet)
    }

    static func pointLoss(label: Int, alternatives: [Int], share: Float) throws -> (loss: Float, gradient: [Float]) {
        var row = try Matrix(rows: 1, cols: cosines.count, values: cosines)
        let loss = CentroidRefiner.pointLoss(&row, row: 0, owners: owners, label: label, alternatives: alternatives,
                                             share: share, scale: scale, gradientFactor: scale)
        return (loss, row.values)
    }

    @Test("loss and gradient match the definition and its finite differences", arguments: [
        (0, [2], Float(0.6)), (0, [2, 3], Float(1)), (1, [0], Float(0.25)), (3, [1, 2], Float(0.5)),
    ])
    func matchesDefinition(label: Int, alternatives: [Int], share: Float) throws {
        let (loss, gradient) = try Self.pointLoss(label: label, alternatives: alternatives, share: share)
        let set = Set(alternatives + [label])
        let base = Self.cosines.map(Double.init)
        #expect(abs(Double(loss) - Self.definition(base, label: label, set: set, share: Double(share))) < 1e-4)
        for j in base.indices {
            var up = base, down = base
            up[j] += 1e-5
            down[j] -= 1e-5
            let numeric = (Self.definition(up, label: label, set: set, share: Double(share))
                - Self.definition(down, label: label, set: set, share: Double(share))) / 2e-5
            #expect(abs(Double(gradient[j]) - numeric) < 1e-3, "cosine \(j): \(gradient[j]) against \(numeric)")
        }
    }

    @Test("without another acceptable class the loss is the plain one at any share")
    func plainWithoutAlternatives() throws {
        let plain = try Self.pointLoss(label: 2, alternatives: [], share: 0)
        for alternatives in [[], [2]] {
            let other = try Self.pointLoss(label: 2, alternatives: alternatives, share: 0.8)
            #expect(other.loss == plain.loss)
            #expect(other.gradient == plain.gradient)
        }
        #expect(abs(Double(plain.loss) - Self.definition(Self.cosines.map(Double.init), label: 2, set: [2], share: 0)) < 1e-4)
    }
}
