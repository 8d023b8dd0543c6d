import Dispatch
import Foundation

/// Splits work over the machine's cores with Dispatch (synchronously: returns when every part is done).
public enum Parallel {
    /// The number of cores.
    public static let cores: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Runs `body(0..<parts)` concurrently; a single part runs inline.
    static func run(_ parts: Int, _ body: (Int) -> Void) {
        if parts <= 1 {
            body(0)
            return
        }
        withoutActuallyEscaping(body) { body in
            let box = UncheckedBox(body)
            DispatchQueue.concurrentPerform(iterations: parts) { box.value($0) }
        }
    }

    /// `count` items cut into at most `parts` contiguous blocks whose sizes are multiples of `multiple` (but the last).
    static func blocks(count: Int, parts: Int, multiple: Int) -> [Range<Int>] {
        let wanted = max(1, min(parts, (count + multiple - 1) / multiple))
        let size = ((count + wanted - 1) / wanted + multiple - 1) / multiple * multiple
        var out: [Range<Int>] = []
        var start = 0
        while start < count {
            out.append(start..<min(start + size, count))
            start += size
        }
        return out.isEmpty ? [0..<0] : out
    }
}

/// Carries a non-Sendable closure into `concurrentPerform`: each part touches disjoint memory by construction.
private struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

