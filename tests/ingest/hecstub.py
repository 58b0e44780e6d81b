"""A tiny HEC for unit tests (only here: the integration tests use the Splunk stand-in).

It records what it accepted and can be switched to fail the ways a real HEC fails: not
listening, busy (503, code 9), a refused token, bad data (400, code 6, all or nothing, like
Splunk's stand-in), and 413 for bodies over a size.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from labstack.world import free_port

TOKEN = "11111111-2222-4333-8444-555555555555"
_decode = json.JSONDecoder().raw_decode


def split_events(text: str) -> list[dict]:
    """Concatenated JSON objects, as HEC reads them."""
    events, pos = [], 0
    while True:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        if pos >= len(text):
            return events
        obj, pos = _decode(text, pos)
        events.append(obj)


class HecStub:
    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = TOKEN
        self.lock = threading.Lock()
        self.bodies: list[bytes] = []  # accepted request bodies
        self.events: list[dict] = []  # accepted events
        self.requests: list[dict] = []  # every POST: headers and size
        self.mode = "ok"  # ok | busy | error | bad-token
        self.reject = None  # callable(event) -> True for events refused as bad data
        self.max_bytes: int | None = None
        self.hook = None  # called before an accepted body is stored
        self.server: ThreadingHTTPServer | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def up(self) -> HecStub:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _reply(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path == "/services/collector/health" and stub.mode == "ok":
                    self._reply(200, {"text": "HEC is healthy", "code": 17})
                else:
                    self._reply(503, {"text": "HEC is unhealthy", "code": 18})

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self._reply(*stub.answer(self.path, dict(self.headers), body))

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def down(self) -> None:
        """Stop listening: connections are refused."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    # -- behaviour -------------------------------------------------------------------------------
    def answer(self, path: str, headers: dict, body: bytes) -> tuple[int, dict]:
        with self.lock:
            self.requests.append({"path": path, "headers": headers, "size": len(body)})
            if path != "/services/collector/event":
                return 404, {"text": "The requested URL was not found", "code": 404}
            if headers.get("Authorization") != f"Splunk {self.token}" or self.mode == "bad-token":
                return 403, {"text": "Invalid token", "code": 4}
            if self.mode == "busy":
                return 503, {"text": "Server is busy", "code": 9}
            if self.mode == "error":
                return 500, {"text": "Internal server error", "code": 8}
            if self.max_bytes is not None and len(body) > self.max_bytes:
                return 413, {"text": "Content too large", "code": 413}
            events = split_events(body.decode())
            if not events:
                return 400, {"text": "No data", "code": 5}
            for number, event in enumerate(events):
                if self.reject is not None and self.reject(event):
                    return 400, {
                        "text": "Invalid data format",
                        "code": 6,
                        "invalid-event-number": number,
                    }
            if self.hook is not None:
                self.hook()
            self.bodies.append(body)
            self.events.extend(events)
            return 200, {"text": "Success", "code": 0}

    def posts(self) -> int:
        return len(self.requests)
