import ArgumentParser
import Foundation
import MiniLMEncoder
import OpenAIClient
import PointsmanCore
import PointsmanInterfaces

struct TrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Learn capability centroids from labeled prompts (JSON Lines or CSV).")

    @Argument(help: "Labeled data files; with --config, added to the config's files.")
    var data: [String] = []

    @Option(name: .long, help: "Training config (JSON) in training/: data files, label map, k, seed, thresholds.")
    var config: String?

    @Option(name: .long, help: "Where to write the centroid file.")
    var out: String

    @Option(name: .long, help: "Artifact name (default: the config's, else the output file's name).")
    var name: String?

    @Option(name: .long, help: "Field holding the label (default: the config's, else \"label\").")
    var labelField: String?

    @Option(name: .long, help: "Centroids per label (default: the config's; without a config, chosen by the recipe search, or with --max-k by silhouette).")
    var k: Int?

    @Option(name: .long, help: "Most centroids per label when k is chosen automatically.")
    var maxK: Int?

    @Option(name: .long, help: "Random seed (same seed and data, same centroids).")
    var seed: UInt64?

    @Flag(name: .long, help: "Skip the cosine-softmax refinement (plain k-means centroids).")
    var noRefine = false

    @Option(name: .long, help: "Append tf-idf word features with this weight to the embeddings (0: none; default: the config's; without a config, chosen by the recipe search, else none).")
    var lexicalWeight: Float?

    @Flag(name: .long, help: "Skip the recipe search: one fit with the given or default k, word weight and scale (without --config, train otherwise searches them by cross-validation).")
    var fast = false

    @Option(name: .long, help: "Seconds the recipe search may take after embedding (default 120); a candidate starts only when it should end by then.")
    var searchSeconds: Double?

    @Option(name: .long, help: "Embed through this OpenAI-compatible /v1 endpoint instead of the native encoder.")
    var endpoint: String?

    @Option(name: .long, help: "Model id sent to --endpoint.")
    var embeddingModel: String = "all-MiniLM-L6-v2"

    @Option(name: .long, help: "Add feedback corrections to training: the service's database (postgres:// URL, or - for $POINTSMAN_DATABASE_URL) or a JSON Lines file of decision records with corrected_capability. Each corrected request whose prompt was logged becomes a row of its corrected capability (group feedback/<capability>).")
    var feedback: String?

    @Option(name: .long, help: "Embedding cache folder (default: ~/.cache/pointsman/embeddings).")
    var cacheDir: String?

    @OptionGroup var model: ModelOptions

    func validate() throws {
        if config == nil && data.isEmpty { throw ValidationError("give DATA files or --config FILE") }
        try model.validateAdapter(against: endpoint, flag: "--endpoint")
        if let k, k < 1 { throw ValidationError("--k must be at least 1") }
        if let maxK, maxK < 1 { throw ValidationError("--max-k must be at least 1") }
        if let lexicalWeight, !(lexicalWeight >= 0 && lexicalWeight.isFinite) {
            throw ValidationError("--lexical-weight must be a number of 0 or more")
        }
        if let searchSeconds, !(searchSeconds > 0 && searchSeconds <= TrainingConfiguration.Search.maxSeconds) {
            throw ValidationError("--search-seconds must be a positive number of seconds, at most \(Int(TrainingConfiguration.Search.maxSeconds)) (a week)")
        }
        if searchSeconds != nil, fast || maxK != nil || noRefine {
            throw ValidationError("--search-seconds bounds the recipe search, which --fast, --max-k and --no-refine turn off")
        }
    }

    func run() async throws {
        var configuration: TrainingConfiguration
        if let config {
            configuration = try TrainingConfiguration.load(from: config)
            configuration.data += data
        } else {
            configuration = TrainingConfiguration(name: ((out as NSString).lastPathComponent as NSString).deletingPathExtension, data: data)
        }
        if let name { configuration.name = name }
        // Without a config, the recipe is searched unless --fast; a config searches only when it says so. Values given
        // on the command line are kept, not searched; --max-k (k by silhouette) and --no-refine turn the search off.
        if config == nil { configuration.search = .init() }
        if fast || maxK != nil { configuration.search = nil }
        if var search = configuration.search {
            if let k { search.k = [k] }
            if let lexicalWeight { search.lexicalWeights = [lexicalWeight] }
            if let searchSeconds { search.seconds = searchSeconds }
            configuration.search = noRefine ? nil : search
        } else if searchSeconds != nil {
            throw CLIFailure("--search-seconds: \(config ?? "the config") has no \"search\" key, so there is no recipe search to bound")
        }

        if let labelField { configuration.labelField = labelField }
        if let k { configuration.k = k }
        if let maxK { configuration.maxK = maxK }
        if let seed { configuration.seed = seed }
        if noRefine { configuration.refinement = nil }
        if let lexicalWeight {
            if lexicalWeight == 0 {
                configuration.lexical = nil
            } else {
                var lexical = configuration.lexical ?? .init()
                lexical.weight = lexicalWeight
                configuration.lexical = lexical
            }
        }

        // After every override: the rows use the configuration's field names.
        var feedbackFile: String?
        if let feedback {
            let source = feedback == "-" ? (ProcessInfo.processInfo.environment["POINTSMAN_DATABASE_URL"] ?? "") : feedback
            guard !source.isEmpty else { throw CLIFailure("--feedback -: POINTSMAN_DATABASE_URL is not set") }
            guard let (path, rows) = try await LoggedDecisionSource.trainingFile(
                from: source, textField: configuration.textField, labelField: configuration.labelField,
                groupField: configuration.groupField) else {
                throw CLIFailure("\(LoggedDecisionSource.isDatabaseURL(source) ? "the database" : source) has no feedback naming a capability for a request whose prompt was logged")
            }
            FileHandle.standardError.write(Data("adding \(rows) feedback corrections to training\n".utf8))
            configuration.data.append(path)
            feedbackFile = path
        }
        defer { if let feedbackFile { try? FileManager.default.removeItem(atPath: feedbackFile) } }

        if endpoint != nil, let adapter = configuration.encoderAdapter {
            throw CLIFailure("the config names encoder_adapter \(adapter), which changes the native encoder; it cannot apply to vectors from --endpoint")
        }
        // The flag, then the config, then the environment: an exported POINTSMAN_ENCODER_ADAPTER never overrides the
        // adapter a config names.
        if endpoint == nil, let adapter = model.trainingAdapter(configured: configuration.encoderAdapter) {
            configuration.encoderAdapter = adapter
            FileHandle.standardError.write(Data("encoder adapter: \(adapter)\n".utf8))
        }
        let client: OpenAIClient?
        let embedder: any EmbeddingProvider
        if let endpoint {
            let made = try OpenAIClient(configuration: .init(baseURL: endpoint))
            client = made
            embedder = RemoteEmbeddingProvider(client: made, model: embeddingModel)
        } else {
            client = nil
            embedder = try model.loadEncoder(adapter: configuration.encoderAdapter)
                .withLeadTokens(configuration.leadTokens ?? 0)
        }
        let cache = EmbeddingCache(directory: cacheDir ?? EmbeddingCacheLocation.defaultPath)
        let bar = ProgressReporter()
        var artifact: CentroidArtifact
        do {
            artifact = try await CentroidTrainer(embedder: embedder, cache: cache).train(configuration) { bar.update($0) }
        } catch {
            bar.finish()
            try? await client?.shutdown()
            throw error
        }
        bar.finish()
        try await client?.shutdown()
        if let adapter = configuration.encoderAdapter {
            // Routing finds the adapter from the file, wherever the two are moved together.
            artifact.adapterFile = RelativePath.of(adapter, from: (out as NSString).deletingLastPathComponent)
        }
        try artifact.write(to: out)
        print(TrainingSummary.text(artifact, path: out))
    }
}

/// A path relative to a folder, worked out lexically from both made absolute against the working directory (no
/// symlink is resolved, so the result is the same on every platform).
enum RelativePath {
    static func of(_ target: String, from folder: String) -> String {
        let to = URL(fileURLWithPath: target).standardizedFileURL.pathComponents
        let from = URL(fileURLWithPath: folder).standardizedFileURL.pathComponents
        var shared = 0
        while shared < min(to.count, from.count), to[shared] == from[shared] { shared += 1 }
        let result = (Array(repeating: "..", count: from.count - shared) + to[shared...]).joined(separator: "/")
        return result.isEmpty ? "." : result
    }
}

enum EmbeddingCacheLocation {
    static var defaultPath: String {
        (NSHomeDirectory() as NSString).appendingPathComponent(".cache/pointsman/embeddings")
    }
}

enum TrainingSummary {
    static func text(_ a: CentroidArtifact, path: String) -> String {
        var lines = ["wrote \(path): \(a.labels.count) labels, \(a.centroids.rows) centroids, \(a.training.trainRows) training rows, \(String(format: "%.1f", a.training.seconds)) s"]
        if let search = a.training.search {
            lines.append(String(format: "recipe search (%d folds over the training rows, %.1f s): chose k %d, word weight %g, scale %g (out-of-fold macro-F1 %.3f, accuracy %.3f)",
                                search.folds, search.seconds, search.chosen.k, search.chosen.lexicalWeight, search.chosen.scale,
                                search.chosen.macroF1, search.chosen.accuracy)
                         + (search.skipped > 0 ? "; \(search.skipped) \(search.skipped == 1 ? "candidate" : "candidates") skipped: it would not have ended in time" : ""))
            for c in search.candidates {
                lines.append(String(format: "  k %d  word weight %-4g scale %-4g  macro-F1 %.3f  accuracy %.3f  %.1f s",
                                    c.k, c.lexicalWeight, c.scale, c.macroF1, c.accuracy, c.seconds))
            }
        }
        if let note = a.training.searchNote { lines.append(note) }
        if let v = a.validation {
            lines.append(String(format: "validation (%d rows): accuracy %.3f, macro-F1 %.3f; with thresholds: in-scope accuracy %.3f, coverage %.3f",
                                v.rows, v.accuracy, v.macroF1, v.inScopeAccuracyWithThresholds, v.coverage)
                         + (v.abstainRecall.map { String(format: ", %@ recall %.3f", a.abstainLabel ?? "abstain", $0) } ?? ""))
            if a.labels.count <= 20 {
                lines.append("label            precision  recall  f1     support  threshold")
                for label in a.labels {
                    let m = v.perLabel[label]!
                    lines.append(label.padding(toLength: 16, withPad: " ", startingAt: 0)
                                 + String(format: " %.3f      %.3f   %.3f  %7d  %.3f", m.precision, m.recall, m.f1, m.support,
                                          a.thresholds[label] ?? a.defaultThreshold))
                }
            }
        }
        return lines.joined(separator: "\n")
    }
}

/// A progress bar (count, rate, ETA) on a terminal; plain progress lines otherwise.
final class ProgressReporter: @unchecked Sendable {
    private let lock = NSLock()
    private let interactive = isatty(2) != 0
    private var phase = ""
    private var started = Date()
    private var lastLine = Date.distantPast

    func update(_ p: TrainingProgress) {
        lock.withLock {
            if p.phase != phase {
                if interactive && !phase.isEmpty { FileHandle.standardError.write(Data("\n".utf8)) }
                phase = p.phase
                started = Date()
            }
            let elapsed = Date().timeIntervalSince(started)
            let rate = elapsed > 0 ? Double(p.done) / elapsed : 0
            let eta = rate > 0 ? Double(p.total - p.done) / rate : 0
            let text = String(format: "%@: %d/%d (%.0f/s, ETA %.0fs)", p.phase, p.done, p.total, rate, eta)
            if interactive {
                let width = 30
                let filled = p.total > 0 ? width * p.done / p.total : width
                let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
                FileHandle.standardError.write(Data("\r[\(bar)] \(text)\u{1B}[K".utf8))
            } else if p.done == p.total || p.done == 0 || Date().timeIntervalSince(lastLine) >= 5 {
                lastLine = Date()
                FileHandle.standardError.write(Data("\(text)\n".utf8))
            }
        }
    }

    func finish() {
        lock.withLock {
            if interactive && !phase.isEmpty { FileHandle.standardError.write(Data("\n".utf8)) }
            phase = ""
        }
    }
}
