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
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from helpers.runtime.home import lab_home, private_dir, private_file, write_private
from labstack import process
from labstack import services as registry
from labstack.services import Service

BIND_HOST = "127.0.0.1"


class WorldError(RuntimeError):
    """Something a person has to act on; the message says what."""


@dataclass
class Running:
    service: Service
    pid: int | None
    ports: dict[str, int]
    healthy: bool
    scheme: str = "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{BIND_HOST}:{self.ports[self.service.main_role]}"

    def as_dict(self) -> dict:
        return {
            "name": self.service.name,
            "pid": self.pid,
            "ports": self.ports,
            "url": self.url,
            "views": [self.url + view for view in self.service.views],
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
        free_ports: bool = False,
        env: dict[str, str] | None = None,
    ):
        """``only`` limits the world to some services (e.g. ``("aws",)`` to record samples);
        ``free_ports`` starts every service on a port the system picks (scratch worlds: each
        service also gets its ``scratch_env``, e.g. no scheduled jobs); ``env`` is more
        environment for every service (``{"JOBS_SCHEDULER": "on"}`` in a test that wants it)."""
        self.home = home or lab_home()
        self.port_overrides = port_overrides or {}
        self.only = only
        self.free_ports = free_ports
        self.env = dict(env or {})

    @classmethod
    @contextmanager
    def scratch(
        cls,
        home: Path | None = None,
        only: tuple[str, ...] | None = None,
        timeout: float = 90.0,
        env: dict[str, str] | None = None,
    ) -> Iterator[World]:
        """A temporary world on free ports, up for the ``with`` block, stopped by pid after.

        Without ``home`` it lives in a temporary folder that is removed afterwards. Its jobs
        service schedules nothing unless ``env`` says ``JOBS_SCHEDULER=on``.

        >>> with World.scratch(only=("aws",)) as world:  # doctest: +SKIP
        ...     world.read_env()["AWS_ENDPOINT_URL"]
        'http://127.0.0.1:40123'
        """
        folder = None if home is not None else Path(tempfile.mkdtemp(prefix="lab-scratch-"))
        world = cls(home or folder / ".lab", only=only, free_ports=True, env=env)
        try:
            world.up(timeout=timeout)
            yield world
        finally:
            world.down()
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)

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
            private_dir(path.parent)
            write_private(path, json.dumps(config, indent=2))
        return config.get("secrets", {})

    def ports(self, service: Service) -> dict[str, int]:
        """The ports a service is to start on: overrides, ``LAB_PORT_*``, then its defaults."""
        if self.free_ports:
            return dict.fromkeys(service.ports, 0)
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
            if process.alive(pid):
                running = Running(service, pid, ports, False, info.get("scheme", "http"))
                running.healthy = process.healthy(running.url + service.health)
                return running
            run.unlink(missing_ok=True)
        return Running(service, None, self.ports(service), False)

    def statuses(self) -> list[Running]:
        return [self.status(s) for s in self.services()]

    # -- up ------------------------------------------------------------------------------------
    def up(self, timeout: float = 90.0) -> list[Running]:
        """Start every service that is not already healthy and wait until all are.

        Every listening socket is bound here before any service starts (port 0 in a scratch
        world) and inherited by its service, so no port can be taken in between. Configured
        ports that other programs hold are all reported in one :class:`WorldError`.
        """
        private_dir(self.home)  # tokens and secrets live here: the owner's only (an old home too)
        secrets_ = self.secrets()
        plan: list[tuple[Service, Running | None]] = []
        for service in self.services():
            current = self.status(service)
            if current.pid is not None and current.healthy:
                plan.append((service, current))
                continue
            if current.pid is not None:  # alive but not answering: restart it
                process.stop_pid(current.pid)
            plan.append((service, None))
        sockets = self._bind([s for s, current in plan if current is None])
        all_ports = {
            service.name: current.ports
            if current is not None
            else {role: sock.getsockname()[1] for role, sock in sockets[service.name].items()}
            for service, current in plan
        }
        environ = self._environ()
        schemes = {
            service.name: current.scheme if current is not None else service.scheme(environ)
            for service, current in plan
        }
        env = self._child_env(environ, all_ports, schemes, secrets_)
        started = [
            self._start(service, sockets[service.name], env)
            for service, current in plan
            if current is None
        ]
        try:
            process.wait_healthy(started, timeout)
        except process.ServiceFailed as exc:
            self.down()
            raise WorldError(str(exc)) from None
        self.write_env(all_ports, schemes, secrets_)
        write_private(self._path("ports.json"), json.dumps(all_ports))
        return [self.status(service) for service, _ in plan]

    def _remembered(self) -> dict[str, dict[str, int]]:
        path = self._path("ports.json")
        return json.loads(path.read_text()) if path.exists() else {}

    def _bind(self, services: list[Service]) -> dict[str, dict[str, socket.socket]]:
        """Each service's listening sockets; every clash at once in a :class:`WorldError`.

        A scratch world restarting a service first tries the port it had, so the others (and
        the settings they were given) keep pointing at it; a taken one becomes a free port.
        """
        bound: dict[str, dict[str, socket.socket]] = {}
        clashes: list[process.PortClash] = []
        remembered = self._remembered() if self.free_ports else {}
        for service in services:
            previous = remembered.get(service.name)
            if previous:
                sockets, taken = process.bind_ports(service, previous)
                if not taken:
                    bound[service.name] = sockets
                    continue
            sockets, taken = process.bind_ports(service, self.ports(service))
            bound[service.name] = sockets
            clashes += taken
        if clashes:
            for sockets in bound.values():
                for sock in sockets.values():
                    sock.close()
            lines = "\n".join(f"  {clash}" for clash in clashes)
            raise WorldError(
                f"{len(clashes)} port(s) already in use by other programs. Stop them, or "
                f"choose other ports (e.g. LAB_PORT_X=<port> lab up):\n{lines}"
            )
        return bound

    def _environ(self) -> dict[str, str]:
        """The environment services start with, before the world's own settings."""
        env = dict(os.environ)
        if self.free_ports:
            for service in self.services():
                env.update(service.scratch_env)
        env.update(self.env)
        return env

    def _child_env(self, environ: dict[str, str], all_ports: dict[str, dict[str, int]],
                   schemes: dict[str, str], secrets_: dict[str, str]) -> dict:  # fmt: skip
        env = dict(environ)
        env.update(self.settings(all_ports, schemes, secrets_))
        for name, ports in all_ports.items():
            for role, port in ports.items():
                env[registry.port_env_name(name, role)] = str(port)
        env["LAB_HOME"] = str(self.home)
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def _start(self, service: Service, sockets: dict, env: dict) -> process.Process:
        for folder in (self.state_dir(service.name), self.log_path(service.name).parent,
                       self._run_path(service.name).parent):  # fmt: skip
            private_dir(folder)
        private_file(self.log_path(service.name))
        child_env = dict(env, LAB_STATE_DIR=str(self.state_dir(service.name)))
        proc = process.start(service, sockets, child_env, self.log_path(service.name))
        run = {"pid": proc.pid, "ports": proc.ports, "scheme": proc.scheme}
        write_private(self._run_path(service.name), json.dumps(run))
        return proc

    def log_tail(self, service: str, lines: int = 20) -> str:
        path = self.log_path(service)
        if not path.exists():
            return "(no log)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    # -- settings ------------------------------------------------------------------------------
    def settings(self, all_ports: dict[str, dict[str, int]], schemes: dict[str, str],
                 secrets_: dict[str, str]) -> dict:  # fmt: skip
        """The clients' settings for services on ``all_ports`` whose main ports speak
        ``schemes`` (a running service's own, else what its environment turns on)."""
        values = {"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
        for service in self.services():
            ports = all_ports.get(service.name) or self.ports(service)
            values.update(service.settings(ports, secrets_, schemes.get(service.name, "http")))
        return values

    def write_env(self, all_ports: dict[str, dict[str, int]], schemes: dict[str, str],
                  secrets_: dict[str, str]) -> Path:  # fmt: skip
        path = self._path("env")
        lines = [
            "# Written by `lab up`: the local world's settings. Source it or let helpers read it."
        ]
        lines += [
            f"export {k}={shlex.quote(v)}"
            for k, v in self.settings(all_ports, schemes, secrets_).items()
        ]
        return write_private(path, "\n".join(lines) + "\n")

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
            if process.alive(pid):
                process.stop_pid(pid)
                stopped.append(service.name)
            run.unlink(missing_ok=True)
        return stopped

    def reset(self) -> None:
        self.down()
        if self.home.exists():
            shutil.rmtree(self.home)


def free_port() -> int:
    """A port nobody listens on right now. Racy: only for addresses nothing will listen on
    (a dead endpoint in a test); services get their sockets from :mod:`labstack.process`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((BIND_HOST, 0))
        return sock.getsockname()[1]
