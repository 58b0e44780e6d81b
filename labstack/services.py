"""The local world's services: one registry, one process each.

Each service is a Python module run as ``python -m <module>``. It reads its ports, its state
directory and its secrets from environment variables (the same setting names the helpers use, so
the service accepts exactly the credentials ``.lab/env`` hands to clients) and answers ``GET
<health>`` with 200 once it is ready.

Adding a service is adding one ``register(Service(...))`` call in its package's ``service.py``
and listing that module in ``SERVICE_MODULES``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

#: Modules that register a service, in start order.
SERVICE_MODULES = [
    "labstack.aws.service",
    "labstack.slack.service",
    "labstack.jira.service",
    "labstack.splunk.service",
    "labstack.automation_service",
    "labstack.ingest_service",
]


@dataclass(frozen=True)
class Service:
    """A local stand-in for one real product.

    ``ports`` maps a role (``"api"``, ``"hec"``...) to its default port; the first role is the one
    the health check is made on. ``settings(ports, secrets)`` returns the client settings that
    ``lab up`` writes to ``.lab/env``.
    """

    name: str
    module: str
    ports: dict[str, int]
    health: str
    settings: Callable[[dict[str, int], dict[str, str]], dict[str, str]]
    secrets: tuple[str, ...] = field(default_factory=tuple)
    description: str = ""

    @property
    def main_role(self) -> str:
        return next(iter(self.ports))


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


def port_env_name(service: str, role: str) -> str:
    """The environment variable that overrides a port, e.g. ``LAB_PORT_SPLUNK_HEC``."""
    suffix = "" if role == "api" else f"_{role.upper()}"
    return f"LAB_PORT_{service.upper()}{suffix}"
