import Foundation
import PointsmanInterfaces
import VectorMath

/// Supplies the centroid artifact in force: fixed, or a hot-reloading store.
public protocol CentroidSource: Sendable {
    func current() async -> CentroidClassifier
}

/// Centroids that never change.
public struct FixedCentroids: CentroidSource {
    public let classifier: CentroidClassifier
    public init(_ artifact: CentroidArtifact) { classifier = CentroidClassifier(artifact: artifact) }
    public func current() async -> CentroidClassifier { classifier }
}

/// Routes by cosine similarity against trained capability centroids.
///
/// - `fallback == nil` (embedding only): the best label always decides, whatever its confidence; except that with an
///   abstain label (CLINC150's `oos`) the detector abstains below threshold or when that label's centroids are nearest:
///   capability = the abstain label, `label` = nil.
/// - with a fallback (hybrid): when the embedder fails or times out, the regex detector decides (`method: fallback`,
///   with the reason); a request never fails because of the embedder. Below the label's calibrated threshold the first
///   matching rule decides (`method: fallback`); `ruleCandidates` can restrict that to rules naming one of the
///   centroids' n best capabilities. When no (allowed) rule matches, the rules have nothing better to offer than their
///   default or a capability the centroids found unlikely, so the centroids' best label stands (`method: embedding`,
///   the reason says it was below threshold). Artifacts with an abstain label are the exception: there, falling below
///   threshold means "none of these", and the rules decide outright.
public struct CentroidIntentDetector: IntentDetector {
    public let centroids: any CentroidSource
    public let embedder: any EmbeddingProvider
    public let fallback: RegexIntentDetector?
    /// Longest wait for one embedder call before falling back.
    public let embedTimeout: Duration
    /// Most prompts per embedder call: a batch is embedded in chunks of this size, each with its own timeout, so a
    /// long file is never cut off by a timeout meant for one request.
    public let maxBatch: Int
    /// Below threshold, how many of the centroids' best capabilities the regex rules may choose from (at least 1;
    /// `Int.max` lets any matching rule decide).
    public let ruleCandidates: Int
    /// The shipped choice for `ruleCandidates`: any matching rule (README, "Which rules may overrule an unsure
    /// centroid").
    public static let defaultRuleCandidates = Int.max

    public init(centroids: any CentroidSource, embedder: any EmbeddingProvider, fallback: RegexIntentDetector?,
                embedTimeout: Duration = .seconds(5), maxBatch: Int = 64,
                ruleCandidates: Int = defaultRuleCandidates) {
        self.centroids = centroids
        self.embedder = embedder
        self.fallback = fallback
        self.embedTimeout = embedTimeout
        self.maxBatch = max(1, maxBatch)
        self.ruleCandidates = max(1, ruleCandidates)
    }

    public func detect(_ prompt: String) async throws -> Detection {
        try await detect(batch: [prompt])[0]
    }

    public func detect(batch prompts: [String]) async throws -> [Detection] {
        let classifier = await centroids.current()
        guard prompts.count > maxBatch else { return try await detect(chunk: prompts, classifier: classifier) }
        var detections: [Detection] = []
        detections.reserveCapacity(prompts.count)
        var start = 0
        while start < prompts.count {
            let end = min(start + maxBatch, prompts.count)
            detections += try await detect(chunk: Array(prompts[start..<end]), classifier: classifier)
            start = end
        }
        return detections
    }

    /// One embedder call (with the timeout) for at most `maxBatch` prompts, scored against one version of the centroids.
    func detect(chunk prompts: [String], classifier: CentroidClassifier) async throws -> [Detection] {
        let vectors: Matrix
        let (viewed, glossed, languages) = classifier.views(of: prompts)
        do {
            vectors = try await classifier.glossaries.embed(read: viewed, glossed: glossed) { try await embedWithTimeout($0) }
        } catch {
            guard let fallback else { throw error }
            let reason = "embedder unavailable (\(Self.shortDescription(error))); regex rules decided"
            let why: FallbackReason = error is EmbedderTimeout ? .embedderTimeout : .embedderError
            return prompts.map { fallbackDetection(fallback.classify($0), why: why, reason: reason, label: nil) }
        }
        return try classifier.score(vectors, texts: viewed).enumerated().map { index, score in
            var detection = decide(score, prompt: prompts[index], classifier: classifier)
            detection.language = languages[index]
            return detection
        }
    }

    /// A conversation: the normalised, weighted sum of its user turns' routing vectors (embedding, and words when the
    /// centroids use them), weight 1 for the last user turn and halving for each earlier one (at most four turns);
    /// assistant and system turns are ignored. The regex fallback reads the last user turn only.
    public func detect(conversation: [ChatMessage]) async throws -> Detection {
        let turns = Array(conversation.filter { $0.role == .user && !$0.content.trimmingWhitespace().isEmpty }.suffix(4))
        guard let last = turns.last else { throw RoutingError.noUserTurn }
        if turns.count == 1 { return try await detect(last.content) }
        let classifier = await centroids.current()
        let vectors: Matrix
        let (viewed, glossed, languages) = classifier.views(of: turns.map(\.content))
        do { vectors = try await classifier.glossaries.embed(read: viewed, glossed: glossed) { try await embedWithTimeout($0) } } catch {
            guard let fallback else { throw error }
            return fallbackDetection(fallback.classify(last.content), why: error is EmbedderTimeout ? .embedderTimeout : .embedderError,
                                     reason: "embedder unavailable (\(Self.shortDescription(error))); regex rules decided", label: nil)
        }
        // Each turn's routing vector (embedding, and words when the centroids use them), blended.
        let unit = try classifier.routingVectors(vectors, texts: viewed)
        var blended = [Float](repeating: 0, count: unit.cols)
        for (index, _) in turns.enumerated() {
            let weight = Float(pow(0.5, Double(turns.count - 1 - index)))
            let row = unit.row(index)
            for j in blended.indices { blended[j] += weight * row[j] }
        }
        let score = try classifier.score(routingVectors: try Matrix(rows: 1, cols: blended.count, values: blended))[0]
        var detection = decide(score, prompt: last.content, classifier: classifier)
        detection.language = languages.last ?? nil
        return detection
    }

    func decide(_ score: CentroidClassifier.Score, prompt: String, classifier: CentroidClassifier) -> Detection {
        let labels = classifier.artifact.labels
        var scores: [String: Double] = [:]
        for (index, label) in labels.enumerated() {
            let capability = classifier.artifact.capabilities[label] ?? label
            scores[capability] = max(scores[capability] ?? -2, score.labelCosines[index])
        }
        let summary = score.gate == .confidence
            ? String(format: "centroid %@ (confidence %.2f, threshold %.2f, margin %.3f)",
                     score.label, score.confidence, score.threshold, score.margin)
            : String(format: "centroid %@ (confidence %.2f, %@ %.3f, threshold %.3f)",
                     score.label, score.confidence, score.gate.rawValue, score.value(score.gate), score.threshold)
        if score.abstains, let fallback {
            // The rules may only decide for capabilities this file can produce: on an intent file (Banking77,
            // CLINC150) the task rules' capabilities are not labels, and low confidence means abstain or keep.
            let known = Set(classifier.artifact.capabilities.values).union(labels)
            if let abstain = classifier.artifact.abstainLabel {
                if let match = fallback.matches(prompt).first(where: { known.contains($0.capability) && $0.capability != abstain }) {
                    let regex = Detection(capability: match.capability, confidence: 1, scores: scores, method: .regex,
                                          reasons: ["rule \(match.rule) matched"])
                    return fallbackDetection(regex, why: .lowConfidence, reason: "low confidence: \(summary); regex rules decided", label: nil)
                }
                return Detection(capability: classifier.artifact.capabilities[abstain] ?? abstain, confidence: score.confidence,
                                 scores: scores, method: .embedding, label: nil,
                                 reasons: [summary, "abstained: below threshold, and no regex rule names a label of this file"])
            }
            let restricted = ruleCandidates < scores.count
            let candidates = restricted ? Self.best(scores, count: ruleCandidates) : []
            let allMatches = fallback.matches(prompt)
            let matches = allMatches.filter { known.contains($0.capability) }
            guard let match = matches.first(where: { !restricted || candidates.contains($0.capability) }) else {
                let why = allMatches.isEmpty ? "but no regex rule matched"
                    : matches.isEmpty ? "and no matching regex rule names a label of this file"
                    : "and no matching regex rule names \(candidates.joined(separator: " or "))"
                return Detection(capability: score.capability, confidence: score.confidence, scores: scores, method: .embedding,
                                 label: score.label, reasons: [summary, "below threshold, \(why): the centroid decision stands"])
            }
            let regex = Detection(capability: match.capability, confidence: 1, scores: scores, method: .regex,
                                  reasons: ["rule \(match.rule) matched"])
            let decided = !restricted ? "regex rules decided"
                : candidates.count == 1 ? "regex rules confirmed \(candidates[0])"
                : candidates.count == 2 ? "regex rules chose between \(candidates[0]) and \(candidates[1])"
                : "regex rules chose among \(candidates.joined(separator: ", "))"
            return fallbackDetection(regex, why: .lowConfidence, reason: "low confidence: \(summary); \(decided)", label: nil)
        }
        if score.abstains, let abstain = classifier.artifact.abstainLabel {
            // Embedding only, with a "none of these" label: abstaining is the answer (label null).
            return Detection(capability: classifier.artifact.capabilities[abstain] ?? abstain, confidence: score.confidence,
                             scores: scores, method: .embedding, label: nil,
                             reasons: [summary, "abstained: \(score.isAbstainLabel ? "the \(abstain) centroids are nearest" : "below threshold")"])
        }
        return Detection(capability: score.capability, confidence: score.confidence, scores: scores,
                         method: .embedding, label: score.label, reasons: [summary])
    }

    /// The `count` capabilities with the highest scores, best first (ties by name, so the order is stable).
    static func best(_ scores: [String: Double], count: Int) -> [String] {
        scores.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(count).map(\.key)
    }

    func fallbackDetection(_ regex: Detection, why: FallbackReason, reason: String, label: String?) -> Detection {
        var detection = regex
        detection.method = .fallback
        detection.fallbackReason = why
        detection.label = label
        detection.reasons = [reason] + regex.reasons
        return detection
    }

    /// The embedder's answer, or `EmbedderTimeout` once `embedTimeout` has passed, whichever comes first: the wait
    /// ends at the deadline even when the embedder does not stop (a queued request, a slow endpoint), and the late
    /// work is cancelled.
    func embedWithTimeout(_ texts: [String]) async throws -> Matrix {
        let embedder = self.embedder
        let timeout = embedTimeout
        let outcome = FirstOutcome<Matrix>()
        let work = Task {
            do { await outcome.settle(.success(try await embedder.embed(texts))) } catch { await outcome.settle(.failure(error)) }
        }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            await outcome.settle(.failure(EmbedderTimeout(after: timeout)))
        }
        defer {
            work.cancel()
            timer.cancel()
        }
        return try await withTaskCancellationHandler {
            try await outcome.value()
        } onCancel: {
            Task { await outcome.settle(.failure(CancellationError())) }
        }
    }

    /// What a client may read about an embedder failure: the timeout as such, anything else as a failure (the
    /// details, which may name an endpoint, are for logs).
    static func shortDescription(_ error: any Error) -> String {
        if let timeout = error as? EmbedderTimeout { return timeout.description }
        return "the embedder failed"
    }
}

/// The first of several outcomes; later ones are dropped.
actor FirstOutcome<Value: Sendable> {
    private var result: Result<Value, any Error>?
    private var waiters: [CheckedContinuation<Value, any Error>] = []

    func settle(_ outcome: Result<Value, any Error>) {
        guard result == nil else { return }
        result = outcome
        for waiter in waiters { waiter.resume(with: outcome) }
        waiters = []
    }

    func value() async throws -> Value {
        if let result { return try result.get() }
        return try await withCheckedThrowingContinuation { waiters.append($0) }
    }
}

/// The embedder did not answer in time.
public struct EmbedderTimeout: Error, Sendable, CustomStringConvertible {
    public let after: Duration
    public var description: String { "no answer within \(after)" }
}
