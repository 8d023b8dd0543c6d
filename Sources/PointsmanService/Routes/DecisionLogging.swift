import Foundation
import PointsmanCore

/// What is known of a served request before its answer: the decision and its timing. The answer's model, tokens,
/// cost and status complete it into a `DecisionLogRecord`.
struct DecisionDraft: Sendable {
    var record: DecisionLogRecord
    var started: ContinuousClock.Instant
}

extension ServiceDependencies {
    /// A draft record of a request (nil without a decision log). `decision` nil: a model asked by name.
    func decisionDraft(requestID: String, source: String, decision: RouteDecision?, model: String, arm: String,
                       snapshot: RoutingStore.Snapshot, routeTime: Duration?, prompt: String?, key: String,
                       started: ContinuousClock.Instant) -> DecisionDraft? {
        guard decisionLog != nil else { return nil }
        // A detector the loaded files cannot build (no centroid file) is the rules.
        let kind = arm == "B" ? configuration.abDetector : state.detector
        let detector = snapshot.setup.supports(kind) ? kind.rawValue : DetectorKind.regex.rawValue
        var record = DecisionLogRecord(requestID: requestID, source: source, decision: decision, model: model,
                                       detector: detector, arm: arm)
        record.routeMilliseconds = routeTime.map(Self.milliseconds)
        record.keyID = key
        if configuration.logPrompts { record.prompt = prompt }
        return DecisionDraft(record: record, started: started)
    }

    /// Completes `draft` with the model that answered, its tokens, cost and status, and hands it to the log.
    func logDecision(_ draft: DecisionDraft?, model: ModelEntry, usage: UsageCount?, status: Int) async {
        guard let draft, let decisionLog else { return }
        var record = draft.record
        record.model = model.alias
        record.status = status
        record.totalMilliseconds = Self.milliseconds(ContinuousClock.now - draft.started)
        if let usage {
            record.promptTokens = usage.promptTokens
            record.completionTokens = usage.completionTokens
            record.cost = model.cost(promptTokens: usage.promptTokens, completionTokens: usage.completionTokens)
        }
        await decisionLog.append(record)
    }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }
}
