import Foundation
import MiniLMEncoder
import PointsmanCore
import PointsmanTestSupport
import Testing
import VectorMath

let trainingEncoder: Result<MiniLMEncoder, EncoderError> = Result { () throws(EncoderError) -> MiniLMEncoder in
    try MiniLMEncoder(configuration: .init(directory: ModelDirectory(path: TestPaths.modelDirectory)))
}

/// A small labeled set: three capabilities, four groups each.
func smallDataset(in dir: String) throws -> String {
    let prompts: [String: [String]] = [
        "code": ["Write a Python function to reverse a string", "Fix this JavaScript bug in my loop", "How do I sort a list in Go?",
                 "Write a SQL query for the top customers", "Implement binary search in C", "Refactor this Java class",
                 "Why does my Rust code not compile?", "Write a bash script to rename files", "Explain this regex pattern",
                 "Create a REST endpoint in Express", "Write unit tests for this function", "Convert this loop to a list comprehension"],
        "creative": ["Write a poem about the sea", "Tell me a bedtime story about a dragon", "Compose a haiku about snow",
                     "Write song lyrics about summer", "Write a short story about a lost robot", "Create a limerick about a cat",
                     "Write a fairy tale with a twist", "Describe a sunset poetically", "Write a love letter from a pirate",
                     "Invent a myth about the moon", "Write a wedding toast", "Write a scary campfire story"],
        "math": ["What is 15% of 80?", "Solve 2x + 3 = 11", "What is the derivative of x squared?", "How many minutes are in a week?",
                 "Compute the area of a circle of radius 3", "What is 17 times 23?", "Find the mean of 3, 5 and 10",
                 "Simplify 3/12", "What is the square root of 144?", "Integrate x from 0 to 2",
                 "If 3 apples cost $2, what do 12 cost?", "Convert 5 km to miles"],
    ]
    var lines: [String] = []
    for (label, texts) in prompts.sorted(by: { $0.key < $1.key }) {
        for (i, text) in texts.enumerated() {
            let row: [String: String] = ["text": text, "label": label, "group": "\(label)-g\(i % 4)"]
            lines.append(String(decoding: try JSONSerialization.data(withJSONObject: row, options: [.sortedKeys]), as: UTF8.self))
        }
    }
    let path = dir + "/small.jsonl"
    try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

@Suite("Training with the real encoder", .serialized)
struct TrainingTests {
    /// The encoder, a fresh cache and the small data set's config (two centroids a label at most, a quarter held out).
    func smallTraining(weighting: TrainingConfiguration.Refinement.Weighting = .label) throws
        -> (encoder: MiniLMEncoder, cache: EmbeddingCache, config: TrainingConfiguration, dir: String) {
        let dir = TestPaths.temporaryDirectory("train")
        let config = TrainingConfiguration(
            name: "small", data: [try smallDataset(in: dir)], maxK: 2, seed: 5, validationFraction: 0.25,
            refinement: .init(scale: 16, epochs: 20, learningRate: 0.02, batchSize: 16, weighting: weighting))
        return (try trainingEncoder.get(), EmbeddingCache(directory: dir + "/cache"), config, dir)
    }

    @Test("trains, validates by group, calibrates thresholds, and routes held-out prompts")
    func train() async throws {
        let (encoder, cache, config, _) = try smallTraining()
        let artifact = try await CentroidTrainer(embedder: encoder, cache: cache).train(config)
        #expect(artifact.labels == ["code", "creative", "math"])
        #expect(artifact.embedder == encoder.currentFingerprint)
        #expect(artifact.training.trainRows == 27)  // one group of four held out per label
        let validation = try #require(artifact.validation)
        #expect(validation.rows == 9)
        #expect(validation.accuracy >= 0.8)
        #expect(artifact.thresholds.keys.sorted() == artifact.labels)
        try artifact.validate(file: "memory")

        let detector = CentroidIntentDetector(centroids: FixedCentroids(artifact), embedder: encoder, fallback: nil)
        let decisions = try await detector.detect(batch: ["Write a Swift function that parses JSON", "Write a sonnet about autumn", "What is 45 divided by 9?"])
        #expect(decisions.map(\.capability) == ["code", "creative", "math"])
        #expect(decisions.allSatisfy { $0.method == .embedding })
    }

    @Test("the recipe search scores k, word weights and scales by grouped cross-validation, one dimension at a time, trains the best and records every candidate; same seed, same choice")
    func recipeSearch() async throws {
        var (encoder, cache, config, _) = try smallTraining()
        config.search = .init(folds: 3, k: [1, 2], lexicalWeights: [0, 1], scales: [16, 30], seconds: 600)
        let trainer = CentroidTrainer(embedder: encoder, cache: cache)
        let artifact = try await trainer.train(config)
        let search = try #require(artifact.training.search)
        #expect(search.folds == 3 && search.skipped == 0)
        // k at the first weight and scale, then the other scale at the best k, then the other weight at the best of those.
        #expect(search.candidates.count == 4)
        #expect(search.candidates.prefix(2).map(\.k) == [1, 2])
        #expect(search.candidates.prefix(3).allSatisfy { $0.lexicalWeight == 0 })
        #expect(search.candidates.prefix(2).allSatisfy { $0.scale == 16 })
        #expect(search.candidates[2].scale == 30 && search.candidates[3].lexicalWeight == 1)
        let bestF1 = search.candidates.map(\.macroF1).max()!
        #expect(search.chosen == search.candidates.first { $0.macroF1 == bestF1 })
        #expect(search.candidates.allSatisfy { (0...1).contains($0.macroF1) && (0...1).contains($0.accuracy) })
        // The file is the chosen recipe.
        #expect(artifact.k.values.allSatisfy { $0 == search.chosen.k })
        #expect((artifact.lexical != nil) == (search.chosen.lexicalWeight > 0))
        #expect(artifact.scale == search.chosen.scale)
        #expect(artifact.training.searchNote == nil)
        let again = try await trainer.train(config)
        #expect(again.training.search?.chosen.k == search.chosen.k)
        #expect(again.training.search?.candidates.map(\.macroF1) == search.candidates.map(\.macroF1))

        // A vanishing word weight scores like no words at all: the folds' rows and vectors line up with or without
        // the word features (a row mixed up between the two would change the scores).
        var faint = config
        faint.search = .init(folds: 3, k: [1], lexicalWeights: [0, 1e-6], scales: [16], seconds: 600)
        let pair = try #require(try await trainer.train(faint).training.search).candidates
        #expect(pair.count == 2 && pair[0].accuracy == pair[1].accuracy && pair[0].macroF1 == pair[1].macroF1)

        // Out of time: the first candidate is still scored, the rest are counted as skipped.
        config.search?.seconds = 0.001
        let hurried = try #require(try await trainer.train(config).training.search)
        #expect(hurried.candidates.count == 1 && hurried.skipped == 3)

        // Too few rows for the folds: no search, and the file says why.
        config.search = .init(folds: 10)
        let small = try await trainer.train(config)
        #expect(small.training.search == nil)
        #expect(small.training.searchNote?.contains("fewer than the 10 folds") == true)
    }

    @Test("lead_tokens trains on lead-pooled vectors, records it, and needs an embedder set up the same way")
    func leadTokens() async throws {
        var (encoder, cache, config, _) = try smallTraining()
        config.leadTokens = 2
        await #expect {
            _ = try await CentroidTrainer(embedder: encoder, cache: cache).train(config)
        } throws: { error in
            "\(error)".contains("lead_tokens 2") && "\(error)".contains("embedder gives 0")
        }
        let pooled = try encoder.withLeadTokens(2)
        let artifact = try await CentroidTrainer(embedder: pooled, cache: cache).train(config)
        #expect(artifact.embedder.leadTokens == 2)
        #expect(artifact.embedder == pooled.currentFingerprint)
        #expect(throws: CentroidFileError.self) { try artifact.checkCompatible(with: encoder.currentFingerprint, file: "memory") }
        let detector = CentroidIntentDetector(centroids: FixedCentroids(artifact), embedder: pooled, fallback: nil)
        let decisions = try await detector.detect(batch: ["Write a Swift function that parses JSON", "Write a sonnet about autumn", "What is 45 divided by 9?"])
        #expect(decisions.map(\.capability) == ["code", "creative", "math"])
        // The config field is read from files too, and a negative count is refused.
        let dir = TestPaths.temporaryDirectory("train")
        try #"{"name": "x", "data": ["a.jsonl"], "lead_tokens": -1}"#.write(toFile: dir + "/x.config.json", atomically: true, encoding: .utf8)
        #expect(throws: DatasetError.self) { try TrainingConfiguration.load(from: dir + "/x.config.json").validate() }
        try #"{"name": "x", "data": ["a.jsonl"], "lead_tokens": 3}"#.write(toFile: dir + "/y.config.json", atomically: true, encoding: .utf8)
        #expect(try TrainingConfiguration.load(from: dir + "/y.config.json").leadTokens == 3)
    }

    @Test("same data and seed give identical centroids; the second run embeds nothing")
    func deterministicAndCached() async throws {
        let encoder = try trainingEncoder.get()
        let dir = TestPaths.temporaryDirectory("train")
        let data = try smallDataset(in: dir)
        let config = TrainingConfiguration(name: "small", data: [data], k: 2, seed: 9)
        let first = try await CentroidTrainer(embedder: encoder, cache: EmbeddingCache(directory: dir + "/cache")).train(config)
        let reopened = EmbeddingCache(directory: dir + "/cache")
        let second = try await CentroidTrainer(embedder: encoder, cache: reopened).train(config)
        #expect(first.centroids == second.centroids)
        #expect(first.thresholds == second.thresholds)
        #expect(first.training.dataHash == second.training.dataHash)
        #expect(await reopened.misses == 0)
        #expect(await reopened.hits == 36)
    }

    @Test("CSV input with quoted fields trains like JSON Lines")
    func csv() async throws {
        let encoder = try trainingEncoder.get()
        let dir = TestPaths.temporaryDirectory("train")
        var csv = "text,label\n"
        for i in 0..<6 {
            csv += "\"Write a poem, number \(i), about \"\"rain\"\"\",creative\n"
            csv += "What is \(i) plus \(i * 3)?,math\n"
        }
        try csv.write(toFile: dir + "/d.csv", atomically: true, encoding: .utf8)
        let rows = try LabeledDatasetReader().read(dir + "/d.csv")
        #expect(rows.count == 12)
        #expect(rows[0].text == "Write a poem, number 0, about \"rain\"")
        let artifact = try await CentroidTrainer(embedder: encoder, cache: nil)
            .train(TrainingConfiguration(name: "csv", data: [dir + "/d.csv"], k: 1, refinement: nil))
        #expect(artifact.labels == ["creative", "math"])
    }

    @Test("final fit: thresholds and metrics come from the held-out run, the centroids learn from every row")
    func finalFit() async throws {
        var (encoder, cache, config, dir) = try smallTraining(weighting: .group)
        let heldOut = try await CentroidTrainer(embedder: encoder, cache: cache).train(config)
        config.finalFit = true
        let final = try await CentroidTrainer(embedder: encoder, cache: cache).train(config)
        #expect(heldOut.training.finalFit == nil)
        #expect(heldOut.training.trainRows == 27)
        #expect(final.training.finalFit == true)
        #expect(final.training.trainRows == 36)
        #expect(final.training.dataHash != heldOut.training.dataHash)
        #expect(final.thresholds == heldOut.thresholds)
        #expect(final.validation == heldOut.validation)
        #expect(final.k == heldOut.k)
        #expect(final.centroids != heldOut.centroids)
        try final.validate(file: "memory")
        // The file keeps the flag; older files without it load as before.
        let path = dir + "/final.json"
        try final.write(to: path)
        #expect(try CentroidArtifact.load(from: path).training.finalFit == true)
    }

    @Test("cross-validated calibration with a named validation split: the split's rows never train or calibrate, the thresholds come from out-of-fold scores, the file names the chosen score")
    func crossValidatedCalibration() async throws {
        var (encoder, cache, config, dir) = try smallTraining()
        // Group g3 of each label becomes the source's own validation split.
        let path = config.data[0]
        let marked = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { line -> String in
            var row = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: String]
            row["split"] = row["group"]!.hasSuffix("-g3") ? "val" : "train"
            return String(decoding: try JSONSerialization.data(withJSONObject: row, options: [.sortedKeys]), as: UTF8.self)
        }
        try marked.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        config.validationSplit = "val"
        config.calibration = .init(folds: 3, shrinkage: 5, score: nil)
        let artifact = try await CentroidTrainer(embedder: encoder, cache: cache).train(config)
        #expect(artifact.training.trainRows == 27)
        let validation = try #require(artifact.validation)
        #expect(validation.rows == 9)
        #expect(validation.split.contains("never trained or calibrated on"))
        let record = try #require(artifact.training.calibration)
        #expect(record.folds == 3)
        #expect(Set(record.candidates.keys) == ["confidence", "cosine", "margin"])
        let best = record.candidates.values.map { $0["in_scope_accuracy"]! }.max()!
        #expect(record.candidates[record.score.rawValue]?["in_scope_accuracy"] == best)
        #expect(artifact.thresholdScore == record.score)
        try artifact.validate(file: "memory")
        // The score the thresholds apply to survives a round trip through the file.
        let file = dir + "/cv.json"
        try artifact.write(to: file)
        let loaded = try CentroidArtifact.load(from: file)
        #expect(loaded.thresholdScore == artifact.thresholdScore)
        #expect(loaded.training.calibration == record)
        #expect(loaded.version == (artifact.thresholdScore == .confidence ? 1 : 2))
        // The val rows reach nothing but the report: relabel and rewrite them, and the centroids, vocabulary and
        // thresholds stay exactly the same.
        let scrambled = marked.map { line -> String in
            var row = try! JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: String]
            if row["split"] == "val" { row["text"] = "something else entirely: " + row["text"]!; row["label"] = "code" }
            return String(decoding: try! JSONSerialization.data(withJSONObject: row, options: [.sortedKeys]), as: UTF8.self)
        }
        try scrambled.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let again = try await CentroidTrainer(embedder: encoder, cache: cache).train(config)
        #expect(again.centroids == artifact.centroids)
        #expect(again.lexical == artifact.lexical)
        #expect(again.thresholds == artifact.thresholds && again.thresholdScore == artifact.thresholdScore)
        #expect(again.validation != artifact.validation)
        // A fixed score changes the thresholds only: the centroids are the same.
        config.calibration = .init(folds: 3, shrinkage: 5, score: .confidence)
        let fixedScore = try await CentroidTrainer(embedder: encoder, cache: cache).train(config)
        #expect(fixedScore.thresholdScore == .confidence)
        #expect(fixedScore.training.calibration?.candidates.keys.sorted() == ["confidence"])
        #expect(fixedScore.centroids == artifact.centroids)
        // A named split cannot be trained on by a final fit.
        config.finalFit = true
        await #expect(throws: DatasetError.self) { try await CentroidTrainer(embedder: encoder, cache: cache).train(config) }
    }

    @Test("group weighting: every label weighs the same, and every group within a label")
    func groupWeights() throws {
        let rows = [("a", "g1"), ("a", "g1"), ("a", "g1"), ("a", "g2"), ("b", "g3"), ("b", nil)].map {
            LabeledPrompt(text: "t", label: $0.0, group: $0.1)
        }
        let byGroup = CentroidTrainer.rowWeights(Array(rows.indices), rows: rows, weighting: .group)
        // Label a: g1 (3 rows) and g2 (1 row) get half each; label b: g3 and the ungrouped row get half each.
        #expect(byGroup.map { ($0 * 1000).rounded() / 1000 } == [0.5, 0.5, 0.5, 1.5, 1.5, 1.5])
        #expect(abs(byGroup.reduce(0, +) - Float(rows.count)) < 1e-4)
        let byLabel = CentroidTrainer.rowWeights(Array(rows.indices), rows: rows, weighting: .label)
        #expect(byLabel.map { ($0 * 1000).rounded() / 1000 } == [0.75, 0.75, 0.75, 0.75, 1.5, 1.5])
    }

    @Test("config files: weighting and final_fit are read; an unknown weighting is an error naming the field")
    func configFields() throws {
        let dir = TestPaths.temporaryDirectory("train")
        try #"{"name": "x", "data": ["d.jsonl"], "final_fit": true, "refinement": {"weighting": "group"}}"#
            .write(toFile: dir + "/ok.config.json", atomically: true, encoding: .utf8)
        let ok = try TrainingConfiguration.load(from: dir + "/ok.config.json")
        #expect(ok.finalFit)
        #expect(ok.refinement?.weighting == .group)
        try #"{"name": "x", "data": ["d.jsonl"], "refinement": {"weighting": "source"}}"#
            .write(toFile: dir + "/bad.config.json", atomically: true, encoding: .utf8)
        do {
            _ = try TrainingConfiguration.load(from: dir + "/bad.config.json")
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("weighting"))
        }
        try #"{"name": "x", "data": ["d.jsonl"]}"#.write(toFile: dir + "/plain.config.json", atomically: true, encoding: .utf8)
        let plain = try TrainingConfiguration.load(from: dir + "/plain.config.json")
        #expect(!plain.finalFit)
        #expect(plain.refinement?.weighting == .label)
    }

    @Test("bad data names the file and the row")
    func badData() throws {
        let dir = TestPaths.temporaryDirectory("train")
        try "{\"text\": \"ok\", \"label\": \"a\"}\n{\"label\": \"b\"}\n".write(toFile: dir + "/norow.jsonl", atomically: true, encoding: .utf8)
        #expect(throws: DatasetError(file: dir + "/norow.jsonl", row: 2, problem: "no string field \"text\"")) {
            try LabeledDatasetReader().read(dir + "/norow.jsonl")
        }
        try "".write(toFile: dir + "/empty.jsonl", atomically: true, encoding: .utf8)
        #expect(throws: DatasetError.self) { try LabeledDatasetReader().read(dir + "/empty.jsonl") }
        try "{\"text\": \"x\", \"label\": \"weird\"}\n".write(toFile: dir + "/map.jsonl", atomically: true, encoding: .utf8)
        let config = TrainingConfiguration(name: "m", data: [dir + "/map.jsonl"], labelMap: ["normal": "general"])
        do {
            _ = try CentroidTrainer.loadRows(config)
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("weird") && error.description.contains("map.jsonl:1"))
        }
    }
}

@Suite("Shipped centroid files with the real encoder", .serialized)
struct ShippedCentroidTests {
    /// Loads a shipped file, checks it against the native encoder pooled the way the file says, and routes prompts.
    func route(_ file: String, _ prompts: [String]) async throws -> [Detection] {
        let path = TestPaths.repositoryFile("centroids/" + file)
        let artifact = try CentroidArtifact.load(from: path)
        // A file trained on an adapted encoder names its adapter, which ships beside it.
        let base = try CentroidArtifact.resolvedAdapterPath(ofCentroidFile: path).map { adapter in
            try MiniLMEncoder(configuration: .init(directory: ModelDirectory(path: TestPaths.modelDirectory), adapter: adapter))
        } ?? trainingEncoder.get()
        let encoder = try base.withLeadTokens(artifact.embedder.leadTokens ?? 0)
        try artifact.checkCompatible(with: encoder.currentFingerprint, file: file)
        #expect(artifact.lexical != nil, "\(file) ships word features")
        #expect(artifact.centroids.cols == artifact.embedder.dimension + (artifact.lexical?.terms.count ?? 0))
        return try await CentroidIntentDetector(centroids: FixedCentroids(artifact), embedder: encoder, fallback: nil)
            .detect(batch: prompts)
    }

    @Test("the task routers route plain requests to their capabilities", arguments: ["tasks.json", "tasks-sentence.json", "tasks-adapted.json"])
    func tasks(file: String) async throws {
        let decisions = try await route(file, [
            "Write a Python function that merges two sorted lists", "Translate 'good night' into Italian",
            "Give me the gist of this email in one line: the launch moves to May and the budget is unchanged",
            "What is 15% of 240?", "Write a haiku about the sea"])
        #expect(decisions.map(\.capability) == ["code", "translation", "summarize", "math", "creative"])
    }

    @Test("the adapted task router's adapter ships beside it, and its routing beats the plain router's on the check set")
    func adaptedTasks() async throws {
        let path = TestPaths.repositoryFile("centroids/tasks-adapted.json")
        let adapter = try #require(CentroidArtifact.resolvedAdapterPath(ofCentroidFile: path))
        #expect(adapter.hasSuffix("/tasks-adapter.safetensors"))
        let artifact = try CentroidArtifact.load(from: path)
        #expect(artifact.embedder.adapter == (try ModelDirectory.sha256(ofFile: adapter)))
        // The check set was written after the training prompts and never trained on (by the centroids or the adapter).
        let rows = try TestPaths.jsonLines(TestPaths.repositoryFile("training/check/tasks_check.jsonl"))
        let texts = rows.map { $0["text"] as! String }, truth = rows.map { $0["capability"] as! String }
        func accuracy(_ file: String) async throws -> Double {
            let decisions = try await route(file, texts)
            return Double(zip(decisions, truth).filter { $0.0.capability == $0.1 }.count) / Double(rows.count)
        }
        let adapted = try await accuracy("tasks-adapted.json"), plain = try await accuracy("tasks.json")
        #expect(adapted >= 0.97 && adapted > plain, "adapted \(adapted), plain \(plain)")
    }

    @Test("CLINC150 knows its intents and abstains on requests outside them, on its own val split too")
    func clinc150() async throws {
        let decisions = try await route("clinc150.json", [
            "please set an alarm for 7 am", "what's the weather like in paris tomorrow", "who won the football world cup in 1998"])
        #expect(decisions.map(\.label) == ["alarm", "weather", nil])
        #expect(decisions[2].capability == "oos")
        // The val split never trained or calibrated the file (15,100 train rows, no final fit): every 10th in-scope row
        // and every out-of-scope row.
        let artifact = try CentroidArtifact.load(from: TestPaths.repositoryFile("centroids/clinc150.json"))
        #expect(artifact.training.trainRows == 15_100 && artifact.training.finalFit == nil)
        #expect(artifact.training.calibration?.folds == 5)
        let rows = try TestPaths.jsonLines(TestPaths.repositoryFile("training/clinc150_train.jsonl")).filter { $0["split"] as? String == "val" }
        let inScope = rows.filter { $0["label"] as? String != "oos" }.enumerated().filter { $0.offset % 10 == 0 }.map(\.element)
        let outside = rows.filter { $0["label"] as? String == "oos" }
        #expect(inScope.count == 300 && outside.count == 100)
        let routed = try await route("clinc150.json", (inScope + outside).map { $0["text"] as! String })
        let right = zip(inScope, routed).filter { $0.0["label"] as? String == $0.1.label }.count
        let abstained = routed.suffix(outside.count).filter { $0.label == nil }.count
        #expect(Double(right) / 300 >= 0.9, "in-scope accuracy \(Double(right) / 300)")
        #expect(Double(abstained) / 100 >= 0.8, "oos recall \(Double(abstained) / 100)")
    }

    @Test("Banking77 routes banking requests to their intents")
    func banking77() async throws {
        let decisions = try await route("banking77.json", [
            "my card payment was declined at the shop", "I forgot my PIN, how do I reset it?"])
        #expect(decisions[0].label == "declined_card_payment")
        #expect(["change_pin", "pin_blocked"].contains(decisions[1].label ?? ""), "\(decisions[1].label ?? "nil")")
    }
}
