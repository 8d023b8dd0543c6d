import Foundation

extension Catalog {
    /// The shipped catalog: the workshop's three local models and its escalation target, extended so that every
    /// capability in `training/` has a model. Costs are notional (relative to model size), for cost simulation.
    public static let shippedJSON = #"""
    {
      "version": 1,
      "default_model": "phi-4-mini",
      "escalation": {
        "target": "gpt-oss-20b",
        "max_prompt_characters": 280,
        "keywords": ["optimize", "security", "compliance", "optimiser", "sécurité", "conformité"]
      },
      "models": [
        {
          "alias": "phi-4-mini",
          "capabilities": ["general", "reasoning", "summarize", "qa"],
          "priority": 2,
          "upstream_model": "phi-4-mini",
          "cost_per_1k_input": 0.0002,
          "cost_per_1k_output": 0.0004,
          "context_length": 16384,
          "supports_tools": true,
          "supports_vision": false,
          "fallbacks": ["qwen2.5-1.5b", "qwen2.5-0.5b"]
        },
        {
          "alias": "deepseek-coder-1.3b",
          "capabilities": ["code", "refactor", "explain_code"],
          "priority": 1,
          "upstream_model": "deepseek-coder-1.3b",
          "cost_per_1k_input": 0.0001,
          "cost_per_1k_output": 0.0002,
          "context_length": 16384,
          "supports_tools": false,
          "supports_vision": false,
          "fallbacks": ["phi-4-mini"]
        },
        {
          "alias": "qwen2.5-0.5b",
          "capabilities": ["fast", "classification", "lightweight", "extraction"],
          "priority": 3,
          "upstream_model": "qwen2.5-0.5b",
          "cost_per_1k_input": 0.00005,
          "cost_per_1k_output": 0.0001,
          "context_length": 32768,
          "supports_tools": true,
          "supports_vision": false,
          "fallbacks": ["phi-4-mini"]
        },
        {
          "alias": "phi-4-mini-reasoning",
          "capabilities": ["math", "reasoning"],
          "priority": 1,
          "upstream_model": "phi-4-mini-reasoning",
          "cost_per_1k_input": 0.0002,
          "cost_per_1k_output": 0.0004,
          "context_length": 16384,
          "supports_tools": false,
          "supports_vision": false,
          "fallbacks": ["phi-4-mini"]
        },
        {
          "alias": "qwen2.5-1.5b",
          "capabilities": ["translation", "qa", "extraction"],
          "priority": 1,
          "upstream_model": "qwen2.5-1.5b",
          "cost_per_1k_input": 0.0001,
          "cost_per_1k_output": 0.0002,
          "context_length": 32768,
          "supports_tools": true,
          "supports_vision": false,
          "fallbacks": ["phi-4-mini"]
        },
        {
          "alias": "mistral-7b",
          "capabilities": ["creative"],
          "priority": 2,
          "upstream_model": "mistral-7b-v0.2",
          "cost_per_1k_input": 0.0006,
          "cost_per_1k_output": 0.0012,
          "context_length": 8192,
          "supports_tools": false,
          "supports_vision": false,
          "fallbacks": ["phi-4-mini"]
        },
        {
          "alias": "gpt-oss-20b",
          "capabilities": ["general", "reasoning", "code", "math", "summarize", "qa", "creative", "translation",
                           "extraction", "classification"],
          "priority": 9,
          "upstream_model": "gpt-oss-20b",
          "cost_per_1k_input": 0.002,
          "cost_per_1k_output": 0.004,
          "context_length": 131072,
          "supports_tools": true,
          "supports_vision": false,
          "fallbacks": ["phi-4-mini"]
        }
      ]
    }
    """#

    /// The shipped catalog, parsed. Validated by the tests; a failure here is a build defect.
    public static let shipped: Catalog = {
        do { return try Catalog.parse(Data(shippedJSON.utf8), format: .json, file: "<shipped catalog>") } catch {
            preconditionFailure("the shipped catalog is invalid: \(error)")
        }
    }()
}
