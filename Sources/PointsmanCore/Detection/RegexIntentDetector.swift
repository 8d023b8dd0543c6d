import Foundation

/// Detects capabilities with ordered, case-insensitive regular expressions: the first rule that matches anywhere in
/// the prompt decides; when none matches, the rule set's default capability.
public struct RegexIntentDetector: IntentDetector {
    struct Compiled: @unchecked Sendable {  // NSRegularExpression is immutable and thread-safe
        var rule: RegexRule
        var label: String
        var expression: NSRegularExpression
        var localized: NSRegularExpression?
    }

    /// The rules in force.
    public let ruleSet: RegexRuleSet
    let compiled: [Compiled]

    /// Compiles every rule; an invalid pattern is an error naming the rule. `file` labels the source in errors.
    public init(rules: RegexRuleSet, file: String = "<rules>") throws(RuleError) {
        var compiled: [Compiled] = []
        for (index, rule) in rules.rules.enumerated() {
            let label = rule.name.map { "\"\($0)\" (rules[\(index)])" } ?? "rules[\(index)]"
            guard !rule.capability.trimmingWhitespace().isEmpty else {
                throw RuleError(file: file, rule: label, problem: "capability is empty")
            }
            guard !rule.pattern.isEmpty else {
                throw RuleError(file: file, rule: label, problem: "pattern is empty")
            }
            do {
                let expression = try NSRegularExpression(pattern: rule.pattern, options: [.caseInsensitive])
                compiled.append(Compiled(rule: rule, label: label, expression: expression))
            } catch {
                throw RuleError(file: file, rule: label, problem: "invalid pattern /\(rule.pattern)/")
            }
            if let localized = rule.localizedPattern {
                do {
                    compiled[compiled.count - 1].localized = try NSRegularExpression(pattern: localized, options: [.caseInsensitive])
                } catch {
                    throw RuleError(file: file, rule: label, problem: "invalid localized_pattern /\(localized)/")
                }
            }
        }
        self.ruleSet = rules
        self.compiled = compiled
    }

    /// One rule that matched a prompt: the capability it names and the rule's label (its name, or its index).
    public struct RuleMatch: Sendable, Equatable {
        public var capability: String
        public var rule: String
    }

    /// Every rule that matches `prompt`, in rule order.
    /// A rule's localized pattern is tried only when the prompt is not English. A prompt of more than 16 KB is read by
    /// its first and last 4,096 Unicode scalars (`String.scannedEnds`): a pattern such as `\bif\b.+\bthen\b` backtracks
    /// over a long line, and one request must not hold a thread for minutes.
    public func matches(_ prompt: String) -> [RuleMatch] {
        let prompt = prompt.scannedEnds
        let range = NSRange(prompt.startIndex..<prompt.endIndex, in: prompt)
        var english: Bool?
        return compiled.filter { rule in
            if rule.expression.firstMatch(in: prompt, options: [], range: range) != nil { return true }
            guard let localized = rule.localized else { return false }
            if english == nil { english = LanguageDetector.detect(prompt) == "en" }
            return english == false && localized.firstMatch(in: prompt, options: [], range: range) != nil
        }
        .map { RuleMatch(capability: $0.rule.capability, rule: $0.label) }
    }

    /// The same decision, without suspending: the regex detector does no I/O.
    public func classify(_ prompt: String) -> Detection {
        let matched = matches(prompt)
        var scores: [String: Double] = [:]
        for match in matched { scores[match.capability] = 1 }
        if let winner = matched.first {
            return Detection(
                capability: winner.capability, confidence: 1, scores: scores, method: .regex,
                reasons: ["rule \(winner.rule) matched"])
        }
        return Detection(
            capability: ruleSet.defaultCapability, confidence: 0, scores: scores, method: .regex,
            reasons: ["no rule matched; default capability \(ruleSet.defaultCapability)"])
    }

    public func detect(_ prompt: String) async throws -> Detection { classify(prompt) }
}
