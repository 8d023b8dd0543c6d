import Foundation
import PointsmanCore
import PointsmanInterfaces
import PointsmanTestSupport
import Testing
import VectorMath

/// The keyword embedder of the detector tests, able to pool with lead tokens the way the native encoder can.
struct PoolingKeywordEmbedder: LeadTokenEmbedder {
    var leadTokens = 0

    func fingerprint() async throws -> EmbedderFingerprint {
        var print = try await KeywordEmbedder().fingerprint()
        print.leadTokens = leadTokens == 0 ? nil : leadTokens
        return print
    }

    func embed(_ texts: [String]) async throws -> Matrix { try await KeywordEmbedder().embed(texts) }

    func embedder(leadTokens count: Int) throws -> any EmbeddingProvider { PoolingKeywordEmbedder(leadTokens: count) }
}

@Suite("Routing set-up: one place builds every router")
struct RoutingSetupTests {
    func write(_ artifact: CentroidArtifact) throws -> String {
        let path = TestPaths.temporaryDirectory("setup") + "/c.json"
        try artifact.write(to: path)
        return path
    }

    @Test("an embedder that can pool is re-pooled as the centroid file says, then checked against it")
    func leadTokens() async throws {
        var lead = try artifact()
        lead.embedder.leadTokens = 2
        let path = try write(lead)
        let setup = try await RoutingSetup.load(RoutingFiles(centroids: path), embedder: PoolingKeywordEmbedder())
        #expect(setup.embedderReachable)
        #expect(try await setup.embedder?.fingerprint().leadTokens == 2)
        #expect(setup.supports(.embedding) && setup.supports(.hybrid))
        // An embedder that cannot pool (an endpoint's plain vectors) is refused by name.
        do {
            _ = try await RoutingSetup.load(RoutingFiles(centroids: path), embedder: KeywordEmbedder())
            Issue.record("expected a mismatch")
        } catch let error as CentroidFileError {
            #expect(error.file == path)
            #expect(error.problem.contains("lead") || error.problem.contains("tokens"), "\(error.problem)")
        }
    }

    @Test("an unreachable embedder is kept unchecked: hybrid falls back to the rules, request by request")
    func unreachable() async throws {
        let path = try write(try artifact())
        struct Unreachable: EmbeddingProvider {
            func fingerprint() async throws -> EmbedderFingerprint { throw Boom() }
            func embed(_ texts: [String]) async throws -> Matrix { try await KeywordEmbedder(failure: Boom()).embed(texts) }
        }
        let setup = try await RoutingSetup.load(RoutingFiles(centroids: path), embedder: Unreachable())
        #expect(!setup.embedderReachable)
        let decision = try await setup.router(.hybrid).route("Translate this into French")
        #expect(decision.method == .fallback && decision.capability == "translation")
        #expect(decision.fallback == .embedderError)
        // An embedder too slow to answer (load) says so in a field clients see, apart from one that failed.
        let slow = RoutingSetup(catalog: .shipped, rules: try RegexIntentDetector(rules: .shipped), centroids: try artifact(),
                                embedder: KeywordEmbedder(delay: .seconds(2)),
                                options: .init(embedTimeout: .milliseconds(50)))
        let late = try await slow.router(.hybrid).route("Translate this into French")
        #expect(late.method == .fallback && late.fallback == .embedderTimeout)
        let json = String(decoding: try JSONEncoder().encode(late), as: UTF8.self)
        #expect(json.contains(#""fallback":"embedder_timeout""#))
        let sure = try await slow.router(.regex).route("Translate this into French")
        #expect(sure.fallback == nil)
    }

    @Test("regex when the centroids or the embedder are missing; each kind builds its own detector")
    func kinds() async throws {
        let none = try await RoutingSetup.load(RoutingFiles(), embedder: KeywordEmbedder())
        #expect(!none.supports(.hybrid) && none.supports(.regex))
        #expect(none.unguardedDetector(.hybrid) is RegexIntentDetector)
        let path = try write(try artifact())
        let setup = try await RoutingSetup.load(RoutingFiles(centroids: path), embedder: KeywordEmbedder())
        let embedding = try #require(setup.unguardedDetector(.embedding) as? CentroidIntentDetector)
        let hybrid = try #require(setup.unguardedDetector(.hybrid) as? CentroidIntentDetector)
        #expect(embedding.fallback == nil && hybrid.fallback != nil)
        #expect(setup.unguardedDetector(.regex) is RegexIntentDetector)
        #expect(setup.detector(.hybrid) is TranslationGuard)
        // A broken file is an error naming it, and nothing is half-loaded.
        try "{ nope".write(toFile: path, atomically: true, encoding: .utf8)
        await #expect(throws: CentroidFileError.self) {
            _ = try await RoutingSetup.load(RoutingFiles(centroids: path), embedder: KeywordEmbedder())
        }
    }

    @Test("a decision carries the selected catalog entry, endpoint and fallbacks included")
    func decisionCarriesEntry() async throws {
        let catalog = Catalog(defaultModel: "general", models: [
            ModelEntry(alias: "general", capabilities: ["general"], priority: 1),
            ModelEntry(alias: "coder", capabilities: ["code"], priority: 1, upstreamModel: "coder-v2",
                       baseURL: "http://127.0.0.1:9/v1", costPer1KInput: 0.5, fallbacks: ["general"]),
        ])
        let setup = RoutingSetup(catalog: catalog, rules: try RegexIntentDetector(rules: .shipped, file: "<shipped rules>"))
        let decision = try await setup.router(.regex).route("Write a Python function that reverses a list")
        #expect(decision.selected == catalog.model("coder"))
        #expect(decision.model == "coder" && decision.upstreamModel == "coder-v2")
        // Traces keep alias and upstream id; a decoded decision knows those.
        let decoded = try JSONDecoder().decode(RouteDecision.self, from: JSONEncoder().encode(decision))
        #expect(decoded.model == "coder" && decoded.upstreamModel == "coder-v2" && decoded.capability == decision.capability)
    }

    @Test("the A/B router blends the conversation on each arm, as the plain router does")
    func abBlendsConversation() async throws {
        let path = try write(try artifact())
        let setup = try await RoutingSetup.load(RoutingFiles(centroids: path), embedder: KeywordEmbedder())
        let messages: [ChatMessage] = [.user("code code code"), ChatMessage(role: .assistant, content: "ok"), .user("and more")]
        let plain = try await setup.router(.embedding).route(messages: messages)
        let ab = setup.abRouter(a: .embedding, b: .regex, mode: .shadow, recordPrompts: true)
        let (used, record) = try await ab.route(messages: messages, id: "u1")
        #expect(used.capability == plain.capability && used.confidence == plain.confidence)
        #expect(record.prompt == "and more" && record.b != nil)
    }
}

@Suite("Fallback chain")
struct FallbackChainTests {
    let models = [ModelEntry(alias: "a", capabilities: [], priority: 1), ModelEntry(alias: "b", capabilities: [], priority: 1),
                  ModelEntry(alias: "c", capabilities: [], priority: 1)]

    @Test("tries each model in order until one answers")
    func order() async throws {
        let tried = CallLog()
        let answer = try await FallbackChain(models: models).run { entry, index in
            await tried.record(index)
            if entry.alias != "c" { throw Boom() }
            return entry.alias
        }
        #expect(answer == "c")
        #expect(await tried.sizes == [0, 1, 2])
    }

    @Test("every failure is kept; Stop and cancellation end the chain at once")
    func failures() async throws {
        do {
            _ = try await FallbackChain(models: models).run { _, _ -> Int in throw Boom() }
            Issue.record("expected a failure")
        } catch let error as AllModelsFailedError {
            #expect(error.attempts.map(\.model) == ["a", "b", "c"])
            #expect(error.description.contains("a: boom"))
        }
        let tried = CallLog()
        await #expect(throws: Boom.self) {
            _ = try await FallbackChain(models: models).run { _, index -> Int in
                await tried.record(index)
                throw FallbackChain.Stop(Boom())
            }
        }
        #expect(await tried.sizes == [0])
        await #expect(throws: CancellationError.self) {
            _ = try await FallbackChain(models: models).run { _, _ -> Int in throw CancellationError() }
        }
    }

    @Test("from the catalog: the model, then its fallbacks, each once")
    func fromCatalog() {
        let catalog = Catalog(defaultModel: "a", models: [
            ModelEntry(alias: "a", capabilities: [], priority: 1, fallbacks: ["b", "a", "b", "c"]), models[1], models[2],
        ])
        #expect(FallbackChain(catalog.models[0], in: catalog).models.map(\.alias) == ["a", "b", "c"])
    }
}
