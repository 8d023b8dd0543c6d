extension String {
    /// Texts longer than this many UTF-8 bytes are read by their two ends where a scan's cost must stay bounded.
    public static let scanLimit = 16_384
    /// How many characters of each end of such a text are read.
    public static let scanKept = 4_096

    /// What the language detector and the regex rules read of a prompt: the whole text up to `scanLimit` bytes, else
    /// its first and last `scanKept` characters around a line holding an ellipsis. A request's instruction sits at
    /// one end of a long prompt (the prompt view keeps fewer words still), and this bounds the time any prompt costs.
    public var scannedEnds: String {
        guard utf8.count > Self.scanLimit, count > 2 * Self.scanKept else { return self }
        return String(prefix(Self.scanKept)) + "\n…\n" + String(suffix(Self.scanKept))
    }
}
