import ArgumentParser
import Foundation
import PointsmanCore

struct CatalogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog",
        abstract: "Check or show a model catalog.",
        subcommands: [Validate.self, Show.self])

    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check a catalog file; exit 1 naming the field at fault.")

        @Argument(help: "The catalog file (JSON, or YAML by extension).")
        var file: String

        func run() async throws {
            let catalog = try Catalog.load(from: file)
            print("\(file): valid, \(catalog.models.count) models, capabilities: \(catalog.capabilities.joined(separator: ", "))")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a catalog (the shipped one by default).")

        @OptionGroup var routing: RoutingOptions

        @Flag(name: .long, help: "Print the catalog as JSON (a valid catalog file).")
        var json = false

        func run() async throws {
            let catalog = try routing.loadCatalog()
            if json {
                print(catalog.jsonText())
                return
            }
            let selector = ModelSelector()
            print("default model: \(catalog.defaultModel)")
            if let rule = catalog.escalation {
                print("escalation: -> \(rule.target) when longer than \(rule.maxPromptCharacters.map(String.init) ?? "-") characters or mentioning \(rule.keywords.joined(separator: ", "))")
            }
            print("")
            print(pad("model", 22) + pad("priority", 9) + pad("$/1K in", 10) + pad("$/1K out", 10) + "capabilities")
            for model in catalog.models {
                print(pad(model.alias, 22) + pad(String(model.priority), 9) + pad(String(model.costPer1KInput), 10)
                      + pad(String(model.costPer1KOutput), 10) + model.capabilities.joined(separator: ", "))
            }
            print("")
            print("capability -> model")
            for capability in catalog.capabilities {
                let chosen = selector.select(capability: capability, prompt: "", in: catalog).model.alias
                print("  " + pad(capability, 16) + chosen)
            }
        }

        func pad(_ s: String, _ width: Int) -> String {
            s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
        }
    }
}
