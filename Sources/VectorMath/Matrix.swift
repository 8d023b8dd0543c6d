/// A dense row-major matrix of `Float`.
///
/// `Matrix` is a value type: copies are cheap until written (copy-on-write storage of the underlying array).
public struct Matrix: Sendable, Equatable {
    /// Number of rows.
    public private(set) var rows: Int
    /// Number of columns.
    public private(set) var cols: Int
    /// Row-major values; `values.count == rows * cols`.
    public internal(set) var values: [Float]

    /// A matrix of zeros.
    public init(rows: Int, cols: Int) {
        precondition(rows >= 0 && cols >= 0, "matrix dimensions must not be negative")
        self.rows = rows
        self.cols = cols
        self.values = [Float](repeating: 0, count: rows * cols)
    }

    /// A matrix over the given row-major values.
    public init(rows: Int, cols: Int, values: [Float]) throws(VectorMathError) {
        guard rows >= 0, cols >= 0, values.count == rows * cols else {
            throw .dimensionMismatch("matrix \(rows)x\(cols) needs \(rows * cols) values, got \(values.count)")
        }
        self.rows = rows
        self.cols = cols
        self.values = values
    }

    /// A matrix whose rows are the given vectors; every vector must have the same length.
    public init(rowVectors: [[Float]]) throws(VectorMathError) {
        let cols = rowVectors.first?.count ?? 0
        var values = [Float]()
        values.reserveCapacity(rowVectors.count * cols)
        for (index, row) in rowVectors.enumerated() {
            guard row.count == cols else {
                throw .dimensionMismatch("row \(index) has \(row.count) values, expected \(cols)")
            }
            values.append(contentsOf: row)
        }
        self.rows = rowVectors.count
        self.cols = cols
        self.values = values
    }

    /// Element access.
    public subscript(row: Int, col: Int) -> Float {
        get { values[row * cols + col] }
        set { values[row * cols + col] = newValue }
    }

    /// A copy of one row.
    public func row(_ index: Int) -> [Float] {
        Array(values[(index * cols)..<((index + 1) * cols)])
    }

    /// All rows as separate arrays.
    public var rowVectors: [[Float]] {
        (0..<rows).map { row($0) }
    }

    /// Replaces one row.
    public mutating func setRow(_ index: Int, _ vector: [Float]) {
        precondition(vector.count == cols, "row length \(vector.count) does not match \(cols) columns")
        values.replaceSubrange((index * cols)..<((index + 1) * cols), with: vector)
    }

    /// Changes the number of rows, keeping the leading values (zeros for new rows). Reuses capacity.
    public mutating func resize(rows newRows: Int) {
        if newRows * cols < values.count {
            values.removeLast(values.count - newRows * cols)
        } else if newRows * cols > values.count {
            values.append(contentsOf: repeatElement(0, count: newRows * cols - values.count))
        }
        rows = newRows
    }

    /// The transpose.
    public func transposed() -> Matrix {
        var out = Matrix(rows: cols, cols: rows)
        for r in 0..<rows {
            for c in 0..<cols {
                out.values[c * rows + r] = values[r * cols + c]
            }
        }
        return out
    }

    /// True when every value is finite (no NaN, no infinity).
    public var isFinite: Bool { values.allSatisfy { $0.isFinite } }
}

/// Errors of the vector-math layer.
public enum VectorMathError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Operand shapes do not fit together.
    case dimensionMismatch(String)
    /// A file could not be opened or mapped.
    case fileUnreadable(path: String, reason: String)
    /// A byte range lies outside the mapped file.
    case outOfBounds(String)
    /// An argument is outside its allowed range.
    case invalidValue(String)

    public var description: String {
        switch self {
        case .dimensionMismatch(let what): "dimension mismatch: \(what)"
        case .fileUnreadable(let path, let reason): "cannot read \(path): \(reason)"
        case .outOfBounds(let what): "out of bounds: \(what)"
        case .invalidValue(let what): "invalid value: \(what)"
        }
    }
}
