import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Closes a connection whose next request head does not arrive in time: after the connection opens, and after each
/// response while no other request is pending. A client trickling a request head byte by byte (which keeps the idle
/// timer happy) is cut off at `timeout`. Once a head has arrived, its body must be complete within `bodyTimeout`, and
/// after the first `rateGrace` it must keep arriving at `minimumBytesPerSecond` on average: a body trickled a byte a
/// second is cut off too.
final class RequestHeadTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let timeout: TimeAmount
    let bodyTimeout: TimeAmount
    let minimumBytesPerSecond: Int
    let rateGrace: TimeAmount
    private var timer: Scheduled<Void>?
    private var bodyTimer: Scheduled<Void>?
    private var rateCheck: RepeatedTask?
    private var bodyStarted: NIODeadline?
    private var bodyBytes = 0
    private var pending = 0

    init(timeout: TimeAmount, bodyTimeout: TimeAmount = .seconds(30), minimumBytesPerSecond: Int = 1024,
         rateGrace: TimeAmount = .seconds(5)) {
        self.timeout = timeout
        self.bodyTimeout = bodyTimeout
        self.minimumBytesPerSecond = minimumBytesPerSecond
        self.rateGrace = rateGrace
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        stopBodyWatch()
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        stopBodyWatch()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            pending += 1
            timer?.cancel()
            timer = nil
            watchBody(context)
        case .body(let buffer):
            bodyBytes += buffer.readableBytes
        case .end:
            stopBodyWatch()
        }
        context.fireChannelRead(data)
    }

    /// Starts the body deadline and the transfer-rate check for the request whose head just arrived.
    private func watchBody(_ context: ChannelHandlerContext) {
        stopBodyWatch()
        bodyStarted = .now()
        bodyBytes = 0
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        bodyTimer = context.eventLoop.scheduleTask(in: bodyTimeout) { bound.value.close(promise: nil) }
        let minimum = Int64(minimumBytesPerSecond)
        let grace = rateGrace
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        rateCheck = context.eventLoop.scheduleRepeatedTask(initialDelay: grace, delay: .seconds(1)) { _ in
            let this = handler.value
            guard let started = this.bodyStarted else { return }
            let elapsed = NIODeadline.now() - started
            if Self.isTooSlow(bytes: this.bodyBytes, nanoseconds: elapsed.nanoseconds, minimumBytesPerSecond: minimum) {
                bound.value.close(promise: nil)
            }
        }
    }

    /// Whether a body that sent `bytes` in `nanoseconds` came slower than `minimumBytesPerSecond`. In floating point:
    /// a client that streams gigabytes (Hummingbird drains a body the route did not read) must not overflow it.
    static func isTooSlow(bytes: Int, nanoseconds: Int64, minimumBytesPerSecond: Int64) -> Bool {
        Double(bytes) < Double(minimumBytesPerSecond) * Double(nanoseconds) / 1e9
    }

    private func stopBodyWatch() {
        bodyTimer?.cancel()
        bodyTimer = nil
        rateCheck?.cancel()
        rateCheck = nil
        bodyStarted = nil
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            pending = max(0, pending - 1)
            if pending == 0 { arm(context) }
        }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext) {
        timer?.cancel()
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: timeout) { bound.value.close(promise: nil) }
    }
}
