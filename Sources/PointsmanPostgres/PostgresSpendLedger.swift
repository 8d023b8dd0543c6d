import Foundation
import Logging
import PointsmanCore
import PostgresNIO

/// Spend kept in PostgreSQL, shared by every replica: one row per UTC day, key id and model, added to atomically
/// (`INSERT … ON CONFLICT DO UPDATE`), so concurrent answers through any replica are all counted and a budget holds
/// across replicas. Months before the previous one are deleted as they go out of use.
///
/// A record the database cannot take within `writeTimeout` (it is down, or restarting) is kept in memory and written
/// with the next record that gets through, so an outage neither slows answers nor loses spend while the process
/// lives. Every record has an id, so one retried after a timeout whose write did land is counted once. At most
/// `pendingLimit` records are held; past that the oldest are dropped, and logged.
public actor PostgresSpendLedger: SpendLedger {
    struct Pending: Sendable {
        var id = UUID.timeOrdered()
        var day: String
        var key: String
        var model: String
        var cost: Double
    }

    let database: PointsmanDatabase
    let pendingLimit: Int
    let writeTimeout: Duration
    private var pending: [Pending] = []
    private var flushing = false
    /// After a failed write, the database is not tried again before this instant (records are held meanwhile).
    private var retryAfter: ContinuousClock.Instant?
    let retryInterval: Duration
    /// Records held because the database could not take them.
    public var pendingCount: Int { pending.count }

    public init(database: PointsmanDatabase, pendingLimit: Int = 100_000, writeTimeout: Duration = .seconds(2),
                retryInterval: Duration = .seconds(5)) {
        self.retryInterval = retryInterval
        self.database = database
        self.pendingLimit = max(1, pendingLimit)
        self.writeTimeout = writeTimeout
    }

    /// The totals, read within `writeTimeout` (a database that does not answer is an error, and the caller goes on
    /// without a budget check rather than wait).
    public func totals(key: String, at date: Date) async throws -> SpendTotals {
        try await flush()
        let (day, month) = SpendLedgers.periods(date)
        let monthPattern = month + "-%"
        let client = database.client, logger = database.logger
        return try await bounded(writeTimeout) {
            let rows = try await client.query("""
            SELECT
              coalesce(sum(cost) FILTER (WHERE key_id = \(key) AND day = \(day)), 0),
              coalesce(sum(cost) FILTER (WHERE key_id = \(key)), 0),
              coalesce(sum(cost) FILTER (WHERE day = \(day)), 0),
              coalesce(sum(cost), 0)
            FROM pointsman_spend WHERE day LIKE \(monthPattern)
            """, logger: logger)
            var totals = SpendTotals()
            for try await (keyDay, keyMonth, globalDay, globalMonth) in rows.decode((Double, Double, Double, Double).self) {
                totals = SpendTotals(keyDay: keyDay, keyMonth: keyMonth, globalDay: globalDay, globalMonth: globalMonth)
            }
            return totals
        }
    }

    /// Adds `cost`; when the database cannot take it now, holds it for the next write instead of failing.
    public func record(key: String, model: String, cost: Double, at date: Date) async throws {
        let (day, month) = SpendLedgers.periods(date)
        pending.append(Pending(day: day, key: key, model: model, cost: cost))
        if pending.count > pendingLimit {
            let dropped = pending.count - pendingLimit
            pending.removeFirst(dropped)
            database.logger.error("spend ledger: database unavailable too long; dropped the oldest held records", metadata: ["dropped": "\(dropped)"])
        }
        do {
            try await flush()
        } catch {
            database.logger.warning("spend ledger: database unavailable; holding records", metadata: [
                "held": "\(pending.count)", "error": "\(String(reflecting: error).prefix(200))"])
            return
        }
        // Keep this month and the previous one.
        let oldest = SpendLedgers.previousMonth(month) + "-01"
        try? await database.client.query("DELETE FROM pointsman_spend WHERE day < \(oldest)", logger: database.logger)
        try? await database.client.query("DELETE FROM pointsman_spend_records WHERE day < \(oldest)", logger: database.logger)
    }

    public func models(at date: Date) async throws -> [String: Double] {
        try await flush()
        let monthPattern = SpendLedgers.periods(date).month + "-%"
        let client = database.client, logger = database.logger
        return try await bounded(writeTimeout) {
            var models: [String: Double] = [:]
            let rows = try await client.query(
                "SELECT model, sum(cost) FROM pointsman_spend WHERE day LIKE \(monthPattern) GROUP BY model", logger: logger)
            for try await (model, cost) in rows.decode((String, Double).self) { models[model] = cost }
            return models
        }
    }

    /// Writes the held records, oldest first, one writer at a time (others leave theirs for it); each is removed once
    /// the database has committed it. A write that takes longer than `writeTimeout` counts as failed and stays held.
    private func flush() async throws {
        if let retryAfter, ContinuousClock.now < retryAfter, !pending.isEmpty { throw DatabaseUnavailable() }
        guard !flushing else { return }
        flushing = true
        defer { flushing = false }
        while let next = pending.first {
            let database = database, logger = database.logger
            do {
              try await bounded(writeTimeout) {
                try await database.committed { _ = try await $0.query("""
                        WITH fresh AS (
                          INSERT INTO pointsman_spend_records (id, day) VALUES (\(next.id), \(next.day)) ON CONFLICT DO NOTHING RETURNING id)
                        INSERT INTO pointsman_spend (day, key_id, model, cost)
                          SELECT \(next.day), \(next.key), \(next.model), \(next.cost) FROM fresh
                        ON CONFLICT (day, key_id, model) DO UPDATE SET cost = pointsman_spend.cost + EXCLUDED.cost
                        """, logger: logger) }
              }
            } catch {
                retryAfter = .now + retryInterval
                throw error
            }
            retryAfter = nil
            pending.removeFirst()
        }
    }
}

/// The database failed recently and is not tried again yet.
struct DatabaseUnavailable: Error, CustomStringConvertible {
    var description: String { "the database failed recently; spend records are held until it answers again" }
}

/// The database did not answer in time.
struct DatabaseTimeout: Error, CustomStringConvertible {
    let after: Duration
    var description: String { "the database did not answer within \(after)" }
}

/// `operation`'s result, or `DatabaseTimeout` as soon as `limit` has passed. The operation is then cancelled but not
/// waited for (a query waiting for a connection to a server that is down may take its own time to notice), so callers
/// must be able to see a late success: spend records are idempotent for that reason.
func bounded<T: Sendable>(_ limit: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    let settled = SettleOnce()
    return try await withCheckedThrowingContinuation { continuation in
        let work = Task {
            do {
                let value = try await operation()
                if settled.claim() { continuation.resume(returning: value) }
            } catch {
                if settled.claim() { continuation.resume(throwing: error) }
            }
        }
        settled.setTimer(Task {
            try? await Task.sleep(for: limit)
            if settled.claim() {
                work.cancel()
                continuation.resume(throwing: DatabaseTimeout(after: limit))
            }
        })
    }
}

/// Lets exactly one of several racers resume a continuation, and stops the timer once one has (so a finished
/// operation leaves no task sleeping out its time limit).
final class SettleOnce: @unchecked Sendable {  // guarded by `lock`
    private let lock = NSLock()
    private var done = false
    private var timer: Task<Void, Never>?

    func claim() -> Bool {
        let (first, timer) = lock.withLock { () -> (Bool, Task<Void, Never>?) in
            defer { done = true; self.timer = nil }
            return (!done, self.timer)
        }
        timer?.cancel()
        return first
    }

    /// Keeps `timer` to cancel at the first claim, or cancels it now when a racer has already claimed.
    func setTimer(_ timer: Task<Void, Never>) {
        let cancelNow = lock.withLock { () -> Bool in
            if done { return true }
            self.timer = timer
            return false
        }
        if cancelNow { timer.cancel() }
    }
}
