/// Pieces of a Chat Completions request that both translators build the same way.
enum ChatRequestParts {
    /// The body's `model`, which must be a string.
    static func model(_ body: [String: JSONValue]) throws(RequestError) -> JSONValue {
        guard let model = body["model"] else { throw .missing("model") }
        guard case .string = model else { throw .wrongType("model", "a string", found: model) }
        return model
    }

    /// A chat function tool from a name, an optional description and a JSON schema (an empty object schema if none).
    static func functionTool(name: String, description: JSONValue?, parameters: JSONValue?) -> JSONValue {
        var function: [String: JSONValue] = ["name": .string(name)]
        if let description { function["description"] = description }
        function["parameters"] = parameters ?? .object(["type": .string("object")])
        return .object(["type": .string("function"), "function": .object(function)])
    }
}
