import ArgumentParser
import Foundation
import MiniLMEncoder
import OpenAIClient
import PointsmanCore

struct EmbedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embed texts; writes JSON Lines {\"text\", \"embedding\"} in input order.")

    @Argument(help: "Texts to embed.")
    var texts: [String] = []

    @Option(name: .long, help: "Read texts from a file: one per line, or JSON Lines with a \"text\" field.")
    var file: String?

    @Flag(name: .long, help: "Add the token ids (native encoder only).")
    var tokens = false

    @Option(name: .long, help: "Use this OpenAI-compatible /v1 endpoint instead of the native encoder.")
    var endpoint: String?

    @Option(name: .long, help: "Model id sent to --endpoint.")
    var embeddingModel: String = "all-MiniLM-L6-v2"

    @OptionGroup var model: ModelOptions

    func validate() throws {
        if texts.isEmpty && file == nil { throw ValidationError("give TEXT arguments or --file PATH") }
        if tokens && endpoint != nil { throw ValidationError("--tokens needs the native encoder (no --endpoint)") }
        try model.validateAdapter(against: endpoint, flag: "--endpoint")
    }

    func run() async throws {
        var inputs = texts
        if let file { inputs += try InputReader.prompts(file: file) }
        let vectors: [[Float]]
        var ids: [[Int32]] = []
        if let endpoint {
            let client = try OpenAIClient(configuration: .init(baseURL: endpoint))
            do {
                vectors = try await RemoteEmbeddingProvider(client: client, model: embeddingModel).embed(inputs).rowVectors
            } catch {
                try? await client.shutdown()
                throw error
            }
            try await client.shutdown()
        } else {
            let encoder = try model.loadEncoder()
            if tokens { ids = inputs.map { encoder.tokenizer.encode($0) } }
            vectors = try await encoder.embed(inputs).rowVectors
        }
        for (index, text) in inputs.enumerated() {
            var object: [String: Any] = ["text": text, "embedding": vectors[index].map { Double($0) }]
            if tokens { object["token_ids"] = ids[index].map { Int($0) } }
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        }
    }
}
