import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// What the fake server received.
public struct FakeRequest: Sendable {
    public var method: String
    public var uri: String
    public var headers: [(String, String)]
    public var body: String
    /// 0 for the first request the server saw, 1 for the second, …
    public var index: Int

    public func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    public var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]) ?? [:] }
}

/// How the fake server answers.
public indirect enum FakeReply: Sendable {
    /// A complete response.
    case respond(status: Int, headers: [(String, String)] = [("Content-Type", "application/json")], body: String)
    /// An event stream written piece by piece (raw bytes per piece), `gap` apart; closed mid-way when `cut`.
    case stream(pieces: [String], gap: Duration = .zero, cut: Bool = false)
    /// Waits before answering.
    case delayed(Duration, FakeReply)
}

/// An in-process HTTP/1.1 server on 127.0.0.1 with a scripted responder, for client error-path tests.
public final class FakeOpenAIServer: Sendable {
    let channel: any Channel
    let log: RequestLog
    public var baseURL: String { "http://127.0.0.1:\(channel.localAddress!.port!)/v1" }

    final class RequestLog: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [FakeRequest] = []
        func add(_ make: (Int) -> FakeRequest) -> FakeRequest {
            lock.withLock {
                let request = make(items.count)
                items.append(request)
                return request
            }
        }
        var all: [FakeRequest] { lock.withLock { items } }
        private var gone: [ContinuousClock.Instant] = []
        func noteClientGone() { lock.withLock { gone.append(.now) } }
        var clientsGone: [ContinuousClock.Instant] { lock.withLock { gone } }
    }

    public init(_ responder: @escaping @Sendable (FakeRequest) -> FakeReply) async throws {
        let log = RequestLog()
        self.log = log
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(responder: responder, log: log))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    public var requests: [FakeRequest] { log.all }

    /// Streams whose client closed the connection before the last piece was written.
    public var streamsAbandoned: Int { log.clientsGone.count }
    /// When each of those clients left.
    public var abandonTimes: [ContinuousClock.Instant] { log.clientsGone }

    public func stop() async throws { try await channel.close() }

    final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let responder: @Sendable (FakeRequest) -> FakeReply
        let log: RequestLog
        var head: HTTPRequestHead?
        var body = ""
        var streaming = false

        init(responder: @escaping @Sendable (FakeRequest) -> FakeReply, log: RequestLog) {
            self.responder = responder
            self.log = log
        }

        func channelInactive(context: ChannelHandlerContext) {
            if streaming {
                streaming = false
                log.noteClientGone()
            }
            context.fireChannelInactive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let h):
                head = h
                body = ""
            case .body(let buffer):
                body += String(buffer: buffer)
            case .end:
                guard let head else { return }
                let request = log.add {
                    FakeRequest(method: head.method.rawValue, uri: head.uri, headers: head.headers.map { ($0.name, $0.value) },
                                body: body, index: $0)
                }
                perform(responder(request), context: context, keepAlive: head.isKeepAlive)
            }
        }

        func perform(_ reply: FakeReply, context: ChannelHandlerContext, keepAlive: Bool) {
            let loop = context.eventLoop
            let bound = NIOLoopBound((self, context), eventLoop: loop)
            switch reply {
            case .delayed(let wait, let next):
                loop.scheduleTask(in: .nanoseconds(Int64(wait.components.seconds * 1_000_000_000 + wait.components.attoseconds / 1_000_000_000))) {
                    let (handler, context) = bound.value
                    handler.perform(next, context: context, keepAlive: keepAlive)
                }
            case .respond(let status, let headers, let text):
                var h = HTTPHeaders(headers)
                h.replaceOrAdd(name: "Content-Length", value: String(text.utf8.count))
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: status), headers: h))), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            case .stream(let pieces, let gap, let cut):
                var h = HTTPHeaders([("Content-Type", "text/event-stream")])
                h.add(name: "Transfer-Encoding", value: "chunked")
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: h))), promise: nil)
                streaming = true
                let nanos = Int64(gap.components.seconds * 1_000_000_000 + gap.components.attoseconds / 1_000_000_000)
                func send(_ index: Int) {
                    let (handler, context) = bound.value
                    guard handler.streaming else { return }  // the client left
                    if index == pieces.count {
                        handler.streaming = false
                        if cut {
                            context.close(promise: nil)
                        } else {
                            context.writeAndFlush(handler.wrapOutboundOut(.end(nil)), promise: nil)
                        }
                        return
                    }
                    context.writeAndFlush(handler.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: pieces[index])))), promise: nil)
                    if nanos == 0 {
                        send(index + 1)
                    } else {
                        loop.scheduleTask(in: .nanoseconds(nanos)) { send(index + 1) }
                    }
                }
                send(0)
            }
        }
    }
}

public enum FakeBodies {
    public static func chat(_ content: String, model: String = "m") -> String {
        #"{"id":"c1","object":"chat.completion","model":"\#(model)","choices":[{"index":0,"message":{"role":"assistant","content":"\#(content)"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}"#
    }

    public static func chunk(_ delta: String) -> String {
        #"data: {"choices":[{"index":0,"delta":{"content":"\#(delta)"},"finish_reason":null}]}"# + "\n\n"
    }
}
