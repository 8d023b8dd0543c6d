import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Stops or starts the test server (the cluster `.ci/peers.sh start postgres` made), as its owner. Spawned and
/// reaped directly: Foundation's `Process` waits for every descendant, and `pg_ctl start` leaves the server running.
public func serverControl(_ action: String) throws {
    let environment = ProcessInfo.processInfo.environment
    guard let bin = environment["POINTSMAN_POSTGRES_BIN"], let data = environment["POINTSMAN_POSTGRES_DATA"] else {
        throw ServerControlError(description: "POINTSMAN_POSTGRES_BIN and POINTSMAN_POSTGRES_DATA are not set: start the server with .ci/peers.sh start postgres")
    }
    var command = ["\(bin)/pg_ctl", "-D", data, "-w", "-t", "60", "-m", "fast", "-l", data + ".log", action]
    if getuid() == 0 { command = ["/usr/sbin/runuser", "-u", "postgres", "--"] + command }
    let status = try runQuietly(command)
    guard status == 0 else { throw ServerControlError(description: "pg_ctl \(action) failed (status \(status))") }
}

/// Runs `command` (an absolute path and its arguments) with no input and output to `/dev/null`, and returns its exit
/// status.
func runQuietly(_ command: [String]) throws -> Int32 {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    for fd in Int32(0)...2 { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0) }
    var argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    guard posix_spawn(&pid, command[0], &actions, nil, &argv, environ) == 0 else {
        throw ServerControlError(description: "cannot run \(command[0])")
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1 {
        guard errno == EINTR else { throw ServerControlError(description: "cannot wait for \(command[0])") }
    }
    return status
}

public struct ServerControlError: Error, CustomStringConvertible { public let description: String }
