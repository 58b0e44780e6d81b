"""Start, watch and stop the local world's service processes.

State lives under the lab home (``$LAB_HOME``, else the nearest ``.lab/`` above the working
directory, else ``./.lab``)::

    .lab/config.json     generated secrets (kept until ``lab reset``)
    .lab/env             the settings clients need, as shell exports (read by helpers.config)
    .lab/run/<svc>.json  pid and ports of a running service
    .lab/logs/<svc>.log  its output
    .lab/state/<svc>/    its data
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from helpers.runtime.home import lab_home
from labstack import services as registry
from labstack.services import Service

BIND_HOST = "127.0.0.1"
# Health checks go straight to loopback, whatever proxy the environment names.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class WorldError(RuntimeError):
    """Something a person has to act on; the message says what."""


@dataclass
class Running:
    service: Service
    pid: int | None
    ports: dict[str, int]
    healthy: bool

    @property
    def url(self) -> str:
        return f"http://{BIND_HOST}:{self.ports[self.service.main_role]}"

    def as_dict(self) -> dict:
        return {
            "name": self.service.name,
            "pid": self.pid,
            "ports": self.ports,
            "url": self.url,
            "running": self.pid is not None,
            "healthy": self.healthy,
        }


class World:
    """The set of local services under one lab home."""

    def __init__(
        self,
        home: Path | None = None,
        port_overrides: dict[str, int] | None = None,
        only: tuple[str, ...] | None = None,
    ):
        """``only`` limits the world to some services (e.g. ``("aws",)`` to record samples)."""
        self.home = home or lab_home()
        self.port_overrides = port_overrides or {}
        self.only = only

    def services(self) -> list[Service]:
        return [s for s in registry.all_services() if self.only is None or s.name in self.only]

    # -- files ---------------------------------------------------------------------------------
    def _path(self, *parts: str) -> Path:
        return self.home.joinpath(*parts)

    def state_dir(self, service: str) -> Path:
        return self._path("state", service)

    def log_path(self, service: str) -> Path:
        return self._path("logs", f"{service}.log")

    def _run_path(self, service: str) -> Path:
        return self._path("run", f"{service}.json")

    def secrets(self) -> dict[str, str]:
        """Generated secrets, created on first use and kept until ``lab reset``."""
        path = self._path("config.json")
        config = json.loads(path.read_text()) if path.exists() else {}
        wanted = {name for s in self.services() for name in s.secrets}
        missing = wanted - set(config.get("secrets", {}))
        if missing:
            config.setdefault("secrets", {}).update(
                {name: secrets.token_urlsafe(24) for name in sorted(missing)}
            )
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(config, indent=2))
            path.chmod(0o600)
        return config.get("secrets", {})

    def ports(self, service: Service) -> dict[str, int]:
        ports = {}
        for role, default in service.ports.items():
            key = f"{service.name}.{role}" if role != "api" else service.name
            env = os.environ.get(registry.port_env_name(service.name, role))
            ports[role] = int(self.port_overrides.get(key) or env or default)
        return ports

    # -- status --------------------------------------------------------------------------------
    def status(self, service: Service) -> Running:
        run = self._run_path(service.name)
        if run.exists():
            info = json.loads(run.read_text())
            pid, ports = info["pid"], info["ports"]
            if _alive(pid):
                running = Running(service, pid, ports, False)
                running.healthy = _healthy(running.url + service.health)
                return running
            run.unlink(missing_ok=True)
        return Running(service, None, self.ports(service), False)

    def statuses(self) -> list[Running]:
        return [self.status(s) for s in self.services()]

    # -- up ------------------------------------------------------------------------------------
    def up(self, timeout: float = 90.0) -> list[Running]:
        """Start every service that is not already healthy and wait until all are."""
        secrets_ = self.secrets()
        plan: list[tuple[Service, Running | None, dict[str, int]]] = []
        for service in self.services():
            current = self.status(service)
            if current.pid is not None and current.healthy:
                plan.append((service, current, current.ports))
                continue
            if current.pid is not None:  # alive but not answering: restart it
                self._stop_pid(current.pid)
            ports = self.ports(service)
            for role, port in ports.items():
                if not _port_free(port):
                    env = registry.port_env_name(service.name, role)
                    raise WorldError(
                        f"port {port} ({service.name} {role}) is already in use by another "
                        f"program. Stop it, or choose another port: {env}=<port> lab up"
                    )
            plan.append((service, None, ports))
        all_ports = {service.name: ports for service, _, ports in plan}
        env = self._child_env(all_ports, secrets_)
        started = [
            (Running(service, None, ports, False), self._spawn(service, ports, env))
            for service, current, ports in plan
            if current is None
        ]
        for running, proc in started:
            running.pid = proc.pid
        self._wait_healthy(started, timeout)
        self.write_env(all_ports, secrets_)
        return [self.status(service) for service, _, _ in plan]

    def _child_env(self, all_ports: dict[str, dict[str, int]], secrets_: dict[str, str]) -> dict:
        env = dict(os.environ)
        env.update(self.settings(all_ports, secrets_))
        for name, ports in all_ports.items():
            for role, port in ports.items():
                env[registry.port_env_name(name, role)] = str(port)
        env["LAB_HOME"] = str(self.home)
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def _spawn(self, service: Service, ports: dict[str, int], env: dict) -> subprocess.Popen:
        self.state_dir(service.name).mkdir(parents=True, exist_ok=True)
        self.log_path(service.name).parent.mkdir(parents=True, exist_ok=True)
        self._run_path(service.name).parent.mkdir(parents=True, exist_ok=True)
        child_env = dict(env, LAB_STATE_DIR=str(self.state_dir(service.name)))
        log = open(self.log_path(service.name), "ab")  # noqa: SIM115 - handed to the child
        proc = subprocess.Popen(
            [sys.executable, "-m", service.module],
            env=child_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        self._run_path(service.name).write_text(json.dumps({"pid": proc.pid, "ports": ports}))
        return proc

    def _wait_healthy(self, started: list[tuple[Running, subprocess.Popen]], timeout: float):
        deadline = time.monotonic() + timeout
        pending = list(started)
        while pending:
            for item in list(pending):
                running, proc = item
                if proc.poll() is not None:
                    self._run_path(running.service.name).unlink(missing_ok=True)
                    self.down()
                    raise WorldError(
                        f"{running.service.name} exited with code {proc.returncode} while "
                        f"starting. Last lines of {self.log_path(running.service.name)}:\n"
                        + self.log_tail(running.service.name)
                    )
                if _healthy(running.url + running.service.health):
                    running.healthy = True
                    pending.remove(item)
            if pending and time.monotonic() > deadline:
                names = ", ".join(r.service.name for r, _ in pending)
                tails = "\n".join(
                    f"--- {r.service.name} ---\n{self.log_tail(r.service.name)}" for r, _ in pending
                )
                self.down()
                raise WorldError(f"not healthy after {timeout:.0f}s: {names}\n{tails}")
            time.sleep(0.05)

    def log_tail(self, service: str, lines: int = 20) -> str:
        path = self.log_path(service)
        if not path.exists():
            return "(no log)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    # -- settings ------------------------------------------------------------------------------
    def settings(self, all_ports: dict[str, dict[str, int]], secrets_: dict[str, str]) -> dict:
        values = {"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
        for service in self.services():
            ports = all_ports.get(service.name) or self.ports(service)
            values.update(service.settings(ports, secrets_))
        return values

    def write_env(self, all_ports: dict[str, dict[str, int]], secrets_: dict[str, str]) -> Path:
        path = self._path("env")
        lines = [
            "# Written by `lab up`: the local world's settings. Source it or let helpers read it."
        ]
        lines += [
            f"export {k}={shlex.quote(v)}" for k, v in self.settings(all_ports, secrets_).items()
        ]
        path.write_text("\n".join(lines) + "\n")
        path.chmod(0o600)
        return path

    def read_env(self) -> dict[str, str]:
        """The settings in ``.lab/env`` as a dict (what ``source .lab/env`` would export)."""
        values = {}
        for line in self.env_text().splitlines():
            if line.startswith("export "):
                key, value = line.removeprefix("export ").split("=", 1)
                values[key] = shlex.split(value)[0] if value else ""
        return values

    def env_text(self) -> str:
        path = self._path("env")
        if not path.exists():
            raise WorldError("the lab is not up: run `lab up --detach` first")
        return path.read_text()

    # -- down / reset --------------------------------------------------------------------------
    def down(self) -> list[str]:
        stopped = []
        for service in reversed(self.services()):
            run = self._run_path(service.name)
            if not run.exists():
                continue
            pid = json.loads(run.read_text())["pid"]
            if _alive(pid):
                self._stop_pid(pid)
                stopped.append(service.name)
            run.unlink(missing_ok=True)
        return stopped

    def _stop_pid(self, pid: int, grace: float = 10.0) -> None:
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(pid):
            os.killpg(pid, signal.SIGKILL)

    def reset(self) -> None:
        self.down()
        if self.home.exists():
            shutil.rmtree(self.home)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours counts as gone.
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
        return waited == 0
    except ChildProcessError:
        return True


def _healthy(url: str) -> bool:
    try:
        with _DIRECT.open(url, timeout=1.0) as resp:
            return resp.status == 200
    except OSError:
        return False


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((BIND_HOST, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port nobody listens on right now (for tests and `--port auto`)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((BIND_HOST, 0))
        return sock.getsockname()[1]
