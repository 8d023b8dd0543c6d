import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PointsmanCore
import PointsmanService
import PointsmanTestSupport
import Testing
import VectorMath

@Suite("Routing version stamp")
struct RoutingVersionTests {
    static let header = HTTPField.Name("x-pointsman-routing-version")!

    @Test("every response and decision carries the routing version; it changes with the content, not with a rewrite")
    func stamp() async throws {
        let dir = TestPaths.temporaryDirectory("svc-version")
        let path = dir + "/catalog.json"
        try Catalog.shipped.jsonText().write(toFile: path, atomically: true, encoding: .utf8)
        let dependencies = try await fakeDependencies(RecordingUpstream(), catalog: path)
        let app = Application(router: buildRouter(dependencies))
        try await app.test(.router) { client in
            var first = ""
            try await client.execute(uri: "/healthz", method: .get) { response in
                first = response.headers[Self.header] ?? ""
            }
            #expect(first.count == 12 && first.allSatisfy(\.isHexDigit))
            // Errors too: an unknown path, a bad body.
            try await client.execute(uri: "/nowhere", method: .get) { #expect($0.headers[Self.header] == first) }
            try await client.execute(uri: "/v1/route", method: .post, body: ByteBuffer(string: "{")) { response in
                #expect(response.status == .badRequest && response.headers[Self.header] == first)
            }
            try await client.execute(uri: "/v1/route", method: .post, body: try body(["prompt": "Write a haiku about snow"])) { response in
                #expect(json(response.body)["routing_version"] as? String == first)
                #expect(response.headers[Self.header] == first)
            }
            let chat = try body(["model": "auto", "messages": [["role": "user", "content": "Write a haiku about snow"]]])
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: chat) { response in
                #expect(response.status == .ok && response.headers[Self.header] == first)
            }
            // The same content written again: same version.
            try Catalog.shipped.jsonText().write(toFile: path, atomically: true, encoding: .utf8)
            try await client.execute(uri: "/admin/reload", method: .post) { response in
                #expect(json(response.body)["routing_version"] as? String == first)
            }
            // A broken file keeps the old state and its version.
            try "{".write(toFile: path, atomically: true, encoding: .utf8)
            try await client.execute(uri: "/admin/reload", method: .post) { response in
                #expect(response.status == .unprocessableContent)
                #expect(json(response.body)["routing_version"] as? String == first)
            }
            // New content: a new version everywhere, and /metrics shows only the version in force.
            try #"{"default_model": "a", "models": [{"alias": "a", "capabilities": ["general"], "priority": 1}]}"#
                .write(toFile: path, atomically: true, encoding: .utf8)
            var second = ""
            try await client.execute(uri: "/admin/reload", method: .post) { response in
                second = json(response.body)["routing_version"] as? String ?? ""
            }
            #expect(second.count == 12 && second != first)
            try await client.execute(uri: "/v1/route", method: .post, body: try body(["prompt": "Write a haiku about snow"])) { response in
                #expect(json(response.body)["routing_version"] as? String == second)
                #expect(response.headers[Self.header] == second)
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(text.contains("pointsman_routing_version_info{version=\"\(second)\"} 1"))
                #expect(!text.contains(first))
            }
        }
    }
}

@Suite("Routing version in the core")
struct RoutingVersionCoreTests {
    @Test("a version hashes what is loaded: equal files give equal versions, any change of catalog, rules or centroids a new one")
    func version() throws {
        let catalog = Catalog.shipped
        let base = RoutingSetup.version(catalog: catalog, rules: .shipped, centroids: nil)
        #expect(base == RoutingSetup.version(catalog: catalog, rules: .shipped, centroids: nil))
        var cheaper = catalog
        cheaper.models[0].priority += 1
        #expect(RoutingSetup.version(catalog: cheaper, rules: .shipped, centroids: nil) != base)
        var rules = RegexRuleSet.shipped
        rules.rules.removeLast()
        #expect(RoutingSetup.version(catalog: catalog, rules: rules, centroids: nil) != base)
        let artifact = try CentroidArtifact.load(from: TestPaths.repositoryFile("centroids/tasks.json"))
        let withCentroids = RoutingSetup.version(catalog: catalog, rules: .shipped, centroids: artifact)
        #expect(withCentroids != base)
        var moved = artifact
        var values = artifact.centroids.values
        values[0] += 0.001
        moved.centroids = try Matrix(rows: artifact.centroids.rows, cols: artifact.centroids.cols, values: values)
        #expect(RoutingSetup.version(catalog: catalog, rules: .shipped, centroids: moved) != withCentroids)
    }

    @Test("decisions and trace events carry the router's version")
    func stamped() async throws {
        let setup = try await RoutingSetup.load(RoutingFiles(), embedder: nil)
        let decision = try await setup.router(.regex).route("Translate good morning into Spanish")
        #expect(decision.routingVersion == setup.version)
        let encoded = try JSONSerialization.jsonObject(with: JSONEncoder().encode(decision)) as? [String: Any]
        #expect(encoded?["routing_version"] as? String == setup.version)
        let event = TraceEvent(task: "t", step: 1, phase: "route", capability: "translation", method: .regex, model: "m",
                               attempt: 1, latencyMs: 1, usage: nil, cost: nil, cached: false, error: nil, timestamp: Date(),
                               routingVersion: setup.version)
        let line = try JSONSerialization.jsonObject(with: JSONEncoder().encode(event)) as? [String: Any]
        #expect(line?["routing_version"] as? String == setup.version)
    }
}
