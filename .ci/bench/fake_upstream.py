# A minimal OpenAI-compatible upstream for measuring Pointsman's own overhead: answers every chat request at once.
import json, socket, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY = json.dumps({"id": "x", "object": "chat.completion", "model": "m",
                   "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
                   "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}}).encode()

CHUNKS = [{"choices": [{"index": 0, "delta": {"content": word}}]} for word in ["Leaves ", "fall ", "slowly"]]
CHUNKS.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
CHUNKS.append({"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}})
STREAM = "".join("data: " + json.dumps(c) + "\n\n" for c in CHUNKS).encode() + b"data: [DONE]\n\n"

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def setup(self):
        super().setup()
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle delay between head and body
    def do_POST(self):
        request = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if b'"stream": true' in request or b'"stream":true' in request:
            # A short chat-completions stream: three text chunks, a finish chunk, a usage chunk, [DONE].
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Content-Length", str(len(STREAM)))
            self.end_headers()
            self.wfile.write(STREAM)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)
    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
