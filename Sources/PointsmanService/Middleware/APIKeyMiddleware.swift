import Foundation
import HTTPTypes
import Hummingbird

/// Requires one of the configured keys on every route except the health probes, as `Authorization: Bearer <key>`
/// (the scheme in any case, what OpenAI clients send) or `x-api-key: <key>` (what Anthropic clients send). With admin
/// keys configured, the `/admin/` routes take one of those and nothing else (a client key there is a 403). Keys are
/// compared in constant time.
struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let keys: [[UInt8]]
    let adminKeys: [[UInt8]]
    let open: Set<String> = ["/healthz", "/readyz"]

    init(keys: [String], adminKeys: [String] = []) {
        self.keys = keys.map { Array($0.utf8) }
        self.adminKeys = adminKeys.map { Array($0.utf8) }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if !adminKeys.isEmpty, Self.isAdminPath(path) {
            guard let presented = Self.presentedKey(request).map({ Array($0.utf8) }) else {
                throw OpenAIError(.unauthorized, "missing admin key: send Authorization: Bearer <admin key> or x-api-key: <admin key>",
                                  code: "missing_api_key")
            }
            if Self.contains(adminKeys, presented) { return try await next(request, context) }
            guard Self.contains(keys, presented) else { throw OpenAIError(.unauthorized, "invalid API key", code: "invalid_api_key") }
            throw OpenAIError(.forbidden, "this route needs an admin key", code: "admin_key_required")
        }
        if keys.isEmpty || open.contains(path) { return try await next(request, context) }
        guard let key = Self.presentedKey(request) else {
            throw OpenAIError(.unauthorized, "missing API key: send Authorization: Bearer <key> or x-api-key: <key>", code: "missing_api_key")
        }
        guard Self.contains(keys, Array(key.utf8)) else { throw OpenAIError(.unauthorized, "invalid API key", code: "invalid_api_key") }
        return try await next(request, context)
    }

    /// Whether a path reaches an `/admin/` route: judged by its first non-empty segment, the way the router matches
    /// (it skips empty segments, so `//admin/reload` is the reload route too).
    static func isAdminPath(_ path: String) -> Bool {
        path.split(separator: "/", omittingEmptySubsequences: true).first == "admin"
    }

    /// Whether `presented` is one of `keys`, every key compared in full.
    static func contains(_ keys: [[UInt8]], _ presented: [UInt8]) -> Bool {
        var matched = false
        for key in keys where constantTimeEqual(key, presented) { matched = true }
        return matched
    }

    /// The key a request presents, bearer first, then `x-api-key` (checked by the middleware when keys are
    /// configured), or nil.
    static func presentedKey(_ request: Request) -> String? {
        if let header = request.headers[.authorization], header.count > 7, header.prefix(7).lowercased() == "bearer " {
            return header.dropFirst(7).trimmingCharacters(in: .whitespaces)
        }
        if let key = request.headers[HTTPField.Name("x-api-key")!]?.trimmingCharacters(in: .whitespaces), !key.isEmpty {
            return key
        }
        return nil
    }

    /// Compares without an early exit, so timing does not reveal how much of a key matched.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        let length = max(a.count, b.count)
        for i in 0..<length {
            let x = i < a.count ? a[i] : 0, y = i < b.count ? b[i] : 0
            difference |= x ^ y
        }
        return difference == 0
    }
}
