"""Playbooks: guarded remediations, one module each, registered by name.

A playbook answers one kind of incident in three steps, each callable on its own from a
notebook, a test or a scheduled job:

- ``plan(incident, clients)`` -- a dry run: exactly what would change (a :class:`Plan` of
  :class:`Change` calls, shown as a diff), what would undo it, or why nothing should be done;
- ``apply(plan, clients)`` -- make exactly those calls;
- ``verify(incident, clients)`` -- read the state back and prove the hole is closed.

Each declares the IAM actions it needs (``permissions``), which ``lab playbooks permissions``
collects for the automation role's policy. The names are the ones detections give.

>>> from helpers import playbooks
>>> playbooks.get("notify-only").permissions
()
"""

from __future__ import annotations

import importlib
import pkgutil
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from botocore.exceptions import ClientError

from helpers.clients import Clients
from helpers.incident import Incident
from helpers.playbooks.plan import Change, Plan, Verification, snake
from helpers.runtime.registry import Registry

__all__ = [
    "PLAYBOOKS",
    "Change",
    "Plan",
    "Playbook",
    "Verification",
    "get",
    "load",
    "permissions",
    "playbook",
]


class Playbook(ABC):
    """Base class: subclasses set ``name``, ``permissions`` and implement the three steps."""

    name: ClassVar[str] = ""
    permissions: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = ""

    @abstractmethod
    def plan(self, incident: Incident, clients: Clients) -> Plan:
        """What would change (nothing changes here)."""

    def apply(self, plan: Plan, clients: Clients) -> dict[str, Any]:
        """Make the plan's calls, in order; returns what each answered. A call refused with
        one of its change's ``already_done`` codes is recorded as such, and the next goes on."""
        results = []
        for change in plan.changes:
            client = clients.aws(change.service)
            try:
                response = getattr(client, snake(change.operation))(**change.params)
            except ClientError as err:
                code = err.response.get("Error", {}).get("Code", "")
                if code not in change.already_done:
                    raise
                results.append({"call": change.command(), "already_done": code})
                continue
            response = {k: v for k, v in (response or {}).items() if k != "ResponseMetadata"}
            results.append({"call": change.command(), "response": response})
        return {"calls": results}

    @abstractmethod
    def verify(self, incident: Incident, clients: Clients) -> Verification:
        """Read the state back: is the hole closed?"""


PLAYBOOKS: Registry[Playbook] = Registry("playbook")


def playbook(cls: type[Playbook]) -> type[Playbook]:
    """Class decorator: register one instance of the playbook under its ``name``."""
    PLAYBOOKS.add(cls.name, cls())
    return cls


def load() -> Registry[Playbook]:
    """Import every playbook module of this package (each registers itself)."""
    for module in pkgutil.iter_modules(__path__):
        if module.name != "guardrails":
            importlib.import_module(f"{__name__}.{module.name}")
    return PLAYBOOKS


def get(name: str) -> Playbook:
    """The registered playbook ``name`` (``UnknownError`` lists the known ones)."""
    return load().get(name)


def permissions() -> list[str]:
    """Every IAM action the registered playbooks declare, sorted (the automation role's policy)."""
    return sorted({p for pb in load() for p in pb.permissions})


@playbook
class NotifyOnly(Playbook):
    """No safe automatic fix: tell the owners, attach the enrichment, and let a person decide.

    >>> NotifyOnly().plan(Incident("root-account-usage", "root", "123456789012"), None).notify_only
    True
    """

    name = "notify-only"
    description = "No automatic fix: a person decides, with the enrichment attached."

    def plan(self, incident: Incident, clients: Clients) -> Plan:
        return Plan(self.name, incident.resource, notify_only=True)

    def verify(self, incident: Incident, clients: Clients) -> Verification:
        return Verification(False, "a person must check this incident")
