import Crypto
import Foundation

/// What a client key and the whole service have spent in the current UTC day and month.
public struct SpendTotals: Sendable, Equatable, Codable {
    public var keyDay = 0.0
    public var keyMonth = 0.0
    public var globalDay = 0.0
    public var globalMonth = 0.0

    public init(keyDay: Double = 0, keyMonth: Double = 0, globalDay: Double = 0, globalMonth: Double = 0) {
        self.keyDay = keyDay
        self.keyMonth = keyMonth
        self.globalDay = globalDay
        self.globalMonth = globalMonth
    }

    enum CodingKeys: String, CodingKey {
        case keyDay = "key_day", keyMonth = "key_month", globalDay = "global_day", globalMonth = "global_month"
    }
}

/// Where spend is kept: `FileSpendLedger` in one process, `PostgresSpendLedger` (target `PointsmanPostgres`) shared
/// by replicas.
public protocol SpendLedger: Sendable {
    /// The totals of `key` (a `SpendLedgers.keyID`) and of everyone, in the day and month of `date` (UTC).
    func totals(key: String, at date: Date) async throws -> SpendTotals
    /// Adds `cost` for `key` and `model` at `date`.
    func record(key: String, model: String, cost: Double, at date: Date) async throws
    /// Spend per model in the month of `date` (UTC), all keys together.
    func models(at date: Date) async throws -> [String: Double]
}

/// Helpers shared by ledgers.
public enum SpendLedgers {
    /// The ledger's name for a client key: never the key itself. Requests without a key count as `anonymous`.
    public static func keyID(_ apiKey: String?) -> String {
        guard let apiKey, !apiKey.isEmpty else { return "anonymous" }
        return "key-" + SHA256.hash(data: Data(apiKey.utf8)).prefix(6).map { String(format: "%02x", $0) }.joined()
    }

    /// The month before `month` (`2027-01` → `2026-12`).
    public static func previousMonth(_ month: String) -> String {
        let parts = month.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 2 else { return month }
        return parts[1] == 1 ? String(format: "%04d-12", parts[0] - 1) : String(format: "%04d-%02d", parts[0], parts[1] - 1)
    }

    /// `2026-12-01` and `2026-12` for `date` in UTC.
    public static func periods(_ date: Date) -> (day: String, month: String) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? .current
        let c = calendar.dateComponents([.year, .month, .day], from: date)
        let month = String(format: "%04d-%02d", c.year ?? 0, c.month ?? 0)
        return (month + String(format: "-%02d", c.day ?? 0), month)
    }
}

/// Spend kept in memory and, when a path is given, in a JSON file rewritten atomically after every record (a
/// temporary file renamed over the old one), so spend survives a restart and a crash never leaves half a file.
/// Totals older than the previous month are dropped as they go out of use.
public actor FileSpendLedger: SpendLedger {
    struct Stored: Codable {
        var version = 1
        /// "day|2026-12-01|key-…", "month|2026-12|global", "day|2026-12-01|key-…|model|alias" → amount.
        var totals: [String: Double] = [:]
    }

    public let path: String?
    private var stored = Stored()

    /// Loads the file when there is one; a file that cannot be read as a ledger is an error naming it.
    public init(path: String?) throws(BudgetError) {
        self.path = path
        guard let path, FileManager.default.fileExists(atPath: path) else { return }
        guard let data = FileManager.default.contents(atPath: path) else { throw BudgetError("\(path): cannot read the spend ledger") }
        do { stored = try JSONDecoder().decode(Stored.self, from: data) } catch {
            throw BudgetError("\(path): not a spend ledger (\(error))")
        }
        guard stored.version == 1 else { throw BudgetError("\(path): unsupported spend ledger version \(stored.version)") }
    }

    public func totals(key: String, at date: Date) -> SpendTotals {
        let (day, month) = SpendLedgers.periods(date)
        return SpendTotals(keyDay: stored.totals["day|\(day)|\(key)"] ?? 0, keyMonth: stored.totals["month|\(month)|\(key)"] ?? 0,
                           globalDay: stored.totals["day|\(day)|global"] ?? 0, globalMonth: stored.totals["month|\(month)|global"] ?? 0)
    }

    /// Spend per model in the month of `date`, for reports.
    public func models(at date: Date) -> [String: Double] {
        let prefix = "month|\(SpendLedgers.periods(date).month)|global|model|"
        return Dictionary(uniqueKeysWithValues: stored.totals.filter { $0.key.hasPrefix(prefix) }
            .map { (String($0.key.dropFirst(prefix.count)), $0.value) })
    }

    public func record(key: String, model: String, cost: Double, at date: Date) throws {
        guard cost > 0, cost.isFinite else { return }
        let (day, month) = SpendLedgers.periods(date)
        for name in ["day|\(day)|\(key)", "month|\(month)|\(key)", "day|\(day)|global", "month|\(month)|global",
                     "month|\(month)|global|model|\(model)"] {
            stored.totals[name, default: 0] += cost
        }
        // Keep this month and the previous one.
        let previous = SpendLedgers.previousMonth(month)
        stored.totals = stored.totals.filter { entry in
            let period = entry.key.split(separator: "|").dropFirst().first.map(String.init) ?? ""
            return period.hasPrefix(month) || period.hasPrefix(previous)
        }
        try save()
    }

    private func save() throws {
        guard let path else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do { try encoder.encode(stored).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw BudgetError("\(path): cannot write the spend ledger (\(error.localizedDescription))")
        }
    }
}
