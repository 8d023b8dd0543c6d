import Foundation
import PointsmanCore
import PointsmanTestSupport
import Testing

@Suite("Budgets and the spend ledger")
struct BudgetTests {
    static let policy = BudgetPolicy(perKeyDaily: BudgetLimit(soft: 1, hard: 2), globalMonthly: BudgetLimit(soft: 5, hard: 10))

    @Test("hard limits win over soft ones; each names the limit and the spend")
    func state() {
        #expect(Self.policy.state(of: SpendTotals(keyDay: 0.5, globalMonth: 4)) == .within)
        #expect(Self.policy.state(of: SpendTotals(keyDay: 1.2)) == .soft("this key's daily soft limit of 1 is reached (1.2)"))
        #expect(Self.policy.state(of: SpendTotals(keyDay: 1.2, globalMonth: 10)) == .hard("the service's monthly budget of 10 is spent (10)"))
        #expect(Self.policy.state(of: SpendTotals(keyDay: 2)) == .hard("this key's daily budget of 2 is spent (2)"))
    }

    @Test("limits are validated, and unknown fields in a budget are refused")
    func validation() throws {
        #expect(throws: BudgetError("budget.global_daily: soft limit 3.0 is above the hard limit 2.0")) {
            try BudgetPolicy(globalDaily: BudgetLimit(soft: 3, hard: 2)).validate()
        }
        #expect(throws: BudgetError("budget.per_key_monthly.hard must be a non-negative number, got -1.0")) {
            try BudgetPolicy(perKeyMonthly: BudgetLimit(hard: -1)).validate()
        }
        #expect(throws: (any Error).self) {
            try JSONDecoder().decode(BudgetPolicy.self, from: Data(#"{"global_dayly": {"hard": 1}}"#.utf8))
        }
    }

    @Test("the ledger adds spend per key and globally, by UTC day and month, and keeps it across a restart")
    func ledger() async throws {
        let path = TestPaths.temporaryDirectory("ledger") + "/spend.json"
        let december = Date(timeIntervalSince1970: 1_796_083_200)  // 2026-12-01T00:00:00Z
        let ledger = try FileSpendLedger(path: path)
        try await ledger.record(key: "key-a", model: "m1", cost: 0.25, at: december)
        try await ledger.record(key: "key-b", model: "m2", cost: 0.5, at: december.addingTimeInterval(3600))
        try await ledger.record(key: "key-a", model: "m1", cost: 1, at: december.addingTimeInterval(86_400))  // next day
        #expect(await ledger.totals(key: "key-a", at: december) == SpendTotals(keyDay: 0.25, keyMonth: 1.25, globalDay: 0.75, globalMonth: 1.75))
        // A restart reads the same totals back from the file.
        let reopened = try FileSpendLedger(path: path)
        #expect(await reopened.totals(key: "key-b", at: december) == SpendTotals(keyDay: 0.5, keyMonth: 0.5, globalDay: 0.75, globalMonth: 1.75))
        #expect(await reopened.models(at: december) == ["m1": 1.25, "m2": 0.5])
        // A new month starts from zero; two months on, December is dropped from the file.
        let january = december.addingTimeInterval(31 * 86_400)
        #expect(await reopened.totals(key: "key-a", at: january) == SpendTotals())
        try await reopened.record(key: "key-a", model: "m1", cost: 0.1, at: january.addingTimeInterval(31 * 86_400))
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(!text.contains("2026-12") && text.contains("2027-02"))
        // The key itself never reaches the ledger: only a hash prefix.
        #expect(SpendLedgers.keyID("sk-secret").hasPrefix("key-") && !SpendLedgers.keyID("sk-secret").contains("secret"))
        #expect(SpendLedgers.keyID(nil) == "anonymous")
    }

    @Test("a file that is not a ledger is an error naming it")
    func brokenFile() throws {
        let path = TestPaths.temporaryDirectory("ledger") + "/broken.json"
        try "{".write(toFile: path, atomically: true, encoding: .utf8)
        #expect { try FileSpendLedger(path: path) } throws: { error in
            (error as? BudgetError)?.description.hasPrefix(path + ": not a spend ledger") == true
        }
    }
}
