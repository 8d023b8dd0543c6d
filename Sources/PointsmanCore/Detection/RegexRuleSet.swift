import Foundation

/// One ordered regex rule: when `pattern` matches (case-insensitive, anywhere), the prompt needs `capability`.
public struct RegexRule: Sendable, Equatable, Codable {
    /// Optional name used in errors and reasons; defaults to the rule's position.
    public var name: String?
    /// An ICU regular expression (the syntax of Python's `re` for everything the shipped rules use).
    public var pattern: String
    /// The capability the rule assigns.
    public var capability: String
    /// A second pattern tried only on prompts that `LanguageDetector` does not find English: the same intent's words
    /// in other languages. Kept apart so that English prompts pay nothing for them (non-ASCII alternatives make an
    /// ICU expression several times slower on every text).
    public var localizedPattern: String?

    /// Creates a rule.
    public init(name: String? = nil, pattern: String, capability: String, localizedPattern: String? = nil) {
        self.name = name
        self.pattern = pattern
        self.capability = capability
        self.localizedPattern = localizedPattern
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, pattern, capability, localizedPattern = "localized_pattern"
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        pattern = try c.decode(String.self, forKey: .pattern)
        capability = try c.decode(String.self, forKey: .capability)
        localizedPattern = try c.decodeIfPresent(String.self, forKey: .localizedPattern)
    }
}

/// An ordered list of rules and the capability for prompts no rule matches.
public struct RegexRuleSet: Sendable, Equatable, Codable {
    /// Schema version (1).
    public var version: Int
    /// The capability when no rule matches.
    public var defaultCapability: String
    /// Rules in order; the first match wins.
    public var rules: [RegexRule]

    /// Creates a rule set.
    public init(version: Int = 1, defaultCapability: String = "general", rules: [RegexRule]) {
        self.version = version
        self.defaultCapability = defaultCapability
        self.rules = rules
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case version, defaultCapability = "default_capability", rules
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        version = try c.decodeIfPresent(Int.self, forKey: .version) ?? 1
        defaultCapability = try c.decodeIfPresent(String.self, forKey: .defaultCapability) ?? "general"
        rules = try c.decode([RegexRule].self, forKey: .rules)
    }

    /// Reads a rules file (JSON, or YAML by extension).
    public static func load(from path: String) throws(RuleError) -> RegexRuleSet {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RuleError(file: path, rule: nil, problem: "cannot read the file (missing or unreadable)")
        }
        return try parse(data, format: ConfigFormat(path: path), file: path)
    }

    /// Parses rules text.
    public static func parse(_ data: Data, format: ConfigFormat, file: String) throws(RuleError) -> RegexRuleSet {
        do {
            switch format {
            case .json: return try JSONDecoder().decode(RegexRuleSet.self, from: data)
            case .yaml:
                return try YAMLBridge.decode(RegexRuleSet.self, from: data)
            }
        } catch {
            let (field, problem) = DecodingDiagnostics.describe(error)
            throw RuleError(file: file, rule: field.isEmpty ? nil : field, problem: problem)
        }
    }

    /// The workshop's three rules, verbatim in meaning: code, summarize, classification, else general.
    public static let workshop = RegexRuleSet(defaultCapability: "general", rules: [
        RegexRule(name: "workshop-code", pattern: "code|function|refactor|bug|optimi", capability: "code"),
        RegexRule(name: "workshop-summarize", pattern: "summari|abstract|tl;dr", capability: "summarize"),
        RegexRule(name: "workshop-classification", pattern: "classif|label|category", capability: "classification"),
    ])
}

/// A rule file or rule that cannot be used; names the file and the rule.
public struct RuleError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var rule: String?
    public var problem: String

    public init(file: String, rule: String?, problem: String) {
        self.file = file
        self.rule = rule
        self.problem = problem
    }

    public var description: String {
        "\(file): " + (rule.map { "rule \($0): " } ?? "") + problem
    }
}
