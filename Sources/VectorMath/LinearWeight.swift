/// The weight of a linear layer, `[outFeatures, inFeatures]` as PyTorch stores it, together with a copy packed for
/// small batches.
///
/// The packed copy cuts the output features into blocks of `blockWidth` and stores each block input-major
/// (`[inFeatures, width]`, contiguous). A narrow sgemm over a few token rows then reads its block of weights as one
/// sequential stream, which on this kind of machine is what limits small batches: measured with OpenBLAS 0.3.21 at 15
/// token rows, a 384 → 1536 projection in 32-wide blocks takes 240 µs from the packed copy against 400 µs from the
/// PyTorch layout. Large batches are compute-bound and use the original layout in wide blocks.
public struct LinearWeight: Sendable {
    /// Output features per packed block.
    public static let blockWidth = 32

    /// The weight in PyTorch layout.
    public let matrix: Matrix
    /// Blocks of `blockWidth` output features (the last may be narrower), each `[inFeatures, width]` row-major.
    let packed: [Float]

    public var outFeatures: Int { matrix.rows }
    public var inFeatures: Int { matrix.cols }

    /// Packs `matrix` (`[outFeatures, inFeatures]`).
    public init(_ matrix: Matrix) {
        self.matrix = matrix
        let rows = matrix.rows, cols = matrix.cols
        var packed = [Float](repeating: 0, count: rows * cols)
        matrix.values.withUnsafeBufferPointer { source in
            packed.withUnsafeMutableBufferPointer { target in
                var start = 0
                while start < rows {
                    let width = min(Self.blockWidth, rows - start)
                    let base = start * cols
                    for j in 0..<width {
                        let from = (start + j) * cols
                        for k in 0..<cols { target[base + k * width + j] = source[from + k] }
                    }
                    start += width
                }
            }
        }
        self.packed = packed
    }

    /// The packed blocks as (first output feature, width) pairs; a block's values start at `first * inFeatures`.
    var blocks: [(first: Int, width: Int)] {
        stride(from: 0, to: outFeatures, by: Self.blockWidth).map { ($0, min(Self.blockWidth, outFeatures - $0)) }
    }
}
