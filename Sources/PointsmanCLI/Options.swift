import ArgumentParser
import Foundation
import Logging
import MiniLMEncoder
import OpenAIClient
import PointsmanCore
import PointsmanInterfaces

/// Where the catalog and rules come from.
struct RoutingOptions: ParsableArguments {
    @Option(name: .long, help: "Catalog file (JSON, or YAML by extension). Default: the shipped catalog.")
    var catalog: String?

    @Option(name: .long, help: "Regex rules file (JSON, or YAML by extension). Default: the shipped rule set.")
    var rules: String?

    @Option(name: .long, help: "Which detector decides: regex (rules only), embedding (centroids only), hybrid (centroids, rules below the calibrated threshold or when the embedder fails). Default: hybrid, or regex when no centroid file is found.")
    var detector: DetectorKind?

    @Option(name: .long, help: "Centroid file. Default: $POINTSMAN_CENTROIDS, else the shipped centroids/tasks-adapted.json (centroids/tasks-sentence.json with --embedding-endpoint).")
    var centroids: String?

    @Option(name: .long, help: "Embed prompts through this OpenAI-compatible /v1 endpoint instead of the native encoder.")
    var embeddingEndpoint: String?

    @Option(name: .long, help: "Model id sent to --embedding-endpoint.")
    var embeddingModel: String = "all-MiniLM-L6-v2"

    @Option(name: .long, help: "Seconds to wait for one embedder call (at most 64 prompts) before the regex rules decide (hybrid) or the command fails (embedding).")
    var embedTimeout: Double = 30

    @Option(name: .long, help: "Hybrid, below a centroid's threshold: the regex rules may only choose among this many of the centroids' best capabilities (otherwise the centroid decision stands); 'all' lets any matching rule decide.")
    var ruleCandidates: RuleCandidates = RuleCandidates(count: CentroidIntentDetector.defaultRuleCandidates)

    /// `--embed-timeout` as a duration.
    var embedTimeoutDuration: Duration { .milliseconds(Int((embedTimeout * 1000).rounded())) }

    func validate() throws {
        guard embedTimeout > 0, embedTimeout.isFinite else { throw ValidationError("--embed-timeout must be a positive number of seconds") }
        try model.validateAdapter(against: embeddingEndpoint, flag: "--embedding-endpoint")
    }

    @OptionGroup var model: ModelOptions

    /// What the flags ask for, set up once: the detector kind, and a routing set-up that can also build `alsoKind`
    /// (the B arm of an A/B run), with the client to shut down afterwards (remote embeddings), if any.
    func makeSetup(also alsoKind: DetectorKind? = nil) async throws -> (setup: RoutingSetup, kind: DetectorKind, client: OpenAIClient?) {
        let found = centroids ?? ShippedFiles.centroids(nativeEncoder: embeddingEndpoint == nil)
        let kind: DetectorKind
        if let detector {
            kind = detector
        } else if found != nil {
            kind = .hybrid
        } else {
            FileHandle.standardError.write(Data("note: no centroid file found; routing with the regex rules\n".utf8))
            kind = .regex
        }
        let options = RoutingSetup.Options(ruleCandidates: ruleCandidates.count, embedTimeout: embedTimeoutDuration)
        let needsCentroids = kind != .regex || (alsoKind.map { $0 != .regex } ?? false)
        guard needsCentroids else {
            let setup = try await RoutingSetup.load(RoutingFiles(catalog: catalog, rules: rules), embedder: nil, options: options)
            return (setup, kind, nil)
        }
        guard let path = found else {
            throw CLIFailure("no centroid file: pass --centroids FILE (or set POINTSMAN_CENTROIDS); train one with `pointsman train`")
        }
        let (embedder, _, client) = try makeEmbedder(centroids: path)
        do {
            let setup = try await RoutingSetup.load(
                RoutingFiles(catalog: catalog, rules: rules, centroids: path), embedder: embedder, options: options)
            if !setup.embedderReachable, kind == .embedding || alsoKind == .embedding {
                throw CLIFailure("embedding endpoint \(embeddingEndpoint ?? "") is unreachable and --detector embedding has no fallback")
            }
            return (setup, kind, client)
        } catch {
            try? await client?.shutdown()
            throw error
        }
    }

    /// The embedder the flags ask for: the endpoint's (with its client, to shut down) or the native encoder (with the
    /// adapter the centroid file names, unless one is given).
    func makeEmbedder(centroids: String?) throws -> (embedder: any EmbeddingProvider, encoder: MiniLMEncoder?, client: OpenAIClient?) {
        if let url = embeddingEndpoint {
            let client = try OpenAIClient(configuration: .init(baseURL: url, requestTimeout: .seconds(10), maxRetries: 0))
            return (RemoteEmbeddingProvider(client: client, model: embeddingModel), nil, client)
        }
        let encoder = try model.loadEncoder(forCentroids: centroids)
        return (encoder, encoder, nil)
    }

    /// A routing store for a long-running command (`pointsman mcp`): the same files and detector as `makeSetup`,
    /// reloadable. Returns the encoder (for token counts) when it is local, and the client to shut down when embeddings
    /// come over HTTP.
    func makeStore() async throws -> (store: RoutingStore, encoder: MiniLMEncoder?, client: OpenAIClient?) {
        let found = centroids ?? ShippedFiles.centroids(nativeEncoder: embeddingEndpoint == nil)
        let kind = detector ?? (found == nil ? .regex : .hybrid)
        let options = RoutingSetup.Options(ruleCandidates: ruleCandidates.count, embedTimeout: embedTimeoutDuration)
        guard kind != .regex else {
            let store = try await RoutingStore(files: RoutingFiles(catalog: catalog, rules: rules), embedder: nil, detector: .regex, options: options)
            return (store, nil, nil)
        }
        guard let path = found else {
            throw CLIFailure("no centroid file: pass --centroids FILE (or set POINTSMAN_CENTROIDS); train one with `pointsman train`")
        }
        let (embedder, encoder, client) = try makeEmbedder(centroids: path)
        do {
            let store = try await RoutingStore(
                files: RoutingFiles(catalog: catalog, rules: rules, centroids: path), embedder: embedder, detector: kind, options: options)
            return (store, encoder, client)
        } catch {
            try? await client?.shutdown()
            throw error
        }
    }

    /// The catalog the flags name, or the shipped one.
    func loadCatalog() throws -> Catalog {
        guard let catalog else { return .shipped }
        return try Catalog.load(from: catalog)
    }
}

/// `--rule-candidates`: a positive count, or `all`.
struct RuleCandidates: ExpressibleByArgument {
    var count: Int

    init(count: Int) { self.count = count }

    init?(argument: String) {
        if argument.lowercased() == "all" { count = .max; return }
        guard let value = Int(argument), value >= 1 else { return nil }
        count = value
    }

    var defaultValueDescription: String { count == .max ? "all" : String(count) }
}

extension DetectorKind: ExpressibleByArgument {}

/// Files that ship with Pointsman, found next to the binary's checkout.
enum ShippedFiles {
    /// The task router for the native encoder: centroids trained on the vectors of MiniLM with the shipped encoder
    /// adapter (`centroids/tasks-adapter.safetensors`, which the file names and the CLI loads with it).
    static let adaptedTaskCentroids = "tasks-adapted.json"
    /// The same recipe on plain all-MiniLM-L6-v2 sentence vectors (no lead tokens, no adapter): the task router when
    /// an endpoint computes the embeddings.
    static let sentenceTaskCentroids = "tasks-sentence.json"

    /// `$POINTSMAN_CENTROIDS`, else the shipped task router in `centroids/` of the current folder or above the
    /// executable: the adapted one for the native encoder, the sentence-vector one for an embedding endpoint.
    static func centroids(nativeEncoder: Bool = true) -> String? {
        if let env = ProcessInfo.processInfo.environment["POINTSMAN_CENTROIDS"].nonEmpty { return env }
        return find("centroids/\(nativeEncoder ? adaptedTaskCentroids : sentenceTaskCentroids)")
    }

    /// `relative` in the current folder, else in the checkout above the executable.
    static func find(_ relative: String) -> String? {
        let fm = FileManager.default
        var candidates = [(fm.currentDirectoryPath as NSString).appendingPathComponent(relative)]
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            candidates.append(folder.appendingPathComponent(relative).path)
            folder.deleteLastPathComponent()
        }
        return candidates.first { fm.fileExists(atPath: $0) }
    }
}

/// Where chat calls go.
struct EndpointOptions: ParsableArguments {
    @Option(name: .long, help: "OpenAI-compatible base URL ending in /v1. Default: $POINTSMAN_ENDPOINT, $FOUNDRY_LOCAL_ENDPOINT, or http://localhost:5273/v1.")
    var endpoint: String?

    @Option(name: .long, help: "Seconds allowed for a whole request.")
    var timeout: Double = 120

    @Option(name: .long, help: "Retries on connection errors, 429 and 5xx.")
    var retries: Int = 2

    func validate() throws {
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
        guard retries >= 0 else { throw ValidationError("--retries must not be negative") }
    }

    var resolvedEndpoint: String {
        let env = ProcessInfo.processInfo.environment
        return endpoint ?? env["POINTSMAN_ENDPOINT"].nonEmpty ?? env["FOUNDRY_LOCAL_ENDPOINT"].nonEmpty
            ?? "http://localhost:5273/v1"
    }

    /// The API key from the environment (never from a flag, so it stays out of shell history and process lists).
    var apiKey: String? {
        let env = ProcessInfo.processInfo.environment
        return env["POINTSMAN_API_KEY"].nonEmpty ?? env["OPENAI_API_KEY"].nonEmpty
    }

    func makeClient() throws -> OpenAIClient {
        try OpenAIClient(configuration: OpenAIClientConfiguration(
            baseURL: resolvedEndpoint, apiKey: apiKey, requestTimeout: .milliseconds(Int(timeout * 1000)),
            maxRetries: retries))
    }
}

/// Where the native encoder's model lives.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "Model folder. Default: $POINTSMAN_MODEL_DIR or ~/.cache/pointsman/models/all-MiniLM-L6-v2.")
    var modelDir: String?

    @Option(name: .long, help: "Low-rank adapter file (safetensors) added into the encoder's weights at load; centroid files trained with one need the same one. Default: $POINTSMAN_ENCODER_ADAPTER, else none.")
    var encoderAdapter: String?

    var resolvedEncoderAdapter: String? {
        encoderAdapter.nonEmpty ?? ProcessInfo.processInfo.environment["POINTSMAN_ENCODER_ADAPTER"].nonEmpty
    }

    /// The adapter a training config's recipe trains on (`train`, and `eval --holdout` when it retrains): the flag,
    /// then the config's `encoder_adapter`, then `$POINTSMAN_ENCODER_ADAPTER`, so an exported variable never
    /// overrides the adapter a config names.
    func trainingAdapter(configured: String?) -> String? {
        encoderAdapter.nonEmpty ?? configured ?? ProcessInfo.processInfo.environment["POINTSMAN_ENCODER_ADAPTER"].nonEmpty
    }

    /// An adapter changes the native encoder's weights; it cannot change vectors an endpoint computes.
    func validateAdapter(against endpoint: String?, flag: String) throws {
        if encoderAdapter != nil, endpoint != nil {
            throw ValidationError("--encoder-adapter changes the native encoder; it cannot apply to vectors from \(flag)")
        }
    }

    var resolvedModelDir: String {
        if let modelDir { return modelDir }
        if let env = ProcessInfo.processInfo.environment["POINTSMAN_MODEL_DIR"].nonEmpty { return env }
        return (NSHomeDirectory() as NSString).appendingPathComponent(".cache/pointsman/models/all-MiniLM-L6-v2")
    }

    /// The native encoder, with `--encoder-adapter` (or `$POINTSMAN_ENCODER_ADAPTER`), else with `fallbackAdapter`.
    func loadEncoder(fallbackAdapter: String? = nil) throws -> MiniLMEncoder {
        try loadEncoder(adapter: resolvedEncoderAdapter ?? fallbackAdapter)
    }

    /// The native encoder with exactly this adapter (or none).
    func loadEncoder(adapter: String?) throws -> MiniLMEncoder {
        try MiniLMEncoder(configuration: .init(directory: ModelDirectory(path: resolvedModelDir), adapter: adapter))
    }

    /// The native encoder for routing with a centroid file: when no adapter is given, the one the file names
    /// (`embedder.adapter_file`), so a file trained with an adapter routes without being told.
    func loadEncoder(forCentroids path: String?) throws -> MiniLMEncoder {
        guard resolvedEncoderAdapter == nil, let path, let named = CentroidArtifact.resolvedAdapterPath(ofCentroidFile: path) else {
            return try loadEncoder()
        }
        guard FileManager.default.fileExists(atPath: named) else {
            throw CLIFailure("\(path) was trained with the encoder adapter \(named), which does not exist: keep the two files together, or pass the adapter with --encoder-adapter")
        }
        return try loadEncoder(adapter: named)
    }
}

extension Optional where Wrapped == String {
    var nonEmpty: String? {
        guard let self, !self.isEmpty else { return nil }
        return self
    }
}

/// A failure the CLI reports as one line.
struct CLIFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

enum InputReader {
    /// The argument itself, or standard input for `-`; rejects invalid UTF-8 and empty text.
    static func text(_ argument: String, what: String) throws -> String {
        let text: String
        if argument == "-" {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            guard let decoded = String(data: data, encoding: .utf8) else {
                throw CLIFailure("standard input is not valid UTF-8")
            }
            text = decoded
        } else {
            text = argument
        }
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw CLIFailure("the \(what) is empty")
        }
        return text
    }

    /// Prompts from a file: one per line, or JSON Lines with a `text` field (detected per line).
    static func prompts(file path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIFailure("cannot read \(path)")
        }
        guard let content = String(data: data, encoding: .utf8) else {
            throw CLIFailure("\(path) is not valid UTF-8")
        }
        var prompts: [String] = []
        for (number, raw) in content.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            if line.hasPrefix("{") {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                    throw CLIFailure("\(path):\(number + 1): line starts with { but is not a JSON object")
                }
                guard let text = object["text"] as? String else {
                    throw CLIFailure("\(path):\(number + 1): JSON line has no string field \"text\"")
                }
                prompts.append(text)
            } else {
                prompts.append(String(raw))
            }
        }
        return prompts
    }
}

enum JSONOutput {
    static func line<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(value)) ?? Data(), as: UTF8.self)
    }

    static func pretty<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(value)) ?? Data(), as: UTF8.self)
    }
}

/// Writes text to standard output immediately (no buffering), for streamed answers.
enum Terminal {
    static func write(_ text: String) {
        fflush(nil)  // keep order with print()
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
