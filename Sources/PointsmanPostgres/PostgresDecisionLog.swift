import Foundation
import Logging
import PointsmanCore
import PostgresNIO

/// The decision log in PostgreSQL (`pointsman_decisions`, one row per served request), written in the background in
/// batches so that routing never waits for the database.
///
/// Nothing accepted is lost while the process lives, and memory stays bounded: records wait in memory (at most
/// `memoryLimit`); past that, the oldest half goes to a local spill file (JSON Lines). When the database answers again
/// the spill file is written first, then memory. A spill file left by an earlier run (a process stopped during an
/// outage) is written on start. Every record has an id, so a batch retried after a timeout whose write did land is
/// kept once.
public actor PostgresDecisionLog: DecisionLog {
    let database: PointsmanDatabase
    /// The spill file; `<path>.draining` while it is being written to the database.
    public nonisolated let spillPath: String
    let memoryLimit: Int
    let batchSize: Int
    let flushInterval: Duration
    let writeTimeout: Duration
    let retryInterval: Duration
    private var queue: [DecisionLogRecord] = []
    /// Records in spill files not yet in the database.
    private var spilledCount = 0
    private var writer: Task<Void, Never>?
    private var failingSince: ContinuousClock.Instant?
    /// A flush is running (the writer's or `close`'s); another waits its turn.
    private var flushing = false
    /// Records the database has taken since start.
    public private(set) var writtenCount = 0

    /// Records waiting for the database, in memory and in spill files.
    public var pendingCount: Int { queue.count + spilledCount }
    /// Records waiting in memory.
    public var memoryCount: Int { queue.count }

    /// A log writing to `database`, spilling to `spillPath` past `memoryLimit` records held. Call `start()`.
    public init(database: PointsmanDatabase, spillPath: String, memoryLimit: Int = 10_000, batchSize: Int = 500,
                flushInterval: Duration = .milliseconds(200), writeTimeout: Duration = .seconds(5),
                retryInterval: Duration = .seconds(2)) {
        self.database = database
        self.spillPath = spillPath
        self.memoryLimit = max(2, memoryLimit)
        self.batchSize = max(1, batchSize)
        self.flushInterval = flushInterval
        self.writeTimeout = writeTimeout
        self.retryInterval = retryInterval
    }

    /// Starts the background writer (and counts what earlier runs left in spill files). Throws when the spill file's
    /// folder cannot be created.
    public func start() throws {
        guard writer == nil else { return }
        let folder = (spillPath as NSString).deletingLastPathComponent
        if !folder.isEmpty { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        spilledCount = Self.lineCount(spillPath) + Self.lineCount(drainingPath)
        if spilledCount > 0 {
            database.logger.info("decision log: records spilled by an earlier run will be written", metadata: ["records": "\(spilledCount)"])
        }
        writer = Task { [weak self] in
            while !Task.isCancelled {
                guard let self else { return }
                let pause = await self.flushAll() ? self.flushInterval : self.retryInterval
                try? await Task.sleep(for: pause)
            }
        }
    }

    public func append(_ record: DecisionLogRecord) {
        queue.append(record)
        if queue.count > memoryLimit { spillOldest() }
    }

    /// Stops the writer, then writes what is held within `timeout`; whatever the database did not take stays in the
    /// spill file for the next start.
    public func close(timeout: Duration = .seconds(5)) async {
        writer?.cancel()
        writer = nil
        let deadline = ContinuousClock.now + timeout
        while pendingCount > 0, ContinuousClock.now < deadline, await flushAll() {}
        if !queue.isEmpty {
            let count = queue.count
            spill(count)
            database.logger.warning("decision log: database did not take every record before shutdown; kept in the spill file",
                                    metadata: ["records": "\(count)", "file": "\(spillPath)"])
        }
    }

    /// Writes spilled records, then up to one batch per round from memory until memory is empty. False when the
    /// database failed (the records stay held).
    @discardableResult
    public func flushAll() async -> Bool {
        while flushing { try? await Task.sleep(for: .milliseconds(5)) }
        flushing = true
        defer { flushing = false }
        do {
            try await drainSpill()
            while !queue.isEmpty {
                let batch = Array(queue.prefix(batchSize))
                queue.removeFirst(batch.count)
                do {
                    try await insert(batch)
                } catch {
                    queue.insert(contentsOf: batch, at: 0)
                    if queue.count > memoryLimit { spillOldest() }
                    throw error
                }
            }
            if let since = failingSince {
                database.logger.info("decision log: database answers again; held records written",
                                     metadata: ["after": "\(ContinuousClock.now - since)"])
                failingSince = nil
            }
            return true
        } catch {
            if failingSince == nil {
                failingSince = .now
                database.logger.warning("decision log: database unavailable; holding records", metadata: [
                    "held": "\(pendingCount)", "error": "\(String(reflecting: error).prefix(200))"])
            }
            return false
        }
    }

    var drainingPath: String { spillPath + ".draining" }

    /// Moves the oldest half of memory to the spill file.
    private func spillOldest() {
        spill(max(1, queue.count / 2))
    }

    private func spill(_ count: Int) {
        var data = Data()
        for record in queue.prefix(count) {
            if let line = try? DecisionLogLines.encode(record) { data.append(line) }
        }
        do {
            try Self.append(data, to: spillPath)
            queue.removeFirst(count)
            spilledCount += count
        } catch {
            // The disk refused too: keep the records in memory rather than lose them, and say so.
            database.logger.error("decision log: cannot write the spill file; records stay in memory",
                                  metadata: ["file": "\(spillPath)", "error": "\(error)"])
        }
    }

    /// Writes the spill files to the database: the one being drained, then the current one (renamed first, so new
    /// spills start a fresh file).
    private func drainSpill() async throws {
        let manager = FileManager.default
        if !manager.fileExists(atPath: drainingPath) {
            guard manager.fileExists(atPath: spillPath) else { return }
            try manager.moveItem(atPath: spillPath, toPath: drainingPath)
        }
        let written = try await insertRecords(of: drainingPath)
        try manager.removeItem(atPath: drainingPath)
        spilledCount = Self.lineCount(spillPath)
        if written > 0 { database.logger.info("decision log: spilled records written", metadata: ["records": "\(written)"]) }
        if manager.fileExists(atPath: spillPath) { try await drainSpill() }
    }

    /// One multi-row insert within `writeTimeout`; rows already present (by id) are skipped.
    func insert(_ batch: [DecisionLogRecord]) async throws {
        guard !batch.isEmpty else { return }
        var sql = PostgresQuery.StringInterpolation(literalCapacity: 300 + batch.count * 80, interpolationCount: batch.count * 19)
        sql.appendLiteral("""
            INSERT INTO pointsman_decisions (id, request_id, time, source, routing_version, arm, detector, capability,
              model, confidence, method, language, route_ms, total_ms, prompt_tokens, completion_tokens, cost, status,
              prompt) VALUES
            """)
        for (index, r) in batch.enumerated() {
            sql.appendLiteral(index == 0 ? " (" : ", (")
            sql.appendInterpolation(r.id); sql.appendLiteral(", ")
            sql.appendInterpolation(r.requestID); sql.appendLiteral(", ")
            sql.appendInterpolation(r.time); sql.appendLiteral(", ")
            sql.appendInterpolation(r.source); sql.appendLiteral(", ")
            sql.appendInterpolation(r.routingVersion); sql.appendLiteral(", ")
            sql.appendInterpolation(r.arm); sql.appendLiteral(", ")
            sql.appendInterpolation(r.detector); sql.appendLiteral(", ")
            sql.appendInterpolation(r.capability); sql.appendLiteral(", ")
            sql.appendInterpolation(r.model); sql.appendLiteral(", ")
            sql.appendInterpolation(r.confidence); sql.appendLiteral(", ")
            sql.appendInterpolation(r.method); sql.appendLiteral(", ")
            sql.appendInterpolation(r.language); sql.appendLiteral(", ")
            sql.appendInterpolation(r.routeMilliseconds); sql.appendLiteral(", ")
            sql.appendInterpolation(r.totalMilliseconds); sql.appendLiteral(", ")
            sql.appendInterpolation(r.promptTokens); sql.appendLiteral(", ")
            sql.appendInterpolation(r.completionTokens); sql.appendLiteral(", ")
            sql.appendInterpolation(r.cost); sql.appendLiteral(", ")
            sql.appendInterpolation(r.status); sql.appendLiteral(", ")
            sql.appendInterpolation(r.prompt); sql.appendLiteral(")")
        }
        sql.appendLiteral(" ON CONFLICT (id) DO NOTHING")
        let query = PostgresQuery(stringInterpolation: sql)
        let client = database.client, logger = database.logger
        try await bounded(writeTimeout) { try await client.query(query, logger: logger) }
        writtenCount += batch.count
    }

    /// Appends `data` to the file at `path`, creating it.
    static func append(_ data: Data, to path: String) throws {
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
            }
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: data)
    }

    /// Lines in a file (0 when it does not exist).
    static func lineCount(_ path: String) -> Int {
        guard let handle = FileHandle(forReadingAtPath: path) else { return 0 }
        defer { try? handle.close() }
        var count = 0
        while let chunk = try? handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            count += chunk.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        }
        return count
    }

    /// Reads a spill file a megabyte at a time and inserts its records in batches; returns how many. A line that does
    /// not parse (a write cut short by a crash) is skipped and logged.
    private func insertRecords(of path: String) async throws -> Int {
        guard let handle = FileHandle(forReadingAtPath: path) else { return 0 }
        defer { try? handle.close() }
        var rest = Data()
        var batch: [DecisionLogRecord] = []
        var count = 0
        let logger = database.logger
        func take(_ line: Data) {
            guard let text = String(data: line, encoding: .utf8) else { return }
            do {
                if let record = try DecisionLogLines.decode(text) { batch.append(record) }
            } catch {
                logger.warning("decision log: skipped a spill-file line that does not parse", metadata: ["file": "\(path)"])
            }
        }
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            rest.append(chunk)
            while let newline = rest.firstIndex(of: 0x0A) {
                take(rest[rest.startIndex..<newline])
                rest = rest[rest.index(after: newline)...]
                if batch.count >= batchSize {
                    try await insert(batch)
                    count += batch.count
                    batch.removeAll(keepingCapacity: true)
                }
            }
            rest = Data(rest)
        }
        if !rest.isEmpty { take(rest) }
        if !batch.isEmpty {
            try await insert(batch)
            count += batch.count
        }
        return count
    }
}
