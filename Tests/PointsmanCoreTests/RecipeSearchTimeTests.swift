@testable import PointsmanCore
import Testing

@Suite("Recipe search: keeping to its time")
struct RecipeSearchTimeTests {
    typealias Candidate = SearchRecord.Candidate

    static func scored(k: Int, weight: Float, seconds: Double) -> Candidate {
        Candidate(k: k, lexicalWeight: weight, scale: 20, accuracy: 0.9, macroF1: 0.9, seconds: seconds)
    }

    @Test("a step's expected time comes from the last comparable step, scaled by k; word features start at a multiple of plain vectors")
    func expectedTime() {
        let plain = CentroidTrainer.Recipe(k: 2, lexicalWeight: 0, scale: 30)
        let words = CentroidTrainer.Recipe(k: 2, lexicalWeight: 0.5, scale: 20)
        #expect(CentroidTrainer.expectedSeconds(plain, after: []) == nil)
        let afterPlain = [Self.scored(k: 1, weight: 0, seconds: 5), Self.scored(k: 2, weight: 0, seconds: 9)]
        #expect(CentroidTrainer.expectedSeconds(plain, after: afterPlain) == 9)
        #expect(CentroidTrainer.expectedSeconds(CentroidTrainer.Recipe(k: 4, lexicalWeight: 0, scale: 20), after: afterPlain) == 18)
        #expect(CentroidTrainer.expectedSeconds(words, after: afterPlain) == 9 * CentroidTrainer.wordCostFactor)
        let afterWords = afterPlain + [Self.scored(k: 2, weight: 0.5, seconds: 57)]
        #expect(CentroidTrainer.expectedSeconds(CentroidTrainer.Recipe(k: 2, lexicalWeight: 1, scale: 20), after: afterWords) == 57)
        #expect(CentroidTrainer.expectedSeconds(plain, after: afterWords) == 9)
    }

    @Test("a step starts only when it should end within the budget; an unknown one while time is left")
    func fits() {
        #expect(CentroidTrainer.fits(elapsed: 24, expected: 60, budget: 120))
        #expect(!CentroidTrainer.fits(elapsed: 83, expected: 57, budget: 120))  // HWU64's last step, which ran to 140 s
        #expect(CentroidTrainer.fits(elapsed: 63, expected: 57, budget: 120))
        #expect(CentroidTrainer.fits(elapsed: 119, expected: nil, budget: 120))
        #expect(!CentroidTrainer.fits(elapsed: 120, expected: nil, budget: 120))
        #expect(!CentroidTrainer.fits(elapsed: 121, expected: 0, budget: 120))
    }
}
