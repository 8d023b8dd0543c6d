/// Everything that can go wrong while loading or running the native encoder. Messages name the file or tensor.
public enum EncoderError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The model folder does not exist.
    case modelFolderMissing(String)
    /// A required model file does not exist.
    case fileMissing(String)
    /// A model file's sha256 differs from the expected one.
    case hashMismatch(file: String, expected: String, actual: String)
    /// The safetensors file is malformed.
    case safetensors(file: String, tensor: String?, reason: String)
    /// A tensor is missing or has the wrong shape for the configured architecture.
    case architecture(tensor: String, reason: String)
    /// `config.json` or the pooling config cannot be used.
    case configuration(file: String, reason: String)
    /// The vocabulary cannot be used.
    case tokenizer(String)
    /// A low-rank adapter file cannot be used with this model.
    case adapter(file: String, reason: String)
    /// The forward pass failed (a bug, never bad input).
    case computation(String)

    public var description: String {
        switch self {
        case .modelFolderMissing(let path):
            "model folder \(path) does not exist; run `pointsman model fetch` (or set POINTSMAN_MODEL_DIR)"
        case .fileMissing(let path):
            "model file \(path) is missing; run `pointsman model fetch`"
        case .hashMismatch(let file, let expected, let actual):
            "sha256 of \(file) is \(actual), expected \(expected); the file is corrupt or a different model (run `pointsman model fetch --force`)"
        case .safetensors(let file, let tensor, let reason):
            "\(file): " + (tensor.map { "tensor \($0): " } ?? "") + reason
        case .architecture(let tensor, let reason):
            "tensor \(tensor): \(reason)"
        case .configuration(let file, let reason):
            "\(file): \(reason)"
        case .tokenizer(let reason):
            "tokenizer: \(reason)"
        case .adapter(let file, let reason):
            "encoder adapter \(file): \(reason)"
        case .computation(let reason):
            "encoder computation failed: \(reason)"
        }
    }
}
