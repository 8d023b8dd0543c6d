import ArgumentParser
import Foundation
import Hummingbird
import ServiceLifecycle
import Logging
import MiniLMEncoder
import PointsmanCore
import PointsmanService

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the routing service: OpenAI-compatible auto-routing proxy, /v1/route, /v1/embeddings, /metrics.")

    @Option(name: .long, help: "Address to bind (default 127.0.0.1; pass 0.0.0.0 to listen on every interface).")
    var host: String?

    @Option(name: .long, help: "Port (default 8080).")
    var port: Int?

    @Option(name: .long, help: "Catalog file (default: the shipped catalog).")
    var catalog: String?

    @Option(name: .long, help: "Centroid file (default: the shipped centroids/tasks-adapted.json, with its encoder adapter).")
    var centroids: String?

    @Option(name: .long, help: "Regex rules file (default: the shipped rules).")
    var rules: String?

    @Option(name: .long, help: "Upstream OpenAI-compatible base URL (default: $POINTSMAN_ENDPOINT, $FOUNDRY_LOCAL_ENDPOINT, or http://localhost:5273/v1).")
    var upstream: String?

    @Option(name: .long, help: "JSON config file with any of: host, port, catalog, centroids, rules, upstream, auto_model, api_key_file, admin_key_file, max_body_bytes, log_prompts, trace, ab_mode, ab_detector, ab_share, rule_candidates, quality, session_capacity, session_ttl_seconds, session_switch_confidence, budget, spend_ledger, mcp, mcp_max_sessions, mcp_session_idle_seconds, mcp_session_max_bytes, database_url, decision_spill, log_format, otlp_endpoint. Flags win.")
    var config: String?

    @Option(name: .long, help: "File of client API keys, one per line; also $POINTSMAN_SERVICE_API_KEYS (comma-separated). None: no client authentication.")
    var apiKeyFile: String?

    @Option(name: .long, help: "File of admin keys, one per line; also $POINTSMAN_SERVICE_ADMIN_KEYS (comma-separated). When any is set, /admin/ routes take only these.")
    var adminKeyFile: String?

    @Option(name: .long, help: "Model name that asks for automatic routing.")
    var autoModel: String?

    @Option(name: .long, help: "Cost-quality trade-off for requests that do not choose one (x-pointsman-quality header or the body's pointsman.quality): economy, balanced (default) or best.")
    var quality: String?

    @Option(name: .long, help: "Conversations whose model is remembered between turns (session stickiness; keyed by the x-pointsman-session header, else the body's user, else a hash of the first user turn); 0 turns stickiness off.")
    var sessionCapacity: Int?

    @Option(name: .long, help: "Seconds after its last turn that a conversation's model is forgotten.")
    var sessionTtl: Double?

    @Option(name: .long, help: "Confidence (0-1) a turn of another capability needs to move its conversation to another model.")
    var sessionSwitchConfidence: Double?

    @Option(name: .long, help: "JSON file that keeps spend across restarts (rewritten atomically after each answer); default: spend is kept in memory only. Budget limits go in --config under \"budget\".")
    var spendLedger: String?

    @Option(name: .long, help: "Largest request body in bytes (default 1 MiB; larger gets 413).")
    var maxBodyBytes: Int?

    @Flag(name: .long, help: "Log prompt texts (off by default).")
    var logPrompts = false

    @Option(name: .long, help: "Hybrid, below a centroid's threshold: the regex rules may only choose among this many of the centroids' best capabilities; 'all' (the default) lets any matching rule decide.")
    var ruleCandidates: RuleCandidates?

    @Option(name: .long, help: "Append A/B decision records to this JSON Lines file.")
    var trace: String?

    @Option(name: .long, help: "A/B mode: shadow or split.")
    var abMode: String?

    @Option(name: .long, help: "The B arm's detector: regex, embedding or hybrid.")
    var abDetector: String?

    @Option(name: .long, help: "Share of users routed by the B arm in split mode (0-1).")
    var abShare: Double?

    @Option(name: .long, help: "Seconds a connection may take to send its next complete request head (slow senders are cut off).")
    var headerTimeout: Double = 10

    @Option(name: .long, help: "Seconds a request body may take after its head; a body slower than 1 KiB/s on average after its first 5 seconds is cut off sooner.")
    var bodyTimeout: Double = 30

    @Option(name: .long, help: "Seconds a chat request may wait for an answer to start, across the model and all its fallbacks (then 504). Per model: first_byte_timeout_seconds in the catalog.")
    var requestDeadline: Double = 300

    @Option(name: .long, help: "Seconds an idle connection is kept open.")
    var idleTimeout: Double = 60

    @Option(name: .long, help: "Most texts per encoder call when micro-batching requests (larger requests are embedded a slice at a time, taking turns with the others). Small batches of short prompts stay on the encoder's packed-weight path.")
    var batchMax: Int = 8

    @Option(name: .long, help: "Most tokens per encoder call (its first text always fits). Small new requests get calls of their own, alternating with calls for large or ongoing ones, so a long batch holds up a short prompt for about two such calls. While only small requests wait, a call takes up to --batch-max of them whatever their tokens.")
    var batchMaxTokens: Int = 128

    @Option(name: .long, help: "Milliseconds an idle encoder waits for more requests before starting a batch (0: start at once; requests arriving during a batch are batched anyway).")
    var batchWaitMs: Double = 0

    @Option(name: .long, help: "Routing vectors kept in memory (LRU, keyed by embedder and text) so repeated prompts and earlier turns are not embedded again; 0 turns the cache off.")
    var embeddingCache: Int = 10_000

    @Option(name: .long, help: "Most texts waiting for the encoder before requests get 503 with Retry-After.")
    var queueLimit: Int = 1024

    @Option(name: .long, help: "Seconds SIGTERM waits for in-flight requests and streams before cancelling them and exiting 0 (under common 30 s kill periods).")
    var shutdownGrace: Double = 25

    @Option(name: .long, help: "PostgreSQL URL (postgres://user:password@host:5432/database) for state replicas share: the spend ledger and the decision log. Default: $POINTSMAN_DATABASE_URL; none: single-process state. Prefer the variable: a URL with a password in a flag shows in process lists.")
    var databaseURL: String?

    @Option(name: .long, help: "Log lines as text (default) or json: one JSON object per line with time, level, logger, message, request_id and the line's fields, for central log collectors. Config log_format.")
    var logFormat: String?

    @Option(name: .long, help: "Export OpenTelemetry traces (a span per request, with route, embed and upstream spans) over OTLP/HTTP to this base URL, e.g. http://127.0.0.1:4318 (traces go to /v1/traces). Default: $OTEL_EXPORTER_OTLP_ENDPOINT; none: no tracing. Config otlp_endpoint.")
    var otlpEndpoint: String?

    @Option(name: .long, help: "With a database: the file decision records spill to while it is down and memory is full (written to the database when it answers again). Default: $XDG_STATE_HOME (else ~/.local/state)/pointsman/decision-spill-PORT.jsonl; give each replica its own.")
    var decisionSpill: String?

    @Flag(name: .long, help: "Do not mount the MCP endpoint (Streamable HTTP) at /mcp.")
    var noMcp = false

    @Option(name: .long, help: "MCP sessions open at once at /mcp (default 64); a new session closes the least recently used one when full.")
    var mcpMaxSessions: Int?

    @Option(name: .long, help: "Seconds an unused MCP session at /mcp is kept (default 1800).")
    var mcpSessionIdle: Double?

    @Option(name: .long, help: "Bytes an MCP session may send before it is closed at its next request and the client starts a new one (default 8 MiB; the MCP SDK keeps every event a session sent).")
    var mcpSessionMaxBytes: Int?

    @OptionGroup var model: ModelOptions

    func validate() throws {
        guard shutdownGrace > 0, shutdownGrace.isFinite else { throw ValidationError("--shutdown-grace must be a positive number of seconds") }
        guard headerTimeout > 0, idleTimeout > 0, bodyTimeout > 0, requestDeadline > 0 else {
            throw ValidationError("--header-timeout, --body-timeout and --idle-timeout must be positive")
        }
        guard embeddingCache >= 0 else { throw ValidationError("--embedding-cache must be 0 (off) or a positive number of vectors") }
        if let mcpMaxSessions, mcpMaxSessions < 1 { throw ValidationError("--mcp-max-sessions must be positive") }
        if let mcpSessionIdle, !(mcpSessionIdle > 0 && mcpSessionIdle <= 604_800) {
            throw ValidationError("--mcp-session-idle must be a positive number of seconds, at most a week")
        }
        if let mcpSessionMaxBytes, mcpSessionMaxBytes < 1024 { throw ValidationError("--mcp-session-max-bytes must be at least 1024") }
        guard batchMax >= 1, batchMaxTokens >= 1, queueLimit >= 1, batchWaitMs >= 0 else {
            throw ValidationError("--batch-max, --batch-max-tokens and --queue-limit must be positive, --batch-wait-ms not negative")
        }
    }

    func run() async throws {
        let file = try config.map(Self.readConfig) ?? [:]
        func value<T>(_ flag: T?, _ key: String) -> T? { flag ?? file[key] as? T }
        let env = ProcessInfo.processInfo.environment
        var c = ServiceConfiguration()
        c.host = value(host, "host") ?? "127.0.0.1"
        c.port = value(port, "port") ?? 8080
        c.catalogPath = value(catalog, "catalog")
        c.rulesPath = value(rules, "rules")
        c.centroidsPath = value(centroids, "centroids") ?? ShippedFiles.centroids()
        c.upstreamURL = value(upstream, "upstream") ?? env["POINTSMAN_ENDPOINT"].nonEmpty ?? env["FOUNDRY_LOCAL_ENDPOINT"].nonEmpty ?? "http://localhost:5273/v1"
        c.upstreamAPIKey = env["POINTSMAN_UPSTREAM_API_KEY"].nonEmpty ?? env["OPENAI_API_KEY"].nonEmpty
        c.autoModelName = value(autoModel, "auto_model") ?? "auto"
        c.maxBodyBytes = value(maxBodyBytes, "max_body_bytes") ?? (1 << 20)
        c.logPrompts = logPrompts || (file["log_prompts"] as? Bool ?? false)
        c.tracePath = value(trace, "trace")
        if let flag = ruleCandidates {
            c.ruleCandidates = flag.count
        } else if let configured = file["rule_candidates"] {
            guard let parsed = (configured as? Int).flatMap({ RuleCandidates(argument: String($0)) })
                    ?? (configured as? String).flatMap(RuleCandidates.init(argument:)) else {
                throw CLIFailure("\(config ?? "the config file"): rule_candidates must be a positive integer or \"all\"")
            }
            c.ruleCandidates = parsed.count
        }
        c.headerTimeout = .milliseconds(Int(headerTimeout * 1000))
        c.bodyTimeout = .milliseconds(Int(bodyTimeout * 1000))
        c.requestDeadline = .milliseconds(Int(requestDeadline * 1000))
        c.idleTimeout = .milliseconds(Int(idleTimeout * 1000))
        c.batchMaxTexts = batchMax
        c.batchMaxTokens = batchMaxTokens
        c.embeddingCacheEntries = embeddingCache
        c.batchMaxWait = .microseconds(Int(batchWaitMs * 1000))
        c.queueLimit = queueLimit
        c.mcpEnabled = !noMcp && (file["mcp"] as? Bool ?? true)
        c.mcpMaxSessions = value(mcpMaxSessions, "mcp_max_sessions") ?? c.mcpMaxSessions
        let mcpIdle = value(mcpSessionIdle, "mcp_session_idle_seconds") ?? 1800
        c.mcpSessionMaxBytes = value(mcpSessionMaxBytes, "mcp_session_max_bytes") ?? c.mcpSessionMaxBytes
        guard c.mcpMaxSessions >= 1, mcpIdle > 0, mcpIdle <= 604_800, c.mcpSessionMaxBytes >= 1024 else {
            throw ValidationError("mcp_max_sessions must be positive, mcp_session_idle_seconds between 0 and a week, mcp_session_max_bytes at least 1024")
        }
        c.mcpSessionIdle = .milliseconds(Int(mcpIdle * 1000))
        var keys = (env["POINTSMAN_SERVICE_API_KEYS"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        if let keyFile = value(apiKeyFile, "api_key_file") {
            guard let text = try? String(contentsOfFile: keyFile, encoding: .utf8) else { throw CLIFailure("cannot read the API key file \(keyFile)") }
            keys += text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        c.apiKeys = keys.filter { !$0.isEmpty }
        var adminKeys = (env["POINTSMAN_SERVICE_ADMIN_KEYS"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        if let keyFile = value(adminKeyFile, "admin_key_file") {
            guard let text = try? String(contentsOfFile: keyFile, encoding: .utf8) else { throw CLIFailure("cannot read the admin key file \(keyFile)") }
            adminKeys += text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        c.adminKeys = adminKeys.filter { !$0.isEmpty }
        guard Set(c.adminKeys).isDisjoint(with: c.apiKeys) else {
            throw ValidationError("a key is both a client API key and an admin key: admin keys must be kept apart")
        }
        c.spendLedgerPath = value(spendLedger, "spend_ledger")
        c.databaseURL = value(databaseURL, "database_url") ?? env["POINTSMAN_DATABASE_URL"].nonEmpty
        if c.databaseURL != nil, c.spendLedgerPath != nil {
            throw ValidationError("--spend-ledger and --database-url both keep spend: give one (the database is shared by replicas)")
        }
        c.decisionSpillPath = value(decisionSpill, "decision_spill")
        if c.decisionSpillPath != nil, c.databaseURL == nil {
            throw ValidationError("--decision-spill needs --database-url (the decision log is kept in the database)")
        }
        if c.databaseURL != nil, c.decisionSpillPath == nil {
            // A folder of the service's own (created 0700), not a shared temporary folder: spilled rows may hold prompts.
            let state = env["XDG_STATE_HOME"].nonEmpty ?? (NSHomeDirectory() as NSString).appendingPathComponent(".local/state")
            c.decisionSpillPath = ((state as NSString).appendingPathComponent("pointsman") as NSString)
                .appendingPathComponent("decision-spill-\(c.port).jsonl")
        }
        if let budget = file["budget"] {
            do {
                let data = try JSONSerialization.data(withJSONObject: budget)
                let policy = try JSONDecoder().decode(BudgetPolicy.self, from: data)
                try policy.validate()
                c.budget = policy
            } catch {
                throw CLIFailure("\(config ?? "the config file"): budget: \(error)")
            }
        }
        c.sessionCapacity = value(sessionCapacity, "session_capacity") ?? c.sessionCapacity
        let ttl = value(sessionTtl, "session_ttl_seconds") ?? 1800
        let switchConfidence = value(sessionSwitchConfidence, "session_switch_confidence") ?? c.sessionSwitchConfidence
        guard c.sessionCapacity >= 0, ttl > 0, ttl.isFinite, (0...1).contains(switchConfidence) else {
            throw ValidationError("--session-capacity must be 0 (off) or positive, --session-ttl positive, --session-switch-confidence within 0-1")
        }
        c.sessionTTL = .milliseconds(Int(ttl * 1000))
        c.sessionSwitchConfidence = switchConfidence
        if let name = value(quality, "quality") {
            guard let chosen = RoutingQuality(name: name) else {
                throw ValidationError("--quality must be economy, balanced or best, got \"\(name)\"")
            }
            c.quality = chosen
        }
        if let mode = value(abMode, "ab_mode") {
            let share = value(abShare, "ab_share") ?? 0.5
            guard (0...1).contains(share) else { throw ValidationError("--ab-share must be between 0 and 1") }
            switch mode {
            case "shadow": c.abMode = .shadow
            case "split": c.abMode = .split(share: share)
            default: throw ValidationError("--ab-mode must be shadow or split")
            }
            guard let kind = DetectorKind(rawValue: value(abDetector, "ab_detector") ?? "regex") else {
                throw ValidationError("--ab-detector must be regex, embedding or hybrid")
            }
            c.abDetector = kind
        }
        guard (1...65535).contains(c.port) else { throw ValidationError("--port must be 1-65535") }
        switch value(logFormat, "log_format") ?? "text" {
        case "text": break
        case "json": LoggingSystem.bootstrap { label in JSONLogHandler(label: label) }
        case let other: throw ValidationError("--log-format must be text or json, got \(other)")
        }
        var logger = Logger(label: "pointsman.serve")
        logger.logLevel = .info
        let encoder = try model.loadEncoder(forCentroids: c.centroidsPath)
        // The trace exporter first: the group stops services in reverse order, so it flushes the last requests' spans.
        var services: [any Service] = []
        if let endpoint = value(otlpEndpoint, "otlp_endpoint") ?? env["OTEL_EXPORTER_OTLP_ENDPOINT"].nonEmpty {
            services.append(try TraceExport.bootstrap(endpoint: endpoint, logger: logger))
            logger.info("exporting traces", metadata: ["otlp_endpoint": "\(endpoint)"])
        }
        let app = try await buildApplication(configuration: c, encoder: encoder, version: Pointsman.configuration.version,
                                             logger: logger)
        logger.info("pointsman serving", metadata: [
            "address": "\(c.host):\(c.port)", "upstream": "\(c.upstreamURL)", "centroids": "\(c.centroidsPath ?? "none")",
            "auth": "\(c.apiKeys.isEmpty ? "off" : "\(c.apiKeys.count) keys")",
            "admin": "\(c.adminKeys.isEmpty ? "as other routes" : "\(c.adminKeys.count) admin keys")",
        ])
        // SIGTERM drains in-flight requests for at most the grace period, then cancels what is left: a hung upstream
        // cannot hold the process past a kill period.
        let shutdown = ShutdownWatch()
        var groupConfiguration = ServiceGroupConfiguration(services: services + [app, shutdown], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = .milliseconds(Int(shutdownGrace * 1000))
        groupConfiguration.maximumCancellationDuration = .seconds(1)
        do {
            try await ServiceGroup(configuration: groupConfiguration).run()
        } catch {
            // Past the grace period the group cancels its services: that is the shutdown asked for, not a failure.
            // Any error before a shutdown was asked for is one, and exits non-zero.
            guard await shutdown.began != nil else { throw error }
            logger.warning("shutdown grace period passed; in-flight requests were cancelled", metadata: ["error": "\(error)"])
        }
    }

    static func readConfig(_ path: String) throws -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw CLIFailure("\(path): not a JSON object")
        }
        let known: Set<String> = ["host", "port", "catalog", "centroids", "rules", "upstream", "auto_model", "api_key_file", "admin_key_file",
                                  "max_body_bytes", "log_prompts", "trace", "ab_mode", "ab_detector", "ab_share", "rule_candidates", "quality",
                                  "session_capacity", "session_ttl_seconds", "session_switch_confidence", "budget", "spend_ledger",
                                  "mcp", "mcp_max_sessions", "mcp_session_idle_seconds", "mcp_session_max_bytes", "database_url",
                                  "decision_spill", "log_format", "otlp_endpoint"]
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw CLIFailure("\(path): unknown field \"\(unknown)\" (allowed: \(known.sorted().joined(separator: ", ")))")
        }
        return object
    }
}

/// Notes when a graceful shutdown began (SIGTERM or SIGINT), so that the errors of cancelling what the grace period
/// could not drain are told apart from real failures.
actor ShutdownWatch: Service {
    private(set) var began: ContinuousClock.Instant?

    func run() async throws {
        try? await gracefulShutdown()
        began = .now
    }
}
