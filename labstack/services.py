"""The local world's services: one registry, one process each.

Each service is a Python module run as ``python -m <module>``. It reads its ports, its state
directory and its secrets from environment variables (the same setting names the helpers use, so
the service accepts exactly the credentials ``.lab/env`` hands to clients) and answers ``GET
/_lab/health`` with 200 once it is ready. It serves through :mod:`helpers.runtime.serve` on the
listening sockets ``World`` binds and hands down (``LAB_FD_<SERVICE>[_<ROLE>]``).

Adding a service is adding one ``register(Service(...))`` call in its package's ``service.py``
and listing that module in ``SERVICE_MODULES``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from helpers.runtime.serve import HEALTH_PATH, port_env_name

__all__ = ["Service", "all_services", "default_port", "get", "port_env_name", "register"]

#: Modules that register a service, in start order.
SERVICE_MODULES = [
    "labstack.aws.service",
    "labstack.slack.service",
    "labstack.jira.service",
    "labstack.splunk.service",
    "labstack.automation_service",
    "labstack.ingest_service",
    "labstack.jobs_service",
]


@dataclass(frozen=True)
class Service:
    """A local stand-in for one real product.

    ``ports`` maps a role (``"api"``, ``"hec"``...) to its default port; the first role is the one
    the health check is made on; these defaults are written here and nowhere else.
    ``settings(ports, secrets, scheme)`` returns the client settings that ``lab up`` writes to
    ``.lab/env`` (``scheme``: what the main port speaks, see ``scheme`` below). ``sockets``
    says whether the process serves on the sockets the world binds for it (``LAB_FD_*``); one
    that does not binds ``LAB_PORT_*`` itself.
    """

    name: str
    module: str
    ports: dict[str, int]
    settings: Callable[[dict[str, int], dict[str, str], str], dict[str, str]]
    health: str = HEALTH_PATH
    secrets: tuple[str, ...] = field(default_factory=tuple)
    description: str = ""
    sockets: bool = True
    #: The web pages a person looks at (paths on the main port), for ``lab status``.
    views: tuple[str, ...] = ()
    #: Environment the service gets in a throwaway world (free ports: tests, benches), e.g. no
    #: scheduled jobs, so a test suite stays deterministic.
    scratch_env: dict[str, str] = field(default_factory=dict)
    #: The scheme of the ``tls_roles`` for the environment the service runs with (``https``
    #: when a setting of its own turns TLS on); every other role speaks plain HTTP.
    scheme: Callable[[Mapping[str, str]], str] = field(default=lambda environ: "http")
    #: The roles ``scheme`` is for (none given: the main role alone).
    tls_roles: tuple[str, ...] = ()

    @property
    def main_role(self) -> str:
        return next(iter(self.ports))

    def role_scheme(self, role: str, scheme: str) -> str:
        """What ``role`` speaks when the service's ``tls_roles`` speak ``scheme``."""
        return scheme if role in (self.tls_roles or (self.main_role,)) else "http"


_REGISTRY: dict[str, Service] = {}


def register(service: Service) -> Service:
    """Add a service to the registry; a second service with the same name is an error."""
    if service.name in _REGISTRY:
        raise ValueError(f"service {service.name!r} is registered twice")
    _REGISTRY[service.name] = service
    return service


def all_services() -> list[Service]:
    """Every registered service, in start order."""
    for module in SERVICE_MODULES:
        importlib.import_module(module)
    return list(_REGISTRY.values())


def get(name: str) -> Service:
    services = {s.name: s for s in all_services()}
    if name not in services:
        raise KeyError(f"unknown service {name!r}; known: {', '.join(services)}")
    return services[name]


def default_port(name: str, role: str = "api") -> int:
    """A service's default port (the one place defaults are written is its registration)."""
    return get(name).ports[role]
