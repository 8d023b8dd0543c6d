import Foundation

/// McNemar's test for two classifiers on the same rows: do they differ in accuracy beyond chance?
public struct McNemarTest: Sendable, Codable, Equatable {
    /// Rows A got right and B got wrong.
    public var onlyA: Int
    /// Rows B got right and A got wrong.
    public var onlyB: Int
    /// χ² with continuity correction, (|b − c| − 1)² / (b + c); 0 when b + c = 0.
    public var statistic: Double
    /// Exact two-sided p-value: the binomial test of min(b, c) in b + c trials at ½.
    public var pValue: Double

    enum CodingKeys: String, CodingKey { case onlyA = "only_a_correct", onlyB = "only_b_correct", statistic, pValue = "p_value" }

    public init(onlyA: Int, onlyB: Int) {
        self.onlyA = onlyA
        self.onlyB = onlyB
        let n = onlyA + onlyB
        statistic = n == 0 ? 0 : pow(max(0, Double(abs(onlyA - onlyB)) - 1), 2) / Double(n)
        pValue = Self.exactPValue(min(onlyA, onlyB), n)
    }

    public init(aCorrect: [Bool], bCorrect: [Bool]) {
        precondition(aCorrect.count == bCorrect.count)
        var b = 0, c = 0
        for (x, y) in zip(aCorrect, bCorrect) {
            if x && !y { b += 1 }
            if !x && y { c += 1 }
        }
        self.init(onlyA: b, onlyB: c)
    }

    /// 2 · P(X ≤ k) for X ~ Binomial(n, ½), capped at 1; computed in log space so large n stays exact enough.
    static func exactPValue(_ k: Int, _ n: Int) -> Double {
        guard n > 0 else { return 1 }
        var logTerms: [Double] = []
        for i in 0...k {
            logTerms.append(lgamma(Double(n + 1)) - lgamma(Double(i + 1)) - lgamma(Double(n - i + 1)) - Double(n) * log(2))
        }
        let peak = logTerms.max()!
        let sum = logTerms.reduce(0) { $0 + exp($1 - peak) }
        return min(1, 2 * exp(peak) * sum)
    }
}
