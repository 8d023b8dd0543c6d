import Foundation
import MiniLMEncoder
import PointsmanInterfaces
import PointsmanTestSupport
import Testing
import VectorMath

/// A safetensors file written by hand, for adapters that are wrong in one way each.
private func writeSafeTensors(_ tensors: [(name: String, shape: [Int], values: [Float])], metadata: [String: Any]?,
                              to path: String) throws {
    var header: [String: Any] = [:]
    var data = Data()
    for tensor in tensors {
        let begin = data.count
        for value in tensor.values { withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        header[tensor.name] = ["dtype": "F32", "shape": tensor.shape, "data_offsets": [begin, data.count]]
    }
    if let metadata { header["__metadata__"] = metadata }
    let json = try JSONSerialization.data(withJSONObject: header)
    var file = Data()
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
    file.append(json)
    file.append(data)
    try file.write(to: URL(fileURLWithPath: path))
}

/// One rank-1 update of the first layer's query map (384 x 384), with its values.
private func queryUpdate(_ map: String = "encoder.layer.0.attention.self.query", inputs: Int = 384, outputs: Int = 384,
                         value: Float = 0.01) -> [(name: String, shape: [Int], values: [Float])] {
    [(map + ".lora_a", [1, inputs], Array(repeating: value, count: inputs)),
     (map + ".lora_b", [outputs, 1], Array(repeating: value, count: outputs))]
}

@Suite("Low-rank encoder adapters")
struct AdapterTests {
    private func reference() throws -> (texts: [String], plain: [[Float]], adapted: [[Float]]) {
        let object = try Fixture.jsonObject("adapter/adapter-reference.json")
        guard let texts = object["texts"] as? [String], let plain = object["plain"] as? [[NSNumber]],
              let adapted = object["adapted"] as? [[NSNumber]], plain.count == texts.count, adapted.count == texts.count
        else { throw FixtureError(path: TestPaths.fixture("adapter/adapter-reference.json"), problem: "needs texts, plain, adapted") }
        return (texts, plain.map { $0.map(\.floatValue) }, adapted.map { $0.map(\.floatValue) })
    }

    private func encoder(adapter: String?) throws -> MiniLMEncoder {
        try MiniLMEncoder(configuration: .init(directory: ModelDirectory(path: TestPaths.modelDirectory), adapter: adapter))
    }

    @Test("an adapter added into the weights at load gives the vectors PyTorch computes with the updates in its forward pass")
    func matchesReference() async throws {
        let (texts, plain, adapted) = try reference()
        let path = TestPaths.fixture("adapter/adapter.safetensors")
        let adapter = try LowRankAdapter(path: path)
        #expect(adapter.mapNames.count == 36 && adapter.rank == 2 && adapter.scale == 2)
        let plainVectors = try await encoder(adapter: nil).embed(texts)
        let adaptedVectors = try await encoder(adapter: path).embed(texts)
        for index in texts.indices {
            // The fixture's plain vectors are ours too: the texts are encoded as the fixture's were.
            #expect(zip(plainVectors.row(index), plain[index]).allSatisfy { abs($0 - $1) < 2e-6 }, "\(texts[index])")
            // The fixture is rounded to six decimals; the merge then agrees to float precision.
            #expect(zip(adaptedVectors.row(index), adapted[index]).allSatisfy { abs($0 - $1) < 2e-6 }, "\(texts[index])")
            // The updates move every vector well beyond that tolerance, so a merge that did nothing would fail.
            #expect(cosine(adaptedVectors.row(index), plainVectors.row(index)) < 0.98)
        }
    }

    @Test("the fingerprint names the adapter's sha256, so adapted and plain vectors are never mixed")
    func fingerprint() throws {
        let path = TestPaths.fixture("adapter/adapter.safetensors")
        let adapted = try encoder(adapter: path).currentFingerprint
        let plain = try encoder(adapter: nil).currentFingerprint
        #expect(plain.adapter == nil)
        #expect(adapted.adapter == (try ModelDirectory.sha256(ofFile: path)))
        #expect(adapted.weightsHash == plain.weightsHash)
        #expect(!adapted.isCompatible(with: plain) && !plain.isCompatible(with: adapted))
        #expect(adapted.key != plain.key && adapted.description.contains("adapter"))
        // Lead-token pooling keeps the adapter.
        #expect(try encoder(adapter: path).withLeadTokens(2).currentFingerprint.adapter == adapted.adapter)
    }

    @Test("a broken adapter file is refused with an error that names the file and the problem", arguments: [
        ("no scale", "no `scale`"),
        ("scale not a number", "is not a finite number"),
        ("stray tensor", "is neither <map>.lora_a nor <map>.lora_b"),
        ("half a pair", "has only one of lora_a and lora_b"),
        ("ranks differ", "with the same r > 0"),
        ("not finite", "not finite"),
        ("unknown map", "is not a linear map this model has"),
        ("wrong size", "(an adapter for another model?)"),
        ("empty", "holds no low-rank updates"),
        ("scale as a JSON number", "no `scale`"),
        ("integer tensor", "dtype I32 is not a float type"),
    ])
    func broken(caseName: String, message: String) throws {
        let dir = TestPaths.temporaryDirectory("adapter")
        let path = dir + "/adapter.safetensors"
        var tensors = queryUpdate()
        var metadata: [String: Any]? = ["scale": "2.0"]
        switch caseName {
        case "no scale": metadata = nil
        case "scale not a number": metadata = ["scale": "two"]
        case "stray tensor": tensors.append(("encoder.layer.0.attention.self.query.weight", [1], [0]))
        case "half a pair": tensors.removeLast()
        case "ranks differ": tensors[1] = ("encoder.layer.0.attention.self.query.lora_b", [384, 2], Array(repeating: 0, count: 768))
        case "not finite": tensors[0].values[5] = .nan
        case "unknown map": tensors = queryUpdate("encoder.layer.9.attention.self.query")
        case "wrong size": tensors = queryUpdate(inputs: 100)
        case "empty": tensors = []
        case "scale as a JSON number": metadata = ["scale": 2.0]
        case "integer tensor": break
        default: Issue.record("unknown case \(caseName)")
        }
        try writeSafeTensors(tensors, metadata: metadata, to: path)
        if caseName == "integer tensor" {
            // The same bytes, declared as 32-bit integers: an adapter must hold floats.
            var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            let range = try #require(bytes.range(of: Data(#""F32""#.utf8)))
            bytes.replaceSubrange((range.lowerBound + 1)..<(range.lowerBound + 2), with: Data("I".utf8))
            try bytes.write(to: URL(fileURLWithPath: path))
        }
        do {
            _ = try encoder(adapter: path)
            Issue.record("\(caseName): expected a refusal")
        } catch {
            guard let failure = error as? EncoderError, case .adapter(let file, let reason) = failure else {
                Issue.record("\(caseName): got \(error)")
                return
            }
            #expect(file == path)
            #expect(reason.contains(message), "\(caseName): \(reason)")
            if caseName == "integer tensor" { #expect(reason.hasPrefix("encoder.layer.0.attention.self.query: "), "\(reason)") }
            #expect(failure.description.hasPrefix("encoder adapter \(path): "))
        }
    }

    @Test("a missing adapter file is an error naming it, not a silent plain encoder")
    func missingFile() throws {
        let path = TestPaths.temporaryDirectory("adapter") + "/absent.safetensors"
        #expect(throws: EncoderError.adapter(file: path, reason: "the file does not exist")) { _ = try encoder(adapter: path) }
    }

    @Test("an adapter with zero updates leaves every vector as it was")
    func zeroUpdate() async throws {
        let path = TestPaths.temporaryDirectory("adapter") + "/zero.safetensors"
        try writeSafeTensors(queryUpdate(value: 0), metadata: ["scale": "2"], to: path)
        let texts = ["Write a poem about the sea", "What is 17 times 23?"]
        let plain = try await encoder(adapter: nil).embed(texts)
        let zero = try await encoder(adapter: path).embed(texts)
        #expect(plain.values == zero.values)
    }
}
