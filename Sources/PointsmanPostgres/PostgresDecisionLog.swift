import Foundation
import Logging
import PointsmanCore
import PostgresNIO

/// The decision log in PostgreSQL (`pointsman_decisions`, one row per served request), written in the background in
/// batches so that routing never waits for the database.
///
/// Nothing accepted is lost while the process lives, and memory stays bounded: records wait in memory (at most
/// `memoryLimit` records and `memoryByteLimit` bytes of text); past that, the oldest half goes to a local spill file
/// (JSON Lines, readable by the service's user only). When the database answers again the spill file is written
/// first, then memory. At shutdown memory goes to the spill file first (local and quick), then to the database if
/// it answers in time; a spill file left by an earlier run is written on start. Every record has an id, so a batch
/// retried after a timeout whose write did land is kept once. A row the database refuses for its content (not for
/// being down) is set aside in `<spill>.rejected` instead of blocking the rows behind it.
public actor PostgresDecisionLog: DecisionLog {
    let database: PointsmanDatabase
    /// The spill file; `<path>.draining` while it is being written to the database.
    public nonisolated let spillPath: String
    let memoryLimit: Int
    let memoryByteLimit: Int
    let batchSize: Int
    let flushInterval: Duration
    let writeTimeout: Duration
    let retryInterval: Duration
    private var queue: [DecisionLogRecord] = []
    private var queuedBytes = 0
    /// Records taken from memory by a write still in progress.
    private var inFlight = 0
    /// Records in spill files not yet in the database.
    private var spilledCount = 0
    private var writer: Task<Void, Never>?
    private var failingSince: ContinuousClock.Instant?
    /// A flush is running; others wait in `flushWaiters` (a queue, not a spin: callers may be cancelled).
    private var flushing = false
    private var flushWaiters: [CheckedContinuation<Void, Never>] = []
    /// Records the database has taken since start, and records it refused for their content.
    public private(set) var writtenCount = 0
    public private(set) var rejectedCount = 0
    /// Batches the server refused as one `COPY` (an id already there, or a row it rejects) and that were written by
    /// the slower `INSERT … ON CONFLICT` path instead.
    public private(set) var copyFallbackCount = 0
    /// Batches written by one `COPY` each.
    public private(set) var copiedCount = 0

    /// Records not yet in the database: in memory, being written, and in spill files.
    public var pendingCount: Int { queue.count + inFlight + spilledCount }
    /// Records waiting in memory.
    public var memoryCount: Int { queue.count }

    /// A log writing to `database`, spilling to `spillPath` past `memoryLimit` records or `memoryByteLimit` bytes
    /// held. Call `start()`.
    public init(database: PointsmanDatabase, spillPath: String, memoryLimit: Int = 10_000,
                memoryByteLimit: Int = 64 << 20, batchSize: Int = 500, flushInterval: Duration = .milliseconds(200),
                writeTimeout: Duration = .seconds(5), retryInterval: Duration = .seconds(2)) {
        self.database = database
        self.spillPath = spillPath
        self.memoryLimit = max(2, memoryLimit)
        self.memoryByteLimit = max(1 << 16, memoryByteLimit)
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
        if !folder.isEmpty {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        }
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
        queuedBytes += Self.size(record)
        if queue.count > memoryLimit || queuedBytes > memoryByteLimit { spillOldest() }
    }

    /// Approximate memory of a record: its texts and a fixed part.
    static func size(_ record: DecisionLogRecord) -> Int {
        200 + record.requestID.utf8.count + (record.prompt?.utf8.count ?? 0) + (record.routingVersion?.utf8.count ?? 0)
    }

    /// Stops the writer (waiting for a write in progress), puts what memory holds in the spill file, then writes the
    /// spill file to the database within `timeout`; what it does not take stays in the file for the next start.
    public func close(timeout: Duration = .seconds(5)) async {
        let deadline = ContinuousClock.now + timeout
        if let writer {
            writer.cancel()
            await writer.value
        }
        writer = nil
        if !queue.isEmpty { spill(queue.count) }
        guard spilledCount > 0 else { return }
        // Each attempt gets what is left of `timeout`, not `writeTimeout`.
        while spilledCount > 0, ContinuousClock.now < deadline {
            do {
                try await drainSpill(timeout: deadline - ContinuousClock.now)
            } catch {
                break
            }
        }
        if spilledCount > 0 {
            database.logger.warning("decision log: database did not take every record before shutdown; kept in the spill file",
                                    metadata: ["records": "\(spilledCount)", "file": "\(spillPath)"])
        }
    }

    private func acquireFlush() async {
        if flushing { await withCheckedContinuation { flushWaiters.append($0) } }
        flushing = true
    }

    private func releaseFlush() {
        if flushWaiters.isEmpty { flushing = false } else { flushWaiters.removeFirst().resume() }
    }

    /// Writes spilled records, then as many records as memory held once those were written, a batch at a time.
    /// Records that arrive while it writes wait for the next flush (unless the memory limit spills older ones to the
    /// file meanwhile; then newer ones take their places in this flush). Under steady load each flush so writes what
    /// one interval gathered, in full batches, instead of chasing the newest records with a stream of small ones
    /// (each a transaction, a commit and a WAL flush for the server). False when the database failed (the records
    /// stay held).
    @discardableResult
    public func flushAll() async -> Bool {
        await acquireFlush()
        defer { releaseFlush() }
        do {
            try await drainSpill(timeout: writeTimeout)
            // Bounds this flush's work; the loop ends even while appends keep coming.
            var due = queue.count
            while due > 0, !queue.isEmpty {
                let batch = Array(queue.prefix(min(batchSize, due)))
                due -= batch.count
                queue.removeFirst(batch.count)
                let bytes = batch.reduce(0) { $0 + Self.size($1) }
                queuedBytes -= bytes
                inFlight = batch.count
                defer { inFlight = 0 }
                do {
                    try await insert(batch, timeout: writeTimeout)
                } catch {
                    queue.insert(contentsOf: batch, at: 0)
                    queuedBytes += bytes
                    inFlight = 0
                    if queue.count > memoryLimit || queuedBytes > memoryByteLimit { spillOldest() }
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
        var written = 0, unencodable = 0
        for record in queue.prefix(count) {
            if let line = try? DecisionLogLines.encode(record) {
                data.append(line)
                written += 1
            } else {
                unencodable += 1
            }
        }
        do {
            try Self.append(data, to: spillPath)
            for record in queue.prefix(count) { queuedBytes -= Self.size(record) }
            queue.removeFirst(count)
            spilledCount += written
            if unencodable > 0 {
                rejectedCount += unencodable
                database.logger.error("decision log: records that cannot be encoded were dropped", metadata: ["records": "\(unencodable)"])
            }
        } catch {
            // The disk refused too: past twice the limits the oldest go, counted, rather than memory growing.
            database.logger.error("decision log: cannot write the spill file", metadata: ["file": "\(spillPath)", "error": "\(error)"])
            if queue.count > 2 * memoryLimit || queuedBytes > 2 * memoryByteLimit {
                let dropped = queue.count / 2
                for record in queue.prefix(dropped) { queuedBytes -= Self.size(record) }
                queue.removeFirst(dropped)
                rejectedCount += dropped
                database.logger.error("decision log: dropped the oldest records: neither the database nor the disk takes them",
                                      metadata: ["records": "\(dropped)"])
            }
        }
    }

    /// Writes the spill files to the database: the one being drained, then the current one (renamed first, so new
    /// spills start a fresh file).
    private func drainSpill(timeout: Duration) async throws {
        let manager = FileManager.default
        if !manager.fileExists(atPath: drainingPath) {
            guard manager.fileExists(atPath: spillPath) else { return }
            try manager.moveItem(atPath: spillPath, toPath: drainingPath)
        }
        let written = try await insertRecords(of: drainingPath, timeout: timeout)
        try manager.removeItem(atPath: drainingPath)
        spilledCount = Self.lineCount(spillPath)
        if written > 0 { database.logger.info("decision log: spilled records written", metadata: ["records": "\(written)"]) }
        if manager.fileExists(atPath: spillPath) { try await drainSpill(timeout: timeout) }
    }

    /// Writes a batch within `timeout`: one `COPY` first (see `copyRows`); when the server refuses it (an id already
    /// present, or content), one multi-row insert that skips rows already present (by id). Both are built off the
    /// actor, so appends never wait for them. When the server refuses the insert too (an error from the server, not a
    /// lost connection), rows are retried one by one and those it still refuses go to the rejected file. A batch counts
    /// as written only once the server has committed it (`PointsmanDatabase.committed`).
    func insert(_ batch: [DecisionLogRecord], timeout: Duration) async throws {
        guard !batch.isEmpty else { return }
        let logger = database.logger, database = database
        if batch.count > 1 {
            do {
                let copied = try await bounded(timeout) { () async throws -> Bool in
                    guard let rows = Self.copyRows(batch) else { return false }
                    try await Self.copy(rows: rows, database: database)
                    return true
                }
                if copied {
                    writtenCount += batch.count
                    copiedCount += 1
                    return
                }
            } catch let error as PSQLError where Self.refusesContent(error) {
                // Refused for what it holds: the insert below sorts out which rows are already there or unacceptable.
                copyFallbackCount += 1
            }
        }
        do {
            try await bounded(timeout) {
                try await database.committed { _ = try await $0.query(Self.insertStatement(batch), logger: logger) }
            }
            writtenCount += batch.count
        } catch let error as PSQLError where Self.refusesContent(error) {
            guard batch.count > 1 else {
                rejectedCount += 1
                database.logger.error("decision log: the database refused a row; set aside", metadata: [
                    "file": "\(spillPath).rejected", "error": "\(error.serverInfo?[.message] ?? "")"])
                if let line = try? DecisionLogLines.encode(batch[0]) { try? Self.append(line, to: spillPath + ".rejected") }
                return
            }
            for record in batch { try await insert([record], timeout: timeout) }
        }
    }

    /// True when the server refused the rows for what they hold: an integrity violation (class 23, e.g. an id
    /// already present) or a data exception (class 22, e.g. a number out of range). Anything else the server says
    /// (shutting down, out of resources, read-only after a failover, a cancelled statement) is an outage: the rows
    /// are held and written again later, never set aside.
    static func refusesContent(_ error: PSQLError) -> Bool {
        guard let state = error.serverInfo?[.sqlState] else { return false }
        return state.hasPrefix("23") || state.hasPrefix("22")
    }

    static func insertStatement(_ batch: [DecisionLogRecord]) -> PostgresQuery {
        var sql = PostgresQuery.StringInterpolation(literalCapacity: 300 + batch.count * 80, interpolationCount: batch.count * 20)
        sql.appendLiteral("""
            INSERT INTO pointsman_decisions (id, request_id, time, source, routing_version, arm, detector, capability,
              model, confidence, method, language, route_ms, total_ms, prompt_tokens, completion_tokens, cost, status,
              prompt, key_id) VALUES
            """)
        // PostgreSQL text cannot hold NUL: it is dropped from every string.
        func clean(_ text: String) -> String { text.utf8.contains(0) ? text.replacingOccurrences(of: "\u{0}", with: "") : text }
        func clean(_ text: String?) -> String? { text.map(clean) }
        for (index, record) in batch.enumerated() {
            var r = record
            r.requestID = clean(r.requestID); r.source = clean(r.source); r.routingVersion = clean(r.routingVersion)
            r.arm = clean(r.arm); r.detector = clean(r.detector); r.capability = clean(r.capability); r.model = clean(r.model)
            r.method = clean(r.method); r.language = clean(r.language); r.prompt = clean(r.prompt); r.keyID = clean(r.keyID)
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
            sql.appendInterpolation(r.prompt); sql.appendLiteral(", ")
            sql.appendInterpolation(r.keyID); sql.appendLiteral(")")
        }
        sql.appendLiteral(" ON CONFLICT (id) DO NOTHING")
        return PostgresQuery(stringInterpolation: sql)
    }

    /// Appends `data` to the file at `path`, creating it.
    static func append(_ data: Data, to path: String) throws {
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
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
    private func insertRecords(of path: String, timeout: Duration) async throws -> Int {
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
                    try await insert(batch, timeout: timeout)
                    count += batch.count
                    batch.removeAll(keepingCapacity: true)
                }
            }
            rest = Data(rest)
        }
        if !rest.isEmpty { take(rest) }
        if !batch.isEmpty {
            try await insert(batch, timeout: timeout)
            count += batch.count
        }
        return count
    }
}
