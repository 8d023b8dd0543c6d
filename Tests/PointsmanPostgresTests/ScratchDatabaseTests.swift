import PointsmanPostgres
import PointsmanTestSupport
import PostgresNIO
import Synchronization
import Testing

@Suite("Test support: scratch databases do not outlive their suite")
struct ScratchDatabaseTests {
    /// The names of the databases on the test server.
    static func databaseNames() async throws -> Set<String> {
        let database = try await PointsmanDatabase.open(url: try Peers.postgres())
        defer { database.close() }
        var names: Set<String> = []
        for try await name in try await database.client.query("SELECT datname FROM pg_database").decode(String.self) {
            names.insert(name)
        }
        return names
    }

    @Test("a database made inside the trait's scope exists there, even with a connection still open, and is gone when the scope ends")
    func droppedAtTheEnd() async throws {
        let test = try #require(Test.current)
        let made = Mutex<(name: String, connection: PointsmanDatabase)?>(nil)
        try await DropsScratchDatabases().provideScope(for: test, testCase: nil) {
            let url = try ScratchDatabase.create(prefix: "s_")
            let connection = try await PointsmanDatabase.open(url: url)
            _ = try await connection.appliedMigrations()
            let name = String(url.split(separator: "/").last!)
            // Left open through the drop on purpose: a test that forgets to close its pool must not keep its database.
            made.withLock { $0 = (name, connection) }
            #expect(try await Self.databaseNames().contains(name))
        }
        let (name, connection) = try #require(made.withLock { $0 })
        defer { connection.close() }
        #expect(try await !Self.databaseNames().contains(name))
    }

    @Test("outside a suite that drops them, making one is refused before anything is made")
    func refusedOutsideTheScope() async throws {
        let before = try await Self.databaseNames()
        #expect(throws: ServerControlError.self) { try ScratchDatabase.create(prefix: "s_") }
        #expect(try await Self.databaseNames() == before)
    }
}
