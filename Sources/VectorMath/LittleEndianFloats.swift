/// float32 values as little-endian bytes (the layout of safetensors, the centroid files, the embedding cache and
/// base64 embeddings), and back.
public enum LittleEndianFloats {
    /// Four bytes per value, least significant first.
    public static func bytes(_ values: [Float]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(values.count * 4)
        for value in values {
            let bits = value.bitPattern
            out.append(UInt8(truncatingIfNeeded: bits))
            out.append(UInt8(truncatingIfNeeded: bits >> 8))
            out.append(UInt8(truncatingIfNeeded: bits >> 16))
            out.append(UInt8(truncatingIfNeeded: bits >> 24))
        }
        return out
    }

    /// The values in `bytes` (whose count must be a multiple of four).
    public static func values<Bytes: Collection>(_ bytes: Bytes) -> [Float] where Bytes.Element == UInt8 {
        var out = [Float]()
        out.reserveCapacity(bytes.count / 4)
        var index = bytes.startIndex
        while bytes.distance(from: index, to: bytes.endIndex) >= 4 {
            var bits: UInt32 = 0
            for shift in stride(from: 0, to: 32, by: 8) {
                bits |= UInt32(bytes[index]) << UInt32(shift)
                index = bytes.index(after: index)
            }
            out.append(Float(bitPattern: bits))
        }
        return out
    }
}
