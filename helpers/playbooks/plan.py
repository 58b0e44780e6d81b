"""What a playbook would do (:class:`Plan` of :class:`Change` calls) and what it found after
(:class:`Verification`): plain data, written to tickets and the incident store.

>>> Change("ec2", "RevokeSecurityGroupIngress", {"GroupId": "sg-1"}, "revoke").command()
"ec2.revoke_security_group_ingress(GroupId='sg-1')"
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Change", "Plan", "Verification", "snake"]


@dataclass
class Change:
    """One AWS call: ``service.operation(**params)``, described for a person.

    ``already_done`` names the error codes that mean the change has been made already (by a
    person, a sweep, or the other of two racing incidents): applying it then changes nothing
    and is no failure; the verification reads the real state either way.
    """

    service: str
    operation: str
    params: dict[str, Any]
    description: str
    already_done: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.already_done = tuple(self.already_done)  # a stored plan's JSON list

    def command(self) -> str:
        """The call as boto3 code (what the ticket shows)."""
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.service}.{snake(self.operation)}({args})"


def snake(name: str) -> str:
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
