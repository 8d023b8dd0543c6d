import Foundation
import MCP
import PointsmanCore
import PointsmanInterfaces

/// A tool call's arguments that are not what the tool's schema says: the text names the argument and what was wrong,
/// and goes back to the client as a tool error.
struct ToolInputError: Error, Sendable, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Typed reads of a tool call's JSON arguments. Every read names the argument in its error; arguments the tool does
/// not know are refused, so a misspelt option does not silently do nothing.
struct ToolArguments: Sendable {
    let tool: String
    let values: [String: Value]

    init(tool: String, values: [String: Value]?, allowed: [String]) throws(ToolInputError) {
        self.tool = tool
        self.values = values ?? [:]
        let unknown = self.values.keys.filter { !allowed.contains($0) }.sorted()
        guard unknown.isEmpty else {
            throw ToolInputError("\(tool): unknown argument\(unknown.count > 1 ? "s" : "") \(unknown.map { "'\($0)'" }.joined(separator: ", ")); it accepts \(allowed.joined(separator: ", "))")
        }
    }

    /// A string argument, trimmed of nothing; nil when absent or null.
    func string(_ name: String) throws(ToolInputError) -> String? {
        guard let value = present(name) else { return nil }
        guard let text = value.stringValue else { throw wrongType(name, "a string", value) }
        return text
    }

    /// A non-empty string argument.
    func requiredText(_ name: String) throws(ToolInputError) -> String {
        guard let text = try string(name) else { throw ToolInputError("\(tool): missing required argument '\(name)' (a non-empty string)") }
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw ToolInputError("\(tool): '\(name)' is empty; give the text to work on")
        }
        return text
    }

    /// An integer argument within `range`; a JSON number with no fractional part counts.
    func integer(_ name: String, in range: ClosedRange<Int>) throws(ToolInputError) -> Int? {
        guard let value = present(name) else { return nil }
        let number: Int?
        switch value {
        case .int(let n): number = n
        case .double(let d) where d.rounded() == d && abs(d) < 1e15: number = Int(d)
        default: number = nil
        }
        guard let number else { throw wrongType(name, "an integer", value) }
        guard range.contains(number) else {
            throw ToolInputError("\(tool): '\(name)' must be between \(range.lowerBound) and \(range.upperBound), got \(number)")
        }
        return number
    }

    /// A number argument within `range`.
    func number(_ name: String, in range: ClosedRange<Double>) throws(ToolInputError) -> Double? {
        guard let value = present(name) else { return nil }
        let number: Double?
        switch value {
        case .int(let n): number = Double(n)
        case .double(let d): number = d
        default: number = nil
        }
        guard let number, number.isFinite else { throw wrongType(name, "a number", value) }
        guard range.contains(number) else {
            throw ToolInputError("\(tool): '\(name)' must be between \(range.lowerBound) and \(range.upperBound), got \(number)")
        }
        return number
    }

    /// The `quality` argument: economy, balanced or best (default balanced).
    func quality() throws(ToolInputError) -> RoutingQuality {
        guard let name = try string("quality") else { return .balanced }
        guard let quality = RoutingQuality(name: name) else {
            throw ToolInputError("\(tool): 'quality' must be economy, balanced or best, got \"\(name)\"")
        }
        return quality
    }

    /// The conversation: `messages` (a list of {role, content}) or `prompt` (one user turn); exactly one of them.
    func conversation() throws(ToolInputError) -> [ChatMessage] {
        let prompt = try string("prompt")
        let messages = present("messages")
        switch (prompt, messages) {
        case (nil, nil):
            throw ToolInputError("\(tool): missing required argument 'prompt' (a non-empty string) or 'messages' (a list of {role, content})")
        case (.some, .some):
            throw ToolInputError("\(tool): give 'prompt' or 'messages', not both")
        case (let prompt?, nil):
            guard !prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw ToolInputError("\(tool): 'prompt' is empty; give the text to route")
            }
            return [.user(prompt)]
        case (nil, let value?):
            guard let list = value.arrayValue else { throw wrongType("messages", "a list of {role, content} objects", value) }
            guard !list.isEmpty else { throw ToolInputError("\(tool): 'messages' is empty") }
            var parsed: [ChatMessage] = []
            for (index, item) in list.enumerated() {
                guard let object = item.objectValue else {
                    throw ToolInputError("\(tool): messages[\(index)] must be an object with 'role' and 'content'")
                }
                guard let roleName = object["role"]?.stringValue, let role = ChatRole(rawValue: roleName),
                      [.system, .user, .assistant].contains(role) else {
                    throw ToolInputError("\(tool): messages[\(index)].role must be one of system, user, assistant")
                }
                guard let content = object["content"]?.stringValue else {
                    throw ToolInputError("\(tool): messages[\(index)].content must be a string")
                }
                parsed.append(ChatMessage(role: role, content: content))
            }
            guard parsed.contains(where: { $0.role == .user && !$0.content.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }) else {
                throw ToolInputError("\(tool): 'messages' has no user turn with text to route")
            }
            return parsed
        }
    }

    private func present(_ name: String) -> Value? {
        guard let value = values[name] else { return nil }
        if case .null = value { return nil }
        return value
    }

    private func wrongType(_ name: String, _ expected: String, _ value: Value) -> ToolInputError {
        ToolInputError("\(tool): '\(name)' must be \(expected), got \(Self.kind(of: value))")
    }

    static func kind(of value: Value) -> String {
        switch value {
        case .null: "null"
        case .bool: "a boolean"
        case .int, .double: "a number"
        case .string: "a string"
        case .data: "binary data"
        case .array: "a list"
        case .object: "an object"
        }
    }
}
