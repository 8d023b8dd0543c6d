import Foundation
import PointsmanCore
import PointsmanTestSupport
import Testing

@Suite("Catalog loading and validation")
struct CatalogTests {
    func parse(_ json: String) throws(CatalogError) -> Catalog {
        try Catalog.parse(Data(json.utf8), format: .json, file: "test.json")
    }

    func error(_ json: String) -> CatalogError? {
        do {
            _ = try parse(json)
            return nil
        } catch {
            return error
        }
    }

    static let valid = #"{"default_model":"a","models":[{"alias":"a","capabilities":["general"],"priority":1},{"alias":"b","capabilities":["code"],"priority":2,"fallbacks":["a"]}]}"#

    @Test("a valid catalog loads with defaults filled in")
    func valid() throws {
        let catalog = try parse(Self.valid)
        #expect(catalog.models.map(\.alias) == ["a", "b"])
        #expect(catalog.model("b")?.fallbacks == ["a"])
        #expect(catalog.model("a")?.upstreamID == "a")
        #expect(catalog.model("a")?.costPer1KInput == 0)
    }

    @Test("the shipped catalog is valid and round-trips through its JSON")
    func shipped() throws {
        let text = Catalog.shipped.jsonText()
        #expect(try parse(text) == Catalog.shipped)
    }

    @Test("errors name the file, the field and the problem", arguments: [
        (#"{"default_model":"a","models":[{"alias":"a","capabilities":["x"],"priority":1},{"alias":"a","capabilities":["y"],"priority":2}]}"#,
         "models[1].alias", "duplicate alias"),
        (#"{"default_model":"a","models":[{"alias":"a","capabilities":["x"],"priority":1,"colour":"red"}]}"#,
         "models[0].colour", "unknown field"),
        (#"{"default_model":"a","models":[{"alias":"a","capabilities":["x"],"priority":1,"fallbacks":["ghost"]}]}"#,
         "models[0].fallbacks[0]", "not in the catalog"),
        (#"{"default_model":"a","escalation":{"target":"big"},"models":[{"alias":"a","capabilities":["x"],"priority":1}]}"#,
         "escalation.target", "not in the catalog"),
        (#"{"default_model":"a","models":[{"alias":"a","capabilities":[],"priority":1}]}"#,
         "models[0].capabilities", "declares no capabilities"),
        (#"{"default_model":"a","models":[{"alias":"a","capabilities":["x"],"priority":1,"cost_per_1k_input":-1}]}"#,
         "models[0].cost_per_1k_input", "non-negative"),
        (#"{"default_model":"zz","models":[{"alias":"a","capabilities":["x"],"priority":1}]}"#,
         "default_model", "not in the catalog"),
        (#"{"default_model":"a","models":[{"alias":"a","capabilities":["x"]}]}"#,
         "models[0].priority", "missing"),
        (#"{"default_model":"a","models":[{"alias":"a","capabilities":["x"],"priority":"high"}]}"#,
         "models[0].priority", "expected an integer"),
    ])
    func invalid(json: String, field: String, problem: String) {
        let failure = error(json)
        #expect(failure?.file == "test.json")
        #expect(failure?.field == field)
        #expect(failure?.problem.contains(problem) == true, "\(String(describing: failure))")
    }

    @Test("not JSON at all")
    func notJSON() {
        #expect(error("{ models: ") != nil)
    }

    @Test("YAML catalogs load through the same schema")
    func yaml() throws {
        let dir = TestPaths.temporaryDirectory("catalog")
        let path = dir + "/catalog.yaml"
        try """
        default_model: a
        escalation:
          target: b
          max_prompt_characters: 100
          keywords: [urgent]
        models:
          - alias: a
            capabilities: [general]
            priority: 1
          - alias: b
            capabilities: [general, code]
            priority: 3
            upstream_model: gpt-4o
            base_url: https://example.invalid/v1
            cost_per_1k_input: 0.005
            cost_per_1k_output: 0.015
            context_length: 128000
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let catalog = try Catalog.load(from: path)
        #expect(catalog.model("b")?.upstreamID == "gpt-4o")
        #expect(catalog.escalation?.keywords == ["urgent"])
        #expect(abs((catalog.model("b")?.cost(promptTokens: 1000, completionTokens: 2000) ?? 0) - 0.035) < 1e-12)
    }

    @Test("a missing file is a clear error")
    func missingFile() {
        #expect(throws: CatalogError.self) { try Catalog.load(from: "/nonexistent/catalog.json") }
    }
}

@Suite("Catalog hot reload")
struct CatalogReloadTests {
    @Test("a valid change replaces the catalog; a broken one keeps the old and is counted")
    func reload() async throws {
        let dir = TestPaths.temporaryDirectory("reload")
        let path = dir + "/catalog.json"
        try CatalogTests.valid.write(toFile: path, atomically: true, encoding: .utf8)
        let store = try await RoutingStore(files: RoutingFiles(catalog: path), embedder: nil, detector: .regex)
        #expect(await store.current().catalog.models.count == 2)

        let three = #"{"default_model":"a","models":[{"alias":"a","capabilities":["general"],"priority":1},{"alias":"b","capabilities":["code"],"priority":2},{"alias":"c","capabilities":["math"],"priority":2}]}"#
        try three.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(await store.reload().ok)
        #expect(await store.current().catalog.models.count == 3)

        try #"{"default_model":"a","models":[{"alias":"a","capabilities":["general"],"priority":1,"fallbacks":["nope"]}]}"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        let failure = await store.reload()
        #expect(!failure.ok)
        #expect(failure.errors.first?.contains("models[0].fallbacks[0]") == true, "\(failure.errors)")
        #expect(await store.current().catalog.models.count == 3)
        #expect(await store.counts == .init(succeeded: 1, failed: 1))
    }

    @Test("the watcher picks up a rewritten file, and readers during reloads only see whole catalogs")
    func watcher() async throws {
        let dir = TestPaths.temporaryDirectory("watch")
        let path = dir + "/catalog.json"
        try CatalogTests.valid.write(toFile: path, atomically: true, encoding: .utf8)
        let store = try await RoutingStore(files: RoutingFiles(catalog: path), embedder: nil, detector: .regex)
        await store.startWatching(every: .milliseconds(20))
        let variants = [CatalogTests.valid, #"{"default_model":"x","models":[{"alias":"x","capabilities":["general"],"priority":1}]}"#]
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for round in 0..<20 {
                    try variants[round % 2].write(toFile: path, atomically: true, encoding: .utf8)
                    try await Task.sleep(for: .milliseconds(15))
                }
            }
            group.addTask {
                for _ in 0..<400 {
                    let catalog = await store.current().catalog
                    // Every catalog seen is one of the two complete versions.
                    #expect(catalog.models.count == 2 || catalog.models.map(\.alias) == ["x"])
                    #expect(catalog.model(catalog.defaultModel) != nil)
                }
            }
            try await group.waitForAll()
        }
        try variants[1].write(toFile: path, atomically: true, encoding: .utf8)
        var seen = false
        for _ in 0..<100 where !seen {
            try await Task.sleep(for: .milliseconds(20))
            seen = await store.current().catalog.defaultModel == "x"
        }
        await store.stopWatching()
        #expect(seen)
        #expect(await store.counts.succeeded >= 1)
    }
}
