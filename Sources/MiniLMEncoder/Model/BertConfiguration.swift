import Foundation
import VectorMath

/// The architecture numbers of a BERT encoder, read from the model's `config.json`.
public struct BertConfiguration: Sendable, Equatable, Decodable {
    public var hiddenSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var intermediateSize: Int
    public var maxPositionEmbeddings: Int
    public var typeVocabSize: Int
    public var vocabSize: Int
    public var layerNormEps: Float
    public var hiddenAct: String
    public var modelType: String?

    enum CodingKeys: String, CodingKey {
        case hiddenSize = "hidden_size", numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads", intermediateSize = "intermediate_size"
        case maxPositionEmbeddings = "max_position_embeddings", typeVocabSize = "type_vocab_size"
        case vocabSize = "vocab_size", layerNormEps = "layer_norm_eps", hiddenAct = "hidden_act"
        case modelType = "model_type"
    }

    /// Reads and checks `config.json`.
    public static func load(from path: String) throws(EncoderError) -> BertConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else { throw .fileMissing(path) }
        let config: BertConfiguration
        do { config = try JSONDecoder().decode(BertConfiguration.self, from: data) } catch {
            throw .configuration(file: path, reason: "not a BERT config: \(error)")
        }
        if let type = config.modelType, !["bert", "roberta", "xlm-roberta"].contains(type) {
            throw .configuration(file: path, reason: "model_type \(type) is not a BERT encoder")
        }
        guard ["gelu", "gelu_python"].contains(config.hiddenAct) else {
            throw .configuration(file: path, reason: "hidden_act \(config.hiddenAct) is not supported (only erf GELU)")
        }
        guard config.hiddenSize > 0, config.numAttentionHeads > 0, config.hiddenSize % config.numAttentionHeads == 0,
              config.numHiddenLayers > 0, config.intermediateSize > 0, config.maxPositionEmbeddings > 0
        else { throw .configuration(file: path, reason: "architecture numbers are inconsistent") }
        return config
    }
}

/// The sentence-transformers pooling config (`1_Pooling/config.json`).
public struct PoolingConfiguration: Sendable, Equatable {
    /// How token vectors become one vector.
    public var mode: PoolingMode

    /// Reads the pooling config; exactly one mode must be on.
    public static func load(from path: String) throws(EncoderError) -> PoolingConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else { throw .fileMissing(path) }
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw .configuration(file: path, reason: "not a JSON object")
        }
        let modes: [(String, PoolingMode)] = [
            ("pooling_mode_mean_tokens", .mean), ("pooling_mode_cls_token", .cls),
            ("pooling_mode_max_tokens", .max), ("pooling_mode_mean_sqrt_len_tokens", .meanSqrtLength),
        ]
        let on = modes.filter { (json[$0.0] as? Bool) == true }
        guard on.count == 1 else {
            throw .configuration(file: path, reason: "exactly one pooling mode must be true, found \(on.map(\.0))")
        }
        return PoolingConfiguration(mode: on[0].1)
    }
}
