/// Pulls ordered steps out of a planner's free-form answer: numbered ("1.", "1)", "(1)"), bulleted ("-", "*", "•"),
/// "Step 1:" lines, with preambles, blank lines and markdown emphasis ignored. Falls back to non-empty lines when the
/// plan has no list markers at all.
public struct PlanParser: Sendable {
    /// Creates a parser.
    public init() {}

    /// At most `limit` steps, in order, each trimmed and non-empty.
    public func steps(from plan: String, limit: Int) -> [String] {
        guard limit > 0 else { return [] }
        // Code fences are never steps.
        let lines = plan.split(whereSeparator: \.isNewline).map { String($0).trimmingWhitespace() }.filter { !$0.hasPrefix("```") }
        var marked: [String] = []
        for line in lines {
            if let step = stripMarker(line) { marked.append(step) }
        }
        let chosen = marked.isEmpty ? lines.filter { !$0.isEmpty && !isPreamble($0) } : marked
        return Array(chosen.filter { !$0.isEmpty }.prefix(limit))
    }

    /// The text after a list marker, or nil when the line carries none.
    func stripMarker(_ raw: String) -> String? {
        var line = Substring(raw)
        // Markdown emphasis and headings around the marker: "**Step 1:**", "### 1."
        while let first = line.first, first == "#" || first == "*" && line.dropFirst().first == "*" {
            line = line.drop(while: { $0 == "#" || $0 == "*" }).drop(while: \.isWhitespace)
        }
        let lowered = line.lowercased()
        if lowered.hasPrefix("step") {
            var rest = line.dropFirst(4).drop(while: \.isWhitespace)
            let digits = rest.prefix(while: \.isNumber)
            guard !digits.isEmpty else { return nil }
            rest = rest.dropFirst(digits.count)
            rest = rest.drop(while: { $0 == ":" || $0 == "." || $0 == ")" || $0 == "-" || $0 == "*" || $0.isWhitespace })
            return clean(rest)
        }
        if let first = line.first, "-*•+".contains(first), line.dropFirst().first?.isWhitespace == true {
            return clean(line.dropFirst())
        }
        var rest = line
        if rest.first == "(" { rest = rest.dropFirst() }
        let digits = rest.prefix(while: \.isNumber)
        if !digits.isEmpty, digits.count <= 3 {
            rest = rest.dropFirst(digits.count)
            if let mark = rest.first, ".):".contains(mark) {
                return clean(rest.dropFirst())
            }
        }
        return nil
    }

    private func clean(_ text: Substring) -> String {
        var s = String(text).trimmingWhitespace()
        while s.hasPrefix("**") { s = String(s.dropFirst(2)).trimmingWhitespace() }
        if s.hasSuffix("**") && !s.dropLast(2).contains("**") { s = String(s.dropLast(2)).trimmingWhitespace() }
        return s
    }

    private func isPreamble(_ line: String) -> Bool {
        let lowered = line.lowercased()
        return lowered.hasSuffix(":") && (lowered.contains("step") || lowered.contains("here") || lowered.contains("plan"))
    }
}
