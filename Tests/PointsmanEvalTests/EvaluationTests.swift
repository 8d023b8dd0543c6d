import Foundation
import MiniLMEncoder
import PointsmanCore
import PointsmanEval
import PointsmanTestSupport
import Testing
import VectorMath

@Suite("McNemar's test")
struct McNemarTests {
    @Test("exact p-values and statistics computed by hand", arguments: [
        (3, 0, 0.25, 4.0 / 3),                     // 2 · (1/2)^3; (|3-0|-1)^2 / 3
        (10, 2, 158.0 / 4096, 49.0 / 12),          // 2 · (C(12,0)+C(12,1)+C(12,2)) / 2^12
        (5, 5, 1.0, 0.1),                          // capped at 1; (0-1 clamps to 0)... see below
        (0, 0, 1.0, 0.0),
    ])
    func handComputed(b: Int, c: Int, p: Double, statistic: Double) {
        let test = McNemarTest(onlyA: b, onlyB: c)
        #expect(abs(test.pValue - p) < 1e-12, "p for b=\(b) c=\(c): \(test.pValue)")
        let expected = b == c ? 0 : statistic
        #expect(abs(test.statistic - expected) < 1e-12)
    }

    @Test("counts the discordant pairs from per-row correctness")
    func fromRows() {
        let test = McNemarTest(aCorrect: [true, true, false, false, true], bCorrect: [true, false, true, false, false])
        #expect(test.onlyA == 2 && test.onlyB == 1)
    }

    @Test("large samples stay finite and symmetric")
    func large() {
        let a = McNemarTest(onlyA: 600, onlyB: 500), b = McNemarTest(onlyA: 500, onlyB: 600)
        #expect(a.pValue == b.pValue)
        #expect(a.pValue > 0 && a.pValue < 0.01)
    }
}

@Suite("Online A/B assignment")
struct ABAssignmentTests {
    @Test("split assignment is stable per id and the share holds over 10,000 ids")
    func split() {
        var b = 0
        for i in 0..<10_000 {
            let id = "user-\(i)"
            let arm = ABRouter.arm(for: id, share: 0.2)
            #expect(arm == ABRouter.arm(for: id, share: 0.2))
            if arm == "B" { b += 1 }
        }
        #expect(abs(Double(b) / 10_000 - 0.2) < 0.015)
        #expect(ABRouter.arm(for: "anyone", share: 0) == "A")
        #expect(ABRouter.arm(for: "anyone", share: 1) == "B")
    }

    @Test("shadow mode decides with A, records both; split mode records only the arm used; replay reads the trace")
    func shadowSplitReplay() async throws {
        let regex = try RegexIntentDetector(rules: .shipped)
        let workshop = try RegexIntentDetector(rules: .workshop)
        let a = Router(catalog: FixedCatalog(.shipped), detector: regex)
        let b = Router(catalog: FixedCatalog(.shipped), detector: workshop)
        let prompts: [(String, String)] = [("Translate hello into Spanish", "translation"), ("Fix this bug in my code", "code"),
                                           ("Summarize the report", "summarize"), ("Who wrote Hamlet?", "qa")]
        let path = TestPaths.temporaryDirectory("ab") + "/trace.jsonl"
        let writer = try ABTraceWriter(path: path)
        let shadow = ABRouter(a: a, b: b, mode: .shadow)
        for (i, (text, label)) in prompts.enumerated() {
            let (decision, record) = try await shadow.route(text, id: "s\(i)", label: label)
            #expect(record.arm == "A")
            #expect(decision == record.a)
            #expect(record.b != nil && record.prompt == nil)
            await writer.write(record)
        }
        await writer.close()
        let replay = try ReplayReport.replay(tracePath: path)
        #expect(replay.records == 4 && replay.paired == 4)
        // Workshop rules miss translation and qa (→ general); the shipped rules get all four.
        #expect(replay.agreement == 0.5)
        #expect(replay.metrics.first { $0.arm == "A" }?.accuracy == 1)
        #expect(replay.metrics.first { $0.arm == "B" }?.accuracy == 0.5)
        #expect(replay.mcnemar?.onlyA == 2 && replay.mcnemar?.onlyB == 0)

        let split = ABRouter(a: a, b: b, mode: .split(share: 0.5))
        for i in 0..<20 {
            let (_, record) = try await split.route("Fix this bug", id: "u\(i)")
            #expect((record.a == nil) == (record.arm == "B"))
            #expect((record.b == nil) == (record.arm == "A"))
        }
    }

    @Test("a labels file joined by id overrides the trace's labels; a broken trace names the line")
    func labelsAndErrors() async throws {
        let dir = TestPaths.temporaryDirectory("ab")
        let writer = try ABTraceWriter(path: dir + "/t.jsonl")
        let router = Router(catalog: FixedCatalog(.shipped), detector: try RegexIntentDetector(rules: .shipped))
        let (_, record) = try await ABRouter(a: router, b: router, mode: .shadow).route("Fix this bug", id: "x1")
        await writer.write(record)
        await writer.close()
        #expect(try ReplayReport.replay(tracePath: dir + "/t.jsonl", labels: ["x1": "math"]).metrics.first?.accuracy == 0)
        try "{\"nope\": 1}\n".write(toFile: dir + "/bad.jsonl", atomically: true, encoding: .utf8)
        #expect(throws: DatasetError(file: dir + "/bad.jsonl", row: 1, problem: "not an A/B decision record")) {
            try ReplayReport.replay(tracePath: dir + "/bad.jsonl")
        }
    }
}

@Suite("Offline evaluation with the real encoder")
struct OfflineEvaluationTests {
    @Test("regex vs embedding vs hybrid on a small labeled set: metrics, pairs, JSON and a self-contained page")
    func endToEnd() async throws {
        let encoder = try MiniLMEncoder(configuration: .init(directory: ModelDirectory(path: TestPaths.modelDirectory)))
        let artifact = try CentroidArtifact.load(from: TestPaths.repositoryFile("centroids/tasks.json"))
        let rows = [
            LabeledPrompt(text: "Write a Python function that reverses a linked list", label: "code"),
            LabeledPrompt(text: "Translate 'thank you' into German", label: "translation"),
            LabeledPrompt(text: "What is 12 times 13?", label: "math"),
            LabeledPrompt(text: "Write a poem about autumn rain", label: "creative"),
            LabeledPrompt(text: "Summarize this article in two sentences: The city council met on Monday...", label: "summarize"),
            LabeledPrompt(text: "Who was the first president of the United States?", label: "qa"),
        ]
        let cache = EmbeddingCache(directory: TestPaths.temporaryDirectory("evalcache"))
        let cached = CachedEmbeddingProvider(base: encoder, cache: cache)
        let rules = try RegexIntentDetector(rules: .shipped)
        let routers = [
            NamedDetector(name: "regex", detector: rules),
            NamedDetector(name: "embedding", detector: CentroidIntentDetector(centroids: FixedCentroids(artifact), embedder: cached, fallback: nil),
                          timedDetector: CentroidIntentDetector(centroids: FixedCentroids(artifact), embedder: encoder, fallback: nil)),
            NamedDetector(name: "hybrid", detector: CentroidIntentDetector(centroids: FixedCentroids(artifact), embedder: cached, fallback: rules)),
        ]
        let evaluator = RouterEvaluator(catalog: .shipped, tokenCount: { encoder.tokenizer.encode($0).count - 2 }, latencySample: 3)
        let report = try await evaluator.evaluate(rows, routers: routers, source: "inline")
        #expect(report.routers.map(\.name) == ["regex", "embedding", "hybrid"])
        #expect(report.comparisons.count == 3)
        for router in report.routers {
            #expect(router.predictions.count == 6)
            // Accuracy agrees with the predictions it reports.
            let correct = zip(router.predictions, rows.map(\.label)).filter { $0 == $1 }.count
            #expect(router.accuracy == Double(correct) / 6)
            #expect(router.cost.routed <= router.cost.allToTopModel)
            #expect(router.cost.topModel == "gpt-oss-20b")
        }
        let embedding = report.routers[1]
        #expect(embedding.coverage == 1 && embedding.fallbackRate == 0)
        // A second evaluation embeds nothing new.
        let misses = await cache.misses
        _ = try await evaluator.evaluate(rows, routers: routers, source: "inline")
        #expect(await cache.misses == misses)

        let encoderJSON = JSONEncoder()
        let decoded = try JSONSerialization.jsonObject(with: encoderJSON.encode(report)) as! [String: Any]
        for key in ["rows", "labels", "routers", "comparisons", "assumed_completion_tokens"] { #expect(decoded[key] != nil, "\(key)") }
        let firstRouter = (decoded["routers"] as! [[String: Any]])[0]
        for key in ["accuracy", "macro_f1", "coverage", "fallback_rate", "per_label", "confusion", "latency", "cost", "calibration"] {
            #expect(firstRouter[key] != nil, "\(key)")
        }
        let page = report.html()
        #expect(page.contains("<svg"))
        #expect(!page.contains("<script") && !page.contains("src=") && !page.contains("href=") && !page.contains("@import"))
        #expect(page.contains("McNemar"))
    }

    @Test("an empty set is refused")
    func empty() async throws {
        let evaluator = RouterEvaluator(catalog: .shipped, tokenCount: { _ in 1 })
        await #expect(throws: DatasetError.self) {
            _ = try await evaluator.evaluate([], routers: [NamedDetector(name: "regex", detector: try RegexIntentDetector(rules: .shipped))], source: "x")
        }
    }
}

@Suite("Acceptable accuracy")
struct AcceptableAccuracyTests {
    @Test("a prediction in the row's ok list counts as right; without ok lists there is no such figure")
    func counts() {
        let rows = [
            LabeledPrompt(text: "a", label: "qa", acceptable: ["qa", "general"]),
            LabeledPrompt(text: "b", label: "creative", acceptable: ["creative"]),
            LabeledPrompt(text: "c", label: "math"),
            LabeledPrompt(text: "d", label: "code", acceptable: ["code"]),
        ]
        #expect(RouterEvaluator.acceptableAccuracy(rows, predictions: ["general", "creative", "math", "qa"]) == 0.75)
        #expect(RouterEvaluator.acceptableAccuracy(rows.map { LabeledPrompt(text: $0.text, label: $0.label) },
                                                   predictions: ["general", "creative", "math", "qa"]) == nil)
    }

    @Test("the reader takes the ok list from labeled data")
    func reads() throws {
        let path = TestPaths.temporaryDirectory("ok") + "/rows.jsonl"
        try #"{"text": "hi there", "capability": "general", "ok": ["general", "qa"]}"#.write(toFile: path, atomically: true, encoding: .utf8)
        let rows = try LabeledDatasetReader(textField: "text", labelField: "capability").read(path)
        #expect(rows.first?.acceptable == ["general", "qa"])
    }
}
