/// The cost–quality trade-off of one request.
public enum RoutingQuality: String, Sendable, Codable, CaseIterable {
    /// The cheapest model that declares the capability and can serve the request (input plus output price per 1,000
    /// tokens; ties by priority, then alias); never escalates.
    case economy
    /// The workshop's rule: the lowest priority among the models that declare the capability, then escalation.
    case balanced
    /// The top tier: the highest priority number among the models that declare the capability and can serve the
    /// request (the largest models in the catalog's ordering); escalation still applies.
    case best

    /// Reads a value as clients send it (any case); nil for anything else.
    public init?(name: String) {
        self.init(rawValue: name.trimmingWhitespace().lowercased())
    }
}
