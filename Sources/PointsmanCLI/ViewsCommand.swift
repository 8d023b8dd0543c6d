import ArgumentParser
import Foundation
import PointsmanCore

/// `pointsman views`: what the encoder reads of each prompt, so that an encoder adapter can be trained on exactly the
/// texts the router embeds, and so that a user can see why a prompt in another language routed as it did.
struct ViewsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "views",
        abstract: "Print what the encoder reads of each prompt (JSON Lines): its prompt view, or the view of its gloss.",
        discussion: """
            With --config: every training row of that config (its data files and DATA), in the trainer's order, with \
            its label and group: the texts an encoder adapter for the config should learn from. With --centroids: \
            the prompts given as arguments or with --file, as routing with that file reads them. Each line has \
            "text" (as written), "language", and "encoder": the texts embedded for it (one, or two in blend mode).
            """)

    @Argument(help: "With --centroids: prompts. With --config: labeled data files added to the config's.")
    var inputs: [String] = []

    @Option(name: .long, help: "Training config (JSON): print the encoder's texts for its training rows.")
    var config: String?

    @Option(name: .long, help: "Centroid file: print the encoder's texts for the given prompts as routing with it reads them.")
    var centroids: String?

    @Option(name: .long, help: "With --centroids: read prompts from a file (one per line, or JSON Lines with a \"text\" field).")
    var file: String?

    func validate() throws {
        switch (config, centroids) {
        case (nil, nil): throw ValidationError("give --config FILE (training rows) or --centroids FILE (prompts)")
        case (.some, .some): throw ValidationError("give --config or --centroids, not both")
        case (.some, nil):
            if file != nil { throw ValidationError("--file goes with --centroids; with --config, give data files as arguments") }
        case (nil, .some):
            if inputs.isEmpty && file == nil { throw ValidationError("give prompts as arguments or --file PATH") }
        }
    }

    func run() async throws {
        if let config {
            var configuration = try TrainingConfiguration.load(from: config)
            configuration.data += inputs
            let rows = try CentroidTrainer.loadRows(configuration)
            let glossaries = GlossarySet(try configuration.gloss.map { settings throws(DatasetError) in try settings.load() })
            try write(rows.map(\.text), glossaries: glossaries, promptView: configuration.promptView) { index in
                var extra: [String: Any] = ["label": rows[index].label]
                if let group = rows[index].group { extra["group"] = group }
                return extra
            }
        } else if let centroids {
            let artifact = try CentroidArtifact.load(from: centroids)
            var prompts = inputs
            if let file { prompts += try InputReader.prompts(file: file) }
            try write(prompts, glossaries: GlossarySet(artifact.gloss), promptView: artifact.promptView) { _ in [:] }
        }
    }

    private func write(
        _ prompts: [String], glossaries: GlossarySet, promptView: PromptView?, extra: (Int) -> [String: Any]
    ) throws {
        let (read, glossed, languages) = glossaries.views(of: prompts, promptView: promptView)
        var output = ""
        for index in prompts.indices {
            let encoder = glossaries.encoderTexts(read: read[index], glossed: glossed[index])
            var object = extra(index)
            object["text"] = prompts[index]
            object["language"] = languages[index] ?? LanguageDetector.detect(prompts[index])
            object["encoder"] = encoder
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            output += String(decoding: data, as: UTF8.self) + "\n"
            if output.utf8.count > 1 << 16 {
                FileHandle.standardOutput.write(Data(output.utf8))
                output = ""
            }
        }
        FileHandle.standardOutput.write(Data(output.utf8))
    }
}
