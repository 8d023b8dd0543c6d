import Foundation
import PointsmanTestSupport
import Testing

@Suite("Test scratch folders")
struct ScratchFolderTests {
    @Test("temporary folders live under this process's run folder, and run folders of finished processes are swept")
    func runFolders() throws {
        let scratch = TestPaths.temporaryDirectory("sweep")
        #expect(scratch.hasPrefix(TestPaths.runDirectory + "/"))
        #expect((TestPaths.runDirectory as NSString).lastPathComponent == "\(TestPaths.runDirectoryPrefix)\(getpid())")

        // A process that has finished: its id is free (until the system reuses it, far later than this test).
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/sh")
        finished.arguments = ["-c", "exit 0"]
        try finished.run()
        finished.waitUntilExit()
        let names = ["\(TestPaths.runDirectoryPrefix)\(finished.processIdentifier)",  // finished: swept
                     "\(TestPaths.runDirectoryPrefix)\(getpid())",  // this process: kept
                     "\(TestPaths.runDirectoryPrefix)1",  // init runs: kept
                     "\(TestPaths.runDirectoryPrefix)notanumber",  // not a run folder: kept
                     "pointsman-other"]  // another prefix: kept
        for name in names {
            try FileManager.default.createDirectory(atPath: scratch + "/" + name + "/inner", withIntermediateDirectories: true)
        }
        #expect(TestPaths.removeStaleRunDirectories(in: scratch) == [names[0]])
        let left = try FileManager.default.contentsOfDirectory(atPath: scratch).sorted()
        #expect(left == names.dropFirst().sorted())
    }
}
