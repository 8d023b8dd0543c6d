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

    @Option(name: .long, help: "Replay the service's decision log against the routing options given here (--centroids, --rules, …): a postgres:// URL (the service's database; $POINTSMAN_DATABASE_URL keeps the password out of process lists when given as -) or a JSON Lines file of decision records. Needs logged prompts (serve --log-prompts); feedback corrections score both.")
    var fromLog: String?

    @Option(name: .long, help: "Embedding cache folder (default: ~/.cache/pointsman/embeddings).")
    var cacheDir: String?

    @OptionGroup var routing: RoutingOptions

    func validate() throws {
        if trace == nil && fromLog == nil && data.isEmpty && config == nil {
            throw ValidationError("give DATA files, --config FILE, --trace FILE or --from-log SOURCE")
        }
        if fromLog != nil && (trace != nil || !data.isEmpty || config != nil) {
            throw ValidationError("--from-log replays the decision log on its own: give no DATA, --config or --trace with it")
        }
        if holdout && config == nil { throw ValidationError("--holdout needs --config") }
        let known = Set(DetectorKind.allCases.map(\.rawValue))
        for name in routers.split(separator: ",") where !known.contains(String(name)) {
            throw ValidationError("unknown router \"\(name)\" in --routers (known: regex, embedding, hybrid)")
        }
        guard completionTokens >= 0, latencySample >= 1 else { throw ValidationError("--completion-tokens and --latency-sample must be positive") }
    }

    func run() async throws {
        if let fromLog {
            let source = fromLog == "-" ? (ProcessInfo.processInfo.environment["POINTSMAN_DATABASE_URL"] ?? "") : fromLog
            guard !source.isEmpty else { throw CLIFailure("--from-log -: POINTSMAN_DATABASE_URL is not set") }
            let decisions = try await LoggedDecisionSource.load(source, correctedOnly: false)
            guard !decisions.isEmpty else {
                throw CLIFailure("the decision log has no decisions with a logged prompt (run the service with --log-prompts)")
            }
            let (setup, kind, client) = try await routing.makeSetup()
            defer { if let client { Task { try? await client.shutdown() } } }
            let replay = try await LogReplayReport.replay(decisions, router: setup.router(kind))
            print(json ? JSONOutput.pretty(replay) : replay.text)
            return
        }
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
            let split = try CentroidTrainer.validationSplit(rows, config: configuration)
            rows = split.validation.map { rows[$0] }
            source += configuration.validationSplit.map { " (split \($0) of \(configuration.name))" }
                ?? " (held-out validation split of \(configuration.name), seed \(configuration.seed))"
        }
        if let abstain = configuration.abstainLabel { rows.removeAll { $0.label == abstain } }
        guard !rows.isEmpty else { throw CLIFailure("\(source): no rows to evaluate") }

        let kinds = routers.split(separator: ",").compactMap { DetectorKind(rawValue: String($0)) }
        let needsCentroids = kinds.contains { $0 != .regex }
        let options = RoutingSetup.Options(ruleCandidates: routing.ruleCandidates.count, embedTimeout: routing.embedTimeoutDuration)
        var setup: RoutingSetup
        var tokenCount: @Sendable (String) -> Int = { max(1, $0.utf8.count / 4) }
        let detectors: [NamedDetector]
        if needsCentroids {
            guard let path = routing.centroids ?? ShippedFiles.centroids() else {
                throw CLIFailure("no centroid file: pass --centroids FILE")
            }
            let encoder = try routing.model.loadEncoder(forCentroids: path)
            setup = try await RoutingSetup.load(
                RoutingFiles(catalog: routing.catalog, rules: routing.rules, centroids: path), embedder: encoder, options: options)
            if holdout, let artifact = setup.centroids, artifact.training.finalFit == true {
                // Those centroids learned from the held-out rows too; measure the same recipe without them instead.
                FileHandle.standardError.write(Data(("\(path) was trained on every row (final_fit), held-out rows included; "
                    + "evaluating centroids trained now by \(config ?? configuration.name) without the held-out rows instead\n").utf8))
                var heldOut = configuration
                heldOut.finalFit = false
                let cache = EmbeddingCache(directory: cacheDir ?? EmbeddingCacheLocation.defaultPath)
                // The config, not the centroid file, says how to pool and which encoder adapter its recipe trains on
                // (as `train` reads it: the flag, then the config, then the environment); routing below uses what the
                // retrained file says.
                let adapter = routing.model.trainingAdapter(configured: heldOut.encoderAdapter)
                heldOut.encoderAdapter = adapter
                if let adapter { FileHandle.standardError.write(Data("encoder adapter: \(adapter)\n".utf8)) }
                let trainingEncoder = try routing.model.loadEncoder(adapter: adapter)
                let retrained = try await CentroidTrainer(embedder: try trainingEncoder.withLeadTokens(heldOut.leadTokens ?? 0), cache: cache)
                    .train(heldOut)
                let prepared = try await RoutingSetup.prepare(trainingEncoder, for: retrained, file: "<\(heldOut.name), retrained without the held-out rows>")
                setup = RoutingSetup(catalog: setup.catalog, rules: setup.rules, centroids: retrained, centroidsFile: path,
                                     embedder: prepared.embedder, options: options)
            }
            let tokenizer = encoder.tokenizer
            tokenCount = { tokenizer.encode($0, truncate: false).count - 2 }
            guard let artifact = setup.centroids, let embedder = setup.embedder else {
                throw CLIFailure("\(path): no centroids or embedder after set-up")
            }
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
            let cached = CachedEmbeddingProvider(base: embedder, cache: cache)
            detectors = kinds.map { kind in
                kind == .regex
                    ? NamedDetector(name: kind.rawValue, detector: setup.detector(.regex))
                    : NamedDetector(name: kind.rawValue, detector: setup.detector(kind, embedder: cached),
                                    timedDetector: setup.detector(kind))
            }
        } else {
            setup = try await RoutingSetup.load(RoutingFiles(catalog: routing.catalog, rules: routing.rules), embedder: nil, options: options)
            detectors = [NamedDetector(name: "regex", detector: setup.detector(.regex))]
        }
        let evaluator = RouterEvaluator(catalog: setup.catalog, tokenCount: tokenCount,
                                        assumedCompletionTokens: completionTokens, latencySample: latencySample)
        let result = try await evaluator.evaluate(rows, routers: detectors, source: source)
        if let report {
            try result.html().write(toFile: report, atomically: true, encoding: .utf8)
            FileHandle.standardError.write(Data("wrote \(report)\n".utf8))
        }
        print(json ? JSONOutput.pretty(result) : result.text())
    }
}
