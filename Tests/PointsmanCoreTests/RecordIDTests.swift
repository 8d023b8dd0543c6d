import Foundation
import PointsmanCore
import Testing

@Suite("Record ids")
struct RecordIDTests {
    @Test("ids made in one millisecond are distinct version 7 UUIDs with that millisecond in front")
    func oneMillisecond() {
        let instant = Date(timeIntervalSince1970: 1_796_000_000)
        let ids = (0..<50_000).map { _ in UUID.timeOrdered(at: instant) }
        #expect(Set(ids).count == ids.count)
        for id in ids.prefix(1000) {
            #expect(id.uuid.6 >> 4 == 7)
            #expect(id.uuid.8 >> 6 == 0b10)
            #expect(id.uuidString.lowercased().hasPrefix("01a229f1-2800-7"))  // 1,796,000,000,000 ms = 0x01a229f12800
        }
        // Every one of the 74 random bits takes both values.
        var ones = [Int](repeating: 0, count: 128)
        for id in ids {
            withUnsafeBytes(of: id.uuid) { bytes in
                for bit in 0..<128 where bytes[bit / 8] >> (7 - bit % 8) & 1 == 1 { ones[bit] += 1 }
            }
        }
        let random = Array(52..<64) + Array(66..<128)
        #expect(random.count == 74)
        for bit in random { #expect(ones[bit] > ids.count / 3 && ones[bit] < ids.count * 2 / 3, "bit \(bit): \(ones[bit]) ones") }
    }

    @Test("later milliseconds sort later")
    func ordering() {
        let early = UUID.timeOrdered(at: Date(timeIntervalSince1970: 1_796_000_000))
        let late = UUID.timeOrdered(at: Date(timeIntervalSince1970: 1_796_000_000.002))
        #expect(early.uuidString.lowercased() < late.uuidString.lowercased())
    }

    @Test("ids made by many tasks at once are distinct")
    func concurrent() async {
        let ids = await withTaskGroup(of: [UUID].self) { group in
            for _ in 0..<8 { group.addTask { (0..<5_000).map { _ in UUID.timeOrdered() } } }
            var all: [UUID] = []
            for await part in group { all += part }
            return all
        }
        #expect(Set(ids).count == 40_000)
    }
}
