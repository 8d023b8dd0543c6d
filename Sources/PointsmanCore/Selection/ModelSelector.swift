/// The model chosen for a capability, and why.
public struct Selection: Sendable, Equatable {
    /// The chosen model.
    public var model: ModelEntry
    /// Whether escalation replaced the capability's model.
    public var escalated: Bool
    /// Why this model, in order.
    public var reasons: [String]
}

/// Picks a model for a capability with the workshop's semantics: models that declare the capability first, then the
/// lowest priority, ties broken by alias; a capability no model declares goes to the catalog's default model; then
/// the escalation rule may replace the choice with its target.
public struct ModelSelector: Sendable {
    /// Creates a selector.
    public init() {}

    /// The best model declaring `capability`, or nil when none does.
    public func candidates(for capability: String, in catalog: Catalog) -> [ModelEntry] {
        catalog.models
            .filter { $0.capabilities.contains(capability) }
            .sorted { ($0.priority, $0.alias) < ($1.priority, $1.alias) }
    }

    /// Selects the model for `capability`; `prompt` feeds the escalation rule.
    public func select(capability: String, prompt: String, in catalog: Catalog) -> Selection {
        var reasons: [String] = []
        var chosen: ModelEntry
        if let best = candidates(for: capability, in: catalog).first {
            chosen = best
            reasons.append("\(best.alias) declares \(capability) with priority \(best.priority)")
        } else {
            chosen = catalog.defaultEntry
            reasons.append("no model declares \(capability); default model \(chosen.alias)")
        }
        if let rule = catalog.escalation, let why = rule.reason(for: prompt), let target = catalog.model(rule.target),
           target.alias != chosen.alias {
            reasons.append("escalated to \(target.alias): \(why)")
            return Selection(model: target, escalated: true, reasons: reasons)
        }
        return Selection(model: chosen, escalated: false, reasons: reasons)
    }
}
