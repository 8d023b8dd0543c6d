/// Order statistics of measured samples (latencies, timings), shared by the evaluator and the benchmarks.
public enum SampleStatistics {
    /// The `p`-th percentile (0...100) with linear interpolation between the nearest ranks; 0 for no samples.
    public static func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let rank = p / 100 * Double(sorted.count - 1)
        let low = Int(rank.rounded(.down)), high = Int(rank.rounded(.up))
        return sorted[low] + (sorted[high] - sorted[low]) * (rank - Double(low))
    }

    /// The median.
    public static func median(_ values: [Double]) -> Double { percentile(values, 50) }
}
