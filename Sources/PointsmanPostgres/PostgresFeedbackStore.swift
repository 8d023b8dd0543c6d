import Foundation
import Logging
import PointsmanCore
import PostgresNIO

/// Feedback in `pointsman_feedback`, and the reads that join it to the decision log (`pointsman eval --from-log`,
/// `pointsman train --feedback`).
public struct PostgresFeedbackStore: FeedbackStore {
    let database: PointsmanDatabase
    let writeTimeout: Duration

    public init(database: PointsmanDatabase, writeTimeout: Duration = .seconds(2)) {
        self.database = database
        self.writeTimeout = writeTimeout
    }

    /// Inserts one feedback row within `writeTimeout` and returns once it is committed; an id written before is kept once.
    public func record(_ feedback: RoutingFeedback) async throws {
        let database = database, logger = database.logger
        try await bounded(writeTimeout) {
            try await database.committed { _ = try await $0.query("""
                INSERT INTO pointsman_feedback (id, request_id, time, key_id, capability, rating, comment)
                VALUES (\(feedback.id), \(feedback.requestID), \(feedback.time), \(feedback.keyID), \(feedback.capability),
                        \(feedback.rating), \(feedback.comment))
                ON CONFLICT (id) DO NOTHING
                """, logger: logger) }
        }
    }

    /// Logged decisions, oldest first, each with the capability of the latest feedback that names one from the key
    /// that made the request; `withPromptsOnly` keeps the rows whose prompt was logged (`--log-prompts`),
    /// `correctedOnly` those with such feedback. The newest `limit` rows.
    public func loggedDecisions(withPromptsOnly: Bool, correctedOnly: Bool = false,
                                limit: Int = 1_000_000) async throws -> [LoggedDecision] {
        let conditions = [withPromptsOnly ? "d.prompt IS NOT NULL" : nil, correctedOnly ? "f.capability IS NOT NULL" : nil]
            .compactMap { $0 }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        var query = PostgresQuery(unsafeSQL: """
            SELECT d.id, d.request_id, d.time, d.source, d.routing_version, d.arm, d.detector, d.capability, d.model,
                   d.confidence, d.method, d.language, d.route_ms, d.total_ms, d.prompt_tokens, d.completion_tokens,
                   d.cost, d.status, d.prompt, f.capability, d.key_id
            FROM pointsman_decisions d
            LEFT JOIN LATERAL (
              SELECT capability FROM pointsman_feedback
              WHERE request_id = d.request_id AND key_id = coalesce(d.key_id, 'anonymous') AND capability IS NOT NULL
              ORDER BY time DESC LIMIT 1) f ON true
            \(filter)
            ORDER BY d.time DESC, d.request_id DESC
            LIMIT $1
            """)
        query.binds.append(limit)
        var decisions: [LoggedDecision] = []
        let rows = try await database.client.query(query, logger: database.logger)
        for try await row in rows {
            let c = row.makeRandomAccess()
            let record = DecisionLogRecord(
                id: try c[0].decode(UUID.self), requestID: try c[1].decode(String.self), time: try c[2].decode(Date.self),
                source: try c[3].decode(String.self), routingVersion: try c[4].decode(String?.self),
                arm: try c[5].decode(String.self), detector: try c[6].decode(String.self),
                capability: try c[7].decode(String?.self), model: try c[8].decode(String.self),
                confidence: try c[9].decode(Double?.self), method: try c[10].decode(String?.self),
                language: try c[11].decode(String?.self), routeMilliseconds: try c[12].decode(Double?.self),
                totalMilliseconds: try c[13].decode(Double?.self), promptTokens: try c[14].decode(Int?.self),
                completionTokens: try c[15].decode(Int?.self), cost: try c[16].decode(Double?.self),
                status: try c[17].decode(Int.self), prompt: try c[18].decode(String?.self), keyID: try c[20].decode(String?.self))
            decisions.append(LoggedDecision(record: record, correctedCapability: try c[19].decode(String?.self)))
        }
        return decisions.reversed()
    }
}
