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
        // With no needs every model qualifies, so this cannot fail; the default entry is only a formal answer.
        (try? select(capability: capability, prompt: prompt, in: catalog, needs: .none))
            ?? Selection(model: catalog.defaultEntry, escalated: false, reasons: [])
    }

    /// Selects the model for `capability` among the models that can serve `needs` (context window, tools, images,
    /// JSON output). When no model that declares the capability can, the nearest model by priority that can is
    /// chosen, a larger one first, and the reasons say so; escalation only goes to a model that can. Throws when no
    /// model in the catalog can serve the request.
    /// `quality` reorders the models that declare the capability (see `RoutingQuality`); economy never escalates.
    public func select(capability: String, prompt: String, in catalog: Catalog, needs: RequestNeeds,
                       quality: RoutingQuality = .balanced) throws(UnservableRequestError) -> Selection
    {
        var reasons: [String] = []
        var chosen: ModelEntry
        var declaring = candidates(for: capability, in: catalog)
        switch quality {
        case .balanced: break
        case .economy:
            declaring.sort { ($0.costPer1KInput + $0.costPer1KOutput, $0.priority, $0.alias)
                < ($1.costPer1KInput + $1.costPer1KOutput, $1.priority, $1.alias) }
        case .best:
            declaring.sort { ($1.priority, $0.alias) < ($0.priority, $1.alias) }
        }
        let base = declaring.first ?? catalog.defaultEntry
        if let best = declaring.first(where: { needs.unmet(by: $0).isEmpty }) {
            chosen = best
            switch quality {
            case .balanced: reasons.append("\(best.alias) declares \(capability) with priority \(best.priority)")
            case .economy: reasons.append("economy: \(best.alias) is the cheapest model that declares \(capability)")
            case .best: reasons.append("best: \(best.alias) is the top-tier model that declares \(capability) (priority \(best.priority))")
            }
            let passedOver = declaring.prefix { $0.alias != best.alias }
            if !passedOver.isEmpty {
                reasons.append("passed over " + passedOver.map { "\($0.alias) (\(needs.unmet(by: $0).joined(separator: ", ")))" }
                    .joined(separator: ", "))
            }
        } else if declaring.isEmpty, needs.unmet(by: base).isEmpty {
            chosen = base
            reasons.append("no model declares \(capability); default model \(chosen.alias)")
        } else {
            // Nobody who should answer can: the nearest model that can, by priority, a larger one before a smaller.
            let able = catalog.models.filter { needs.unmet(by: $0).isEmpty }
            guard let nearest = able.min(by: { Self.distance($0, from: base) < Self.distance($1, from: base) }) else {
                throw UnservableRequestError(needs: needs, models: catalog.models.map { ($0.alias, needs.unmet(by: $0)) })
            }
            chosen = nearest
            let who = declaring.isEmpty ? "default model \(base.alias)" : "no model that declares \(capability)"
            reasons.append("\(who) can serve this request (\(base.alias): \(needs.unmet(by: base).joined(separator: ", "))); "
                           + "nearest model that can: \(nearest.alias) (priority \(nearest.priority))")
        }
        if let rule = catalog.escalation, let why = rule.reason(for: prompt), let target = catalog.model(rule.target),
           target.alias != chosen.alias {
            guard quality != .economy else {
                reasons.append("economy: not escalated to \(target.alias) (\(why))")
                return Selection(model: chosen, escalated: false, reasons: reasons)
            }
            let problems = needs.unmet(by: target)
            guard problems.isEmpty else {
                reasons.append("not escalated to \(target.alias) (\(why)): \(problems.joined(separator: ", "))")
                return Selection(model: chosen, escalated: false, reasons: reasons)
            }
            reasons.append("escalated to \(target.alias): \(why)")
            return Selection(model: target, escalated: true, reasons: reasons)
        }
        return Selection(model: chosen, escalated: false, reasons: reasons)
    }

    /// Orders models by how far their priority is from `base`'s: larger (or equal) priorities first, nearest first,
    /// then alias.
    static func distance(_ model: ModelEntry, from base: ModelEntry) -> (Int, Int, String) {
        (model.priority >= base.priority ? 0 : 1, abs(model.priority - base.priority), model.alias)
    }
}
