import Foundation
import PointsmanCore
import PostgresNIO

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The fast path of the decision log: a batch goes to PostgreSQL as one `COPY … FROM STDIN` in text format, which
/// costs the server about a third of a multi-row `INSERT` with bound parameters (no 8,000-parameter statement to
/// parse and plan per batch). `COPY` cannot skip rows already present, so a batch the server refuses (a retried batch
/// whose first write did land, or a row with content it rejects) is written again by the `INSERT … ON CONFLICT` path,
/// which keeps each id once and sets refused rows aside.
extension PostgresDecisionLog {
    /// The table's columns, in the order each COPY line holds them.
    static let copyColumns = [
        "id", "request_id", "time", "source", "routing_version", "arm", "detector", "capability", "model", "confidence",
        "method", "language", "route_ms", "total_ms", "prompt_tokens", "completion_tokens", "cost", "status", "prompt",
        "key_id",
    ]

    /// Writes `batch` with one `COPY` and returns once it is committed; throws what the server or the connection said.
    static func copy(rows: ByteBuffer, database: PointsmanDatabase) async throws {
        try await database.committed { connection in
            try await connection.copyFrom(table: "pointsman_decisions", columns: copyColumns, logger: database.logger) { writer in
                try await writer.write(rows)
            }
        }
    }

    /// `batch` as COPY text lines (tab-separated, `\N` for null, backslash escapes), or nil when a record cannot be
    /// written in that form (a time outside the years 1–9999): the caller then uses the `INSERT` path.
    static func copyRows(_ batch: [DecisionLogRecord]) -> ByteBuffer? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(batch.count * 240)
        for record in batch {
            uuid(record.id, &bytes)
            tab(&bytes); text(record.requestID, &bytes)
            tab(&bytes); guard timestamp(record.time, &bytes) else { return nil }
            tab(&bytes); text(record.source, &bytes)
            tab(&bytes); text(record.routingVersion, &bytes)
            tab(&bytes); text(record.arm, &bytes)
            tab(&bytes); text(record.detector, &bytes)
            tab(&bytes); text(record.capability, &bytes)
            tab(&bytes); text(record.model, &bytes)
            tab(&bytes); number(record.confidence, &bytes)
            tab(&bytes); text(record.method, &bytes)
            tab(&bytes); text(record.language, &bytes)
            tab(&bytes); number(record.routeMilliseconds, &bytes)
            tab(&bytes); number(record.totalMilliseconds, &bytes)
            tab(&bytes); integer(record.promptTokens, &bytes)
            tab(&bytes); integer(record.completionTokens, &bytes)
            tab(&bytes); number(record.cost, &bytes)
            tab(&bytes); integer(record.status, &bytes)
            tab(&bytes); text(record.prompt, &bytes)
            tab(&bytes); text(record.keyID, &bytes)
            bytes.append(0x0A)
        }
        return ByteBuffer(bytes: bytes)
    }

    private static func tab(_ bytes: inout [UInt8]) { bytes.append(0x09) }

    /// The canonical lowercase form, `8-4-4-4-12` hex digits (`uuidString` formats through `sprintf` on Linux).
    private static func uuid(_ id: UUID, _ bytes: inout [UInt8]) {
        let raw = id.uuid
        let parts = [raw.0, raw.1, raw.2, raw.3, raw.4, raw.5, raw.6, raw.7,
                     raw.8, raw.9, raw.10, raw.11, raw.12, raw.13, raw.14, raw.15]
        for (index, byte) in parts.enumerated() {
            if index == 4 || index == 6 || index == 8 || index == 10 { bytes.append(0x2D) }
            bytes.append(hexDigits[Int(byte >> 4)])
            bytes.append(hexDigits[Int(byte & 0x0F)])
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private static func null(_ bytes: inout [UInt8]) { bytes.append(contentsOf: [0x5C, 0x4E]) }  // \N

    /// Text with COPY's escapes; NUL, which PostgreSQL text cannot hold, is dropped (as the INSERT path does).
    private static func text(_ value: String?, _ bytes: inout [UInt8]) {
        guard let value else { return null(&bytes) }
        for byte in value.utf8 {
            switch byte {
            case 0x00: continue
            case 0x5C: bytes.append(contentsOf: [0x5C, 0x5C])
            case 0x09: bytes.append(contentsOf: [0x5C, 0x74])
            case 0x0A: bytes.append(contentsOf: [0x5C, 0x6E])
            case 0x0D: bytes.append(contentsOf: [0x5C, 0x72])
            default: bytes.append(byte)
            }
        }
    }

    private static func integer(_ value: Int?, _ bytes: inout [UInt8]) {
        guard let value else { return null(&bytes) }
        bytes.append(contentsOf: String(value).utf8)
    }

    /// A double in PostgreSQL's spelling: the shortest text that reads back the same, `NaN` and `Infinity` by name.
    private static func number(_ value: Double?, _ bytes: inout [UInt8]) {
        guard let value else { return null(&bytes) }
        if value.isNaN {
            bytes.append(contentsOf: "NaN".utf8)
        } else if value.isInfinite {
            bytes.append(contentsOf: (value < 0 ? "-Infinity" : "Infinity").utf8)
        } else {
            bytes.append(contentsOf: value.description.utf8)
        }
    }

    /// `YYYY-MM-DD HH:MM:SS.ffffff+00`, to the microsecond PostgreSQL keeps; false outside the years 1–9999.
    private static func timestamp(_ date: Date, _ bytes: inout [UInt8]) -> Bool {
        let micros = (date.timeIntervalSince1970 * 1_000_000).rounded()
        guard micros.isFinite, abs(micros) < 2.6e17 else { return false }  // beyond the year 9999 either way
        let total = Int64(micros)
        var seconds = total / 1_000_000
        var fraction = total % 1_000_000
        if fraction < 0 {
            fraction += 1_000_000
            seconds -= 1
        }
        var clock = time_t(seconds)
        var parts = tm()
        guard gmtime_r(&clock, &parts) != nil else { return false }
        let year = Int(parts.tm_year) + 1900
        guard (1...9999).contains(year) else { return false }
        func digits(_ value: Int, _ count: Int) {
            var divisor = 1
            for _ in 1..<count { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                bytes.append(UInt8(0x30 + rest / divisor))
                rest %= divisor
                divisor /= 10
            }
        }
        digits(year, 4); bytes.append(0x2D)
        digits(Int(parts.tm_mon) + 1, 2); bytes.append(0x2D)
        digits(Int(parts.tm_mday), 2); bytes.append(0x20)
        digits(Int(parts.tm_hour), 2); bytes.append(0x3A)
        digits(Int(parts.tm_min), 2); bytes.append(0x3A)
        digits(Int(parts.tm_sec), 2); bytes.append(0x2E)
        digits(Int(fraction), 6)
        bytes.append(contentsOf: "+00".utf8)
        return true
    }
}
