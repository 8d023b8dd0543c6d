#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file mapped read-only into memory. Values are copied out through typed readers; no pointer escapes.
public final class MappedFile: @unchecked Sendable {
    // Immutable after init; the mapping is never written, so sharing across tasks is safe.
    private let base: UnsafeRawPointer?
    /// Size of the file in bytes.
    public let size: Int
    /// The path the file was opened from.
    public let path: String

    /// Maps the file at `path`.
    public init(path: String) throws(VectorMathError) {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw .fileUnreadable(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw .fileUnreadable(path: path, reason: String(cString: strerror(errno)))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw .fileUnreadable(path: path, reason: "not a regular file")
        }
        size = Int(info.st_size)
        if size == 0 {
            base = nil
            return
        }
        let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let mapped, mapped != MAP_FAILED else {
            throw .fileUnreadable(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(mapped)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), size) }
    }

    private func check(_ offset: Int, _ count: Int) throws(VectorMathError) {
        guard offset >= 0, count >= 0, offset <= size, count <= size - offset else {
            throw .outOfBounds("bytes \(offset)..<\(offset + count) of \(path) (\(size) bytes)")
        }
    }

    /// A copy of `count` bytes starting at `offset`.
    public func bytes(at offset: Int, count: Int) throws(VectorMathError) -> [UInt8] {
        try check(offset, count)
        guard count > 0, let base else { return [] }
        return Array(UnsafeRawBufferPointer(start: base + offset, count: count))
    }

    /// A little-endian unsigned 64-bit integer at `offset`.
    public func uint64LittleEndian(at offset: Int) throws(VectorMathError) -> UInt64 {
        try check(offset, 8)
        return UInt64(littleEndian: base!.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// Element types that can be widened to `Float`.
    public enum ScalarType: Sendable {
        /// IEEE binary32.
        case float32
        /// IEEE binary16.
        case float16
        /// bfloat16 (the upper half of a binary32).
        case bfloat16

        /// Bytes per element.
        public var byteWidth: Int { self == .float32 ? 4 : 2 }
    }

    /// `count` little-endian values of `type` starting at `offset`, widened to `Float`.
    public func floats(at offset: Int, count: Int, type: ScalarType) throws(VectorMathError) -> [Float] {
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: type.byteWidth)
        guard !overflow else { throw .outOfBounds("\(count) elements") }
        try check(offset, byteCount)
        guard count > 0, let base else { return [] }
        let start = base + offset
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            switch type {
            case .float32:
                for i in 0..<count {
                    buffer[i] = Float(bitPattern: UInt32(littleEndian: start.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                }
            case .bfloat16:
                for i in 0..<count {
                    let half = UInt16(littleEndian: start.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                    buffer[i] = Float(bitPattern: UInt32(half) << 16)
                }
            case .float16:
                for i in 0..<count {
                    let half = UInt16(littleEndian: start.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                    buffer[i] = Self.widen(half)
                }
            }
            initialized = count
        }
    }

    /// Tells the kernel the pages of a byte range are no longer needed, so they leave the resident set (they are
    /// read again from the file if touched later). Used after copying tensors out, to keep peak memory low.
    public func release(at offset: Int, count: Int) {
        guard let base, count > 0, offset >= 0, offset + count <= size else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = offset / page * page
        let end = min(size, (offset + count + page - 1) / page * page)
        madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, MADV_DONTNEED)
    }

    private static func widen(_ h: UInt16) -> Float {
        let sign = UInt32(h >> 15) << 31
        let exponent = Int((h >> 10) & 0x1F)
        let mantissa = UInt32(h & 0x3FF)
        if exponent == 0 {
            let value = Float(mantissa) * 0x1p-24
            return sign == 0 ? value : -value
        }
        if exponent == 31 {
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        }
        return Float(bitPattern: sign | UInt32(exponent + 112) << 23 | (mantissa << 13))
    }
}
