import PointsmanService
import Testing

@Suite("Embedding call planner")
struct EmbeddingCallPlannerTests {
    typealias Pending = EmbeddingCallPlanner.Pending
    typealias Slice = EmbeddingCallPlanner.Slice

    /// Runs the planner to the end, applying each call to the waiting requests; returns the calls and, per request,
    /// the index of the call that finished it. `arrivals[n]` joins the queue just before call n is planned.
    static func simulate(
        _ planner: inout EmbeddingCallPlanner, initial: [Pending], arrivals: [Int: [Pending]] = [:]
    ) -> (calls: [[Slice]], finished: [Int: Int]) {
        var waiting = initial
        var calls: [[Slice]] = []
        var finished: [Int: Int] = [:]
        while !waiting.isEmpty || arrivals.keys.contains(where: { $0 >= calls.count }) {
            waiting += arrivals[calls.count] ?? []
            let call = planner.nextCall(waiting)
            for slice in call {
                guard let index = waiting.firstIndex(where: { $0.id == slice.id }) else { continue }
                let taken = waiting[index].remaining.prefix(slice.count)
                waiting[index].servedTokens += taken.reduce(0, +)
                waiting[index].remaining = waiting[index].remaining.dropFirst(slice.count)
                if waiting[index].remaining.isEmpty {
                    finished[slice.id] = calls.count
                    waiting.remove(at: index)
                }
            }
            calls.append(call)
        }
        return (calls, finished)
    }

    @Test("a call holds at most maxTexts texts, a large request's call at most maxTokens tokens, and one long text always fits")
    func limits() {
        var planner = EmbeddingCallPlanner(maxTexts: 4, maxTokens: 100)
        #expect(planner.nextCall([Pending(id: 1, remaining: [30, 30, 30, 30, 30], servedTokens: 0)]) == [Slice(id: 1, count: 3)])
        #expect(planner.nextCall([Pending(id: 1, remaining: [10, 10, 10, 10, 10], servedTokens: 0)]) == [Slice(id: 1, count: 4)])
        #expect(planner.nextCall([Pending(id: 1, remaining: [250, 10], servedTokens: 0)]) == [Slice(id: 1, count: 1)])
        #expect(planner.nextCall([]) == [])
    }

    @Test("a new short request is served in the next call, alone, even behind a large batch under way")
    func newRequestsGoNext() {
        var planner = EmbeddingCallPlanner(maxTexts: 8, maxTokens: 128)
        let batch = Pending(id: 1, remaining: ArraySlice(repeating: 60, count: 200), servedTokens: 120)
        let single = Pending(id: 2, remaining: [12], servedTokens: 0)
        #expect(planner.nextCall([batch, single]) == [Slice(id: 2, count: 1)])
    }

    @Test("a new request that fits in one call goes before a new large batch, which is not added to its call")
    func smallBeforeLarge() {
        var planner = EmbeddingCallPlanner(maxTexts: 8, maxTokens: 128)
        let batch = Pending(id: 1, remaining: ArraySlice(repeating: 100, count: 50), servedTokens: 0)
        let single = Pending(id: 2, remaining: [12], servedTokens: 0)
        #expect(planner.nextCall([batch, single]) == [Slice(id: 2, count: 1)])
        #expect(planner.nextCall([batch]) == [Slice(id: 1, count: 1)])
    }

    @Test("with only small requests waiting a call takes up to maxTexts of them; with a large one waiting, the token budget holds")
    func smallOnlyFillsCall() {
        var planner = EmbeddingCallPlanner(maxTexts: 8, maxTokens: 128)
        let smalls = (1...10).map { Pending(id: $0, remaining: [30], servedTokens: 0) }
        // Eight texts of 30 tokens (240 in all): nobody else waits.
        #expect(planner.nextCall(smalls).map(\.id) == Array(1...8))
        // A large request waiting: the small call keeps to 128 tokens (four texts), and the next call is the large one's.
        var alternating = EmbeddingCallPlanner(maxTexts: 8, maxTokens: 128)
        let batch = Pending(id: 99, remaining: ArraySlice(repeating: 100, count: 20), servedTokens: 0)
        #expect(alternating.nextCall(smalls + [batch]).map(\.id) == [1, 2, 3, 4])
        #expect(alternating.nextCall(smalls + [batch]) == [Slice(id: 99, count: 1)])
    }

    @Test("small requests are served first come first served, whatever their length, so none starves under load")
    func smallInArrivalOrder() {
        var planner = EmbeddingCallPlanner(maxTexts: 4, maxTokens: 128)
        // Longer prompts arrived first; shorter ones keep arriving behind them.
        let pending = (1...12).map { Pending(id: $0, remaining: [30 - $0], servedTokens: 0) }
        #expect(planner.nextCall(pending).map(\.id) == [1, 2, 3, 4])
    }

    @Test("a stream of new requests cannot starve a batch under way: calls alternate")
    func noStarvation() {
        var planner = EmbeddingCallPlanner(maxTexts: 8, maxTokens: 128)
        let batch = Pending(id: 0, remaining: ArraySlice(repeating: 64, count: 10), servedTokens: 0)
        // A new single prompt arrives before every call, for ever as far as this run goes.
        var arrivals: [Int: [Pending]] = [:]
        for call in 0..<40 { arrivals[call] = [Pending(id: 100 + call, remaining: [10], servedTokens: 0)] }
        let (_, finished) = Self.simulate(&planner, initial: [batch], arrivals: arrivals)
        // The batch takes two texts per call of its own (128 tokens) and gets every other call: done within 12 calls.
        #expect((finished[0] ?? .max) < 12)
        // Every single prompt finished at most two calls after it arrived.
        for call in 0..<40 { #expect((finished[100 + call] ?? .max) <= call + 1) }
    }

    @Test("requests under way share calls least-served first, so concurrent batches progress together")
    func leastServedFirst() {
        var planner = EmbeddingCallPlanner(maxTexts: 8, maxTokens: 100)
        let a = Pending(id: 1, remaining: ArraySlice(repeating: 50, count: 6), servedTokens: 500)
        let b = Pending(id: 2, remaining: ArraySlice(repeating: 50, count: 6), servedTokens: 100)
        #expect(planner.nextCall([a, b]) == [Slice(id: 2, count: 2)])
        let (calls, finished) = Self.simulate(&planner, initial: [a, b])
        #expect(calls.allSatisfy { $0.count == 1 })
        // b, behind by 400 tokens, goes first until it is done (three calls of 100 tokens), then a (three more).
        #expect(calls.map { $0[0].id } == [2, 2, 2, 1, 1, 1])
        #expect(finished[2] == 2 && finished[1] == 5)
    }
}
