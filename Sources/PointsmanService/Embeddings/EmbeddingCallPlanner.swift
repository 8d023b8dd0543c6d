/// Decides which texts go into the next encoder call, so that one large request cannot hold up small ones and a
/// stream of small ones cannot starve a large one.
///
/// Requests that fit in one call (at most `maxTokens` tokens) and have not been served yet are small: they get calls
/// of their own, first come first served, so a short prompt that arrives behind a large batch waits for the call
/// already running, at most one call for the others (when calls alternate), and its own. The others (large requests, and any request under way) share the remaining
/// calls, the least served first (counted in tokens); when both kinds wait, calls alternate between them, so a stream
/// of small requests cannot starve a large one. Either way a call is filled in that order up to `maxTexts` texts and
/// `maxTokens` tokens; its first text always fits, so one long text is never refused. A large request is thus
/// embedded a slice at a time, taking turns with the others. When only small requests wait, the token budget does not
/// apply (nobody is behind them to protect): a call takes up to `maxTexts` of them, which uses the encoder better
/// under a load of short prompts.
public struct EmbeddingCallPlanner: Sendable {
    /// One waiting request as the planner sees it.
    public struct Pending: Sendable, Equatable {
        public var id: Int
        /// Token counts of the texts not embedded yet, in order.
        public var remaining: ArraySlice<Int>
        /// Tokens already embedded.
        public var servedTokens: Int

        public init(id: Int, remaining: ArraySlice<Int>, servedTokens: Int) {
            self.id = id
            self.remaining = remaining
            self.servedTokens = servedTokens
        }

        var leftTokens: Int { remaining.reduce(0, +) }
    }

    /// Texts taken from one request: its next `count` texts.
    public struct Slice: Sendable, Equatable {
        public var id: Int
        public var count: Int

        public init(id: Int, count: Int) {
            self.id = id
            self.count = count
        }
    }

    public let maxTexts: Int
    public let maxTokens: Int
    /// Whether the last planned call was for small requests (the next goes to the others, if any wait).
    public private(set) var lastCallWasSmall = false

    public init(maxTexts: Int, maxTokens: Int) {
        self.maxTexts = max(1, maxTexts)
        self.maxTokens = max(1, maxTokens)
    }

    /// The slices of the next call, in call order (empty when nothing waits).
    public mutating func nextCall(_ pending: [Pending]) -> [Slice] {
        let waiting = pending.filter { !$0.remaining.isEmpty }
        func isSmall(_ request: Pending) -> Bool { request.servedTokens == 0 && request.leftTokens <= maxTokens }
        let small = waiting.filter(isSmall).sorted { $0.id < $1.id }
        let others = waiting.filter { !isSmall($0) }.sorted { ($0.servedTokens, $0.id) < ($1.servedTokens, $1.id) }
        let smallCall = !small.isEmpty && (others.isEmpty || !lastCallWasSmall)
        lastCallWasSmall = smallCall
        let tokenBudget = smallCall && others.isEmpty ? Int.max : maxTokens
        var slices: [Slice] = []
        var texts = 0
        var tokens = 0
        for request in smallCall ? small : others where texts < maxTexts {
            var count = 0
            for length in request.remaining {
                guard texts < maxTexts, texts == 0 || tokens + length <= tokenBudget else { break }
                count += 1
                texts += 1
                tokens += length
            }
            if count > 0 { slices.append(Slice(id: request.id, count: count)) }
        }
        return slices
    }
}
