"""Test helpers for the Jira stand-in: a private service process and a webhook receiver."""

from __future__ import annotations

import json
import queue
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests
from jira import JIRA

from labstack.jira.config import DEPLOYMENT_ENV
from labstack.process import spawn
from labstack.world import free_port

USER = "lab-automation"


def http() -> requests.Session:
    """A session that talks to loopback directly, whatever proxy the environment names."""
    session = requests.Session()
    session.trust_env = False
    return session


@dataclass
class JiraProcess:
    url: str
    token: str
    state_dir: Path
    port: int

    def client(self, **options) -> JIRA:
        return JIRA(self.url, basic_auth=(USER, self.token), max_retries=0, **options)

    def get(self, path: str, **kwargs) -> requests.Response:
        return http().get(self.url + path, auth=(USER, self.token), timeout=10, **kwargs)

    def settings(self, **extra) -> dict[str, str]:
        return {
            "JIRA_URL": self.url,
            "JIRA_USER": USER,
            "JIRA_TOKEN": self.token,
            "JIRA_PROJECT": "SEC",
            **extra,
        }


@contextmanager
def jira_process(state_dir: Path, token: str = "test-token", deployment: str = "Server"):
    """Run ``python -m labstack.jira`` on its own (for Cloud mode and restarts), on a free port."""
    env = {
        "JIRA_USER": USER,
        "JIRA_TOKEN": token,
        "JIRA_PROJECT": "SEC",
        DEPLOYMENT_ENV: deployment,
    }
    with spawn("jira", state_dir, env) as proc:
        yield JiraProcess(proc.url, token, state_dir, proc.ports["api"])


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    raw: bytes

    @property
    def body(self) -> dict:
        return json.loads(self.raw)


class Receiver:
    """An HTTP server that records webhook deliveries; can be started late and stopped."""

    def __init__(self, port: int | None = None, status: int = 204):
        self.status = status  # what it answers; tests change it to simulate failures
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.received: queue.Queue[Delivery] = queue.Queue()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> Receiver:
        received = self.received
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                received.put(Delivery(self.path, dict(self.headers), raw))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def wait(self, predicate=lambda d: True, timeout: float = 60.0) -> Delivery:
        """The first delivery satisfying ``predicate`` (others are dropped)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                item = self.received.get(timeout=0.2)
            except queue.Empty:
                continue
            if predicate(item):
                return item
        raise AssertionError("no matching webhook delivery arrived")

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def wait_until(condition, timeout: float = 60.0, interval: float = 0.1):
    """Poll ``condition`` until it returns something truthy (never asserts a duration)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")
