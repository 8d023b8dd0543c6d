import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import PointsmanTestSupport
import Testing

/// Prompts that several rules match, routed below by centroids that are never sure.
let unsurePrompts = ["Summarize and translate and classify this code poem", "Translate the comments of this Python function",
                     "Write a poem that explains why the sky is blue", "How many words should a short story have?"]

/// The shipped task centroids with every threshold at 1: every prompt falls below it, so the rules always have a say.
func unsureCentroids(in dir: String) throws -> String {
    var file = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: TestPaths.repositoryFile("centroids/tasks.json")))) as! [String: Any]
    file["thresholds"] = (file["thresholds"] as! [String: Any]).mapValues { _ in 1.0 }
    file["default_threshold"] = 1.0
    let path = dir + "/unsure-centroids.json"
    try JSONSerialization.data(withJSONObject: file).write(to: URL(fileURLWithPath: path))
    return path
}

func json(_ line: String) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]) ?? [:]
}

/// A failed run: non-zero exit, exactly one line on stderr, no crash report.
func expectCleanFailure(_ run: PointsmanBinary.Run, mentioning text: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(run.status != 0, sourceLocation: sourceLocation)
    let lines = run.stderr.split(separator: "\n")
    #expect(lines.count == 1, "stderr: \(run.stderr)", sourceLocation: sourceLocation)
    #expect(run.stderr.contains(text), "stderr: \(run.stderr)", sourceLocation: sourceLocation)
    #expect(!run.stderr.contains("Fatal error") && !run.stderr.contains("Stack dump"), sourceLocation: sourceLocation)
}

@Suite("pointsman command line")
struct CLITests {
    @Test("route --json prints one object with the decision fields")
    func routeJSON() throws {
        let run = try PointsmanBinary.run(["route", "--detector", "regex", "Refactor this Python function for readability", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdoutLines.count == 1)
        let decision = json(run.stdout)
        #expect(decision["capability"] as? String == "code")
        #expect(decision["model"] as? String == "deepseek-coder-1.3b")
        #expect(decision["method"] as? String == "regex")
        #expect(decision["confidence"] as? Double == 1)
        #expect(decision["escalated"] as? Bool == false)
        #expect(decision.keys.contains("label"))
    }

    @Test("route reads - from standard input")
    func routeStdin() throws {
        let run = try PointsmanBinary.run(["route", "--detector", "regex", "-", "--json"], stdin: Data("Classify this feedback: The UI is slow but pretty".utf8))
        #expect(run.status == 0)
        #expect(json(run.stdout)["model"] as? String == "qwen2.5-0.5b")
    }

    @Test("route --file writes one decision per line in input order")
    func routeFile() throws {
        let dir = TestPaths.temporaryDirectory("cli")
        let file = dir + "/prompts.jsonl"
        try """
        {"text": "Translate good night into German"}
        Summarize this report in two sentences
        {"text": "Who painted the Mona Lisa?", "id": 7}
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let run = try PointsmanBinary.run(["route", "--detector", "regex", "--file", file, "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdoutLines.map { json($0)["capability"] as? String } == ["translation", "summarize", "qa"])
    }

    @Test("bad input exits non-zero with one clear line", arguments: [
        (["route", ""], "the prompt is empty"),
        (["route", "   "], "the prompt is empty"),
        (["route", "--catalog", "/nonexistent/catalog.json", "hello"], "/nonexistent/catalog.json"),
        (["route", "--rules", "/nonexistent/rules.json", "--detector", "regex", "hello"], "/nonexistent/rules.json"),
        (["route", "--file", "/nonexistent/prompts.txt"], "/nonexistent/prompts.txt"),
        (["catalog", "validate", "/nonexistent.json"], "/nonexistent.json"),
        (["serve", "--port", "18997", "--database-url", "mysql://u:secret@127.0.0.1/db"], "postgres://user:password@host"),
        (["serve", "--port", "18997", "--database-url", "postgres://u:secret@127.0.0.1:9/db"], "the database at 127.0.0.1:9"),
    ])
    func badInput(arguments: [String], mention: String) throws {
        let run = try PointsmanBinary.run(arguments)
        expectCleanFailure(run, mentioning: mention)
        #expect(!run.stderr.contains("secret"), "the database password must not appear: \(run.stderr)")
    }

    @Test("route --needs and --max-tokens keep models that cannot serve the request out; none left is a clean error")
    func needs() throws {
        let tools = try PointsmanBinary.run(["route", "--detector", "regex", "--needs", "tools", "--json", "Write a haiku about snow"])
        #expect(tools.status == 0, "\(tools.stderr)")
        // mistral-7b writes poems but declares no tool calls: the nearest able model that declares creative answers.
        #expect(json(tools.stdout)["model"] as? String == "gpt-oss-20b")
        #expect((json(tools.stdout)["reasons"] as? [String])?.contains("passed over mistral-7b (no tool calls)") == true)
        let plain = try PointsmanBinary.run(["route", "--detector", "regex", "--json", "Write a haiku about snow"])
        #expect(json(plain.stdout)["model"] as? String == "mistral-7b")
        // mistral-7b's 8,192-token window cannot hold 10,000 output tokens.
        let long = try PointsmanBinary.run(["route", "--detector", "regex", "--max-tokens", "10000", "--json", "Write a haiku about snow"])
        #expect(json(long.stdout)["model"] as? String == "gpt-oss-20b")
        expectCleanFailure(try PointsmanBinary.run(["route", "--detector", "regex", "--needs", "vision", "Describe this photo"]),
                           mentioning: "no image input")
    }

    @Test("usage errors start with one Error line naming the option, then the usage", arguments: [
        (["route"], "PROMPT"),
        (["pipeline", "x", "--steps", "0"], "--steps"),
        (["route", "x", "--detector", "psychic"], "psychic"),
        (["route", "x", "--embed-timeout", "0"], "--embed-timeout"),
        (["route", "x", "--rule-candidates", "0"], "--rule-candidates"),
        (["train", "d.jsonl", "--out", "c.json", "--lexical-weight", "-1"], "--lexical-weight"),
        (["train", "d.jsonl", "--out", "c.json", "--search-seconds", "0"], "--search-seconds"),
        (["train", "d.jsonl", "--out", "c.json", "--fast", "--search-seconds", "5"], "--fast"),
        (["train", "d.jsonl", "--out", "c.json", "--search-seconds", "1e16"], "at most 604800"),
        (["eval", "x", "--rule-candidates", "some"], "--rule-candidates"),
        (["serve", "--batch-max-tokens", "0"], "--batch-max-tokens"),
        (["route", "x", "--needs", "tools,telepathy"], "telepathy"),
        (["mcp", "--watch", "-1"], "--watch"),
        (["mcp", "--decisions", "0"], "--decisions"),
        (["serve", "--mcp-max-sessions", "0"], "--mcp-max-sessions"),
        (["serve", "--log-format", "xml"], "--log-format must be text or json"),
        (["serve", "--decision-spill", "/tmp/spill.jsonl"], "--decision-spill needs --database-url"),
        (["serve", "--otlp-endpoint", "collector:4318"], "--otlp-endpoint must be an http(s) URL"),
    ])
    func usageErrors(arguments: [String], mention: String) throws {
        let run = try PointsmanBinary.run(arguments)
        #expect(run.status != 0)
        let first = run.stderr.split(separator: "\n").first.map(String.init) ?? ""
        #expect(first.hasPrefix("Error:") && first.contains(mention), "\(run.stderr)")
    }

    @Test("serve refuses a key that is both a client key and an admin key")
    func adminKeyOverlap() throws {
        let run = try PointsmanBinary.run(["serve", "--port", "18996"],
                                          environment: ["POINTSMAN_SERVICE_API_KEYS": "k-one,k-two", "POINTSMAN_SERVICE_ADMIN_KEYS": "k-two"])
        #expect(run.status != 0)
        let first = run.stderr.split(separator: "\n").first.map(String.init) ?? ""
        #expect(first.hasPrefix("Error:") && first.contains("admin keys must be kept apart"), "\(run.stderr)")
    }

    @Test("invalid UTF-8 on standard input is refused")
    func invalidUTF8() throws {
        let run = try PointsmanBinary.run(["route", "-"], stdin: Data([0xFF, 0xFE, 0x41]))
        expectCleanFailure(run, mentioning: "not valid UTF-8")
    }

    @Test("catalog validate names the field at fault; a good catalog validates")
    func catalogValidate() throws {
        let dir = TestPaths.temporaryDirectory("cli")
        try #"{"default_model":"a","models":[{"alias":"a","capabilities":["x"],"priority":1,"fallbacks":["zz"]}]}"#
            .write(toFile: dir + "/bad.json", atomically: true, encoding: .utf8)
        expectCleanFailure(try PointsmanBinary.run(["catalog", "validate", dir + "/bad.json"]), mentioning: "models[0].fallbacks[0]")
        let shown = try PointsmanBinary.run(["catalog", "show", "--json"])
        #expect(shown.status == 0)
        try shown.stdout.write(toFile: dir + "/shipped.json", atomically: true, encoding: .utf8)
        let valid = try PointsmanBinary.run(["catalog", "validate", dir + "/shipped.json"])
        #expect(valid.status == 0)
        #expect(valid.stdout.contains("valid, 7 models"))
    }

    @Test("an endpoint that is down is one clear line naming it")
    func endpointDown() throws {
        let run = try PointsmanBinary.run(["route", "--detector", "regex", "hello there", "--run", "--endpoint", "http://127.0.0.1:9/v1", "--retries", "0"])
        expectCleanFailure(run, mentioning: "http://127.0.0.1:9/v1")
        #expect(run.stderr.contains("connection refused"))
    }

    @Test("the endpoint comes from POINTSMAN_ENDPOINT, then FOUNDRY_LOCAL_ENDPOINT")
    func endpointEnvironment() throws {
        let a = try PointsmanBinary.run(["route", "--detector", "regex", "hi", "--run", "--retries", "0"],
                                          environment: ["POINTSMAN_ENDPOINT": "http://127.0.0.1:9/v1", "FOUNDRY_LOCAL_ENDPOINT": "http://127.0.0.1:7/v1"])
        #expect(a.stderr.contains("127.0.0.1:9"))
        let b = try PointsmanBinary.run(["route", "--detector", "regex", "hi", "--run", "--retries", "0"],
                                          environment: ["POINTSMAN_ENDPOINT": "", "FOUNDRY_LOCAL_ENDPOINT": "http://127.0.0.1:7/v1"])
        #expect(b.stderr.contains("127.0.0.1:7"))
    }
}

@Suite("pointsman against the real llama peer", .serialized)
struct CLIPeerTests {
    @Test("route --run streams the chosen model's answer")
    func routeRun() throws {
        let url = try Peers.llama()
        let run = try PointsmanBinary.run(["route", "--detector", "regex", "Write a haiku about the sea", "--run", "--endpoint", url])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdoutLines.first?.hasPrefix("creative -> mistral-7b") == true)
        #expect(run.stdoutLines.count > 3)
    }

    @Test("pipeline --deterministic --trace --json writes the trace and the result")
    func pipeline() throws {
        let url = try Peers.llama()
        let trace = TestPaths.temporaryDirectory("cli") + "/trace.jsonl"
        let run = try PointsmanBinary.run(["pipeline", "Refactor a slow loop and summarize the gains", "--deterministic",
                                            "--steps", "2", "--max-tokens", "32", "--trace", trace, "--json", "--endpoint", url])
        #expect(run.status == 0, "\(run.stderr)")
        let result = json(run.stdout)
        #expect(!(result["final"] as? String ?? "").isEmpty)
        let lines = try TestPaths.jsonLines(trace)
        #expect(lines.count == result["calls"] as? Int)
        #expect(lines.first?["phase"] as? String == "plan")
    }
}

@Suite("pointsman embed")
struct EmbedCLITests {
    @Test("texts and --file, in input order, with --tokens")
    func native() throws {
        let file = TestPaths.temporaryDirectory("embed") + "/in.jsonl"
        try "{\"text\": \"third\"}\nfourth\n".write(toFile: file, atomically: true, encoding: .utf8)
        let run = try PointsmanBinary.run(["embed", "first", "second", "--file", file, "--tokens"])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdoutLines.map(json)
        #expect(lines.map { $0["text"] as? String } == ["first", "second", "third", "fourth"])
        #expect(lines.allSatisfy { ($0["embedding"] as? [Double])?.count == 384 })
        #expect(lines[0]["token_ids"] as? [Int] == [101, 2034, 102])
    }

    @Test("--endpoint uses a real OpenAI-compatible server and agrees with the native encoder")
    func remote() throws {
        let url = try Peers.infinity()
        let remote = try PointsmanBinary.run(["embed", "route this prompt", "--endpoint", url])
        let native = try PointsmanBinary.run(["embed", "route this prompt"])
        #expect(remote.status == 0 && native.status == 0, "\(remote.stderr) \(native.stderr)")
        let a = json(remote.stdout)["embedding"] as? [Double] ?? []
        let b = json(native.stdout)["embedding"] as? [Double] ?? []
        #expect(a.count == 384 && b.count == 384)
        let dot = zip(a, b).map(*).reduce(0, +)
        #expect(dot > 0.9999)
        // An endpoint's vectors are stock MiniLM sentence vectors: routing through it defaults to the task router
        // trained on those (centroids/tasks-sentence.json), not the adapted one only the native encoder can feed.
        let routed = try PointsmanBinary.run(["route", "Write a Python function that merges two sorted lists", "--embedding-endpoint", url, "--json"])
        #expect(routed.status == 0, "\(routed.stderr)")
        #expect(json(routed.stdout)["label"] as? String == "code", "\(routed.stdout)")
        #expect(json(routed.stdout)["method"] as? String == "embedding", "the endpoint's vectors decided: \(routed.stdout)")
    }

    @Test("a missing model folder is one clear line")
    func missingModel() throws {
        let run = try PointsmanBinary.run(["embed", "x", "--model-dir", "/nonexistent/model"])
        expectCleanFailure(run, mentioning: "pointsman model fetch")
    }
}

@Suite("pointsman train and embedding routing")
struct TrainCLITests {
    @Test("the default route uses the shipped centroids and says which label won")
    func defaultHybrid() throws {
        let run = try PointsmanBinary.run(["route", "Write a Python function that merges two sorted lists", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let decision = json(run.stdout)
        #expect(decision["capability"] as? String == "code")
        #expect(decision["method"] as? String == "embedding")
        #expect(decision["label"] as? String == "code")
        // The default is the adapted task router (with its encoder adapter), not the stock one: same confidence as
        // the adapted file named explicitly, another than the stock file's.
        func confidence(_ extra: [String]) throws -> Double? {
            let run = try PointsmanBinary.run(["route", "Write a Python function that merges two sorted lists", "--json"] + extra)
            return json(run.stdout)["confidence"] as? Double
        }
        let adapted = try confidence(["--centroids", TestPaths.repositoryFile("centroids/tasks-adapted.json")])
        let stock = try confidence(["--centroids", TestPaths.repositoryFile("centroids/tasks.json")])
        #expect(adapted != nil && decision["confidence"] as? Double == adapted)
        #expect(stock != nil && stock != adapted)
    }

    @Test("route --file --json: one decision per line, in order, with label null when abstained or regex")
    func fileDecisions() throws {
        let file = TestPaths.temporaryDirectory("cli") + "/p.txt"
        try "Translate 'good night' into Italian\nWrite a haiku about tea\nhmm\n".write(toFile: file, atomically: true, encoding: .utf8)
        let hybrid = try PointsmanBinary.run(["route", "--file", file, "--json"])
        #expect(hybrid.status == 0, "\(hybrid.stderr)")
        let lines = hybrid.stdoutLines.map(json)
        #expect(lines.count == 3)
        #expect(lines[0]["capability"] as? String == "translation")
        #expect(lines[1]["capability"] as? String == "creative")
        for line in lines {
            for key in ["capability", "model", "method", "confidence", "escalated", "label"] { #expect(line.keys.contains(key)) }
            if line["method"] as? String != "embedding" { #expect(line["label"] is NSNull) }
        }
        let regex = try PointsmanBinary.run(["route", "--file", file, "--json", "--detector", "regex"])
        #expect(regex.stdoutLines.map(json).allSatisfy { $0["label"] is NSNull && $0["method"] as? String == "regex" })
    }

    @Test("--rule-candidates bounds what the regex rules may choose when the centroids are unsure")
    func ruleCandidates() throws {
        let dir = TestPaths.temporaryDirectory("cli")
        let file = dir + "/unsure.txt"
        try unsurePrompts.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let centroids = try unsureCentroids(in: dir)
        func decisions(_ candidates: String?) throws -> [(capability: String, ranked: [String], method: String)] {
            let run = try PointsmanBinary.run(["route", "--file", file, "--json", "--centroids", centroids]
                                               + (candidates.map { ["--rule-candidates", $0] } ?? []))
            #expect(run.status == 0, "\(run.stderr)")
            return run.stdoutLines.map(json).map { line in
                let scores = line["scores"] as? [String: Double] ?? [:]
                return (line["capability"] as? String ?? "", scores.sorted { $0.value > $1.value }.map(\.key),
                        line["method"] as? String ?? "")
            }
        }
        let any = try decisions(nil), two = try decisions("2"), one = try decisions("1")
        #expect(any.count == unsurePrompts.count && two.count == unsurePrompts.count && one.count == unsurePrompts.count)
        // Below threshold, two candidates: whatever decides, it is one of the two best capabilities.
        #expect(two.allSatisfy { $0.ranked.prefix(2).contains($0.capability) })
        #expect(two.contains { $0.method == "fallback" })
        // One candidate: the rules can only confirm the centroids' best capability.
        #expect(one.allSatisfy { $0.capability == $0.ranked.first })
        // Any rule (the default): these unsure prompts include some where a rule overrules the centroids.
        #expect(any.contains { $0.method == "fallback" && $0.capability != $0.ranked.first })
    }

    @Test("route --file with hundreds of prompts embeds them all: no prompt falls back for lack of time")
    func longFile() throws {
        let file = TestPaths.temporaryDirectory("cli") + "/many.txt"
        let prompts = (0..<300).map { "Write a haiku about tea, number \($0)" }
        try prompts.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let run = try PointsmanBinary.run(["route", "--file", file, "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdoutLines.map(json)
        #expect(lines.count == 300)
        let unavailable = lines.filter { (($0["reasons"] as? [String]) ?? []).contains { $0.contains("embedder unavailable") } }
        #expect(unavailable.isEmpty)
        #expect(lines.allSatisfy { $0["capability"] as? String == "creative" })
    }

    @Test("eval --holdout on final-fit centroids retrains without the held-out rows and says so; plain centroids are used as they are")
    func holdoutWithFinalFit() throws {
        let dir = TestPaths.temporaryDirectory("cli-final")
        var lines: [String] = []
        for (label, texts) in [("code", ["write a python function", "fix this javascript bug", "sort a list in go", "a sql query for sales",
                                          "refactor this java class", "unit tests for my function"]),
                               ("creative", ["write a poem about rain", "a bedtime story about a fox", "a haiku about snow",
                                             "song lyrics about summer", "a short story about a robot", "a limerick about a cat"])] {
            for (i, t) in texts.enumerated() {
                lines.append(#"{"text": "\#(t)", "capability": "\#(label)", "group": "\#(label)-g\#(i % 3)"}"#)
            }
        }
        try lines.joined(separator: "\n").write(toFile: dir + "/d.jsonl", atomically: true, encoding: .utf8)
        for finalFit in [true, false] {
            let config = #"{"name": "small", "data": ["d.jsonl"], "label_field": "capability", "k": 1, "final_fit": \#(finalFit)}"#
            try config.write(toFile: dir + "/small.config.json", atomically: true, encoding: .utf8)
            let train = try PointsmanBinary.run(["train", "--config", dir + "/small.config.json", "--out", dir + "/c.json",
                                                  "--cache-dir", dir + "/cache"])
            #expect(train.status == 0, "\(train.stderr)")
            let eval = try PointsmanBinary.run(["eval", "--config", dir + "/small.config.json", "--holdout", "--centroids", dir + "/c.json",
                                                 "--cache-dir", dir + "/cache", "--json", "--latency-sample", "1"])
            #expect(eval.status == 0, "\(eval.stderr)")
            #expect(eval.stderr.contains("final_fit") == finalFit, "\(eval.stderr)")
            #expect(eval.stdout.contains("held-out validation split"))
        }
    }

    @Test("train writes a centroid file that route can use; a file for another embedder is refused")
    func trainAndUse() throws {
        let dir = TestPaths.temporaryDirectory("cli-train")
        try writeGreetingData(to: dir + "/d.jsonl")
        let train = try PointsmanBinary.run(["train", dir + "/d.jsonl", "--out", dir + "/c.json", "--k", "1", "--cache-dir", dir + "/cache"])
        #expect(train.status == 0, "\(train.stderr)")
        #expect(train.stdout.contains("2 labels"))
        #expect(train.stderr.contains("embedding: 12/12"))  // plain progress lines when not a terminal
        let routed = try PointsmanBinary.run(["route", "--centroids", dir + "/c.json", "--detector", "embedding", "see ya later", "--json"])
        #expect(json(routed.stdout)["label"] as? String == "farewell", "\(routed.stderr)")
        // Without a config the recipe is searched (k pinned by --k here); --fast makes one fit.
        #expect(train.stdout.contains("recipe search (3 folds"), "\(train.stdout)")
        #expect(train.stdout.contains("chose k 1"))
        let fast = try PointsmanBinary.run(["train", dir + "/d.jsonl", "--out", dir + "/fast.json", "--fast", "--cache-dir", dir + "/cache"])
        #expect(fast.status == 0, "\(fast.stderr)")
        #expect(!fast.stdout.contains("recipe search"))

        var foreign = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/c.json"))) as! [String: Any]
        var embedder = foreign["embedder"] as! [String: Any]
        embedder["weights_hash"] = "0000"
        foreign["embedder"] = embedder
        try JSONSerialization.data(withJSONObject: foreign).write(to: URL(fileURLWithPath: dir + "/foreign.json"))
        let refused = try PointsmanBinary.run(["route", "--centroids", dir + "/foreign.json", "hello"])
        expectCleanFailure(refused, mentioning: "not comparable")
    }

    @Test("--encoder-adapter: train and route with an adapted encoder; the file records the adapter and is refused without it")
    func encoderAdapter() throws {
        let dir = TestPaths.temporaryDirectory("cli-adapter")
        let adapter = TestPaths.fixture("adapter/adapter.safetensors")
        try writeGreetingData(to: dir + "/d.jsonl")
        let train = try PointsmanBinary.run(["train", dir + "/d.jsonl", "--out", dir + "/c.json", "--fast", "--k", "1",
                                             "--cache-dir", dir + "/cache", "--encoder-adapter", adapter])
        #expect(train.status == 0, "\(train.stderr)")
        let file = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/c.json"))) as! [String: Any]
        #expect((file["embedder"] as? [String: Any])?["adapter"] as? String == (try sha256(of: adapter)))
        let routed = try PointsmanBinary.run(["route", "--centroids", dir + "/c.json", "--detector", "embedding", "see ya later",
                                              "--json", "--encoder-adapter", adapter])
        #expect(json(routed.stdout)["label"] as? String == "farewell", "\(routed.stderr)")
        // The environment variable does what the flag does.
        let fromEnvironment = try PointsmanBinary.run(
            ["route", "--centroids", dir + "/c.json", "--detector", "embedding", "hello", "--json"],
            environment: ["POINTSMAN_ENCODER_ADAPTER": adapter])
        #expect(json(fromEnvironment.stdout)["label"] as? String == "greeting", "\(fromEnvironment.stderr)")
        // The file names its adapter (relative to itself), so routing loads it without being told.
        #expect((file["embedder"] as? [String: Any])?["adapter_file"] as? String == relativeToDir(adapter, from: dir))
        let told = try PointsmanBinary.run(["route", "--centroids", dir + "/c.json", "--detector", "embedding", "see ya later", "--json"])
        #expect(json(told.stdout)["label"] as? String == "farewell", "\(told.stderr)")
        // Another adapter given explicitly wins over the file's, and is refused: its vectors differ.
        let other = dir + "/other.safetensors"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: adapter))
        bytes[bytes.count - 1] ^= 0x01  // one bit of one value: another adapter, another sha256
        try bytes.write(to: URL(fileURLWithPath: other))
        expectCleanFailure(try PointsmanBinary.run(["route", "--centroids", dir + "/c.json", "hello", "--encoder-adapter", other]),
                           mentioning: "needs the encoder adapter whose sha256 is")
        // A file whose adapter is gone says which file it needs.
        var moved = file
        var embedder = moved["embedder"] as! [String: Any]
        embedder["adapter_file"] = "gone.safetensors"
        moved["embedder"] = embedder
        try JSONSerialization.data(withJSONObject: moved).write(to: URL(fileURLWithPath: dir + "/moved.json"))
        expectCleanFailure(try PointsmanBinary.run(["route", "--centroids", dir + "/moved.json", "hello"]),
                           mentioning: dir + "/gone.safetensors, which does not exist")
        // With an adapter, the plain shipped file is refused too, and so is the default (adapted with another one).
        expectCleanFailure(try PointsmanBinary.run(["route", "hello", "--encoder-adapter", adapter,
                                                    "--centroids", TestPaths.repositoryFile("centroids/tasks.json")]),
                           mentioning: "trained without an encoder adapter")
        expectCleanFailure(try PointsmanBinary.run(["route", "hello", "--encoder-adapter", adapter]),
                           mentioning: "needs the encoder adapter whose sha256 is")
        // An adapter cannot change an endpoint's vectors.
        let both = try PointsmanBinary.run(["embed", "hi", "--endpoint", "http://127.0.0.1:9/v1", "--encoder-adapter", adapter])
        #expect(both.status != 0 && both.stderr.contains("--encoder-adapter changes the native encoder"), "\(both.stderr)")
        // The config's encoder_adapter (relative to the config) ends up relative to the output file; an exported
        // POINTSMAN_ENCODER_ADAPTER does not override the config's.
        try FileManager.default.createDirectory(atPath: dir + "/cfg", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/out", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: adapter, toPath: dir + "/cfg/adapter.safetensors")
        try #"{"name": "x", "data": ["../d.jsonl"], "k": 1, "encoder_adapter": "adapter.safetensors"}"#
            .write(toFile: dir + "/cfg/x.config.json", atomically: true, encoding: .utf8)
        let fromConfig = try PointsmanBinary.run(
            ["train", "--config", dir + "/cfg/x.config.json", "--out", dir + "/out/x.json", "--fast", "--cache-dir", dir + "/cache"],
            environment: ["POINTSMAN_ENCODER_ADAPTER": other])
        #expect(fromConfig.status == 0, "\(fromConfig.stderr)")
        #expect(fromConfig.stderr.contains("encoder adapter: \(dir)/cfg/adapter.safetensors"), "\(fromConfig.stderr)")
        let written = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/out/x.json"))) as! [String: Any]
        #expect((written["embedder"] as? [String: Any])?["adapter_file"] as? String == "../cfg/adapter.safetensors")
        #expect((written["embedder"] as? [String: Any])?["adapter"] as? String == (try sha256(of: adapter)))
        expectCleanFailure(try PointsmanBinary.run(["train", "--config", dir + "/cfg/x.config.json", "--out", dir + "/out/y.json",
                                                    "--endpoint", "http://127.0.0.1:9/v1"]),
                           mentioning: "cannot apply to vectors from --endpoint")
        // eval --holdout measures a config on the encoder its adapter makes (the shipped default file, final-fit, is
        // retrained by the config on the config's adapter), or refuses: never silently on another encoder.
        let holdout = try PointsmanBinary.run(["eval", "--config", dir + "/cfg/x.config.json", "--holdout", "--cache-dir", dir + "/cache"])
        #expect(holdout.status == 0 && holdout.stderr.contains("evaluating centroids trained now by \(dir)/cfg/x.config.json without the held-out rows"), "\(holdout.stderr)")
        #expect(holdout.stderr.contains("encoder adapter: \(dir)/cfg/adapter.safetensors"), "\(holdout.stderr)")
        #expect(holdout.stdout.contains("embedding"), "\(holdout.stdout)")
        // A broken adapter is one clear line naming it.
        try Data("not safetensors".utf8).write(to: URL(fileURLWithPath: dir + "/broken.safetensors"))
        expectCleanFailure(try PointsmanBinary.run(["embed", "hi", "--encoder-adapter", dir + "/broken.safetensors"]),
                           mentioning: dir + "/broken.safetensors")
    }

    @Test("training with word features gives the same file in every process (no hashing order leaks in)")
    func lexicalDeterministic() throws {
        let dir = TestPaths.temporaryDirectory("cli-train")
        // Long rows over a small vocabulary: many known terms per row, so a sum taken in another order would show.
        let words = ["please", "translate", "summarize", "write", "poem", "report", "sentence", "french", "sea", "lines",
                     "short", "long", "about", "into", "the", "story", "text", "email", "notes", "meeting"]
        var lines: [String] = []
        var state: UInt64 = 42
        for i in 0..<36 {
            let label = ["translation", "summarize", "creative"][i % 3]
            let text = (0..<30).map { _ -> String in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return words[Int(state >> 33) % words.count]
            }.joined(separator: " ")
            lines.append(#"{"text": "\#(["translate", "summarize", "poem"][i % 3]) \#(text)", "label": "\#(label)", "group": "g\#(i % 4)"}"#)
        }
        try lines.joined(separator: "\n").write(toFile: dir + "/d.jsonl", atomically: true, encoding: .utf8)
        try #"{"name": "words", "data": ["d.jsonl"], "max_k": 2, "lexical": {"weight": 1.5, "max_terms": 400}}"#
            .write(toFile: dir + "/words.config.json", atomically: true, encoding: .utf8)
        func centroids(_ out: String) throws -> (data: String, lexical: [String: Any]) {
            let run = try PointsmanBinary.run(["train", "--config", dir + "/words.config.json", "--out", dir + "/" + out,
                                                "--cache-dir", dir + "/cache"])
            #expect(run.status == 0, "\(run.stderr)")
            let file = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/" + out))) as! [String: Any]
            return ((file["centroids"] as? [String: Any])?["data"] as? String ?? "", file["lexical"] as? [String: Any] ?? [:])
        }
        let first = try centroids("a.json"), second = try centroids("b.json")
        #expect(!first.data.isEmpty)
        let identical = first.data == second.data  // not compared inside #expect, which would print both files
        #expect(identical, "two processes wrote different centroids from the same data and config")
        #expect((first.lexical["terms"] as? [String])?.contains("translate") == true)
        let routed = try PointsmanBinary.run(["route", "--centroids", dir + "/a.json", "--detector", "embedding",
                                               "translate please", "--json"])
        #expect(routed.status == 0, "\(routed.stderr)")
        // --lexical-weight sets the weight without a config, and 0 turns a config's word features off.
        func lexical(_ arguments: [String]) throws -> [String: Any]? {
            let run = try PointsmanBinary.run(["train"] + arguments + ["--out", dir + "/f.json", "--cache-dir", dir + "/cache"])
            #expect(run.status == 0, "\(run.stderr)")
            let file = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/f.json"))) as! [String: Any]
            return file["lexical"] as? [String: Any]
        }
        #expect(try lexical([dir + "/d.jsonl", "--lexical-weight", "0.75"])?["weight"] as? Double == 0.75)
        #expect(try lexical(["--config", dir + "/words.config.json", "--lexical-weight", "0"]) == nil)
    }
}

@Suite("pointsman views")
struct ViewsCLITests {
    @Test("--centroids: a prompt in a glossed language is read as its gloss, an English one as written, a long one cut to the prompt view")
    func centroidFile() throws {
        let long = (1...60).map { "word\($0)" }.joined(separator: " ")
        let run = try PointsmanBinary.run(["views", "--centroids", TestPaths.repositoryFile("centroids/tasks-adapted.json"),
                                           "Écris-moi un poème sur la mer, s'il te plaît", "Write a haiku about the sea", long])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdoutLines.map(json)
        #expect(lines.count == 3)
        #expect(lines.map { $0["text"] as? String } == ["Écris-moi un poème sur la mer, s'il te plaît", "Write a haiku about the sea", long])
        #expect(lines.map { $0["language"] as? String } == ["fr", "en", "en"])
        let french = lines[0]["encoder"] as? [String] ?? []
        #expect(french.count == 1 && french[0].contains("poem") && !french[0].contains("poème"), "\(french)")
        #expect(lines[1]["encoder"] as? [String] == ["Write a haiku about the sea"])
        let cut = (lines[2]["encoder"] as? [String])?.first?.split(separator: " ").map(String.init) ?? []
        let expected = (1...24).map { "word\($0)" } + ["…"] + (45...60).map { "word\($0)" }
        #expect(cut == expected, "24 head words, a mark, 16 tail words")
    }

    @Test("--config: every training row in order with its label and group; blend mode gives two texts")
    func config() throws {
        let dir = TestPaths.temporaryDirectory("views")
        let rows = [#"{"text": "Traduis cette phrase en anglais : je suis content", "capability": "translation", "group": "fr/a"}"#,
                    #"{"text": "Sort this list in Python", "capability": "code"}"#]
        try rows.joined(separator: "\n").write(toFile: dir + "/rows.jsonl", atomically: true, encoding: .utf8)
        for mode in ["replace", "blend"] {
            let config: [String: Any] = [
                "name": "views-test", "data": ["rows.jsonl"], "label_field": "capability",
                "gloss": ["files": [TestPaths.repositoryFile("training/glossary/fr.tsv")], "mode": mode]]
            try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: dir + "/\(mode).config.json"))
            let run = try PointsmanBinary.run(["views", "--config", dir + "/\(mode).config.json"])
            #expect(run.status == 0, "\(run.stderr)")
            let lines = run.stdoutLines.map(json)
            #expect(lines.map { $0["label"] as? String } == ["translation", "code"])
            #expect(lines.map { $0["group"] as? String } == ["fr/a", nil])
            let french = lines.first?["encoder"] as? [String] ?? []
            #expect(french.count == (mode == "blend" ? 2 : 1), "\(mode): \(french)")
            #expect(french.last?.contains("sentence") == true && french.last != lines.first?["text"] as? String, "\(mode): \(french)")
            #expect(lines.last?["encoder"] as? [String] == ["Sort this list in Python"])
        }
    }

    @Test("neither or both of --config and --centroids is a usage error naming them", arguments: [
        ["views", "some prompt"], ["views", "--config", "a.json", "--centroids", "b.json"],
    ])
    func usage(arguments: [String]) throws {
        let run = try PointsmanBinary.run(arguments)
        #expect(run.status != 0)
        #expect(run.stderr.contains("--config") && run.stderr.contains("--centroids"), "\(run.stderr)")
    }
}

@Suite("pointsman eval")
struct EvalCLITests {
    func labeledFile(_ rows: [(String, String)]) throws -> String {
        let path = TestPaths.temporaryDirectory("eval") + "/data.jsonl"
        let lines = try rows.map { text, label in
            String(decoding: try JSONSerialization.data(withJSONObject: ["text": text, "label": label]), as: UTF8.self)
        }
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("terminal table, --json with stable fields, and --report writing a page")
    func outputs() throws {
        let data = try labeledFile([("Write a Go function to parse JSON", "code"), ("Translate 'cat' into French", "translation"),
                                    ("What is 7 squared?", "math"), ("Write a haiku about rain", "creative")])
        let report = TestPaths.temporaryDirectory("eval") + "/r.html"
        let table = try PointsmanBinary.run(["eval", data, "--report", report, "--latency-sample", "2"])
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.stdout.contains("regex vs embedding: agreement"))
        #expect(table.stdout.contains("macro-F1"))
        #expect(try String(contentsOfFile: report, encoding: .utf8).contains("<svg"))
        let structured = try PointsmanBinary.run(["eval", data, "--json", "--routers", "regex,hybrid", "--latency-sample", "2"])
        let object = json(structured.stdout)
        #expect((object["routers"] as? [[String: Any]])?.map { $0["name"] as? String } == ["regex", "hybrid"])
        #expect((object["comparisons"] as? [[String: Any]])?.first?["mcnemar"] != nil)
    }

    @Test("unknown labels, rows without text and an empty file name the file and row", arguments: [
        (#"{"text": "hello", "label": "astrology"}"#, "astrology"),
        (#"{"label": "code"}"#, "data.jsonl:1"),
        ("", "no rows"),
    ])
    func badInput(line: String, mention: String) throws {
        let path = TestPaths.temporaryDirectory("eval") + "/data.jsonl"
        try line.write(toFile: path, atomically: true, encoding: .utf8)
        let run = try PointsmanBinary.run(["eval", path])
        expectCleanFailure(run, mentioning: mention)
    }

    @Test("route --ab-mode writes a trace that eval --trace replays")
    func abTrace() throws {
        let dir = TestPaths.temporaryDirectory("eval")
        try """
        {"id": "u1", "text": "Write a SQL query for the top ten customers", "label": "code"}
        {"id": "u2", "text": "Translate 'see you soon' into Spanish", "label": "translation"}
        {"id": "u3", "text": "Write a limerick about a frog", "label": "creative"}
        """.write(toFile: dir + "/p.jsonl", atomically: true, encoding: .utf8)
        let routed = try PointsmanBinary.run(["route", "--file", dir + "/p.jsonl", "--ab-mode", "shadow", "--ab-detector", "regex",
                                               "--trace", dir + "/t.jsonl", "--label-field", "label"])
        #expect(routed.status == 0, "\(routed.stderr)")
        #expect(try TestPaths.jsonLines(dir + "/t.jsonl").count == 3)
        let replay = try PointsmanBinary.run(["eval", "--trace", dir + "/t.jsonl", "--json"])
        let object = json(replay.stdout)
        #expect(object["records"] as? Int == 3)
        #expect(object["paired"] as? Int == 3)
        #expect((object["metrics"] as? [[String: Any]])?.count == 2)
        let missingTrace = try PointsmanBinary.run(["route", "x", "--ab-mode", "split"])
        #expect(missingTrace.status != 0 && missingTrace.stderr.contains("--trace"))
    }
}

@Suite("pointsman serve as a process", .serialized)
struct ServeProcessTests {
    func freePort() -> Int { Int.random(in: 20_000...40_000) }

    func waitReady(_ port: Int) async throws {
        for _ in 0..<100 {
            if let (_, response) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/healthz")!),
               (response as? HTTPURLResponse)?.statusCode == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("service on \(port) never became ready")
    }

    @Test("serve --config: settings come from the file, flags win, unknown fields are refused")
    func configFile() async throws {
        let dir = TestPaths.temporaryDirectory("serve")
        try #"{"port": 1, "colour": "blue"}"#.write(toFile: dir + "/bad.json", atomically: true, encoding: .utf8)
        expectCleanFailure(try PointsmanBinary.run(["serve", "--config", dir + "/bad.json"]), mentioning: "unknown field \"colour\"")
        try #"{"rule_candidates": 0}"#.write(toFile: dir + "/zero.json", atomically: true, encoding: .utf8)
        expectCleanFailure(try PointsmanBinary.run(["serve", "--config", dir + "/zero.json"]), mentioning: "rule_candidates must be")
        let port = freePort()
        try #"{"port": 1, "auto_model": "router"}"#.write(toFile: dir + "/good.json", atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: PointsmanBinary.path)
        process.arguments = ["serve", "--config", dir + "/good.json", "--port", String(port)]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { process.terminate(); process.waitUntilExit() }
        try await waitReady(port)
        let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/v1/models")!)
        let ids = ((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
        #expect(ids?.first == "router")
    }

    @Test("SIGHUP reloads the catalog file")
    func sighup() async throws {
        let dir = TestPaths.temporaryDirectory("serve")
        let catalog = dir + "/catalog.json"
        try #"{"default_model": "a", "models": [{"alias": "a", "capabilities": ["general"], "priority": 1}]}"#
            .write(toFile: catalog, atomically: true, encoding: .utf8)
        let port = freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: PointsmanBinary.path)
        process.arguments = ["serve", "--port", String(port), "--catalog", catalog]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { process.terminate(); process.waitUntilExit() }
        try await waitReady(port)
        func modelCount() async throws -> Int {
            let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/v1/models")!)
            return ((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["data"] as? [Any])?.count ?? -1
        }
        #expect(try await modelCount() == 2)
        try #"{"default_model": "a", "models": [{"alias": "a", "capabilities": ["general"], "priority": 1}, {"alias": "b", "capabilities": ["code"], "priority": 1}]}"#
            .write(toFile: catalog, atomically: true, encoding: .utf8)
        kill(process.processIdentifier, SIGHUP)
        var count = 0
        for _ in 0..<50 {
            count = try await modelCount()
            if count == 3 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(count == 3)
    }

    @Test("serve with the adapted task router loads the adapter its centroid file names and routes with it")
    func serveAdapted() async throws {
        let port = freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: PointsmanBinary.path)
        process.arguments = ["serve", "--port", String(port), "--centroids", TestPaths.repositoryFile("centroids/tasks-adapted.json")]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { process.terminate(); process.waitUntilExit() }
        try await waitReady(port)
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/route")!)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONSerialization.data(withJSONObject: ["prompts": [
            "Écris un poème sur la mer", "Give me the gist of this email in one line: the launch moves to May"]])
        let (data, response) = try await URLSession.shared.data(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        let decisions = ((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["decisions"] as? [[String: Any]]) ?? []
        #expect(decisions.map { $0["capability"] as? String } == ["creative", "summarize"], "\(String(decoding: data, as: UTF8.self))")
        #expect(decisions.allSatisfy { $0["fallback"] is NSNull }, "the embedder answered: no decision fell back")
        // /v1/embeddings serves the adapted vectors under a name of their own; a request for the published model gets
        // the stock encoder's vectors (what `pointsman embed` computes), never adapted ones under its name.
        var embeddings = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/embeddings")!)
        embeddings.httpMethod = "POST"
        embeddings.setValue("application/json", forHTTPHeaderField: "Content-Type")
        func embedding(_ fields: [String: Any]) async throws -> (status: Int?, body: String, model: String?, vector: [Double]) {
            embeddings.httpBody = try JSONSerialization.data(withJSONObject: fields)
            let (data, response) = try await URLSession.shared.data(for: embeddings)
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
            let vector = ((object?["data"] as? [[String: Any]])?.first?["embedding"] as? [Double]) ?? []
            return ((response as? HTTPURLResponse)?.statusCode, String(decoding: data, as: UTF8.self), object?["model"] as? String, vector)
        }
        let sha = try sha256(of: TestPaths.repositoryFile("centroids/tasks-adapter.safetensors"))
        let adaptedName = "all-MiniLM-L6-v2+adapter-\(sha.prefix(12))"
        let stock = try await embedding(["input": "hello", "model": "all-MiniLM-L6-v2"])
        let unnamed = try await embedding(["input": "hello"])
        let adapted = try await embedding(["input": "hello", "model": adaptedName])
        #expect(stock.status == 200 && stock.model == "all-MiniLM-L6-v2", "\(stock.body)")
        #expect(unnamed.status == 200 && unnamed.model == "all-MiniLM-L6-v2" && unnamed.vector == stock.vector, "\(unnamed.body)")
        #expect(adapted.status == 200 && adapted.model == adaptedName, "\(adapted.body)")
        let local = json(try PointsmanBinary.run(["embed", "hello"]).stdout)["embedding"] as? [Double] ?? []
        func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).map(*).reduce(0, +) }
        #expect(stock.vector.count == 384 && local.count == 384 && dot(stock.vector, local) > 0.9999)
        #expect(adapted.vector.count == 384 && dot(stock.vector, adapted.vector) < 0.99)
        let unknown = try await embedding(["input": "hello", "model": "text-embedding-3-small"])
        let message = ((try? JSONSerialization.jsonObject(with: Data(unknown.body.utf8)) as? [String: Any])?["error"] as? [String: Any])?["message"] as? String
        #expect(unknown.status == 404 && message?.contains("use \"\(adaptedName)\" or \"all-MiniLM-L6-v2\"") == true, "\(unknown.body)")
        // Told to use another adapter, serve refuses the file at start, in one line that says which adapter it needs.
        let refused = try PointsmanBinary.run(["serve", "--port", String(freePort()), "--centroids",
                                               TestPaths.repositoryFile("centroids/tasks-adapted.json"),
                                               "--encoder-adapter", TestPaths.fixture("adapter/adapter.safetensors")])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("needs the encoder adapter whose sha256 is"), "\(refused.stderr)")
    }

    @Test("SIGTERM stops accepting, lets an in-flight stream finish, and exits 0")
    func gracefulShutdown() async throws {
        let upstream = try await FakeOpenAIServer { _ in
            .stream(pieces: (0..<6).map { FakeBodies.chunk("p\($0)") } + ["data: [DONE]\n\n"], gap: .milliseconds(250))
        }
        let port = freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: PointsmanBinary.path)
        process.arguments = ["serve", "--port", String(port), "--upstream", upstream.baseURL]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        try await waitReady(port)
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/chat/completions")!)
        request.httpMethod = "POST"
        request.httpBody = Data(#"{"model": "auto", "stream": true, "messages": [{"role": "user", "content": "hi"}]}"#.utf8)
        async let streamed = URLSession.shared.data(for: request)
        try await Task.sleep(for: .milliseconds(400))
        process.terminate()  // SIGTERM mid-stream
        let (data, _) = try await streamed
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("p5") && text.contains("[DONE]"), "stream was cut: \(text.suffix(200))")
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect((try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/healthz")!)) == nil)
        try await upstream.stop()
    }

    @Test("SIGTERM with a hung upstream: in-flight requests are cancelled after the grace period and the process exits 0")
    func shutdownGrace() async throws {
        let upstream = try await FakeOpenAIServer { _ in
            .delayed(.seconds(120), .respond(status: 200, body: FakeBodies.chat("late")))
        }
        let port = freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: PointsmanBinary.path)
        process.arguments = ["serve", "--port", String(port), "--upstream", upstream.baseURL, "--shutdown-grace", "1"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        try await waitReady(port)
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/chat/completions")!)
        request.httpMethod = "POST"
        request.timeoutInterval = 60
        request.httpBody = Data(#"{"model": "auto", "messages": [{"role": "user", "content": "hi"}]}"#.utf8)
        async let hung = try? URLSession.shared.data(for: request)
        try await Task.sleep(for: .milliseconds(500))
        let start = ContinuousClock.now
        process.terminate()
        while process.isRunning && ContinuousClock.now - start < .seconds(15) { try await Task.sleep(for: .milliseconds(50)) }
        let elapsed = ContinuousClock.now - start
        #expect(!process.isRunning)
        #expect(elapsed < .seconds(4), "took \(elapsed) with a 1 s grace period")
        if !process.isRunning { #expect(process.terminationStatus == 0) } else { process.interrupt() }
        _ = await hung
        try await upstream.stop()
    }
}

/// A file's sha256 as `sha256sum` prints it (an implementation independent of Pointsman's).
func sha256(of path: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["sha256sum", path]
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
}

/// `path` relative to `folder`, by their standardised absolute components (an independent check of what `train` writes).
func relativeToDir(_ path: String, from folder: String) -> String {
    let to = URL(fileURLWithPath: path).standardizedFileURL.pathComponents
    let from = URL(fileURLWithPath: folder).standardizedFileURL.pathComponents
    var shared = 0
    while shared < min(to.count, from.count), to[shared] == from[shared] { shared += 1 }
    return (Array(repeating: "..", count: from.count - shared) + to[shared...]).joined(separator: "/")
}

/// Twelve greeting and farewell rows in three groups: a small labeled file `train` can fit in a second.
func writeGreetingData(to path: String) throws {
    var lines: [String] = []
    for (label, texts) in [("greeting", ["hello there", "hi, how are you", "good morning!", "hey friend", "hiya", "greetings"]),
                           ("farewell", ["goodbye", "see you later", "bye for now", "take care", "farewell friend", "catch you later"])] {
        for (i, t) in texts.enumerated() { lines.append(#"{"text": "\#(t)", "label": "\#(label)", "group": "g\#(i % 3)"}"#) }
    }
    try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
}
