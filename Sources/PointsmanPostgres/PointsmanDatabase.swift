import Foundation
import Logging
import NIOSSL
import PostgresNIO

/// A database that cannot be used (a bad `postgres://` URL, a server that does not answer); says what is wrong,
/// never the password.
public struct DatabaseURLError: Error, Sendable, CustomStringConvertible {
    public let description: String
}

/// A PostgreSQL database for the state replicas share: a connection pool (postgres-nio's `PostgresClient`) and the
/// schema, created and migrated on `open`.
public final class PointsmanDatabase: Sendable {
    public let client: PostgresClient
    let logger: Logger
    private let runner: Task<Void, Never>

    /// Connects to `url` (`postgres://user:password@host:port/database`, `sslmode=disable|prefer|require` as a
    /// query item) and migrates the schema. Throws when the database cannot be reached within `timeout` or migrated;
    /// the error names the host and port, never the password.
    public static func open(url: String, timeout: Duration = .seconds(10),
                            logger: Logger = Logger(label: "pointsman.postgres")) async throws -> PointsmanDatabase {
        let configuration = try configuration(url)
        let database = PointsmanDatabase(configuration: configuration, logger: logger)
        let place = "\(configuration.host ?? "?"):\(configuration.port ?? 5432)"
        do {
            // The pool keeps retrying an unreachable server: the first use is bounded here.
            try await bounded(timeout) { try await database.migrate() }
        } catch is DatabaseTimeout {
            database.close()
            throw DatabaseURLError(description: "the database at \(place) did not answer within \(timeout)")
        } catch let error as DatabaseURLError {
            database.close()
            throw error
        } catch let error as PSQLError {
            database.close()
            throw DatabaseURLError(description: "the database at \(place) refused the schema set-up: \(error.serverInfo?[.message] ?? "\(error.code)")")
        } catch {
            database.close()
            throw DatabaseURLError(description: "the database at \(place) cannot be used: \(error)")
        }
        return database
    }

    init(configuration: PostgresClient.Configuration, logger: Logger) {
        // The pool logs every failed connection attempt at info, and warns when a lease comes before `run()` has
        // started (which the task below may do later on a busy machine; the lease waits for it): the ledger and
        // `open` report outages themselves, so only the pool's errors get through.
        var background = logger
        background.logLevel = max(logger.logLevel, .error)
        let client = PostgresClient(configuration: configuration, backgroundLogger: background)
        self.client = client
        self.logger = logger
        runner = Task { await client.run() }
    }

    /// Stops the pool.
    public func close() { runner.cancel() }

    /// Runs `write` in a transaction on one connection and returns only once PostgreSQL has committed it.
    ///
    /// A statement outside a transaction block is acknowledged (its CommandComplete, where postgres-nio returns)
    /// before the server commits it, at the protocol's Sync that follows. A commit that fails there (a serialization
    /// failure, a deferred constraint, a server stopping in between) would otherwise pass for a write that landed, and
    /// its error would reach postgres-nio as a message it does not expect after a finished statement. Inside
    /// `BEGIN … COMMIT` the commit is a statement of its own, whose success means the rows are in. When it fails the
    /// write may or may not have landed, and callers write it again (every record they write carries an id, so a
    /// second copy is skipped). Throws the error of the write, else of the commit, else of `BEGIN`.
    func committed<T: Sendable>(_ write: (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await client.withTransaction(logger: logger) { connection in try await write(connection) }
        } catch let error as PostgresTransactionError {
            throw error.closureError ?? error.commitError ?? error.beginError ?? error
        }
    }

    /// The client configuration for a `postgres://` URL.
    static func configuration(_ url: String) throws -> PostgresClient.Configuration {
        guard let components = URLComponents(string: url), let scheme = components.scheme,
              ["postgres", "postgresql"].contains(scheme.lowercased()) else {
            throw DatabaseURLError(description: "the database URL must look like postgres://user:password@host:5432/database")
        }
        guard let host = components.host, !host.isEmpty else { throw DatabaseURLError(description: "the database URL names no host") }
        guard let user = components.user, !user.isEmpty else { throw DatabaseURLError(description: "the database URL names no user") }
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        let sslMode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "disable"
        let tls: PostgresClient.Configuration.TLS
        switch sslMode {
        case "disable": tls = .disable
        case "require": tls = .require(.makeClientConfiguration())
        case "prefer": tls = .prefer(.makeClientConfiguration())
        default: throw DatabaseURLError(description: "sslmode must be disable, prefer or require, got \(sslMode)")
        }
        var configuration = PostgresClient.Configuration(
            host: host, port: components.port ?? 5432, username: user, password: components.password,
            database: database.isEmpty ? nil : database, tls: tls)
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }
}
