import Foundation
import PointsmanTestSupport
import Testing

@Suite("Fixtures")
struct FixtureTests {
    @Test("the golden files are in the repository, so a clone with nothing beside it can test")
    func present() throws {
        #expect(try Fixture.jsonObject("golden/minilm_golden.json")["items"] != nil)
        #expect(try Fixture.jsonLines("golden/embeddings_train_sample.jsonl").count == 200)
    }

    @Test("a missing or broken fixture is an error naming the file, never a crash")
    func missing() throws {
        do {
            _ = try Fixture.jsonObject("golden/not-there.json")
            Issue.record("expected an error")
        } catch let error as FixtureError {
            #expect(error.description.contains("golden/not-there.json") && error.problem == "missing")
        }
        let dir = TestPaths.fixture("")
        let scratch = "scratch-\(UUID().uuidString).jsonl"
        try "{\"a\": 1}\n[1, 2]\n".write(toFile: dir + scratch, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: dir + scratch) }
        #expect(throws: FixtureError.self) { try Fixture.jsonLines(scratch) }
    }
}
