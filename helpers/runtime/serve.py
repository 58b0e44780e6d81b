"""Serve a WSGI app: one health path, graceful SIGTERM, clear port errors, race-free ports.

Every lab service and every small receiver answers ``GET /_lab/health`` (:data:`HEALTH_PATH`).

A port is either given (``port=8089``; taken -> :class:`PortInUse` naming the setting to change),
``0`` (the system picks a free one; ``server.port`` says which), or *inherited*: a parent that
bound the listening socket itself passes its file descriptor in ``LAB_FD_<SERVICE>[_<ROLE>]``
(see :func:`listener`). Inherited sockets are how ``World`` starts services on free ports with
no window in which another program could take them.

In a notebook or a test, serve on a thread:

>>> def hello(environ, start_response):
...     start_response("200 OK", [("Content-Type", "text/plain")])
...     return [b"hi"]
>>> with Server(hello) as server:
...     import urllib.request
...     urllib.request.urlopen(server.url + HEALTH_PATH).status
200

As a service process, :func:`run` serves until SIGTERM or SIGINT, then calls ``on_stop``.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import signal
import socket
import ssl
import threading
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

__all__ = [
    "BIND_HOST",
    "HEALTH_PATH",
    "PortInUse",
    "Server",
    "fd_env_name",
    "listener",
    "port_env_name",
    "run",
    "with_health",
]

log = logging.getLogger("helpers.runtime.serve")

BIND_HOST = "127.0.0.1"
HEALTH_PATH = "/_lab/health"
#: How many connections wait in the kernel for ``accept`` (bursts of alerts, HEC senders).
BACKLOG = 512

HealthCheck = Callable[[], Any]


class PortInUse(OSError):
    """The port is taken by another program; the message names the setting that moves it."""


def port_env_name(service: str, role: str = "api") -> str:
    """The environment variable that sets a port, e.g. ``LAB_PORT_SPLUNK_HEC``.

    >>> port_env_name("splunk", "hec"), port_env_name("jira")
    ('LAB_PORT_SPLUNK_HEC', 'LAB_PORT_JIRA')
    """
    suffix = "" if role == "api" else f"_{role.upper()}"
    return f"LAB_PORT_{service.upper()}{suffix}"


def fd_env_name(service: str, role: str = "api") -> str:
    """The environment variable that hands a service an already bound socket.

    >>> fd_env_name("splunk", "hec")
    'LAB_FD_SPLUNK_HEC'
    """
    return port_env_name(service, role).replace("LAB_PORT_", "LAB_FD_", 1)


def listener(service: str, role: str = "api", default: int = 0) -> tuple[int | None, int]:
    """Where a service process listens: ``(inherited fd or None, port)`` from its environment."""
    fd = os.environ.get(fd_env_name(service, role))
    port = int(os.environ.get(port_env_name(service, role)) or default)
    return (int(fd) if fd else None), port


def bind(host: str, port: int, setting: str | None = None) -> socket.socket:
    """A listening TCP socket; a taken port raises :class:`PortInUse` naming ``setting``."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        if err.errno == errno.EADDRINUSE:
            hint = f" Stop it, or choose another port with {setting}=<port>." if setting else ""
            message = f"port {port} on {host} is already in use by another program.{hint}"
            raise PortInUse(errno.EADDRINUSE, message) from None
        raise
    sock.listen(BACKLOG)
    return sock


def with_health(app, check: HealthCheck | None = None):
    """``app`` answering ``GET /_lab/health``: 200 while ``check()`` is truthy, else 503.

    A dict from ``check`` is the response body (its ``ready`` key, when present, decides).
    """

    def wrapped(environ, start_response):
        if environ.get("PATH_INFO") != HEALTH_PATH:
            return app(environ, start_response)
        result = True if check is None else check()
        body = dict(result) if isinstance(result, dict) else {}
        ready = bool(body.get("ready", True)) if isinstance(result, dict) else bool(result)
        body.setdefault("ready", ready)
        data = json.dumps(body, default=str).encode()
        start_response(
            "200 OK" if ready else "503 Service Unavailable",
            [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
        )
        return [data]

    return wrapped


class _QuietHandler(WSGIRequestHandler):
    """Request logging through ``logging`` at debug level (services log what matters)."""

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        log.debug("%s %s", self.requestline, code)


class Server:
    """One WSGI app on one socket, served on a thread (``start``) or in the caller (``serve``)."""

    def __init__(
        self,
        app,
        *,
        host: str = BIND_HOST,
        port: int = 0,
        fd: int | None = None,
        health: HealthCheck | None = None,
        setting: str | None = None,
        request_handler: type[WSGIRequestHandler] | None = None,
        read_timeout: float | None = None,
        name: str = "server",
        ssl_context: ssl.SSLContext | None = None,
    ):
        """``read_timeout``: seconds a connection may stay silent (a stalled body, an idle
        keep-alive) before it is closed; None waits for ever. ``ssl_context``: serve HTTPS
        (a server-side context with its certificate loaded) instead of plain HTTP."""
        self.name = name
        self.host = host
        sock = socket.socket(fileno=fd) if fd is not None else bind(host, port, setting)
        self.port = sock.getsockname()[1]
        self._sock = sock
        handler = request_handler or _QuietHandler
        if read_timeout is not None:
            handler = type(handler.__name__, (handler,), {"timeout": read_timeout})
        self.server: BaseWSGIServer = make_server(
            host,
            self.port,
            with_health(app, health),
            threaded=True,
            request_handler=handler,
            fd=sock.fileno(),
        )
        self.scheme = "http"
        if ssl_context is not None:
            # The handshake runs in the connection's own thread (under ``read_timeout``), not
            # in ``accept``: a client that connects and stays silent holds up no one else.
            self.server.socket = ssl_context.wrap_socket(
                self.server.socket, server_side=True, do_handshake_on_connect=False
            )
            self.server.ssl_context = ssl_context  # werkzeug: wsgi.url_scheme is https
            self.scheme = "https"
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def serve(self) -> None:
        """Serve in this thread until :meth:`shutdown`."""
        self.server.serve_forever(poll_interval=0.2)

    def start(self) -> Server:
        self._thread = threading.Thread(target=self.serve, name=self.name, daemon=True)
        self._thread.start()
        return self

    def shutdown(self) -> None:
        """Stop serving (safe from a signal handler: it does not wait here)."""
        threading.Thread(target=self.server.shutdown, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._sock.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"Server({self.name!r}, {self.url})"


def run(servers: Iterable[Server], *, on_stop: Callable[[], None] | None = None) -> int:
    """A service process's main loop: serve every server until SIGTERM/SIGINT, then stop.

    The first server runs in the calling thread, the others on threads of their own.
    """
    servers = list(servers)
    stopping = threading.Event()

    def stop(*_):
        if not stopping.is_set():
            stopping.set()
            for server in servers:
                server.shutdown()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for server in servers[1:]:
        server.start()
    for server in servers:
        log.info("%s: serving on %s", server.name, server.url)
    servers[0].serve()
    stop()
    for server in servers[1:]:
        if server._thread is not None:
            server._thread.join(timeout=10)
    if on_stop is not None:
        on_stop()
    return 0
