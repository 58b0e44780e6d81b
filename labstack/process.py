"""Start one service process on sockets bound here, wait for its health, stop it by pid.

The parent binds every listening socket a service needs (port 0 picks a free one) and hands
them to the child as inherited file descriptors (``LAB_FD_<SERVICE>[_<ROLE>]``, read by
:func:`helpers.runtime.serve.listener`). So every port is known before the child starts and no
other program can take one in between. ``World`` starts the whole world this way; tests,
benchmarks and sample recording start single services with :func:`spawn`:

>>> with spawn("jira", state_dir, env={"JIRA_TOKEN": "t"}) as jira:  # doctest: +SKIP
...     requests.get(jira.url + "/rest/api/2/serverInfo")
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from helpers.runtime.home import PRIVATE_UMASK
from helpers.runtime.serve import BIND_HOST, PortInUse, bind, fd_env_name, port_env_name
from labstack import services as registry
from labstack.services import Service

__all__ = ["PortClash", "Process", "ServiceFailed", "bind_ports", "spawn", "start", "wait_healthy"]

#: Seconds a stopping service gets between SIGTERM and SIGKILL.
STOP_GRACE = 10.0
# Health checks go straight to loopback, whatever proxy the environment names; a service
# speaking HTTPS there has a self-signed certificate (as splunkd's), which is not verified.
_UNVERIFIED = ssl.create_default_context()
_UNVERIFIED.check_hostname = False
_UNVERIFIED.verify_mode = ssl.CERT_NONE
_DIRECT = urllib.request.build_opener(
    urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=_UNVERIFIED)
)


class ServiceFailed(RuntimeError):
    """A service exited or stayed unhealthy while starting; the message has its log's tail."""


@dataclass(frozen=True)
class PortClash:
    """One configured port another program holds, and the setting that moves it."""

    service: str
    role: str
    port: int

    @property
    def setting(self) -> str:
        return port_env_name(self.service, self.role)

    def __str__(self) -> str:
        return f"port {self.port} ({self.service} {self.role}): set {self.setting}=<port>"


def bind_ports(service: Service, ports: dict[str, int]) -> tuple[dict, list[PortClash]]:
    """Listening sockets for each role (``0`` = a free port) and the ports that were taken.

    When anything clashes no socket is kept, so the caller can report every clash at once.
    """
    sockets: dict[str, socket.socket] = {}
    clashes = []
    for role, port in ports.items():
        try:
            sockets[role] = bind(BIND_HOST, port, port_env_name(service.name, role))
        except PortInUse:
            clashes.append(PortClash(service.name, role, port))
    if clashes:
        for sock in sockets.values():
            sock.close()
        return {}, clashes
    return sockets, []


@dataclass
class Process:
    """A started service process: its pid, ports and log; a context manager that stops it."""

    service: Service
    popen: subprocess.Popen
    ports: dict[str, int]
    log: Path | None = None
    healthy: bool = field(default=False)
    #: The scheme of its TLS roles (``https`` for a service started with its TLS setting on).
    scheme: str = "http"

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def url(self) -> str:
        return self.url_of(self.service.main_role)

    def url_of(self, role: str) -> str:
        return f"{self.service.role_scheme(role, self.scheme)}://{BIND_HOST}:{self.ports[role]}"

    def check(self) -> bool:
        """One health request (``True`` once the service answers 200)."""
        self.healthy = healthy(self.url + self.service.health)
        return self.healthy

    def log_tail(self, lines: int = 20) -> str:
        if self.log is None or not self.log.exists():
            return "(no log)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, grace: float = STOP_GRACE) -> None:
        """SIGTERM this process's group (it runs in its own session), SIGKILL after ``grace``."""
        stop_pid(self.pid, grace)
        self.popen.poll()

    def __enter__(self) -> Process:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start(
    service: Service,
    sockets: dict[str, socket.socket],
    env: dict[str, str],
    log: Path | None = None,
) -> Process:
    """Run ``python -m <service.module>`` with ``sockets`` inherited; the parent's copies close.

    A service that does not take inherited sockets (``service.sockets`` false) gets its ports
    only: the sockets are closed just before it starts, and it binds them itself.
    """
    ports = {role: sock.getsockname()[1] for role, sock in sockets.items()}
    child_env = dict(env)
    for role, port in ports.items():
        child_env[port_env_name(service.name, role)] = str(port)
        child_env.pop(fd_env_name(service.name, role), None)
    fds: list[int] = []
    if service.sockets:
        for role, sock in sockets.items():
            child_env[fd_env_name(service.name, role)] = str(sock.fileno())
            fds.append(sock.fileno())
    else:
        for sock in sockets.values():
            sock.close()
    out = open(log, "ab") if log is not None else subprocess.DEVNULL  # noqa: SIM115 - child's
    try:
        popen = subprocess.Popen(
            [sys.executable, "-m", service.module],
            env=child_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            pass_fds=fds,
            start_new_session=True,
            umask=PRIVATE_UMASK,  # state holds tokens and secrets: files 0600, folders 0700
        )
    finally:
        if log is not None:
            out.close()
        for sock in sockets.values():
            sock.close()
    return Process(service, popen, ports, log, scheme=service.scheme(child_env))


def wait_healthy(processes: list[Process], timeout: float) -> None:
    """Wait until every process answers its health check; :class:`ServiceFailed` otherwise."""
    deadline = time.monotonic() + timeout
    pending = list(processes)
    while pending:
        for proc in list(pending):
            if proc.popen.poll() is not None:
                raise ServiceFailed(
                    f"{proc.service.name} exited with code {proc.popen.returncode} while "
                    f"starting. Last lines of {proc.log}:\n{proc.log_tail()}"
                )
            if proc.check():
                pending.remove(proc)
        if pending and time.monotonic() > deadline:
            names = ", ".join(p.service.name for p in pending)
            tails = "\n".join(f"--- {p.service.name} ---\n{p.log_tail()}" for p in pending)
            raise ServiceFailed(f"not healthy after {timeout:.0f}s: {names}\n{tails}")
        if pending:
            time.sleep(0.05)


def spawn(
    service: str | Service,
    state_dir: Path,
    env: dict[str, str] | None = None,
    *,
    ports: dict[str, int] | None = None,
    log: Path | None = None,
    timeout: float = 60.0,
) -> Process:
    """One service process on free ports (or ``ports``), healthy; use it as a context manager.

    ``env`` is added to this process's environment; ``LAB_STATE_DIR`` is ``state_dir`` and the
    log defaults to ``<state_dir>.log`` beside it.
    """
    service = registry.get(service) if isinstance(service, str) else service
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    log = log or state_dir.parent / f"{state_dir.name}.log"
    wanted = {role: (ports or {}).get(role, 0) for role in service.ports}
    sockets, clashes = bind_ports(service, wanted)
    if clashes:
        raise PortInUse(errno.EADDRINUSE, "; ".join(map(str, clashes)))
    child_env = dict(os.environ, **(env or {}), LAB_STATE_DIR=str(state_dir))
    child_env["PYTHONUNBUFFERED"] = "1"
    proc = start(service, sockets, child_env, log)
    try:
        wait_healthy([proc], timeout)
    except BaseException:
        proc.stop()
        raise
    return proc


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie child of ours counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
        return waited == 0
    except ChildProcessError:
        return True


def stop_pid(pid: int, grace: float = STOP_GRACE) -> None:
    """SIGTERM the process group led by ``pid``; SIGKILL it if still alive after ``grace``."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if alive(pid):
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            return


def healthy(url: str) -> bool:
    """One GET of ``url``: 200 or not."""
    try:
        with _DIRECT.open(url, timeout=1.0) as resp:
            return resp.status == 200
    except OSError:
        return False
