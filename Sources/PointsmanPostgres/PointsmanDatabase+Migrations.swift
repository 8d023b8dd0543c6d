import Logging
import PostgresNIO

extension PointsmanDatabase {
    /// One schema change, applied once, in order, in a transaction of its own.
    struct Migration: Sendable {
        let version: Int
        let name: String
        let statements: [PostgresQuery]
    }

    /// Every schema change so far. Append only: an applied migration is never edited.
    static let migrations: [Migration] = [
        Migration(version: 1, name: "spend ledger", statements: [
            """
            CREATE TABLE pointsman_spend (
                day text NOT NULL,
                key_id text NOT NULL,
                model text NOT NULL,
                cost double precision NOT NULL DEFAULT 0,
                PRIMARY KEY (day, key_id, model)
            )
            """,
            "CREATE INDEX pointsman_spend_key ON pointsman_spend (key_id, day)",
        ]),
        Migration(version: 2, name: "spend record ids", statements: [
            // Every record carries an id, so a write retried after a timeout is counted once.
            "CREATE TABLE pointsman_spend_records (id uuid PRIMARY KEY, day text NOT NULL)",
            "CREATE INDEX pointsman_spend_records_day ON pointsman_spend_records (day)",
        ]),
        Migration(version: 3, name: "decision log", statements: [
            """
            CREATE TABLE pointsman_decisions (
                id uuid PRIMARY KEY,
                request_id text NOT NULL,
                time timestamptz NOT NULL,
                source text NOT NULL,
                routing_version text,
                arm text NOT NULL,
                detector text NOT NULL,
                capability text,
                model text NOT NULL,
                confidence double precision,
                method text,
                language text,
                route_ms double precision,
                total_ms double precision,
                prompt_tokens bigint,
                completion_tokens bigint,
                cost double precision,
                status integer NOT NULL,
                prompt text
            )
            """,
            "CREATE INDEX pointsman_decisions_time ON pointsman_decisions (time)",
            "CREATE INDEX pointsman_decisions_request ON pointsman_decisions (request_id)",
        ]),
        Migration(version: 4, name: "feedback", statements: [
            """
            CREATE TABLE pointsman_feedback (
                id uuid PRIMARY KEY,
                request_id text NOT NULL,
                time timestamptz NOT NULL,
                key_id text NOT NULL,
                capability text,
                rating integer,
                comment text
            )
            """,
            "CREATE INDEX pointsman_feedback_request ON pointsman_feedback (request_id)",
        ]),
        Migration(version: 5, name: "sessions", statements: [
            """
            CREATE TABLE pointsman_sessions (
                key text PRIMARY KEY,
                model text NOT NULL,
                capability text NOT NULL,
                last_seen timestamptz NOT NULL
            )
            """,
            "CREATE INDEX pointsman_sessions_last_seen ON pointsman_sessions (last_seen)",
        ]),
        Migration(version: 6, name: "decision key ids", statements: [
            // Feedback counts only from the key that made the request.
            "ALTER TABLE pointsman_decisions ADD COLUMN key_id text",
        ]),
        Migration(version: 7, name: "decision time as a block-range index", statements: [
            // Rows arrive in time order: a BRIN index answers time ranges at a fraction of a B-tree's upkeep per row.
            "DROP INDEX IF EXISTS pointsman_decisions_time",
            "CREATE INDEX pointsman_decisions_time_brin ON pointsman_decisions USING brin (time) WITH (autosummarize = on)",
        ]),
    ]

    /// Applies the migrations not yet applied, in one transaction. Replicas starting together serialise on an
    /// advisory lock taken first (even `CREATE TABLE IF NOT EXISTS` races without it), so each change runs exactly
    /// once; running it again changes nothing.
    func migrate() async throws {
        try await client.withTransaction(logger: logger) { connection in
            // A fixed key: every replica's migrations run one at a time.
            try await connection.query("SELECT pg_advisory_xact_lock(8081991)", logger: logger)
            try await connection.query("""
                CREATE TABLE IF NOT EXISTS pointsman_schema_migrations (
                    version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
                """, logger: logger)
            var applied: Set<Int> = []
            for try await version in try await connection.query("SELECT version FROM pointsman_schema_migrations", logger: logger)
                .decode(Int.self) {
                applied.insert(version)
            }
            for migration in Self.migrations where !applied.contains(migration.version) {
                for statement in migration.statements { try await connection.query(statement, logger: logger) }
                try await connection.query(
                    "INSERT INTO pointsman_schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))",
                    logger: logger)
                logger.info("applied database migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
            }
        }
    }

    /// The applied migration versions, in order.
    public func appliedMigrations() async throws -> [Int] {
        var versions: [Int] = []
        for try await version in try await client.query("SELECT version FROM pointsman_schema_migrations ORDER BY version", logger: logger)
            .decode(Int.self) {
            versions.append(version)
        }
        return versions
    }
}
