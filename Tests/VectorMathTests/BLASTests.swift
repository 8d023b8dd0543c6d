import Foundation
import Testing
import VectorMath

@Suite("Typed BLAS wrappers on OpenBLAS")
struct BLASTests {
    @Test("gemm with and without transposes matches a hand computation")
    func gemm() throws {
        let a = try Matrix(rows: 2, cols: 3, values: [1, 2, 3, 4, 5, 6])
        let b = try Matrix(rows: 3, cols: 2, values: [7, 8, 9, 10, 11, 12])
        var c = Matrix(rows: 2, cols: 2)
        try BLAS.gemm(a, b, into: &c)
        #expect(c.values == [58, 64, 139, 154])
        var ct = Matrix(rows: 2, cols: 2)
        try BLAS.gemm(a, b.transposed(), transposeB: true, into: &ct)
        #expect(ct.values == c.values)
        var ata = Matrix(rows: 3, cols: 3)
        try BLAS.gemm(a, transposeA: true, a, into: &ata)
        #expect(ata.values == [17, 22, 27, 22, 29, 36, 27, 36, 45])
        // beta accumulates
        try BLAS.gemm(a, b, into: &c, alpha: 1, beta: 1)
        #expect(c.values == [116, 128, 278, 308])
    }

    @Test("dimension mismatches are errors, not crashes")
    func mismatches() throws {
        let a = Matrix(rows: 2, cols: 3)
        let b = Matrix(rows: 2, cols: 3)
        var c = Matrix(rows: 2, cols: 2)
        #expect(throws: VectorMathError.self) { try BLAS.gemm(a, b, into: &c) }
        var wrong = Matrix(rows: 3, cols: 3)
        #expect(throws: VectorMathError.self) { try BLAS.gemm(a, b, transposeB: true, into: &wrong) }
        var y = [Float](repeating: 0, count: 3)
        #expect(throws: VectorMathError.self) { try BLAS.gemv(a, [1, 2, 3], into: &y) }
        #expect(throws: VectorMathError.self) { try BLAS.dot([1, 2], [1, 2, 3]) }
        #expect(throws: VectorMathError.self) { try Matrix(rows: 2, cols: 2, values: [1]) }
        #expect(throws: VectorMathError.self) { try Matrix(rowVectors: [[1, 2], [3]]) }
    }

    @Test("gemv, dot, norm, scale, axpy")
    func level1and2() throws {
        let a = try Matrix(rows: 2, cols: 3, values: [1, 2, 3, 4, 5, 6])
        var y = [Float](repeating: 0, count: 2)
        try BLAS.gemv(a, [1, 0, -1], into: &y)
        #expect(y == [-2, -2])
        var yt = [Float](repeating: 0, count: 3)
        try BLAS.gemv(a, transpose: true, [1, 1], into: &yt)
        #expect(yt == [5, 7, 9])
        #expect(try BLAS.dot([1, 2, 3], [4, 5, 6]) == 32)
        #expect(BLAS.norm([3, 4]) == 5)
        var v: [Float] = [1, 2]
        BLAS.scale(&v, by: 3)
        #expect(v == [3, 6])
        try BLAS.axpy(2, [1, 1], &v)
        #expect(v == [5, 8])
    }
}

@Suite("Transformer kernels")
struct KernelTests {
    @Test("layer norm gives zero mean and unit variance before the affine part")
    func layerNorm() throws {
        var x = try Matrix(rows: 2, cols: 4, values: [1, 2, 3, 4, 10, 10, 10, 14])
        try TransformerKernels.addLayerNorm(&x, residual: nil, gamma: [1, 1, 1, 1], beta: [0, 0, 0, 0], epsilon: 1e-12)
        for r in 0..<2 {
            let row = x.row(r)
            let mean = row.reduce(0, +) / 4
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 4
            #expect(abs(mean) < 1e-6)
            #expect(abs(variance - 1) < 1e-5)
        }
    }

    @Test("layer norm with residual, gamma and beta matches a double-precision reference, in lanes and tails, on one or two cores",
          arguments: [(1, 384), (100, 384), (100, 13), (7, 5)])
    func layerNormReference(rows: Int, width: Int) throws {
        var generator = SeededGenerator(seed: UInt64(rows * 1000 + width))
        func random(_ count: Int) -> [Float] { (0..<count).map { _ in Float(generator.next() % 2001) / 100 - 10 } }
        let input = try Matrix(rows: rows, cols: width, values: random(rows * width))
        let residual = try Matrix(rows: rows, cols: width, values: random(rows * width))
        let gamma = random(width), beta = random(width)
        for parallelism in [1, 2] {
            var x = input
            try TransformerKernels.addLayerNorm(&x, residual: residual, gamma: gamma, beta: beta, epsilon: 1e-12,
                                                parallelism: parallelism)
            for r in 0..<rows {
                let summed = (0..<width).map { Double(input[r, $0]) + Double(residual[r, $0]) }
                let mean = summed.reduce(0, +) / Double(width)
                let variance = summed.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(width)
                for j in 0..<width {
                    let expected = (summed[j] - mean) / (variance + 1e-12).squareRoot() * Double(gamma[j]) + Double(beta[j])
                    #expect(abs(Double(x[r, j]) - expected) < 1e-3 * max(1, abs(expected)), "row \(r), column \(j)")
                }
            }
        }
    }

    @Test("attention over packed sequences equals attention over each sequence alone")
    func packedAttention() throws {
        let hidden = 4, heads = 2
        var values: [Float] = []
        for i in 0..<(5 * 3 * hidden) { values.append(Float((i * 37) % 11) / 11 - 0.5) }
        let qkv = try Matrix(rows: 5, cols: 3 * hidden, values: values)
        var scores: [Float] = []
        var packed = Matrix(rows: 5, cols: hidden)
        try TransformerKernels.selfAttention(qkv: qkv, sequenceLengths: [2, 3], heads: heads, scores: &scores, into: &packed)
        let first = try Matrix(rows: 2, cols: 3 * hidden, values: Array(values[0..<(2 * 3 * hidden)]))
        let second = try Matrix(rows: 3, cols: 3 * hidden, values: Array(values[(2 * 3 * hidden)...]))
        var a = Matrix(rows: 2, cols: hidden), b = Matrix(rows: 3, cols: hidden)
        try TransformerKernels.selfAttention(qkv: first, sequenceLengths: [2], heads: heads, scores: &scores, into: &a)
        try TransformerKernels.selfAttention(qkv: second, sequenceLengths: [3], heads: heads, scores: &scores, into: &b)
        #expect(packed.values == a.values + b.values)
        // A single-token sequence attends only to itself: its context is its value vector.
        var single = Matrix(rows: 1, cols: hidden)
        let one = try Matrix(rows: 1, cols: 3 * hidden, values: Array(values[0..<(3 * hidden)]))
        try TransformerKernels.selfAttention(qkv: one, sequenceLengths: [1], heads: heads, scores: &scores, into: &single)
        #expect(single.values == Array(values[(2 * hidden)..<(3 * hidden)]))
    }

    @Test("mean pooling with normalisation")
    func pooling() throws {
        let h = try Matrix(rows: 3, cols: 2, values: [1, 0, 3, 0, 0, 5])
        let pooled = try TransformerKernels.pool(h, sequenceLengths: [2, 1], mode: .mean, normalize: false)
        #expect(pooled.values == [2, 0, 0, 5])
        let normalized = try TransformerKernels.pool(h, sequenceLengths: [2, 1], mode: .mean, normalize: true)
        #expect(normalized.values == [1, 0, 0, 1])
        let cls = try TransformerKernels.pool(h, sequenceLengths: [2, 1], mode: .cls, normalize: false)
        #expect(cls.values == [1, 0, 0, 5])
        let max = try TransformerKernels.pool(h, sequenceLengths: [2, 1], mode: .max, normalize: false)
        #expect(max.values == [3, 0, 0, 5])
        #expect(throws: VectorMathError.self) { try TransformerKernels.pool(h, sequenceLengths: [2], mode: .mean, normalize: false) }
    }

    @Test("lead-token pooling adds the unit mean of the first tokens after [CLS] to the unit pooled vector")
    func leadTokenPooling() throws {
        // Sequence 1: [CLS] a b c [SEP] (5 rows); sequence 2: [CLS] [SEP] (2 rows, no text tokens).
        let h = try Matrix(rows: 7, cols: 2, values: [
            0, 0,   4, 0,   0, 4,   8, 8,   0, 0,
            3, 4,   3, 4,
        ])
        let lead = try TransformerKernels.pool(h, sequenceLengths: [5, 2], mode: .mean, normalize: true, leadTokens: 2)
        // Mean of sequence 1 is (2.4, 2.4) -> unit (0.7071, 0.7071); mean of rows a, b is (2, 2) -> the same unit vector,
        // so the sum points the same way.
        #expect(abs(lead.values[0] - 0.70710677) < 1e-6 && abs(lead.values[1] - 0.70710677) < 1e-6)
        // Without text tokens there is no lead part: the plain unit mean (0.6, 0.8).
        #expect(abs(lead.values[2] - 0.6) < 1e-6 && abs(lead.values[3] - 0.8) < 1e-6)

        // One lead token: unit mean (0.7071, 0.7071) plus unit "a" (1, 0), normalised.
        let one = try TransformerKernels.pool(h, sequenceLengths: [5, 2], mode: .mean, normalize: true, leadTokens: 1)
        let sum: (Float, Float) = (0.70710677 + 1, 0.70710677)
        let norm = (sum.0 * sum.0 + sum.1 * sum.1).squareRoot()
        #expect(abs(one.values[0] - sum.0 / norm) < 1e-6 && abs(one.values[1] - sum.1 / norm) < 1e-6)
        // More lead tokens than the text has: all three text tokens, (4, 4) -> (0.7071, 0.7071).
        let many = try TransformerKernels.pool(h, sequenceLengths: [5, 2], mode: .mean, normalize: true, leadTokens: 50)
        #expect(abs(many.values[0] - 0.70710677) < 1e-6)
        // Zero lead tokens is plain pooling.
        #expect(try TransformerKernels.pool(h, sequenceLengths: [5, 2], mode: .mean, normalize: true, leadTokens: 0)
                == TransformerKernels.pool(h, sequenceLengths: [5, 2], mode: .mean, normalize: true))
        #expect(throws: VectorMathError.self) {
            try TransformerKernels.pool(h, sequenceLengths: [5, 2], mode: .mean, normalize: false, leadTokens: 2)
        }
        #expect(throws: VectorMathError.self) {
            try TransformerKernels.pool(h, sequenceLengths: [5, 2], mode: .mean, normalize: true, leadTokens: -1)
        }
    }

    @Test("a linear layer gives the same result from the packed and the wide weights, for any batch and width",
          arguments: [1, 15, TransformerKernels.packedBatchRows, TransformerKernels.packedBatchRows + 1, 300])
    func linear(rows: Int) throws {
        // 70 outputs: two full packed blocks and a narrow one.
        var generator = SeededGenerator(seed: UInt64(rows))
        func random(_ count: Int) -> [Float] { (0..<count).map { _ in Float(generator.next() % 2001) / 1000 - 1 } }
        let inputs = 48, outputs = 70
        let x = try Matrix(rows: rows, cols: inputs, values: random(rows * inputs))
        let w = try Matrix(rows: outputs, cols: inputs, values: random(outputs * inputs))
        let bias = random(outputs)
        let weight = LinearWeight(w)
        for parallelism in [1, 2] {
            for gelu in [false, true] {
                var out = Matrix(rows: rows, cols: outputs)
                try TransformerKernels.linear(x, weight: weight, bias: bias, into: &out, parallelism: parallelism, gelu: gelu)
                var worst: Float = 0
                for r in 0..<rows {
                    for o in 0..<outputs {
                        var sum = Double(bias[o])
                        for k in 0..<inputs { sum += Double(x[r, k]) * Double(w[o, k]) }
                        let expected = gelu ? 0.5 * sum * (1 + erf(sum / 2.0.squareRoot())) : sum
                        worst = max(worst, abs(out[r, o] - Float(expected)))
                    }
                }
                #expect(worst < 1e-4, "rows \(rows), parallelism \(parallelism), gelu \(gelu): error \(worst)")
            }
        }
        var wrong = Matrix(rows: rows, cols: outputs - 1)
        #expect(throws: VectorMathError.self) { try TransformerKernels.linear(x, weight: weight, bias: bias, into: &wrong) }
    }

    @Test("GELU matches known values")
    func gelu() throws {
        var x = try Matrix(rows: 1, cols: 3, values: [0, 1, -1])
        TransformerKernels.gelu(&x)
        #expect(abs(x.values[0]) < 1e-7)
        #expect(abs(x.values[1] - 0.8413447) < 1e-6)
        #expect(abs(x.values[2] + 0.1586553) < 1e-6)
    }
}

@Suite("Memory-mapped files")
struct MappedFileTests {
    @Test("reads bytes and floats; out-of-range reads are errors")
    func reads() throws {
        let path = (NSTemporaryDirectory() as NSString).appendingPathComponent("pointsman-mapped-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(atPath: path) }
        var bytes: [UInt8] = [8, 0, 0, 0, 0, 0, 0, 0]
        for value: Float in [1.5, -2] {
            let bits = value.bitPattern
            bytes += [UInt8(bits & 0xFF), UInt8(bits >> 8 & 0xFF), UInt8(bits >> 16 & 0xFF), UInt8(bits >> 24)]
        }
        bytes += [0x00, 0x3C]  // float16 1.0
        bytes += [0x80, 0x3F]  // bfloat16 1.0
        try writeFile(path, bytes)
        let file = try MappedFile(path: path)
        #expect(file.size == bytes.count)
        #expect(try file.uint64LittleEndian(at: 0) == 8)
        #expect(try file.floats(at: 8, count: 2, type: .float32) == [1.5, -2])
        #expect(try file.floats(at: 16, count: 1, type: .float16) == [1])
        #expect(try file.floats(at: 18, count: 1, type: .bfloat16) == [1])
        #expect(throws: VectorMathError.self) { try file.floats(at: 16, count: 10, type: .float32) }
        #expect(throws: VectorMathError.self) { try file.bytes(at: -1, count: 1) }
        #expect(throws: VectorMathError.self) { try MappedFile(path: "/nonexistent/file") }
    }
}

func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
        throw CocoaError(.fileWriteUnknown)
    }
}
