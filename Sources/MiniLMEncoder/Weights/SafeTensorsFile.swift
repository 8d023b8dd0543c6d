import Foundation
import VectorMath

/// A memory-mapped `.safetensors` file: an 8-byte little-endian header length, a JSON header describing each tensor
/// (dtype, shape, byte offsets into the data section), then the raw little-endian data.
public struct SafeTensorsFile: Sendable {
    /// One tensor's header entry.
    public struct TensorInfo: Sendable, Equatable {
        /// Tensor name.
        public var name: String
        /// safetensors dtype, e.g. `F32`.
        public var dtype: String
        /// Shape, outermost first.
        public var shape: [Int]
        /// Byte range inside the data section.
        public var byteRange: Range<Int>
    }

    /// The file's path.
    public let path: String
    /// Tensors by name.
    public let tensors: [String: TensorInfo]
    /// The header's `__metadata__` (free-form strings; values that are not strings are left out), empty when it has
    /// none.
    public let metadata: [String: String]
    private let file: MappedFile
    private let dataStart: Int

    private static let widths: [String: Int] = [
        "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1,
        "U16": 2, "U32": 4, "U64": 8, "F8_E4M3": 1, "F8_E5M2": 1,
    ]

    /// Maps and validates the file: header length, JSON, dtypes, shapes against byte sizes, offsets within the file.
    public init(path: String) throws(EncoderError) {
        self.path = path
        let file: MappedFile
        do { file = try MappedFile(path: path) } catch {
            if !FileManager.default.fileExists(atPath: path) { throw .fileMissing(path) }
            throw .safetensors(file: path, tensor: nil, reason: error.description)
        }
        func fail(_ reason: String, _ tensor: String? = nil) -> EncoderError {
            .safetensors(file: path, tensor: tensor, reason: reason)
        }
        guard file.size >= 8 else { throw fail("file is \(file.size) bytes, too short for a header") }
        let headerLength: UInt64
        do { headerLength = try file.uint64LittleEndian(at: 0) } catch { throw fail(error.description) }
        guard headerLength <= UInt64(file.size - 8), headerLength <= 100_000_000 else {
            throw fail("header length \(headerLength) exceeds the file size \(file.size) (truncated or not safetensors)")
        }
        let headerBytes: [UInt8]
        do { headerBytes = try file.bytes(at: 8, count: Int(headerLength)) } catch { throw fail(error.description) }
        let json: [String: Any]
        do {
            guard let object = try JSONSerialization.jsonObject(with: Data(headerBytes)) as? [String: Any] else {
                throw fail("header is not a JSON object")
            }
            json = object
        } catch let error as EncoderError {
            throw error
        } catch {
            throw fail("header is not valid JSON")
        }
        let dataStart = 8 + Int(headerLength)
        let dataSize = file.size - dataStart
        var tensors: [String: TensorInfo] = [:]
        for (name, value) in json where name != "__metadata__" {
            guard let entry = value as? [String: Any],
                  let dtype = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [Int],
                  let offsets = entry["data_offsets"] as? [Int], offsets.count == 2
            else { throw fail("header entry lacks dtype, shape or data_offsets", name) }
            guard let width = Self.widths[dtype] else { throw fail("unknown dtype \(dtype)", name) }
            guard shape.allSatisfy({ $0 >= 0 }) else { throw fail("negative dimension in shape \(shape)", name) }
            let begin = offsets[0], end = offsets[1]
            guard begin >= 0, begin <= end else { throw fail("data offsets \(offsets) are not ordered", name) }
            guard end <= dataSize else {
                throw fail("data offsets \(offsets) run past the end of the data (\(dataSize) bytes): file truncated", name)
            }
            let elements = shape.reduce(1, *)
            guard elements * width == end - begin else {
                throw fail("shape \(shape) of \(dtype) needs \(elements * width) bytes, offsets give \(end - begin)", name)
            }
            tensors[name] = TensorInfo(name: name, dtype: dtype, shape: shape, byteRange: begin..<end)
        }
        // The format allows only strings here; anything else is left out rather than failing a model that loads today.
        metadata = (json["__metadata__"] as? [String: Any])?.compactMapValues { $0 as? String } ?? [:]
        self.file = file
        self.dataStart = dataStart
        self.tensors = tensors
    }

    /// The float values of a tensor whose shape must equal `shape`.
    public func floats(_ name: String, shape: [Int]) throws(EncoderError) -> [Float] {
        guard let info = tensors[name] else {
            throw .architecture(tensor: name, reason: "missing from \(path)")
        }
        guard info.shape == shape else {
            throw .architecture(tensor: name, reason: "shape \(info.shape), expected \(shape) (a different architecture?)")
        }
        let type: MappedFile.ScalarType
        switch info.dtype {
        case "F32": type = .float32
        case "F16": type = .float16
        case "BF16": type = .bfloat16
        default: throw .architecture(tensor: name, reason: "dtype \(info.dtype) is not a float type")
        }
        let count = shape.reduce(1, *)
        do {
            let values = try file.floats(at: dataStart + info.byteRange.lowerBound, count: count, type: type)
            file.release(at: dataStart + info.byteRange.lowerBound, count: info.byteRange.count)
            return values
        } catch {
            throw .safetensors(file: path, tensor: name, reason: error.description)
        }
    }

    /// A 2-D tensor as a matrix.
    public func matrix(_ name: String, rows: Int, cols: Int) throws(EncoderError) -> Matrix {
        let values = try floats(name, shape: [rows, cols])
        do { return try Matrix(rows: rows, cols: cols, values: values) } catch {
            throw .computation(error.description)
        }
    }

    /// A 1-D tensor.
    public func vector(_ name: String, count: Int) throws(EncoderError) -> [Float] {
        try floats(name, shape: [count])
    }
}
