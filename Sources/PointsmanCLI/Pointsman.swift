import ArgumentParser

/// The `pointsman` command: routes prompts to the cheapest model that can do the job.
@main
struct Pointsman: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pointsman",
        abstract: "A semantic model router for OpenAI-compatible endpoints.",
        version: "0.1.0",
        subcommands: [
            RouteCommand.self, PipelineCommand.self, CatalogCommand.self, EmbedCommand.self, ModelCommand.self,
            TrainCommand.self, EvalCommand.self, ViewsCommand.self, ServeCommand.self, MCPCommand.self, BenchCommand.self,
        ]
    )
}
