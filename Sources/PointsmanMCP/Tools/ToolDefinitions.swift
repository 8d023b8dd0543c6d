import MCP
import PointsmanCore

/// The tools Pointsman offers MCP clients, with JSON schemas and descriptions written for a model to read. The
/// catalog's models and capabilities are listed in the schemas, so the list changes when the catalog is reloaded.
enum ToolDefinitions {
    static let names = ["route", "ask", "pipeline", "compare"]

    static func all(catalog: Catalog) -> [Tool] {
        let capabilities = Value.array(catalog.capabilities.map(Value.string))
        let models = Value.array(catalog.models.map { .string($0.alias) })
        let quality: Value = [
            "type": "string", "enum": ["economy", "balanced", "best"],
            "description": "Cost-quality trade-off: economy picks the cheapest capable model, best the strongest, balanced (default) the catalog's choice for the capability.",
        ]
        let messages: Value = [
            "type": "array",
            "description": "A conversation instead of 'prompt': a list of {role, content} with role system, user or assistant. The last user turn decides the route.",
            "items": [
                "type": "object",
                "properties": ["role": ["type": "string", "enum": ["system", "user", "assistant"]], "content": ["type": "string"]],
                "required": ["role", "content"],
            ],
        ]
        return [
            Tool(
                name: "route",
                title: "Route a prompt",
                description: """
                Decide which of the configured models should answer a prompt, without calling it. Returns the capability \
                the prompt needs (one of: \(catalog.capabilities.joined(separator: ", "))), the chosen model, the \
                detector's confidence, how it decided (embedding centroids, regex rules or a fallback) and the reasons. \
                Use it to explain or preview routing; use 'ask' to get an answer.
                """,
                inputSchema: [
                    "type": "object",
                    "properties": [
                        "prompt": ["type": "string", "description": "The user's prompt."],
                        "messages": messages,
                        "quality": quality,
                    ],
                ],
                annotations: .init(readOnlyHint: true, idempotentHint: true, openWorldHint: false)),
            Tool(
                name: "ask",
                title: "Ask the right model",
                description: """
                Send a prompt to the model best suited to it and return that model's answer. Pointsman routes the prompt \
                to the cheapest capable model, or to the 'capability' or 'model' you name, and falls back to the \
                catalog's alternatives if a model is down. The result carries the routing decision, token usage and \
                cost. Progress notifications report routing and the answer as it streams.
                """,
                inputSchema: [
                    "type": "object",
                    "properties": [
                        "prompt": ["type": "string", "description": "The question or instruction."],
                        "messages": messages,
                        "capability": ["type": "string", "enum": capabilities, "description": "Skip detection and use the model for this capability."],
                        "model": ["type": "string", "enum": models, "description": "Ask this catalog model directly (no routing)."],
                        "max_tokens": ["type": "integer", "minimum": 1, "maximum": 32768, "description": "Most tokens in the answer (default 512)."],
                        "temperature": ["type": "number", "minimum": 0, "maximum": 2, "description": "Sampling temperature (the model's default when absent)."],
                        "quality": quality,
                    ],
                ],
                annotations: .init(readOnlyHint: true, idempotentHint: false, openWorldHint: true)),
            Tool(
                name: "pipeline",
                title: "Plan, solve and refine",
                description: """
                Run a multi-step task across specialised models: a general model writes a numbered plan, each step is \
                routed to the model its capability calls for, and a summarising model condenses the step results into \
                one answer. Returns the plan, every step (capability, model, output) and the final answer. Progress \
                notifications report each step. Slower than 'ask': use it for tasks that need several kinds of work.
                """,
                inputSchema: [
                    "type": "object",
                    "properties": [
                        "task": ["type": "string", "description": "The task to plan and solve."],
                        "steps": ["type": "integer", "minimum": 1, "maximum": 10, "description": "Most steps in the plan (default 3)."],
                        "max_tokens": ["type": "integer", "minimum": 1, "maximum": 32768, "description": "Most tokens per model call (default 350)."],
                        "quality": quality,
                    ],
                    "required": ["task"],
                ],
                annotations: .init(readOnlyHint: true, idempotentHint: false, openWorldHint: true)),
            Tool(
                name: "compare",
                title: "Compare detectors",
                description: """
                Show how each detector routes a prompt, side by side: the regex rules, the embedding centroids and the \
                hybrid that combines them (the default). Returns each one's capability, model and confidence, and \
                whether they agree. Use it to check or debug routing.
                """,
                inputSchema: [
                    "type": "object",
                    "properties": ["prompt": ["type": "string", "description": "The prompt to route."]],
                    "required": ["prompt"],
                ],
                annotations: .init(readOnlyHint: true, idempotentHint: true, openWorldHint: false)),
        ]
    }
}
