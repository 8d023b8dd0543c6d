import Foundation

/// A spending limit for one period: above `soft`, requests still run but on the cheapest capable model; at `hard`,
/// they are refused. Either may be absent.
public struct BudgetLimit: Sendable, Equatable, Codable {
    public var soft: Double?
    public var hard: Double?

    public init(soft: Double? = nil, hard: Double? = nil) {
        self.soft = soft
        self.hard = hard
    }
}

/// Spending limits per client API key (each key alike) and for the whole service, per UTC day and month, in the
/// catalog's price unit.
public struct BudgetPolicy: Sendable, Equatable, Codable {
    public var perKeyDaily: BudgetLimit?
    public var perKeyMonthly: BudgetLimit?
    public var globalDaily: BudgetLimit?
    public var globalMonthly: BudgetLimit?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case perKeyDaily = "per_key_daily", perKeyMonthly = "per_key_monthly"
        case globalDaily = "global_daily", globalMonthly = "global_monthly"
    }

    public init(perKeyDaily: BudgetLimit? = nil, perKeyMonthly: BudgetLimit? = nil, globalDaily: BudgetLimit? = nil,
                globalMonthly: BudgetLimit? = nil) {
        self.perKeyDaily = perKeyDaily
        self.perKeyMonthly = perKeyMonthly
        self.globalDaily = globalDaily
        self.globalMonthly = globalMonthly
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        perKeyDaily = try c.decodeIfPresent(BudgetLimit.self, forKey: .perKeyDaily)
        perKeyMonthly = try c.decodeIfPresent(BudgetLimit.self, forKey: .perKeyMonthly)
        globalDaily = try c.decodeIfPresent(BudgetLimit.self, forKey: .globalDaily)
        globalMonthly = try c.decodeIfPresent(BudgetLimit.self, forKey: .globalMonthly)
    }

    /// Checks that every limit is a non-negative number and no soft limit exceeds its hard limit.
    public func validate() throws(BudgetError) {
        let limits: [(String, BudgetLimit?)] = [("per_key_daily", perKeyDaily), ("per_key_monthly", perKeyMonthly),
                                                ("global_daily", globalDaily), ("global_monthly", globalMonthly)]
        for (name, limit) in limits {
            guard let limit else { continue }
            for (field, value) in [("soft", limit.soft), ("hard", limit.hard)] {
                if let value, !(value >= 0 && value.isFinite) {
                    throw BudgetError("budget.\(name).\(field) must be a non-negative number, got \(value)")
                }
            }
            if let soft = limit.soft, let hard = limit.hard, soft > hard {
                throw BudgetError("budget.\(name): soft limit \(soft) is above the hard limit \(hard)")
            }
        }
    }

    /// Where spending stands against the limits: the first hard limit reached, else the first soft one, else within.
    public func state(of totals: SpendTotals) -> BudgetState {
        let checks: [(String, BudgetLimit?, Double)] = [
            ("this key's daily", perKeyDaily, totals.keyDay), ("this key's monthly", perKeyMonthly, totals.keyMonth),
            ("the service's daily", globalDaily, totals.globalDay), ("the service's monthly", globalMonthly, totals.globalMonth),
        ]
        for (name, limit, spent) in checks {
            if let hard = limit?.hard, spent >= hard {
                return .hard("\(name) budget of \(Self.amount(hard)) is spent (\(Self.amount(spent)))")
            }
        }
        for (name, limit, spent) in checks {
            if let soft = limit?.soft, spent >= soft {
                return .soft("\(name) soft limit of \(Self.amount(soft)) is reached (\(Self.amount(spent)))")
            }
        }
        return .within
    }

    static func amount(_ value: Double) -> String { String(format: "%.6g", value) }
}

/// Spending against the budget.
public enum BudgetState: Sendable, Equatable {
    case within
    /// Above a soft limit: serve on the cheapest capable model, without escalation.
    case soft(String)
    /// At a hard limit: refuse.
    case hard(String)
}

/// A budget configuration or ledger problem, in words.
public struct BudgetError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
