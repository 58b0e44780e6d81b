"""Guardrails: the policy file that decides whether a plan is applied, asked about, or recorded.

>>> policy = Policy.load()
>>> policy.mode_for("disable-access-key", local=True), policy.mode_for("x", local=False)
('approve', 'approve')
>>> policy.protected({"auto-remediate": "Off"})
True
>>> policy.allowed("revoke-security-group-ingress", "sg-1", port=443, group_name="web-sg").reason
"the web tier's public HTTPS front end is meant to be reachable from anywhere"
>>> policy.allowed("revoke-security-group-ingress", "sg-1", port=443, group_name="admin-sg")
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from helpers.playbooks.plan import Plan

__all__ = ["Allow", "Decision", "Policy", "PolicyError", "decide"]

DEFAULT_POLICY = Path(__file__).with_name("policy.yml")
MODES = ("auto", "approve", "dry-run")


class PolicyError(ValueError):
    """The policy file is invalid; the message names the setting."""


@dataclass(frozen=True)
class Allow:
    playbook: str
    resource: str
    reason: str
    expires: dt.date | None = None
    match: dict[str, Any] = field(default_factory=dict)

    def covers(self, playbook: str, resource: str, today: dt.date, **facets: Any) -> bool:
        if self.expires is not None and today > self.expires:
            return False
        if self.playbook != playbook or not fnmatch.fnmatchcase(resource, self.resource):
            return False
        return all(str(facets.get(k)) == str(v) for k, v in self.match.items())


@dataclass(frozen=True)
class Decision:
    """``mode`` is auto, approve, dry-run, exempt, nothing or notify; ``reason`` says why."""

    mode: str
    reason: str
    delay: float = 0.0


@dataclass
class Policy:
    modes: dict[str, dict[str, str]]
    approval_expiry: float
    rate_limit: dict[str, int]
    delay: dict[str, float]
    protected_key: str
    protected_values: tuple[str, ...]
    break_glass_users: tuple[str, ...]
    automation_users: tuple[str, ...]
    allowlist: list[Allow]
    source: str = ""

    @classmethod
    def load(cls, path: str | Path | None = None) -> Policy:
        """Read the policy file (the repository's default when ``path`` is None)."""
        path = Path(path) if path else DEFAULT_POLICY
        try:
            doc = yaml.safe_load(path.read_text()) or {}
        except OSError as err:
            raise PolicyError(
                f"cannot read the policy file {path} (AUTOMATION_POLICY): {err}"
            ) from err
        except yaml.YAMLError as err:
            raise PolicyError(f"the policy file {path} is not valid YAML: {err}") from err
        return cls.from_dict(doc, source=str(path))

    @classmethod
    def from_dict(cls, doc: dict, source: str = "") -> Policy:
        if not isinstance(doc, dict):
            raise PolicyError(f"{source or 'the policy'} must be a mapping")
        modes = doc.get("modes") or {}
        for world in ("local", "real"):
            for name, mode in (modes.get(world) or {}).items():
                if mode not in MODES:
                    raise PolicyError(f"modes.{world}.{name}: {mode!r} is not one of {MODES}")
        tag = doc.get("protected_tag") or {}
        allow = []
        for i, entry in enumerate(doc.get("allowlist") or []):
            entry = dict(entry)
            try:
                playbook, reason = entry.pop("playbook"), entry.pop("reason")
            except KeyError as err:
                raise PolicyError(f"allowlist[{i}] needs {err.args[0]}") from None
            if not str(reason).strip():
                raise PolicyError(f"allowlist[{i}] needs a reason")
            expires = entry.pop("expires", None)
            if isinstance(expires, str):
                expires = dt.date.fromisoformat(expires)
            allow.append(
                Allow(playbook, str(entry.pop("resource", "*")), str(reason), expires, entry)
            )
        return cls(
            modes={w: dict(modes.get(w) or {}) for w in ("local", "real")},
            approval_expiry=_seconds(doc.get("approval_expiry", "24h")),
            rate_limit={k: int(v) for k, v in (doc.get("rate_limit_per_hour") or {}).items()},
            delay={k: float(v) for k, v in (doc.get("delay_seconds") or {}).items()},
            protected_key=str(tag.get("key", "auto-remediate")),
            protected_values=tuple(str(v).lower() for v in tag.get("values", ("off",))),
            break_glass_users=tuple(doc.get("break_glass_users") or ()),
            automation_users=tuple(doc.get("automation_users") or ()),
            allowlist=allow,
            source=source,
        )

    def mode_for(self, playbook: str, *, local: bool) -> str:
        table = self.modes["local" if local else "real"]
        return table.get(playbook, table.get("default", "approve" if not local else "auto"))

    def rate_limit_for(self, playbook: str) -> int | None:
        return self.rate_limit.get(playbook, self.rate_limit.get("default"))

    def delay_for(self, playbook: str) -> float:
        return self.delay.get(playbook, self.delay.get("default", 0.0))

    def protected(self, tags: dict[str, str] | list[dict] | None) -> bool:
        """Whether resource tags (a dict, or AWS's ``[{Key, Value}]``) forbid changes."""
        if isinstance(tags, list):
            tags = {t.get("Key") or t.get("key"): t.get("Value") or t.get("value") for t in tags}
        value = (tags or {}).get(self.protected_key)
        return value is not None and str(value).strip().lower() in self.protected_values

    def allowed(self, playbook: str, resource: str, today: dt.date | None = None,
                **facets: Any) -> Allow | None:  # fmt: skip
        """The unexpired allowlist entry covering this, if any."""
        today = today or dt.date.today()
        return next(
            (a for a in self.allowlist if a.covers(playbook, resource, today, **facets)), None
        )


def _seconds(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", str(value))
    if not found:
        raise PolicyError(f"approval_expiry {value!r} is not a duration like 30m, 24h or 2d")
    number, unit = found.groups()
    return float(number) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[unit]


def decide(policy: Policy, plan: Plan, *, local: bool, recent_actions: int = 0) -> Decision:
    """What to do with a plan: the policy's mode, unless the plan or the rate limit says else."""
    if plan.exempt:
        return Decision("exempt", plan.exempt)
    if plan.nothing_to_do:
        return Decision("nothing", plan.nothing_to_do)
    if plan.notify_only:
        return Decision("notify", "no automatic fix for this detection: a person decides")
    mode = policy.mode_for(plan.playbook, local=local)
    world = "local world" if local else "real account"
    reason = f"policy: {plan.playbook} is {mode} in the {world}"
    limit = policy.rate_limit_for(plan.playbook)
    if mode == "auto" and limit is not None and recent_actions >= limit:
        return Decision("approve", f"rate limit reached ({recent_actions} of {limit} per hour)")
    return Decision(mode, reason, policy.delay_for(plan.playbook))
