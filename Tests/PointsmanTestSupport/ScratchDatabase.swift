import Foundation
import Synchronization
import Testing

/// Databases of their own for tests, made on the test server (`POINTSMAN_TEST_DATABASE_URL`) and dropped when the
/// suite that made them ends (`.dropsScratchDatabases`). Without the drop every run would leave its databases behind,
/// and a cluster holding hundreds of them keeps the autovacuum launcher starting workers all the time, which costs
/// CPU that benchmarks on the same machine then measure.
public enum ScratchDatabase {
    /// The databases made inside one suite's scope.
    final class Made: Sendable {
        let names = Mutex<[String]>([])
    }

    @TaskLocal static var made: Made?

    /// Makes an empty database named `prefix` and 16 random hex digits; returns its URL.
    /// Only inside a suite marked `.dropsScratchDatabases`: anywhere else nothing would drop it.
    public static func create(prefix: String) throws -> String {
        guard let made else {
            throw ServerControlError(description: "ScratchDatabase.create outside a suite marked .dropsScratchDatabases: nothing would drop the database")
        }
        let admin = try Peers.postgres()
        let name = prefix + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        try psql(admin, "CREATE DATABASE \(name)")
        made.names.withLock { $0.append(name) }
        return admin.replacingOccurrences(of: "/pointsman_test", with: "/\(name)")
    }

    /// Drops the databases `made` holds (connections still open to them are ended first); tries every one, then
    /// throws the first failure.
    static func dropAll(_ made: Made) throws {
        let admin = try Peers.postgres()
        let names = made.names.withLock { names in defer { names.removeAll() }; return names }
        var failure: (any Error)?
        for name in names {
            do { try psql(admin, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)") } catch { failure = failure ?? error }
        }
        if let failure { throw failure }
    }

    /// Runs one statement with the server's `psql`.
    static func psql(_ url: String, _ statement: String) throws {
        guard let bin = ProcessInfo.processInfo.environment["POINTSMAN_POSTGRES_BIN"] else {
            throw ServerControlError(description: "POINTSMAN_POSTGRES_BIN is not set: start the server with .ci/peers.sh start postgres")
        }
        let status = try runQuietly(["\(bin)/psql", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", statement])
        guard status == 0 else { throw ServerControlError(description: "psql failed (status \(status)): \(statement)") }
    }
}

/// A suite trait: databases made by `ScratchDatabase.create` while the suite runs are dropped when it ends, whether
/// its tests passed or not.
public struct DropsScratchDatabases: SuiteTrait, TestScoping {
    public init() {}

    public var isRecursive: Bool { false }

    public func provideScope(for test: Test, testCase: Test.Case?,
                             performing function: @Sendable () async throws -> Void) async throws {
        let made = ScratchDatabase.Made()
        do {
            try await ScratchDatabase.$made.withValue(made) { try await function() }
        } catch {
            try? ScratchDatabase.dropAll(made)
            throw error
        }
        try ScratchDatabase.dropAll(made)
    }
}

extension Trait where Self == DropsScratchDatabases {
    /// Drops the databases the suite's tests made, when the suite ends.
    public static var dropsScratchDatabases: Self { Self() }
}
