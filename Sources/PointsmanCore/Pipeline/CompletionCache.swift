import Crypto
import Foundation
import PointsmanInterfaces

/// Answers identical chat calls from memory (LRU) and optionally from disk, keyed by a sha256 of the model, endpoint,
/// messages and parameters.
public actor CompletionCache {
    /// Cache options.
    public struct Configuration: Sendable {
        /// Entries kept in memory.
        public var capacity: Int
        /// Folder for the on-disk store, or nil for memory only.
        public var directory: String?
        /// Cache calls whose temperature is not 0 too (off by default: such answers are meant to vary).
        public var includeNondeterministic: Bool

        public init(capacity: Int = 512, directory: String? = nil, includeNondeterministic: Bool = false) {
            self.capacity = capacity
            self.directory = directory
            self.includeNondeterministic = includeNondeterministic
        }
    }

    private let configuration: Configuration
    private var entries: [String: ChatCompletion] = [:]
    private var order: [String] = []  // least recently used first
    /// Hits and misses so far.
    public private(set) var hits = 0
    public private(set) var misses = 0

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        if let directory = configuration.directory {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
    }

    /// Whether calls like `request` are cached at all.
    public nonisolated func accepts(_ request: ChatRequest) -> Bool {
        configuration.includeNondeterministic || request.parameters.isDeterministic
    }

    /// The content-addressed key of a request.
    public nonisolated static func key(for request: ChatRequest) -> String {
        struct Canonical: Encodable {
            var model: String
            var baseURL: String?
            var messages: [ChatMessage]
            var parameters: ChatParameters
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(Canonical(
            model: request.model, baseURL: request.baseURL, messages: request.messages,
            parameters: request.parameters))) ?? Data()
        return SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    /// The cached answer, if any.
    public func lookup(_ request: ChatRequest) -> ChatCompletion? {
        guard accepts(request) else { return nil }
        let key = Self.key(for: request)
        if let hit = entries[key] {
            touch(key)
            hits += 1
            return hit
        }
        if let directory = configuration.directory,
           let data = FileManager.default.contents(atPath: (directory as NSString).appendingPathComponent(key + ".json")),
           let stored = try? JSONDecoder().decode(ChatCompletion.self, from: data) {
            insert(key, stored)
            hits += 1
            return stored
        }
        misses += 1
        return nil
    }

    /// Stores an answer.
    public func store(_ completion: ChatCompletion, for request: ChatRequest) {
        guard accepts(request) else { return }
        let key = Self.key(for: request)
        insert(key, completion)
        if let directory = configuration.directory, let data = try? JSONEncoder().encode(completion) {
            try? data.write(to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent(key + ".json")),
                            options: .atomic)
        }
    }

    private func insert(_ key: String, _ value: ChatCompletion) {
        entries[key] = value
        touch(key)
        while order.count > max(configuration.capacity, 0) {
            entries.removeValue(forKey: order.removeFirst())
        }
    }

    private func touch(_ key: String) {
        if let index = order.firstIndex(of: key) { order.remove(at: index) }
        order.append(key)
    }
}
