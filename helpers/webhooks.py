"""A small local webhook receiver: see what an alert (Splunk's webhook action) actually POSTs.

``Receiver`` listens on a free loopback port in a background thread and keeps every JSON body
it is sent, with its arrival time. Point a saved search's ``action.webhook.param.url`` at
``receiver.url`` and wait for the payload:

>>> from helpers.webhooks import Receiver
>>> with Receiver() as receiver:                                       # doctest: +SKIP
...     # ... create the alert with action.webhook.param.url=receiver.url, trigger it ...
...     payload = receiver.wait(timeout=30)[0]
>>> payload["search_name"], payload["result"]["eventName"]            # doctest: +SKIP
('Lab: security group opened to the world', 'AuthorizeSecurityGroupIngress')

It is for notebooks, tests and benchmarks on one machine; the automation server is the real
receiver.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["Received", "Receiver"]


@dataclass
class Received:
    """One POST: its path, its JSON body (or ``{"_raw": text}``), headers and arrival time."""

    path: str
    payload: dict
    headers: dict[str, str]
    time: float = field(default_factory=time.time)


class Receiver:
    """Collects webhook POSTs on ``http://127.0.0.1:<port>/<path>``; a context manager.

    ``port=0`` picks a free port; ``status`` is what every POST is answered with (set it to 500
    to play a failing receiver).
    """

    def __init__(self, port: int = 0, host: str = "127.0.0.1", path: str = "/hook", status=200):
        self.host, self.path, self.status = host, path, status
        self.received: list[Received] = []
        self._arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                text = self.rfile.read(length).decode("utf-8", "replace")
                try:
                    body = json.loads(text)
                except ValueError:
                    body = {"_raw": text}
                receiver._add(Received(self.path, body, dict(self.headers)))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):  # keep notebook and test output clean
                pass

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{self.path}"

    @property
    def payloads(self) -> list[dict]:
        with self._arrived:
            return [r.payload for r in self.received]

    def _add(self, item: Received) -> None:
        with self._arrived:
            self.received.append(item)
            self._arrived.notify_all()

    def wait(self, count: int = 1, timeout: float = 30.0, where=None) -> list[dict]:
        """Block until ``count`` payloads (those for which ``where(payload)`` is true, if given)
        have arrived; return them. TimeoutError says how many came."""
        deadline = time.monotonic() + timeout

        def matching() -> list[dict]:
            return [r.payload for r in self.received if where is None or where(r.payload)]

        with self._arrived:
            while len(found := matching()) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"{len(found)} of {count} webhook payload(s) arrived within {timeout} s"
                    )
                self._arrived.wait(left)
            return found

    def start(self) -> Receiver:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"webhook-receiver-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"Receiver({self.url}, {len(self.received)} received)"
