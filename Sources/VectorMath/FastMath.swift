/// Vectorisable float approximations for the encoder's hot loops.
public enum FastMath {
    /// eˣ with relative error below 2e-7 over the float range: lane 0 of the eight-lane version, so the scalar tails of
    /// the vector loops compute exactly what the vector body does.
    @inline(__always)
    public static func exp(_ value: Float) -> Float {
        exp(SIMD8(repeating: value))[0]
    }

    /// Eight lanes of eˣ: Cody–Waite reduction and a degree-6 polynomial; n sits in the low mantissa bits of
    /// `shifted`, and integer ops that cannot trap keep callers' loops vectorisable.
    @inline(__always)
    public static func exp(_ value: SIMD8<Float>) -> SIMD8<Float> {
        let low = SIMD8<Float>(repeating: -87), high = SIMD8<Float>(repeating: 88)
        let x = value.replacing(with: low, where: value .< low).replacing(with: high, where: value .> high)
        let shifted = x * 1.44269504088896341 + 12582912.0
        let n = shifted - 12582912.0
        let r = x - n * 0.693359375 + n * 2.12194440e-4
        var p = SIMD8<Float>(repeating: 1.9875691500e-4)
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        let y = p * r * r + r + 1
        let exponent = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000 &+ 127
        return y * unsafeBitCast(exponent &<< 23, to: SIMD8<Float>.self)
    }

    /// Eight lanes of erf(x) (Abramowitz and Stegun 7.1.26 with `exp`), absolute error below 2e-7.
    @inline(__always)
    public static func erf(_ value: SIMD8<Float>) -> SIMD8<Float> {
        let x = value.replacing(with: -value, where: value .< 0)
        let t = 1 / (1 + 0.3275911 * x)
        var p = SIMD8<Float>(repeating: 1.061405429)
        p = p * t - 1.453152027
        p = p * t + 1.421413741
        p = p * t - 0.284496736
        p = p * t + 0.254829592
        let y = 1 - p * t * exp(-x * x)
        return y.replacing(with: -y, where: value .< 0)
    }

    /// erf(x) with absolute error below 2e-7: lane 0 of the eight-lane version.
    @inline(__always)
    public static func erf(_ value: Float) -> Float {
        erf(SIMD8(repeating: value))[0]
    }
}
