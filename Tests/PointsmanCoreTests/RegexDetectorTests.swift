import Foundation
import PointsmanCore
import PointsmanTestSupport
import Testing

@Suite("Regex intent detection")
struct RegexDetectorTests {
    @Test("the workshop rules: first match wins, case-insensitive, default general", arguments: [
        ("Fix the BUG in my parser", "code"),
        ("Please summarise this", "summarize"),
        ("tl;dr of the meeting", "summarize"),
        ("Put a LABEL on each email", "classification"),
        ("Summarize this code", "code"),       // code comes first in the workshop's order
        ("What is the capital of France?", "general"),
    ])
    func workshop(prompt: String, capability: String) throws {
        let detector = try RegexIntentDetector(rules: .workshop)
        #expect(detector.classify(prompt).capability == capability)
    }

    @Test("the shipped rule set reaches all ten capabilities", arguments: [
        ("Translate 'good morning' into Spanish.", "translation"),
        ("Write a Python function that reverses a linked list", "code"),
        ("Give me a tl;dr of this article: ...", "summarize"),
        ("Extract all the dates from this paragraph", "extraction"),
        ("Is this review positive or negative? 'Loved it'", "classification"),
        ("Natalia sold 48 clips in April and half as many in May. How many clips did she sell altogether?", "math"),
        ("Why does ice float on water? Think step by step.", "reasoning"),
        ("Write a short story about a lighthouse keeper", "creative"),
        ("Who wrote Pride and Prejudice?", "qa"),
        ("Hello there, good morning", "general"),
    ])
    func shipped(prompt: String, capability: String) throws {
        let detector = try RegexIntentDetector(rules: .shipped)
        let detection = detector.classify(prompt)
        #expect(detection.capability == capability)
        #expect(detection.method == .regex)
        #expect(detection.confidence == (capability == "general" ? 0 : 1))
    }

    @Test("an invalid pattern is an error naming the rule")
    func invalidPattern() {
        let rules = RegexRuleSet(rules: [
            RegexRule(name: "fine", pattern: "a", capability: "x"),
            RegexRule(name: "broken", pattern: "(unclosed", capability: "y"),
        ])
        do {
            _ = try RegexIntentDetector(rules: rules, file: "rules.json")
            Issue.record("expected an error")
        } catch {
            #expect(error.file == "rules.json")
            #expect(error.rule?.contains("broken") == true)
            #expect(error.description.contains("(unclosed"))
        }
    }

    @Test("rules load from JSON and YAML files; unknown fields are refused")
    func files() throws {
        let dir = TestPaths.temporaryDirectory("rules")
        try #"{"default_capability":"chat","rules":[{"pattern":"\\bsql\\b","capability":"code"}]}"#
            .write(toFile: dir + "/r.json", atomically: true, encoding: .utf8)
        let json = try RegexIntentDetector(rules: RegexRuleSet.load(from: dir + "/r.json"))
        #expect(json.classify("write SQL").capability == "code")
        #expect(json.classify("hi").capability == "chat")

        try "rules:\n  - pattern: poem\n    capability: creative\n".write(toFile: dir + "/r.yml", atomically: true, encoding: .utf8)
        #expect(try RegexIntentDetector(rules: RegexRuleSet.load(from: dir + "/r.yml")).classify("a POEM").capability == "creative")

        try #"{"rules":[{"pattern":"x","capability":"y","weight":2}]}"#.write(toFile: dir + "/bad.json", atomically: true, encoding: .utf8)
        #expect(throws: RuleError.self) { try RegexRuleSet.load(from: dir + "/bad.json") }
    }
}

@Suite("Plan parsing")
struct PlanParserTests {
    @Test("numbered, bulleted, Step N:, preambles, blank lines, emphasis", arguments: [
        ("1. Profile the loop\n2. Vectorise it\n3. Summarize gains", ["Profile the loop", "Vectorise it", "Summarize gains"]),
        ("Here is a plan:\n\n1) Read\n\n2) Write\n", ["Read", "Write"]),
        ("Sure! Here are the steps:\n- first\n* second\n• third\n- fourth", ["first", "second", "third"]),
        ("Step 1: gather data\nStep 2 - clean it\nStep 3. model it", ["gather data", "clean it", "model it"]),
        ("**Step 1:** Plan\n**Step 2:** Do", ["Plan", "Do"]),
        ("### 1. Heading step\n### 2. Another", ["Heading step", "Another"]),
        ("just one line of text", ["just one line of text"]),
        ("Steps:\nalpha\nbeta", ["alpha", "beta"]),
        ("```python\nfirst line\n```", ["first line"]),
        ("", [String]()),
    ])
    func parse(plan: String, expected: [String]) {
        #expect(PlanParser().steps(from: plan, limit: 3) == expected)
    }

    @Test("never more than the limit")
    func limit() {
        let plan = (1...10).map { "\($0). step \($0)" }.joined(separator: "\n")
        #expect(PlanParser().steps(from: plan, limit: 4).count == 4)
        #expect(PlanParser().steps(from: plan, limit: 0).isEmpty)
    }
}
