extension String {
    /// Texts longer than this many UTF-8 bytes are read by their two ends where a scan's cost must stay bounded.
    public static let scanLimit = 16_384
    /// How many Unicode scalars of each end of such a text are read.
    public static let scanKept = 4_096

    /// What the language detector and the regex rules read of a prompt: the whole text up to `scanLimit` bytes, else
    /// its first and last `scanKept` Unicode scalars around a line holding an ellipsis (cut by scalars, not by
    /// characters, so that combining marks cannot stretch the ends). A request's instruction sits at one end of a long
    /// prompt (the prompt view keeps fewer words still), and this bounds the time any prompt costs.
    public var scannedEnds: String {
        guard utf8.count > Self.scanLimit else { return self }
        let scalars = unicodeScalars
        var ends = String.UnicodeScalarView(scalars.prefix(Self.scanKept))
        ends.append(contentsOf: "\n…\n".unicodeScalars)
        ends.append(contentsOf: scalars.suffix(Self.scanKept))
        return String(ends)
    }
}
