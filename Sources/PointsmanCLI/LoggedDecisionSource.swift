import Foundation
import PointsmanCore
import PointsmanPostgres

/// Where `eval --from-log` and `train --feedback` read logged decisions: the service's PostgreSQL database
/// (`postgres://…`) or a JSON Lines file of decision records (the spill-file format, each line optionally with
/// `corrected_capability`).
enum LoggedDecisionSource {
    static func isDatabaseURL(_ source: String) -> Bool {
        source.hasPrefix("postgres://") || source.hasPrefix("postgresql://")
    }

    /// Decisions with logged prompts, with their feedback corrections; `correctedOnly` keeps the corrected ones.
    static func load(_ source: String, correctedOnly: Bool) async throws -> [LoggedDecision] {
        if isDatabaseURL(source) {
            let database = try await PointsmanDatabase.open(url: source)
            defer { database.close() }
            return try await PostgresFeedbackStore(database: database)
                .loggedDecisions(withPromptsOnly: true, correctedOnly: correctedOnly)
        }
        guard let text = try? String(contentsOfFile: source, encoding: .utf8) else {
            throw CLIFailure("\(source): cannot read (give a postgres:// URL or a JSON Lines file of decision records)")
        }
        struct Correction: Decodable { var corrected_capability: String? }
        var decisions: [LoggedDecision] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let record: DecisionLogRecord?
            do { record = try DecisionLogLines.decode(line) } catch {
                throw CLIFailure("\(source):\(index + 1): not a decision record (\(error.localizedDescription))")
            }
            guard let record else { continue }
            let correction = try? JSONDecoder().decode(Correction.self, from: Data(line.utf8)).corrected_capability
            if correctedOnly && correction == nil { continue }
            if record.prompt == nil { continue }
            decisions.append(LoggedDecision(record: record, correctedCapability: correction))
        }
        return decisions
    }

    /// The corrected decisions as labeled training rows (JSON Lines: `text`, `label`, `capability`, `group`
    /// `feedback/<capability>`, `source`), written to a temporary file; nil when there are none.
    static func trainingFile(from source: String, textField: String, labelField: String,
                             groupField: String) async throws -> (path: String, rows: Int)? {
        let corrected = try await load(source, correctedOnly: true)
        guard !corrected.isEmpty else { return nil }
        var data = Data()
        for decision in corrected {
            guard let capability = decision.correctedCapability, let prompt = decision.record.prompt else { continue }
            var row: [String: String] = ["text": prompt, "label": capability, "capability": capability,
                                         "group": "feedback/\(capability)", "source": "feedback on request \(decision.record.requestID)"]
            row[textField] = prompt
            row[labelField] = capability
            row[groupField] = "feedback/\(capability)"
            data.append(try JSONSerialization.data(withJSONObject: row, options: [.sortedKeys]))
            data.append(0x0A)
        }
        let path = (NSTemporaryDirectory() as NSString).appendingPathComponent("pointsman-feedback-\(UUID().uuidString).jsonl")
        guard FileManager.default.createFile(atPath: path, contents: data) else { throw CLIFailure("cannot write \(path)") }
        return (path, corrected.count)
    }
}
