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
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from helpers.clients import Clients
from helpers.incident import Incident
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


@dataclass
class Change:
    """One AWS call: ``service.operation(**params)``, described for a person."""

    service: str
    operation: str
    params: dict[str, Any]
    description: str

    def command(self) -> str:
        """The call as boto3 code (what the ticket shows)."""
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.service}.{_snake(self.operation)}({args})"


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


@dataclass
class Plan:
    """What a playbook would do about one incident.

    ``nothing_to_do`` explains an empty plan (already fixed, resource gone); ``exempt`` says why
    the resource must not be touched (a protected tag, the automation's own key...).
    """

    playbook: str
    resource: str
    changes: list[Change] = field(default_factory=list)
    rollback: list[Change] = field(default_factory=list)
    diff: str = ""
    nothing_to_do: str = ""
    exempt: str = ""
    kept: list[str] = field(default_factory=list)  # what stays on purpose, and why
    notify_only: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        data = dict(data)
        data["changes"] = [Change(**c) for c in data.get("changes", [])]
        data["rollback"] = [Change(**c) for c in data.get("rollback", [])]
        return cls(**data)

    def describe(self) -> str:
        """The plan for a person: the diff, the calls, what is kept, how to undo it."""
        if self.exempt:
            return f"Exempt: {self.exempt}"
        if self.nothing_to_do:
            return f"Nothing to do: {self.nothing_to_do}"
        if self.notify_only:
            return "No automatic fix: a person decides."
        parts = [self.diff] if self.diff else []
        parts += [f"- {c.description}: {c.command()}" for c in self.changes]
        parts += [f"- kept: {k}" for k in self.kept]
        if self.rollback:
            parts.append("Rollback: " + "; ".join(c.command() for c in self.rollback))
        return "\n".join(parts)


@dataclass
class Verification:
    """Whether the hole is closed, read back from AWS."""

    ok: bool
    details: str
    observed: dict[str, Any] = field(default_factory=dict)


class Playbook(ABC):
    """Base class: subclasses set ``name``, ``permissions`` and implement the three steps."""

    name: ClassVar[str] = ""
    permissions: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = ""

    @abstractmethod
    def plan(self, incident: Incident, clients: Clients) -> Plan:
        """What would change (nothing changes here)."""

    def apply(self, plan: Plan, clients: Clients) -> dict[str, Any]:
        """Make the plan's calls, in order; returns what each answered."""
        results = []
        for change in plan.changes:
            client = clients.aws(change.service)
            response = getattr(client, _snake(change.operation))(**change.params)
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
