import Foundation
import MiniLMEncoder
import PointsmanTestSupport
import Testing
import VectorMath

/// A copy of the model folder that a test may damage.
func scratchModelCopy(_ label: String) throws -> String {
    let dir = TestPaths.temporaryDirectory(label)
    let fm = FileManager.default
    for name in ModelDirectory.requiredFiles {
        let to = (dir as NSString).appendingPathComponent(name)
        try fm.createDirectory(atPath: (to as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try fm.copyItem(atPath: (TestPaths.modelDirectory as NSString).appendingPathComponent(name), toPath: to)
    }
    return dir
}

@Suite("Encoder inputs at the edges")
struct EncoderEdgeInputTests {
    @Test("empty and whitespace-only texts embed as [CLS] [SEP], the reference's result")
    func emptyAndWhitespace() async throws {
        let encoder = try loadedEncoder()
        #expect(encoder.tokenizer.encode("") == [101, 102])
        #expect(encoder.tokenizer.encode(" \t\n ") == [101, 102])
        let vectors = try await encoder.embed(["", " \t\n "])
        let reference = try #require(try Golden.edgeCases().first { $0.text.isEmpty }?.embedding)
        #expect(cosine(vectors.row(0), reference) > 0.99999)
        #expect(vectors.row(0) == vectors.row(1))
    }

    @Test("NUL bytes are dropped like the reference's text cleanup")
    func nulBytes() async throws {
        let encoder = try loadedEncoder()
        #expect(encoder.tokenizer.encode("he\u{0}llo\u{0}") == encoder.tokenizer.encode("hello"))
        let vectors = try await encoder.embed(["\u{0}\u{0}", "a\u{0}b"])
        #expect(vectors.rows == 2)
        #expect(vectors.isFinite)
    }

    @Test("a 1 MB prompt is truncated to 256 tokens and embeds")
    func hugePrompt() async throws {
        let encoder = try loadedEncoder()
        let text = String(repeating: "routing models is fun. ", count: 1_000_000 / 23 + 1)
        #expect(text.utf8.count >= 1_000_000)
        let ids = encoder.tokenizer.encode(text)
        #expect(ids.count == 256)
        #expect(ids.first == 101 && ids.last == 102)
        let vector = try await encoder.embed([text]).row(0)
        #expect(abs(BLAS.norm(vector) - 1) < 1e-5)
    }

    @Test("embedding nothing returns no rows")
    func noTexts() async throws {
        let vectors = try await loadedEncoder().embed([])
        #expect(vectors.rows == 0)
    }
}

@Suite("Broken model folders are clear errors", .serialized)
struct ModelFolderErrorTests {
    @Test("a missing folder names it and says how to fetch")
    func missingFolder() {
        #expect(throws: EncoderError.modelFolderMissing("/nonexistent/model")) {
            try MiniLMEncoder(configuration: .init(directory: ModelDirectory(path: "/nonexistent/model")))
        }
        #expect(EncoderError.modelFolderMissing("/x").description.contains("pointsman model fetch"))
    }

    @Test("a missing file is named")
    func missingFile() throws {
        let dir = try scratchModelCopy("nofile")
        try FileManager.default.removeItem(atPath: dir + "/vocab.txt")
        #expect(throws: EncoderError.fileMissing(dir + "/vocab.txt")) {
            try MiniLMEncoder(configuration: .init(directory: ModelDirectory(path: dir)))
        }
    }

    @Test("a changed file fails its sha256 check, even after an earlier successful verification")
    func wrongHash() throws {
        let dir = try scratchModelCopy("hash")
        _ = try MiniLMEncoder(configuration: .init(directory: ModelDirectory(path: dir)))  // writes the stamp
        let config = dir + "/config.json"
        var text = try String(contentsOfFile: config, encoding: .utf8)
        text = text.replacingOccurrences(of: "\"num_hidden_layers\": 6", with: "\"num_hidden_layers\": 5")
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        do {
            _ = try MiniLMEncoder(configuration: .init(directory: ModelDirectory(path: dir)))
            Issue.record("expected a hash mismatch")
        } catch {
            guard case .hashMismatch(let file, let expected, _) = error else { Issue.record("got \(error)"); return }
            #expect(file == config)
            #expect(expected == ModelDirectory.miniLMHashes["config.json"])
        }
    }

    @Test("a truncated safetensors file is an error naming the tensor that runs past the end")
    func truncated() throws {
        let dir = try scratchModelCopy("trunc")
        let path = dir + "/model.safetensors"
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: 50_000_000)
        try handle.close()
        // Without hash checking (another model of the family), the reader itself must catch it.
        let unchecked = ModelDirectory(path: dir, expectedHashes: [:])
        do {
            _ = try MiniLMEncoder(configuration: .init(directory: unchecked))
            Issue.record("expected an error")
        } catch {
            guard case .safetensors(let file, let tensor, let reason) = error else { Issue.record("got \(error)"); return }
            #expect(file == path)
            #expect(tensor != nil)
            #expect(reason.contains("truncated"))
        }
        // With the shipped hashes, the hash check catches it first.
        #expect(throws: EncoderError.self) { try MiniLMEncoder(configuration: .init(directory: ModelDirectory(path: dir))) }
    }

    @Test("garbage instead of safetensors is refused")
    func garbage() throws {
        let dir = try scratchModelCopy("garbage")
        try Data(repeating: 0xFF, count: 4096).write(to: URL(fileURLWithPath: dir + "/model.safetensors"))
        #expect(throws: EncoderError.self) {
            try MiniLMEncoder(configuration: .init(directory: ModelDirectory(path: dir, expectedHashes: [:])))
        }
    }

    @Test("weights of another architecture name the tensor whose shape is wrong")
    func wrongArchitecture() throws {
        let dir = try scratchModelCopy("arch")
        let config = dir + "/config.json"
        let text = try String(contentsOfFile: config, encoding: .utf8)
            .replacingOccurrences(of: "\"intermediate_size\": 1536", with: "\"intermediate_size\": 3072")
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        do {
            _ = try MiniLMEncoder(configuration: .init(directory: ModelDirectory(path: dir, expectedHashes: [:])))
            Issue.record("expected an error")
        } catch {
            guard case .architecture(let tensor, let reason) = error else { Issue.record("got \(error)"); return }
            #expect(tensor == "encoder.layer.0.intermediate.dense.weight")
            #expect(reason.contains("[1536, 384]"))
        }
    }
}
