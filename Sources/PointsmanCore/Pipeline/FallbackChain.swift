/// Every attempt failed: the selected model and each fallback.
public struct AllModelsFailedError: Error, Sendable, CustomStringConvertible {
    /// One failed attempt.
    public struct Attempt: Sendable {
        /// The model's alias.
        public var model: String
        /// What went wrong.
        public var error: any Error
    }

    /// Each attempt, in order.
    public var attempts: [Attempt]

    public var description: String {
        "every model failed: " + attempts.map { "\($0.model): \($0.error)" }.joined(separator: "; ")
    }
}

/// A model followed by its catalog fallbacks, tried in order until one answers. Both the pipeline's model calls and
/// the service's proxy go through it, so the rule is the same everywhere: an attempt that throws hands over to the
/// next model, except a cancellation or an error wrapped in `Stop` (a stream that already started, an answer the
/// client must see as it is), which end the chain at once.
public struct FallbackChain: Sendable {
    /// Ends the chain with `error`, without trying further models.
    public struct Stop: Error, Sendable {
        public var error: any Error
        public init(_ error: any Error) { self.error = error }
    }

    /// The models to try, in order.
    public let models: [ModelEntry]

    /// `model`, then its fallbacks as the catalog lists them (each once).
    public init(_ model: ModelEntry, in catalog: Catalog) {
        models = catalog.fallbackChain(for: model)
    }

    /// Exactly these models.
    public init(models: [ModelEntry]) {
        self.models = models
    }

    /// Runs `attempt` on each model in turn (with its 0-based position) and returns the first answer; throws
    /// `AllModelsFailedError` with every failure when none answered.
    public func run<T: Sendable>(_ attempt: (ModelEntry, Int) async throws -> T) async throws -> T {
        var failures: [AllModelsFailedError.Attempt] = []
        for (index, entry) in models.enumerated() {
            do {
                return try await attempt(entry, index)
            } catch let stop as Stop {
                throw stop.error
            } catch let cancelled as CancellationError {
                throw cancelled
            } catch where Task.isCancelled {
                // A cancelled request (a client gone, the shutdown grace passed) tries no further model, whatever
                // error the cancellation surfaced as.
                throw CancellationError()
            } catch {
                failures.append(.init(model: entry.alias, error: error))
            }
        }
        throw AllModelsFailedError(attempts: failures)
    }
}
