import Foundation
import PointsmanTestSupport
import Testing

@Suite("Test scratch folders")
struct ScratchFolderTests {
    @Test("temporary folders live under this process's locked run folder; run folders nobody holds are swept")
    func runFolders() throws {
        let scratch = TestPaths.temporaryDirectory("sweep")
        #expect(scratch.hasPrefix(TestPaths.runDirectory + "/"))
        #expect((TestPaths.runDirectory as NSString).lastPathComponent.hasPrefix(TestPaths.runDirectoryPrefix))
        #expect(TestPaths.lockRunDirectory(TestPaths.runDirectory) == nil, "this process holds its own run folder's lock")

        let fileManager = FileManager.default
        func make(_ name: String) throws -> String {
            let path = scratch + "/" + name
            try fileManager.createDirectory(atPath: path + "/inner", withIntermediateDirectories: true)
            return path
        }
        let held = try make("\(TestPaths.runDirectoryPrefix)held")  // a running process holds its lock: kept
        let heldLock = try #require(TestPaths.lockRunDirectory(held))
        defer { close(heldLock) }
        let free = try make("\(TestPaths.runDirectoryPrefix)free")  // its process ended, the lock is free: swept
        close(try #require(TestPaths.lockRunDirectory(free)))
        _ = try make("\(TestPaths.runDirectoryPrefix)fresh")  // no lock file yet, just made: kept
        let old = try make("\(TestPaths.runDirectoryPrefix)old")  // no lock file, long untouched: swept
        try fileManager.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -2 * TestPaths.unlockedGrace)],
                                      ofItemAtPath: old)
        _ = try make("pointsman-other")  // another prefix: kept

        #expect(TestPaths.removeStaleRunDirectories(in: scratch).sorted() == ["\(TestPaths.runDirectoryPrefix)free",
                                                                             "\(TestPaths.runDirectoryPrefix)old"])
        #expect(try fileManager.contentsOfDirectory(atPath: scratch).sorted()
            == ["pointsman-other", "\(TestPaths.runDirectoryPrefix)fresh", "\(TestPaths.runDirectoryPrefix)held"])
    }
}
