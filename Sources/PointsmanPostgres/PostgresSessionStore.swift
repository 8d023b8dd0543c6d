import Foundation
import Logging
import PointsmanCore
import PostgresNIO
import Synchronization

/// Session stickiness shared by replicas: which model each conversation is on, in `pointsman_sessions` (one row per
/// session key, forgotten `ttl` after its last turn; expired rows are deleted once a minute by whichever replica
/// writes). A conversation whose turns a load balancer spreads over replicas stays on its model.
///
/// The database is asked within `timeout`; when it fails, this replica's own table answers (and is kept up to date)
/// and the database is left alone for `retryInterval`, so an outage costs stickiness across replicas, not latency.
public final class PostgresSessionStore: SessionStore {
    let database: PointsmanDatabase
    let ttl: Duration
    let timeout: Duration
    let retryInterval: Duration
    /// This replica's sessions: the answer while the database is unavailable.
    let local: SessionTable
    private struct State {
        var retryAfter: ContinuousClock.Instant?
        var lastCleanup: ContinuousClock.Instant?
        /// After an outage one request at a time tries the database again; the others use the local table.
        var probing = false
    }
    private let state = Mutex(State())

    public init(database: PointsmanDatabase, ttl: Duration, capacity: Int = 10_000, timeout: Duration = .milliseconds(250),
                retryInterval: Duration = .seconds(5)) {
        self.database = database
        self.ttl = ttl
        self.timeout = timeout
        self.retryInterval = retryInterval
        local = SessionTable(capacity: capacity, ttl: ttl)
    }

    var ttlSeconds: Double { Double(ttl.components.seconds) + Double(ttl.components.attoseconds) / 1e18 }

    /// Whether this call may use the database: always when it is healthy; after an outage, one call at a time once
    /// the retry interval has passed.
    func claimDatabase() -> Bool {
        state.withLock { state in
            guard let retryAfter = state.retryAfter else { return true }
            guard ContinuousClock.now >= retryAfter, !state.probing else { return false }
            state.probing = true
            return true
        }
    }

    func failed(_ error: any Error) {
        let first = state.withLock { state -> Bool in
            defer {
                state.retryAfter = .now + retryInterval
                state.probing = false
            }
            return state.retryAfter == nil
        }
        if first {
            database.logger.warning("sessions: database unavailable; this replica's own sessions answer meanwhile",
                                    metadata: ["error": "\(String(reflecting: error).prefix(200))"])
        }
    }

    func succeeded() {
        state.withLock {
            $0.retryAfter = nil
            $0.probing = false
        }
    }

    public func session(_ key: String) async -> SessionEntry? {
        guard claimDatabase() else { return local.entry(key) }
        let client = database.client, logger = database.logger, seconds = ttlSeconds
        do {
            let found = try await bounded(timeout) { () -> (String, String, Double)? in
                let rows = try await client.query("""
                    SELECT model, capability, extract(epoch FROM now() - last_seen)::double precision
                    FROM pointsman_sessions WHERE key = \(key) AND last_seen > now() - make_interval(secs => \(seconds))
                    """, logger: logger)
                for try await row in rows.decode((String, String, Double).self) { return row }
                return nil
            }
            succeeded()
            guard let (model, capability, age) = found else { return nil }
            return SessionEntry(model: model, capability: capability,
                                lastSeen: .now - .nanoseconds(Int64(max(0, age) * 1e9)))
        } catch {
            failed(error)
            return local.entry(key)
        }
    }

    public func remember(_ key: String, _ entry: SessionEntry) async {
        local.record(key, entry)
        guard claimDatabase() else { return }
        let client = database.client, logger = database.logger, seconds = ttlSeconds
        do {
            try await bounded(timeout) {
                try await client.query("""
                    INSERT INTO pointsman_sessions (key, model, capability, last_seen)
                    VALUES (\(key), \(entry.model), \(entry.capability), now())
                    ON CONFLICT (key) DO UPDATE
                      SET model = EXCLUDED.model, capability = EXCLUDED.capability, last_seen = EXCLUDED.last_seen
                    """, logger: logger)
            }
            succeeded()
        } catch {
            failed(error)
            return
        }
        let due = state.withLock { state -> Bool in
            guard state.lastCleanup.map({ ContinuousClock.now - $0 > .seconds(60) }) ?? true else { return false }
            state.lastCleanup = .now
            return true
        }
        if due {
            // Off the request: the turn does not wait for the clean-up.
            let limit = timeout
            Task.detached {
                _ = try? await bounded(limit) {
                    try await client.query(
                        "DELETE FROM pointsman_sessions WHERE last_seen < now() - make_interval(secs => \(seconds))", logger: logger)
                }
            }
        }
    }

    /// Sessions in the table, expired ones included until they are cleaned up.
    public func storedCount() async throws -> Int {
        var count = 0
        for try await n in try await database.client.query("SELECT count(*)::bigint FROM pointsman_sessions", logger: database.logger)
            .decode(Int.self) { count = n }
        return count
    }
}
