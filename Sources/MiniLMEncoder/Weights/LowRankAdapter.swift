import VectorMath

/// Low-rank updates to the linear maps of a BERT encoder, added into its weights once when the model loads
/// (`W + scale · B · A`), so an adapted encoder runs exactly as fast as the plain one.
///
/// The file is safetensors. For each adapted map it holds `<map>.lora_a` of shape `[r, in]` and `<map>.lora_b` of
/// shape `[out, r]`, where `<map>` is the map's weight name without `.weight` and without a `bert.` prefix (for
/// example `encoder.layer.0.attention.self.query`); the header's metadata gives the factor as `scale`. Maps that can
/// be adapted: each layer's query, key, value, attention output and both feed-forward maps.
/// `training/experiments/fine_tune_probe.py` writes such files.
public struct LowRankAdapter: Sendable {
    struct Update: Sendable {
        var a: Matrix
        var b: Matrix
    }

    /// The file's path.
    public let path: String
    /// The file's sha256: the identity of the adapted vectors (recorded in the embedder fingerprint).
    public let sha256: String
    /// The factor each `B · A` is multiplied by.
    public let scale: Float
    let updates: [String: Update]

    /// The adapted maps, sorted.
    public var mapNames: [String] { updates.keys.sorted() }

    /// The largest rank among the updates.
    public var rank: Int { updates.values.map(\.a.rows).max() ?? 0 }

    /// Reads and checks the file: names in pairs, shapes that agree, a finite scale, finite values.
    public init(path: String) throws(EncoderError) {
        func fail(_ reason: String) -> EncoderError { .adapter(file: path, reason: reason) }
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(path: path) } catch .fileMissing {
            throw fail("the file does not exist")
        }
        guard let text = file.metadata["scale"] else {
            throw fail("the header's __metadata__ has no `scale` (the factor of each B·A)")
        }
        guard let scale = Float(text), scale.isFinite else { throw fail("scale \"\(text)\" is not a finite number") }
        var maps = Set<String>()
        for name in file.tensors.keys {
            guard name.hasSuffix(".lora_a") || name.hasSuffix(".lora_b") else {
                throw fail("tensor \(name) is neither <map>.lora_a nor <map>.lora_b")
            }
            maps.insert(String(name.dropLast(".lora_a".count)))
        }
        guard !maps.isEmpty else { throw fail("the file holds no low-rank updates") }
        var updates: [String: Update] = [:]
        for map in maps.sorted() {
            guard let a = file.tensors[map + ".lora_a"], let b = file.tensors[map + ".lora_b"] else {
                throw fail("\(map) has only one of lora_a and lora_b")
            }
            guard a.shape.count == 2, b.shape.count == 2, a.shape[0] > 0, a.shape[0] == b.shape[1] else {
                throw fail("\(map): lora_a is \(a.shape) and lora_b \(b.shape); expected [r, in] and [out, r] with the same r > 0")
            }
            let update: Update
            do {
                update = Update(
                    a: try file.matrix(map + ".lora_a", rows: a.shape[0], cols: a.shape[1]),
                    b: try file.matrix(map + ".lora_b", rows: b.shape[0], cols: b.shape[1]))
            } catch {
                throw fail("\(map): \(error.description)")
            }
            guard update.a.values.allSatisfy(\.isFinite), update.b.values.allSatisfy(\.isFinite) else {
                throw fail("\(map) holds a value that is not finite")
            }
            updates[map] = update
        }
        self.path = path
        self.scale = scale
        self.updates = updates
        sha256 = try ModelDirectory.sha256(ofFile: path)
    }

    /// `weight + scale · B · A` for the map `name`; `weight` itself when the adapter leaves that map alone.
    func merged(_ weight: Matrix, map name: String) throws(EncoderError) -> Matrix {
        guard let update = updates[name] else { return weight }
        guard update.b.rows == weight.rows, update.a.cols == weight.cols else {
            throw .adapter(file: path, reason:
                "\(name): the update is \(update.b.rows)x\(update.a.cols) but the model's weight is \(weight.rows)x\(weight.cols) (an adapter for another model?)")
        }
        var result = weight
        do { try BLAS.gemm(update.b, update.a, into: &result, alpha: scale, beta: 1) } catch {
            throw .computation(error.description)
        }
        return result
    }

    /// Refuses an adapter that names a map the model does not have (a typo or another architecture would otherwise
    /// be ignored silently).
    func checkCovered(by known: Set<String>) throws(EncoderError) {
        if let stray = mapNames.first(where: { !known.contains($0) }) {
            throw .adapter(file: path, reason:
                "\(stray) is not a linear map this model has (expected names such as encoder.layer.0.attention.self.query)")
        }
    }
}
