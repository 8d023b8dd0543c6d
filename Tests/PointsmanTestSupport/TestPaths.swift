import Foundation

/// Where tests find the repository, its fixtures and the model.
public enum TestPaths {
    /// The repository root (two levels above this file's folder).
    public static let repository: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// A file under `Tests/Fixtures` (the golden files and other data the tests read, kept in the repository).
    public static func fixture(_ relative: String) -> String {
        (repository as NSString).appendingPathComponent("Tests/Fixtures/" + relative)
    }

    /// A file under the repository.
    public static func repositoryFile(_ relative: String) -> String {
        (repository as NSString).appendingPathComponent(relative)
    }

    /// The model folder the test run uses: `POINTSMAN_MODEL_DIR`, else the default cache location.
    public static let modelDirectory: String = {
        if let override = ProcessInfo.processInfo.environment["POINTSMAN_MODEL_DIR"], !override.isEmpty {
            return override
        }
        return (NSHomeDirectory() as NSString).appendingPathComponent(".cache/pointsman/models/all-MiniLM-L6-v2")
    }()

    /// A fresh temporary folder, inside `runDirectory` (so it goes when the test process ends).
    public static func temporaryDirectory(_ label: String = "test") -> String {
        let path = (runDirectory as NSString).appendingPathComponent("\(label)-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// The prefix of `runDirectory`'s name; a UUID follows it.
    public static let runDirectoryPrefix = "pointsman-tests-"
    /// The file inside a run folder that its process keeps locked (`flock`) while it runs.
    public static let runLockName = ".lock"
    /// A run folder without its lock file is left alone for this long (its process may be creating it).
    public static let unlockedGrace: TimeInterval = 600

    /// The folder this test process keeps its temporary files in: `pointsman-tests-<uuid>` in the system's temporary
    /// folder, holding a lock file the process keeps locked until it ends. The folder is removed when the process
    /// exits normally; on first use, run folders whose lock nobody holds any more (a crash, a kill) are removed, so
    /// repeated runs do not fill the temporary folder (model copies alone take about 90 MB each). Set
    /// `POINTSMAN_KEEP_TEST_FILES=1` to keep this run's folder.
    public static let runDirectory: String = {
        let base = NSTemporaryDirectory()
        removeStaleRunDirectories(in: base)
        let path = (base as NSString).appendingPathComponent("\(runDirectoryPrefix)\(UUID().uuidString)")
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        _ = lockRunDirectory(path)  // kept open: the lock lasts as long as the process
        if ProcessInfo.processInfo.environment["POINTSMAN_KEEP_TEST_FILES"] != "1" {
            atexit { try? FileManager.default.removeItem(atPath: TestPaths.runDirectory) }
        }
        return path
    }()

    /// Takes the run folder's lock without waiting; returns the open descriptor (which holds the lock), or nil when
    /// another process holds it or the lock file cannot be opened.
    public static func lockRunDirectory(_ path: String) -> Int32? {
        let descriptor = open((path as NSString).appendingPathComponent(runLockName), O_RDWR | O_CREAT, 0o600)
        guard descriptor >= 0 else { return nil }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            return nil
        }
        return descriptor
    }

    /// Removes the run folders in `base` that no process holds: their lock file is free, or they have none and are
    /// older than `unlockedGrace`. Returns their names.
    @discardableResult
    public static func removeStaleRunDirectories(in base: String) -> [String] {
        let fileManager = FileManager.default
        var removed: [String] = []
        for name in (try? fileManager.contentsOfDirectory(atPath: base)) ?? [] where name.hasPrefix(runDirectoryPrefix) {
            let path = (base as NSString).appendingPathComponent(name)
            let lock = (path as NSString).appendingPathComponent(runLockName)
            if fileManager.fileExists(atPath: lock) {
                guard let descriptor = lockRunDirectory(path) else { continue }  // its process still runs
                defer { close(descriptor) }
                if (try? fileManager.removeItem(atPath: path)) != nil { removed.append(name) }
            } else {
                let modified = (try? fileManager.attributesOfItem(atPath: path)[.modificationDate]) as? Date
                guard let modified, Date().timeIntervalSince(modified) > unlockedGrace else { continue }
                if (try? fileManager.removeItem(atPath: path)) != nil { removed.append(name) }
            }
        }
        return removed
    }

    /// Reads a JSON Lines file into objects.
    public static func jsonLines(_ path: String) throws -> [[String: Any]] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return try text.split(separator: "\n").enumerated().map { index, line in
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw FixtureError(path: path, problem: "line \(index + 1) is not a JSON object")
            }
            return object
        }
    }
}

/// A fixture file the tests need is missing or not what they expect.
public struct FixtureError: Error, CustomStringConvertible {
    public let path: String
    public let problem: String

    public init(path: String, problem: String) {
        self.path = path
        self.problem = problem
    }

    public var description: String { "fixture \(path): \(problem)" }
}

/// Reads fixture files, turning every failure into a `FixtureError` that names the file.
public enum Fixture {
    /// A JSON object file under `Tests/Fixtures`.
    public static func jsonObject(_ relative: String) throws -> [String: Any] {
        let path = TestPaths.fixture(relative)
        guard FileManager.default.fileExists(atPath: path) else { throw FixtureError(path: path, problem: "missing") }
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw FixtureError(path: path, problem: "not a JSON object")
            }
            return object
        } catch let error as FixtureError {
            throw error
        } catch {
            throw FixtureError(path: path, problem: "unreadable (\(error))")
        }
    }

    /// A JSON Lines file under `Tests/Fixtures`.
    public static func jsonLines(_ relative: String) throws -> [[String: Any]] {
        let path = TestPaths.fixture(relative)
        guard FileManager.default.fileExists(atPath: path) else { throw FixtureError(path: path, problem: "missing") }
        do {
            return try TestPaths.jsonLines(path)
        } catch let error as FixtureError {
            throw error
        } catch {
            throw FixtureError(path: path, problem: "unreadable (\(error))")
        }
    }

    /// The normalised golden embeddings of the 29 edge cases, with their texts.
    public static func goldenEdgeCaseEmbeddings() throws -> [(text: String, embedding: [Float])] {
        let relative = "golden/minilm_golden.json"
        guard let items = try jsonObject(relative)["items"] as? [[String: Any]] else {
            throw FixtureError(path: TestPaths.fixture(relative), problem: "no `items` list")
        }
        return try items.map { item in
            guard let text = item["text"] as? String, let vector = item["embedding"] as? [NSNumber] else {
                throw FixtureError(path: TestPaths.fixture(relative), problem: "an item lacks `text` or `embedding`")
            }
            return (text, vector.map(\.floatValue))
        }
    }
}

/// The real third-party peers the test command starts (see `.ci/peers.sh`).
public enum Peers {
    public struct Missing: Error, CustomStringConvertible {
        public let description: String
    }

    static func url(_ variable: String, what: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[variable], !value.isEmpty else {
            throw Missing(description: "\(variable) is not set: the \(what) peer is not running. Run the tests with `make test`, which starts it (.ci/peers.sh start).")
        }
        return value
    }

    /// llama-cpp-python serving SmolLM2-135M-Instruct.
    public static func llama() throws -> String { try url("POINTSMAN_LLAMA_URL", what: "llama-cpp-python chat") }
    /// A Python with the `openai` package (an OpenAI client nobody here wrote).
    public static func openAIPython() throws -> String { try url("POINTSMAN_OPENAI_PYTHON", what: "openai Python client") }

    /// A PostgreSQL server (Debian's package) with a database the tests may create databases from.
    public static func postgres() throws -> String { try url("POINTSMAN_TEST_DATABASE_URL", what: "PostgreSQL") }

    /// infinity-emb serving all-MiniLM-L6-v2.
    public static func infinity() throws -> String { try url("POINTSMAN_INFINITY_URL", what: "infinity-emb embeddings") }
}

/// Runs the built `pointsman` binary.
public enum PointsmanBinary {
    /// What a run printed and how it ended.
    public struct Run: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        public var stdoutLines: [String] { stdout.split(separator: "\n").map(String.init) }
    }

    /// The binary next to the test bundle (the same build folder).
    public static var path: String {
        let folder = Bundle.main.executableURL?.deletingLastPathComponent().path
            ?? TestPaths.repositoryFile(".build/debug")
        let beside = (folder as NSString).appendingPathComponent("pointsman")
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        return TestPaths.repositoryFile(".build/debug/pointsman")
    }

    /// Runs `pointsman` with `arguments`, feeding `stdin`, with extra environment.
    public static func run(_ arguments: [String], stdin: Data? = nil, environment: [String: String] = [:]) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try input.fileHandleForWriting.close()
        // Read both pipes concurrently so a full pipe never blocks the child.
        let errData = LockedData()
        let reader = Thread { errData.set(err.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !errData.isSet { usleep(1000) }
        return Run(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                   stderr: String(decoding: errData.value, as: UTF8.self))
    }

    final class LockedData: @unchecked Sendable {
        private let lock = NSLock()
        private var data = Data()
        private var done = false
        func set(_ d: Data) { lock.withLock { data = d; done = true } }
        var isSet: Bool { lock.withLock { done } }
        var value: Data { lock.withLock { data } }
    }
}
