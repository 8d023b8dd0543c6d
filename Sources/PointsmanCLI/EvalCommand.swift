import ArgumentParser
import Foundation
import MiniLMEncoder
import PointsmanCore
import PointsmanEval

struct EvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Compare routers (regex, embedding, hybrid) on labeled prompts, or replay a recorded A/B trace.")

    @Argument(help: "Labeled data files (JSON Lines or CSV).")
    var data: [String] = []

    @Option(name: .long, help: "A training config: its data files, label field and map; with --holdout, only its held-out validation rows.")
    var config: String?

    @Flag(name: .long, help: "With --config: evaluate on the rows the trainer held out (same split, same seed).")
    var holdout = false

    @Option(name: .long, help: "Field holding the label (default: the config's, else \"label\").")
    var labelField: String?

    @Option(name: .long, help: "JSON file mapping data labels to capabilities (default: the centroid file's map).")
    var labelMap: String?

    @Option(name: .long, help: "Routers to compare, comma-separated: regex, embedding, hybrid.")
    var routers: String = "regex,embedding,hybrid"

    @Option(name: .long, help: "Completion tokens assumed per prompt for cost estimates.")
    var completionTokens: Int = 200

    @Option(name: .long, help: "Prompts timed one by one for latency.")
    var latencySample: Int = 100

    @Flag(name: .long, help: "Print the whole report as JSON.")
    var json = false

    @Option(name: .long, help: "Write a self-contained HTML report here.")
    var report: String?

    @Option(name: .long, help: "Replay this A/B trace (JSON Lines written by `route --ab-mode`) instead of evaluating data.")
    var trace: String?

    @Option(name: .long, help: "With --trace: JSON Lines of {\"id\", \"label\"} joined to the trace records by id.")
    var labels: String?

    @Option(name: .long, help: "Embedding cache folder (default: ~/.cache/pointsman/embeddings).")
    var cacheDir: String?

    @OptionGroup var routing: RoutingOptions

    func validate() throws {
        if trace == nil && data.isEmpty && config == nil { throw ValidationError("give DATA files, --config FILE, or --trace FILE") }
        if holdout && config == nil { throw ValidationError("--holdout needs --config") }
        let known = Set(DetectorChoice.allCases.map(\.rawValue))
        for name in routers.split(separator: ",") where !known.contains(String(name)) {
            throw ValidationError("unknown router \"\(name)\" in --routers (known: regex, embedding, hybrid)")
        }
        guard completionTokens >= 0, latencySample >= 1 else { throw ValidationError("--completion-tokens and --latency-sample must be positive") }
    }

    func run() async throws {
        if let trace {
            var joined: [String: String] = [:]
            if let labels {
                for row in try LabeledDatasetReader(textField: "id", labelField: "label").read(labels) { joined[row.text] = row.label }
            }
            let replay = try ReplayReport.replay(tracePath: trace, labels: joined)
            print(json ? JSONOutput.pretty(replay) : replay.text)
            return
        }
        var configuration = try config.map { try TrainingConfiguration.load(from: $0) }
            ?? TrainingConfiguration(name: "eval", data: [])
        configuration.data += data
        if let labelField { configuration.labelField = labelField }
        var rows = try CentroidTrainer.loadRows(configuration)
        var source = configuration.data.map { ($0 as NSString).lastPathComponent }.joined(separator: ", ")
        if holdout {
            let split = CentroidTrainer.split(rows, fraction: configuration.validationFraction, seed: configuration.seed)
            rows = split.validation.map { rows[$0] }
            source += " (held-out validation split of \(configuration.name), seed \(configuration.seed))"
        }
        if let abstain = configuration.abstainLabel { rows.removeAll { $0.label == abstain } }
        guard !rows.isEmpty else { throw CLIFailure("\(source): no rows to evaluate") }

        let names = routers.split(separator: ",").map(String.init)
        let needsCentroids = names.contains { $0 != "regex" }
        let rules = try routing.loadRules()
        var detectors: [NamedDetector] = []
        var tokenCount: @Sendable (String) -> Int = { max(1, $0.utf8.count / 4) }
        if needsCentroids {
            guard let path = routing.centroids ?? ShippedFiles.centroids() else {
                throw CLIFailure("no centroid file: pass --centroids FILE")
            }
            var artifact = try CentroidArtifact.load(from: path)
            var encoder = try routing.model.loadEncoder().withLeadTokens(artifact.embedder.leadTokens ?? 0)
            try artifact.checkCompatible(with: encoder.currentFingerprint, file: path)
            if holdout, artifact.training.finalFit == true {
                // Those centroids learned from the held-out rows too; measure the same recipe without them instead.
                FileHandle.standardError.write(Data(("\(path) was trained on every row (final_fit), held-out rows included; "
                    + "evaluating centroids trained now by the same config without the held-out rows\n").utf8))
                var heldOut = configuration
                heldOut.finalFit = false
                let cache = EmbeddingCache(directory: cacheDir ?? EmbeddingCacheLocation.defaultPath)
                // The config, not the shipped file, says how to pool; routing below uses what the retrained file says.
                encoder = try encoder.withLeadTokens(heldOut.leadTokens ?? 0)
                artifact = try await CentroidTrainer(embedder: encoder, cache: cache).train(heldOut)
            }
            let tokenizer = encoder.tokenizer
            tokenCount = { tokenizer.encode($0, truncate: false).count - 2 }
            var map = artifact.capabilities
            if let labelMap {
                guard let data = FileManager.default.contents(atPath: labelMap),
                      let object = try? JSONSerialization.jsonObject(with: data) as? [String: String] else {
                    throw CLIFailure("\(labelMap): not a JSON object of label to capability")
                }
                map = object
            }
            let known = Set(artifact.capabilities.values)
            for (index, row) in rows.enumerated() {
                guard let capability = map[row.label] ?? (known.contains(row.label) ? row.label : nil) else {
                    throw CLIFailure("\(row.origin): label \"\(row.label)\" is not a label or capability of \(path) (known: \(known.sorted().joined(separator: ", ")))")
                }
                rows[index].label = capability
            }
            let cache = EmbeddingCache(directory: cacheDir ?? EmbeddingCacheLocation.defaultPath)
            let cached = CachedEmbeddingProvider(base: encoder, cache: cache)
            for name in names {
                let fallback = name == "hybrid" ? rules : nil
                if name == "regex" {
                    detectors.append(NamedDetector(name: name, detector: rules))
                } else {
                    detectors.append(NamedDetector(
                        name: name,
                        detector: CentroidIntentDetector(centroids: FixedCentroids(artifact), embedder: cached, fallback: fallback,
                                                         embedTimeout: routing.embedTimeoutDuration,
                                                         ruleCandidates: routing.ruleCandidates.count),
                        timedDetector: CentroidIntentDetector(centroids: FixedCentroids(artifact), embedder: encoder, fallback: fallback,
                                                              embedTimeout: routing.embedTimeoutDuration,
                                                              ruleCandidates: routing.ruleCandidates.count)))
                }
            }
        } else {
            detectors = [NamedDetector(name: "regex", detector: rules)]
        }
        let evaluator = RouterEvaluator(catalog: try routing.loadCatalog(), tokenCount: tokenCount,
                                        assumedCompletionTokens: completionTokens, latencySample: latencySample)
        let result = try await evaluator.evaluate(rows, routers: detectors, source: source)
        if let report {
            try result.html().write(toFile: report, atomically: true, encoding: .utf8)
            FileHandle.standardError.write(Data("wrote \(report)\n".utf8))
        }
        print(json ? JSONOutput.pretty(result) : result.text())
    }
}
