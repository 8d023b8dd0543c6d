import Foundation
import Synchronization
import VectorMath

extension UUID {
    /// A version 7 UUID (RFC 9562): the milliseconds since 1970 in the first 48 bits, then 74 random bits. Ids made
    /// later sort later, so a table keyed by them grows at one end of its index instead of touching pages at random.
    ///
    /// The random bits come from `RecordIDBits`, not from `UUID()`: these ids name records (decisions, spend), one
    /// or more per served request, and need to be unique, not secret.
    public static func timeOrdered(at date: Date = Date()) -> UUID {
        let milliseconds = UInt64(max(0, min(date.timeIntervalSince1970 * 1000, Double(UInt64(1) << 48 - 1))))
        let (high, low) = RecordIDBits.next()
        // Bytes 0–5: the time. Byte 6: the version over four random bits; 7: random; 8: the variant over six random
        // bits; 9–15: random.
        let bits = (
            UInt8(truncatingIfNeeded: milliseconds >> 40), UInt8(truncatingIfNeeded: milliseconds >> 32),
            UInt8(truncatingIfNeeded: milliseconds >> 24), UInt8(truncatingIfNeeded: milliseconds >> 16),
            UInt8(truncatingIfNeeded: milliseconds >> 8), UInt8(truncatingIfNeeded: milliseconds),
            0x70 | UInt8(truncatingIfNeeded: high >> 8) & 0x0F, UInt8(truncatingIfNeeded: high),
            0x80 | UInt8(truncatingIfNeeded: low >> 56) & 0x3F, UInt8(truncatingIfNeeded: low >> 48),
            UInt8(truncatingIfNeeded: low >> 40), UInt8(truncatingIfNeeded: low >> 32),
            UInt8(truncatingIfNeeded: low >> 24), UInt8(truncatingIfNeeded: low >> 16),
            UInt8(truncatingIfNeeded: low >> 8), UInt8(truncatingIfNeeded: low))
        return UUID(uuid: bits)
    }
}

/// Random bits for record ids without a system call per id.
///
/// On Linux, Foundation's `UUID()` opens, reads and closes `/dev/urandom` for every id: three system calls, which
/// cost the service 12–16 µs of CPU per logged request under load (docs/benchmarks.md, "The shared database").
/// Here one SplitMix64 stream per process, seeded once from the system's generator, gives the bits under a lock.
/// Its output passes the usual statistical tests, so two ids made in the same millisecond share all 74 random bits
/// about as rarely as with `UUID()`'s; unlike those, later bits can be predicted from earlier ones, so ids that
/// must be unguessable do not come from here. A child made by `fork()` without `exec` would repeat its parent's
/// stream; Pointsman starts other programs only through `Process`, which execs.
enum RecordIDBits {
    private static let stream: Mutex<SeededGenerator> = {
        var system = SystemRandomNumberGenerator()
        return Mutex(SeededGenerator(seed: system.next()))
    }()

    /// Two draws: `high` for the 12 bits after the time, `low` for the 62 bits after the variant.
    static func next() -> (high: UInt64, low: UInt64) {
        stream.withLock { generator in (generator.next(), generator.next()) }
    }
}
