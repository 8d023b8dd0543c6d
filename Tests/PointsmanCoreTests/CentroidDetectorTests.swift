import Foundation
import PointsmanCore
import PointsmanInterfaces
import PointsmanTestSupport
import Testing
import VectorMath

/// An in-process embedder: each keyword is an axis; a text's vector counts its keywords (plus a small bias axis).
struct KeywordEmbedder: EmbeddingProvider {
    static let axes = ["code", "poem", "sum", "bias"]
    var failure: (any Error & Sendable)? = nil
    var delay: Duration = .zero
    /// Extra wait per text in a call, so that big calls are slow.
    var delayPerText: Duration = .zero
    var calls: CallLog? = nil
    var model = "keywords"

    func fingerprint() async throws -> EmbedderFingerprint {
        EmbedderFingerprint(model: model, dimension: Self.axes.count, normalized: true, weightsHash: "k1")
    }

    func embed(_ texts: [String]) async throws -> Matrix {
        await calls?.record(texts.count)
        if delay > .zero { try await Task.sleep(for: delay) }
        if delayPerText > .zero { try await Task.sleep(for: delayPerText * texts.count) }
        if let failure { throw failure }
        var m = try Matrix(rowVectors: texts.map { text in
            Self.axes.map { axis in axis == "bias" ? 0.3 : Float(text.components(separatedBy: axis).count - 1) }
        })
        m.normalizeRows()
        return m
    }
}

func artifact(thresholds: [String: Double] = ["code": 0.6, "creative": 0.6, "summarize": 0.6], model: String = "keywords") throws -> CentroidArtifact {
    var centroids = try Matrix(rowVectors: [[1, 0, 0, 0.3], [0, 1, 0, 0.3], [0, 0, 1, 0.3]])
    centroids.normalizeRows()
    return CentroidArtifact(
        name: "test", embedder: EmbedderFingerprint(model: model, dimension: 4, normalized: true, weightsHash: "k1"),
        labels: ["code", "creative", "summarize"],
        capabilities: ["code": "code", "creative": "creative", "summarize": "summarize"],
        centroidLabels: [0, 1, 2], centroids: centroids, scale: 20, thresholds: thresholds, defaultThreshold: 0.5,
        k: ["code": 1, "creative": 1, "summarize": 1], abstainLabel: nil,
        training: TrainingRecord(files: [], dataHash: "x", trainRows: 3, seed: 1, created: "now", refinementEpochs: 0, seconds: 0),
        validation: nil)
}

struct Boom: Error, CustomStringConvertible { var description: String { "boom" } }

/// The batch sizes an embedder was called with.
actor CallLog {
    var sizes: [Int] = []
    func record(_ size: Int) { sizes.append(size) }
}

@Suite("Centroid detector")
struct CentroidDetectorTests {
    func detector(_ embedder: KeywordEmbedder = KeywordEmbedder(), hybrid: Bool = true, timeout: Duration = .seconds(5),
                  ruleCandidates: Int = CentroidIntentDetector.defaultRuleCandidates) throws -> CentroidIntentDetector {
        CentroidIntentDetector(centroids: FixedCentroids(try artifact()), embedder: embedder,
                               fallback: hybrid ? try RegexIntentDetector(rules: .shipped) : nil, embedTimeout: timeout,
                               ruleCandidates: ruleCandidates)
    }

    @Test("a confident prompt is decided by the centroids, with its label")
    func confident() async throws {
        let d = try await detector().detect("code code code")
        #expect(d.method == .embedding)
        #expect(d.capability == "code")
        #expect(d.label == "code")
        #expect(d.confidence > 0.9)
        #expect(d.scores["code"]! > d.scores["creative"]!)
    }

    @Test("below the threshold the first matching rule decides, and the reason says so")
    func lowConfidence() async throws {
        let d = try await detector().detect("poem sum, condense it")  // tie between creative and summarize
        #expect(d.method == .fallback && d.fallbackReason == .lowConfidence)
        #expect(d.capability == "summarize")
        #expect(d.label == nil)
        #expect(d.reasons.first?.contains("low confidence") == true)
        #expect(d.reasons.first?.hasSuffix("regex rules decided") == true)
    }

    @Test("below the threshold, a rule whose capability is not a label of the file does not decide")
    func rulesOnlyForKnownLabels() async throws {
        // This file knows code, creative and summarize; only the translation rule matches, and it names none of them.
        let d = try await detector().detect("poems sums, translate it into French")
        #expect(d.method == .embedding)
        #expect(["creative", "summarize"].contains(d.capability) && d.label == d.capability)
        #expect(d.reasons.contains { $0.contains("no matching regex rule names a label of this file") })
        // With an abstain label, such a prompt abstains instead of taking the rule's capability.
        var withAbstain = try artifact()
        withAbstain.abstainLabel = "summarize"
        let abstaining = CentroidIntentDetector(centroids: FixedCentroids(withAbstain), embedder: KeywordEmbedder(),
                                                fallback: try RegexIntentDetector(rules: .shipped, file: "<shipped rules>"))
        let a = try await abstaining.detect("poems sums, translate it into French")
        #expect(a.capability == "summarize" && a.label == nil && a.method == .embedding)
        #expect(a.reasons.contains { $0.contains("abstained") })
    }

    @Test("with two rule candidates, the rules choose between the centroids' two best capabilities")
    func lowConfidenceTwoCandidates() async throws {
        // A tie between code and creative; the translation rule comes first but names neither, the code rule does.
        let d = try await detector(ruleCandidates: 2).detect("code poem, translate it into French")
        #expect(d.method == .fallback)
        #expect(d.capability == "code")
        #expect(d.reasons.first?.contains("regex rules chose between code and creative") == true)
        #expect(d.reasons.contains("rule \"code\" (rules[1]) matched"))
    }

    @Test("below the threshold, a matching rule for an unlikely capability does not overrule the centroids")
    func lowConfidenceRuleOutsideCandidates() async throws {
        // "codes" and "poems" tie the centroids without matching the code or creative rules; only translation matches.
        let d = try await detector(ruleCandidates: 2).detect("codes poems, translate")
        #expect(d.method == .embedding)
        #expect(["code", "creative"].contains(d.capability))
        #expect(d.label == d.capability)
        #expect(d.reasons.contains { $0.contains("no matching regex rule names a label of this file") })
        // One candidate: the rules can only confirm the centroids' best capability.
        let confirmed = try await detector(ruleCandidates: 1).detect("code poem, translate it into French")
        #expect(confirmed.capability == "code")  // the tie is broken by name, and the code rule matches
        #expect(confirmed.reasons.first?.contains("regex rules confirmed") == true)
    }

    @Test("below the threshold with no regex rule matching, the centroid decision stands and says it was unsure")
    func lowConfidenceNoRule() async throws {
        let d = try await detector().detect("codes poems")  // a tie, and no shipped rule matches these words
        #expect(d.method == .embedding)
        #expect(["code", "creative"].contains(d.capability))
        #expect(d.label == d.capability)
        #expect(d.confidence < 0.6)
        #expect(d.reasons.contains { $0.contains("no regex rule matched") })
    }

    @Test("with an abstain label, falling below threshold goes to the rules even when none matches")
    func abstainArtifactFallsBack() async throws {
        var withAbstain = try artifact()
        withAbstain.abstainLabel = "oos"
        let d = try await CentroidIntentDetector(centroids: FixedCentroids(withAbstain), embedder: KeywordEmbedder(),
                                                 fallback: try RegexIntentDetector(rules: .shipped)).detect("code poem")
        #expect(d.method == .fallback)
        #expect(d.label == nil)
        #expect(d.reasons.first?.contains("low confidence") == true)
    }

    @Test("embedding only with an abstain label: unsure prompts abstain (label null), confident ones keep their label")
    func embeddingOnlyAbstains() async throws {
        var withAbstain = try artifact()
        withAbstain.abstainLabel = "oos"
        let detector = CentroidIntentDetector(centroids: FixedCentroids(withAbstain), embedder: KeywordEmbedder(), fallback: nil)
        let unsure = try await detector.detect("codes poems")
        #expect(unsure.method == .embedding)
        #expect(unsure.label == nil)
        #expect(unsure.capability == "oos")
        #expect(unsure.reasons.contains { $0.contains("abstained") })
        let sure = try await detector.detect("code code code")
        #expect(sure.label == "code")
        #expect(sure.capability == "code")
    }

    @Test("embedding only: the best centroid decides even when unsure")
    func embeddingOnly() async throws {
        let d = try await detector(hybrid: false).detect("code poem")
        #expect(d.method == .embedding)
        #expect(["code", "creative"].contains(d.capability))
    }

    @Test("an embedder that fails or hangs means regex, never a failed request")
    func embedderDown() async throws {
        let failing = try await detector(KeywordEmbedder(failure: Boom())).detect("Write a poem about rain")
        #expect(failing.method == .fallback)
        #expect(failing.capability == "creative")
        #expect(failing.reasons.first?.contains("embedder unavailable") == true)
        let slow = try await detector(KeywordEmbedder(delay: .seconds(5)), timeout: .milliseconds(50)).detect("Summarize this")
        #expect(slow.method == .fallback)
        #expect(slow.reasons.first?.contains("embedder unavailable") == true)
        await #expect(throws: Boom.self) { try await detector(KeywordEmbedder(failure: Boom()), hybrid: false).detect("x") }
    }

    @Test("a long batch is embedded in chunks of at most maxBatch, in order, each with its own timeout")
    func chunkedBatch() async throws {
        let log = CallLog()
        let prompts = (0..<10).map { $0 % 2 == 0 ? "code code \($0)" : "poem poem \($0)" }
        let chunked = CentroidIntentDetector(centroids: FixedCentroids(try artifact()), embedder: KeywordEmbedder(calls: log),
                                             fallback: try RegexIntentDetector(rules: .shipped), maxBatch: 4)
        let decisions = try await chunked.detect(batch: prompts)
        #expect(await log.sizes == [4, 4, 2])
        #expect(decisions.map(\.capability) == prompts.map { $0.hasPrefix("code") ? "code" : "creative" })
        // 40 prompts at 50 ms each: one call would take 2 s and miss a 1 s timeout; chunks of 4 take 200 ms each.
        let slow = KeywordEmbedder(delayPerText: .milliseconds(50))
        let many = Array(repeating: "code code", count: 40)
        let whole = try await CentroidIntentDetector(centroids: FixedCentroids(try artifact()), embedder: slow,
                                                     fallback: try RegexIntentDetector(rules: .shipped),
                                                     embedTimeout: .seconds(1), maxBatch: 64).detect(batch: many)
        #expect(whole.allSatisfy { $0.method == .fallback })
        let inChunks = try await CentroidIntentDetector(centroids: FixedCentroids(try artifact()), embedder: slow,
                                                        fallback: try RegexIntentDetector(rules: .shipped),
                                                        embedTimeout: .seconds(1), maxBatch: 4).detect(batch: many)
        #expect(inChunks.allSatisfy { $0.method == .embedding })
    }

    @Test("a batch is decided in input order")
    func batch() async throws {
        let decisions = try await detector().detect(batch: ["poem poem", "code", "sum sum sum", "code code"])
        #expect(decisions.map(\.capability) == ["creative", "code", "summarize", "code"])
    }

    @Test("a conversation blends earlier user turns into the last one with halving weights")
    func conversation() async throws {
        let d = try detector(hybrid: false)
        // Last turn alone is ambiguous ("poem code"); two earlier code turns tip it to code.
        let messages: [ChatMessage] = [.user("code code"), ChatMessage(role: .assistant, content: "poem poem poem poem"),
                                       .user("code"), .user("poem code")]
        #expect(try await d.detect(conversation: messages).capability == "code")
        // A single turn is routed as a prompt.
        #expect(try await d.detect(conversation: [.user("poem")]).capability == "creative")
        await #expect(throws: RoutingError.self) { try await d.detect(conversation: [.system("hi")]) }
    }
}

@Suite("Centroid files")
struct CentroidFileTests {
    @Test("round trip through the file keeps every value")
    func roundTrip() throws {
        let path = TestPaths.temporaryDirectory("centroids") + "/c.json"
        let original = try artifact()
        try original.write(to: path)
        #expect(try CentroidArtifact.load(from: path) == original)
    }

    @Test("a file for another embedder is refused, naming both")
    func fingerprintMismatch() throws {
        let other = EmbedderFingerprint(model: "other-model", dimension: 4, normalized: true)
        do {
            try artifact().checkCompatible(with: other, file: "c.json")
            Issue.record("expected a refusal")
        } catch {
            #expect("\(error)".contains("keywords") && "\(error)".contains("other-model"))
        }
        let sameModelOtherWeights = EmbedderFingerprint(model: "keywords", dimension: 4, normalized: true, weightsHash: "k2")
        #expect(throws: CentroidFileError.self) { try artifact().checkCompatible(with: sameModelOtherWeights, file: "c.json") }
    }

    @Test("lead-token pooling is part of the fingerprint: kept through the file, and a mismatch either way is refused")
    func leadTokens() throws {
        let dir = TestPaths.temporaryDirectory("centroids")
        var pooled = try artifact()
        pooled.embedder.leadTokens = 2
        try pooled.write(to: dir + "/lead.json")
        let text = try String(contentsOfFile: dir + "/lead.json", encoding: .utf8)
        #expect(text.contains("\"lead_tokens\""))
        #expect(try CentroidArtifact.load(from: dir + "/lead.json") == pooled)
        // Files without lead tokens do not mention them (older readers and files stay as they were).
        try artifact().write(to: dir + "/plain.json")
        #expect(!(try String(contentsOfFile: dir + "/plain.json", encoding: .utf8)).contains("lead_tokens"))
        let plainEmbedder = try artifact().embedder
        do {
            try pooled.checkCompatible(with: plainEmbedder, file: "lead.json")
            Issue.record("expected a refusal")
        } catch {
            #expect("\(error)".contains("first 2 tokens"), "\(error)")
        }
        var leadEmbedder = plainEmbedder
        leadEmbedder.leadTokens = 2
        #expect(throws: CentroidFileError.self) { try artifact().checkCompatible(with: leadEmbedder, file: "plain.json") }
        try pooled.checkCompatible(with: leadEmbedder, file: "lead.json")
        // A negative count in a file is an error that names the field.
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/lead.json"))) as! [String: Any]
        var embedder = json["embedder"] as! [String: Any]
        embedder["lead_tokens"] = -3
        json["embedder"] = embedder
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: dir + "/bad.json"))
        #expect {
            _ = try CentroidArtifact.load(from: dir + "/bad.json")
        } throws: { error in
            "\(error)".contains("lead_tokens")
        }
    }

    @Test("an encoder adapter is part of the fingerprint: written as version 4, kept through the file, a mismatch either way refused with a hint")
    func encoderAdapter() throws {
        let dir = TestPaths.temporaryDirectory("centroids")
        var adapted = try artifact()
        adapted.embedder.adapter = "ab12cd34"
        try adapted.write(to: dir + "/adapted.json")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/adapted.json"))) as! [String: Any]
        #expect(json["version"] as? Int == 4)
        #expect((json["embedder"] as? [String: Any])?["adapter"] as? String == "ab12cd34")
        let loaded = try CentroidArtifact.load(from: dir + "/adapted.json")
        #expect(loaded.embedder.adapter == "ab12cd34")
        // A plain file says nothing of adapters and keeps its version.
        try artifact().write(to: dir + "/plain.json")
        let plainText = try String(contentsOfFile: dir + "/plain.json", encoding: .utf8)
        #expect(!plainText.contains("adapter") && plainText.contains("\"version\" : 1"))
        let plainEmbedder = try artifact().embedder
        #expect(plainEmbedder.key != adapted.embedder.key)
        do {
            try loaded.checkCompatible(with: plainEmbedder, file: "adapted.json")
            Issue.record("expected a refusal")
        } catch {
            #expect("\(error)".contains("needs the encoder adapter whose sha256 is ab12cd34"), "\(error)")
        }
        do {
            try artifact().checkCompatible(with: adapted.embedder, file: "plain.json")
            Issue.record("expected a refusal")
        } catch {
            #expect("\(error)".contains("trained without an encoder adapter"), "\(error)")
        }
        var otherAdapter = adapted.embedder
        otherAdapter.adapter = "ffff"
        #expect(throws: CentroidFileError.self) { try loaded.checkCompatible(with: otherAdapter, file: "adapted.json") }
        try loaded.checkCompatible(with: adapted.embedder, file: "adapted.json")
        // A version-3 file that claims an adapter is inconsistent (a version-3 reader would have ignored it).
        var downgraded = json
        downgraded["version"] = 3
        try JSONSerialization.data(withJSONObject: downgraded).write(to: URL(fileURLWithPath: dir + "/v3.json"))
        #expect {
            _ = try CentroidArtifact.load(from: dir + "/v3.json")
        } throws: { error in
            "\(error)".contains("adapter needs version 4")
        }
    }

    @Test("a centroid file names its adapter file relative to itself; the config's encoder_adapter is relative to the config")
    func adapterFileReference() throws {
        let dir = TestPaths.temporaryDirectory("centroids")
        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
        var adapted = try artifact()
        adapted.embedder.adapter = "ab12"
        adapted.adapterFile = "../weights/a.safetensors"
        try adapted.write(to: dir + "/sub/c.json")
        #expect(try CentroidArtifact.load(from: dir + "/sub/c.json").adapterFile == "../weights/a.safetensors")
        #expect(CentroidArtifact.resolvedAdapterPath(ofCentroidFile: dir + "/sub/c.json") == dir + "/sub/../weights/a.safetensors")
        // A plain file names none; an unreadable one answers nil (loading it later says why).
        try artifact().write(to: dir + "/plain.json")
        #expect(CentroidArtifact.resolvedAdapterPath(ofCentroidFile: dir + "/plain.json") == nil)
        #expect(CentroidArtifact.resolvedAdapterPath(ofCentroidFile: dir + "/absent.json") == nil)
        // An adapter file without the adapter's sha256 is refused: the file could not be checked against it.
        var orphan = try artifact()
        orphan.adapterFile = "a.safetensors"
        #expect { try orphan.validate(file: "o.json") } throws: { "\($0)".contains("adapter_file without embedder.adapter") }
        // The training config's key resolves against the config's folder; an empty one is refused.
        try #"{"name": "x", "data": ["a.jsonl"], "encoder_adapter": "../centroids/t.safetensors"}"#
            .write(toFile: dir + "/sub/x.config.json", atomically: true, encoding: .utf8)
        #expect(try TrainingConfiguration.load(from: dir + "/sub/x.config.json").encoderAdapter == dir + "/sub/../centroids/t.safetensors")
        try #"{"name": "x", "data": ["a.jsonl"], "encoder_adapter": ""}"#.write(toFile: dir + "/e.config.json", atomically: true, encoding: .utf8)
        #expect { try TrainingConfiguration.load(from: dir + "/e.config.json").validate() } throws: { "\($0)".contains("encoder_adapter") }
    }

    @Test("training refuses an embedder whose adapter is not the one the config names (by sha256), or any adapter when it names none")
    func trainerAdapterCheck() throws {
        let dir = TestPaths.temporaryDirectory("adapter-check")
        try Data("adapter bytes".utf8).write(to: URL(fileURLWithPath: dir + "/a.safetensors"))
        let hash = "a0c8e4ad1d3d9f1bd0e3d3e60ea4d07b90f3c7e0d2b1d3c3e2b1e8f2c7d1f4a9"
        var config = TrainingConfiguration(name: "c", data: [])
        config.encoderAdapter = dir + "/a.safetensors"
        let plain = EmbedderFingerprint(model: "m", dimension: 4, normalized: true)
        #expect { try CentroidTrainer.checkAdapter(config, against: plain) } throws: { "\($0)".contains("has no adapter") }
        var other = plain
        other.adapter = hash
        #expect { try CentroidTrainer.checkAdapter(config, against: other) } throws: { "\($0)".contains("carries another adapter") }
        var right = plain
        right.adapter = "dd70d2c1a473d6e87c6dd52a250ca1c9f055a3910d10f1674121461cf6c96bf7"  // sha256 of "adapter bytes"
        try CentroidTrainer.checkAdapter(config, against: right)
        #expect { try CentroidTrainer.checkAdapter(TrainingConfiguration(name: "c", data: []), against: right) } throws: {
            "\($0)".contains("that the config does not name")
        }
        try CentroidTrainer.checkAdapter(TrainingConfiguration(name: "c", data: []), against: plain)
        config.encoderAdapter = dir + "/absent.safetensors"
        #expect { try CentroidTrainer.checkAdapter(config, against: right) } throws: { "\($0)".contains("cannot be read") }
    }

    @Test("bad files are clear errors", arguments: [
        ("version", 7 as Int, "unknown version 7"),
        ("embedder.dimension", 5, "dimension"),
        ("scale", -1, "scale"),
        ("centroid_labels", 9, "outside"),
    ])
    func broken(field: String, value: Int, message: String) throws {
        let dir = TestPaths.temporaryDirectory("centroids")
        try artifact().write(to: dir + "/c.json")
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/c.json"))) as! [String: Any]
        switch field {
        case "embedder.dimension":
            var embedder = json["embedder"] as! [String: Any]
            embedder["dimension"] = value
            json["embedder"] = embedder
        case "centroid_labels": json[field] = [value, 1, 2]
        default: json[field] = value
        }
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: dir + "/bad.json"))
        do {
            _ = try CentroidArtifact.load(from: dir + "/bad.json")
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains(message), "\(error)")
            #expect(error.file == dir + "/bad.json")
        }
    }

    @Test("NaN centroids are refused")
    func nan() throws {
        var a = try artifact()
        a.centroids[0, 0] = .nan
        #expect(throws: CentroidFileError.self) { try a.validate(file: "x") }
    }

    @Test("hot reload: a good file replaces, a broken or foreign one keeps the old centroids")
    func reload() async throws {
        let path = TestPaths.temporaryDirectory("centroids") + "/c.json"
        try artifact().write(to: path)
        let store = try await RoutingStore(files: RoutingFiles(centroids: path), embedder: KeywordEmbedder())
        try artifact(thresholds: ["code": 0.1]).write(to: path)
        #expect(await store.reload().ok)
        #expect(await store.current().setup.centroids?.thresholds["code"] == 0.1)
        try "{ broken".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(await store.reload().ok == false)
        try artifact(model: "another").write(to: path)
        #expect(await store.reload().errors.first?.contains("another") == true)
        #expect(await store.current().setup.centroids?.thresholds["code"] == 0.1)
        #expect(await store.counts == .init(succeeded: 1, failed: 2))
    }
}

@Suite("Metrics and calibration")
struct MetricsTests {
    @Test("precision, recall, F1 and macro-F1 by hand, with a label absent from predictions")
    func handComputed() {
        let truth = ["a", "a", "a", "b", "b", "c"]
        let predicted: [String?] = ["a", "a", "b", "b", nil, "a"]
        let m = ClassificationMetrics(truth: truth, predicted: predicted)
        #expect(m.perLabel["a"]!.precision == 2.0 / 3)
        #expect(m.perLabel["a"]!.recall == 2.0 / 3)
        #expect(m.perLabel["b"]!.precision == 0.5 && m.perLabel["b"]!.recall == 0.5)
        #expect(m.perLabel["c"]!.f1 == 0 && m.perLabel["c"]!.support == 1)
        #expect(abs(m.macroF1 - (2.0 / 3 + 0.5 + 0) / 3) < 1e-12)
        #expect(m.accuracy == 3.0 / 6)
        #expect(m.coverage == 5.0 / 6)
        #expect(m.confusion["b"]![ClassificationMetrics.abstained] == 1)
    }

    @Test("thresholds reach the target precision on the calibration data")
    func calibration() {
        func score(_ label: String, _ confidence: Double) -> CentroidClassifier.Score {
            .init(labelIndex: 0, label: label, capability: label, confidence: confidence, labelCosines: [], margin: 0, threshold: 0)
        }
        // "a" predictions by confidence: 0.9 right, 0.8 right, 0.7 wrong, 0.6 right, 0.5 wrong ... repeated to reach 8
        let confidences = [0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.4]
        let correct = [true, true, true, true, false, true, false, false]
        let scores = confidences.map { score("a", $0) }
        let truth = correct.map { $0 ? "a" : "b" }
        let calibration = ThresholdCalibration(targetPrecision: 0.8, abstainRecallTarget: nil)
        let (thresholds, _) = calibration.calibrate(scores: scores, truth: truth, labels: ["a", "b"])
        // Keeping >= 0.6 gives 5/6 = 0.83 >= 0.8; keeping >= 0.5 gives 5/7 < 0.8.
        #expect(thresholds["a"] == 0.6)
    }
}

@Suite("Prompt view")
struct PromptViewTests {
    @Test("short prompts are unchanged; long ones keep their head and tail around an ellipsis")
    func view() {
        let view = PromptView(headWords: 3, tailWords: 2)
        #expect(view.apply("one two three four five") == "one two three four five")
        #expect(view.apply("Summarize the following:\nalpha beta gamma delta epsilon\nTL;DR now") == "Summarize the following: … TL;DR now")
    }

    @Test("the detector embeds the artifact's view of the prompt")
    func detectorUsesView() async throws {
        var a = try artifact()
        a.promptView = PromptView(headWords: 1, tailWords: 1)
        let detector = CentroidIntentDetector(centroids: FixedCentroids(a), embedder: KeywordEmbedder(), fallback: nil)
        // Without the view "poem" would dominate (three of them in the middle); with it, "code … code" decides.
        #expect(try await detector.detect("code poem poem poem code").capability == "code")
    }
}
