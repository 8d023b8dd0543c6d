import Foundation
import PointsmanCore

/// Logged decisions replayed against another routing set-up (a new centroid file, other rules): how many decisions
/// would change and how, and, on the decisions whose feedback names the right capability, whether the new set-up is
/// right more often than the one that decided (McNemar's test on the same rows).
public struct LogReplayReport: Sendable, Codable {
    /// Logged decisions read.
    public var records: Int
    /// Of those, routed decisions with a logged prompt: the ones replayed.
    public var replayed: Int
    /// Decisions without a prompt (the service ran without `--log-prompts`) or for a model asked by name.
    public var skipped: Int
    /// Share of replayed decisions whose capability is unchanged.
    public var agreement: Double?
    /// Logged capability → replayed capability → count.
    public var changes: [String: [String: Int]]
    /// Replayed decisions with a feedback correction.
    public var corrected: Int
    /// Accuracy of the logged and the replayed decisions on the corrected ones.
    public var loggedAccuracy: Double?
    public var replayedAccuracy: Double?
    public var mcnemar: McNemarTest?
    /// Logged decisions by the routing version that made them.
    public var loggedVersions: [String: Int]
    /// The version of the set-up replayed.
    public var replayedVersion: String?

    enum CodingKeys: String, CodingKey {
        case records, replayed, skipped, agreement, changes, corrected, loggedAccuracy = "logged_accuracy",
             replayedAccuracy = "replayed_accuracy", mcnemar, loggedVersions = "logged_versions",
             replayedVersion = "replayed_version"
    }

    /// Routes every logged prompt with `router` and compares.
    public static func replay(_ decisions: [LoggedDecision], router: Router) async throws -> LogReplayReport {
        var report = LogReplayReport(records: decisions.count, replayed: 0, skipped: 0, agreement: nil, changes: [:],
                                     corrected: 0, loggedAccuracy: nil, replayedAccuracy: nil, mcnemar: nil,
                                     loggedVersions: [:], replayedVersion: router.version)
        var same = 0
        var loggedRight: [Bool] = [], replayedRight: [Bool] = []
        for decision in decisions {
            let record = decision.record
            report.loggedVersions[record.routingVersion ?? "unknown", default: 0] += 1
            guard let prompt = record.prompt, let logged = record.capability,
                  !prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                report.skipped += 1
                continue
            }
            let replayed = try await router.route(prompt).capability
            report.replayed += 1
            report.changes[logged, default: [:]][replayed, default: 0] += 1
            if logged == replayed { same += 1 }
            if let truth = decision.correctedCapability {
                loggedRight.append(logged == truth)
                replayedRight.append(replayed == truth)
            }
        }
        if report.replayed > 0 { report.agreement = Double(same) / Double(report.replayed) }
        report.corrected = loggedRight.count
        if !loggedRight.isEmpty {
            report.loggedAccuracy = Double(loggedRight.filter { $0 }.count) / Double(loggedRight.count)
            report.replayedAccuracy = Double(replayedRight.filter { $0 }.count) / Double(replayedRight.count)
            report.mcnemar = McNemarTest(aCorrect: loggedRight, bCorrect: replayedRight)
        }
        return report
    }

    /// A few lines for people.
    public var text: String {
        var lines = ["\(records) logged decisions (routing versions: "
                     + loggedVersions.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                     + "); replayed \(replayed) with \(replayedVersion ?? "the given set-up"), skipped \(skipped) without a logged prompt or routed by name"]
        if let agreement { lines.append(String(format: "unchanged: %.3f of replayed decisions", agreement)) }
        let moved = changes.flatMap { from, row in row.filter { $0.key != from }.map { (from, $0.key, $0.value) } }
            .sorted { ($0.2, $1.0, $1.1) > ($1.2, $0.0, $0.1) }
        for (from, to, count) in moved.prefix(10) { lines.append("  \(from) -> \(to): \(count)") }
        if let loggedAccuracy, let replayedAccuracy {
            lines.append(String(format: "on %d decisions with feedback naming the right capability: logged %.3f, replayed %.3f",
                                corrected, loggedAccuracy, replayedAccuracy))
        } else {
            lines.append("no replayed decision has feedback naming the right capability")
        }
        if let mcnemar {
            lines.append(String(format: "McNemar: only logged right %d, only replayed right %d, exact p %.3g",
                                mcnemar.onlyA, mcnemar.onlyB, mcnemar.pValue))
        }
        return lines.joined(separator: "\n")
    }
}
