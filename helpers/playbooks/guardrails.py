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
#: The settings a policy file may have (a misspelt one would otherwise be silently ignored).
KEYS = frozenset(
    {
        "modes",
        "approval_expiry",
        "rate_limit_per_hour",
        "delay_seconds",
        "protected_tag",
        "break_glass_users",
        "automation_users",
        "allowlist",
    }
)


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
        """Check and read a policy document; ``PolicyError`` names the setting that is wrong."""
        where = source or "the policy"
        if not isinstance(doc, dict):
            raise PolicyError(f"{where} must be a mapping")
        unknown = sorted(set(doc) - KEYS)
        if unknown:
            raise PolicyError(
                f"{where}: unknown setting(s) {', '.join(map(str, unknown))}; "
                f"known: {', '.join(sorted(KEYS))}"
            )
        modes = _mapping(doc, "modes")
        for world in modes:
            if world not in ("local", "real"):
                raise PolicyError(f"modes.{world}: the worlds are local and real")
        for world in ("local", "real"):
            for name, mode in _mapping(modes, world, f"modes.{world}").items():
                if mode not in MODES:
                    raise PolicyError(f"modes.{world}.{name}: {mode!r} is not one of {MODES}")
        tag = _mapping(doc, "protected_tag")
        allow = []
        for i, entry in enumerate(doc.get("allowlist") or []):
            if not isinstance(entry, dict):
                raise PolicyError(f"allowlist[{i}] must be a mapping (playbook, reason, ...)")
            entry = dict(entry)
            try:
                playbook, reason = entry.pop("playbook"), entry.pop("reason")
            except KeyError as err:
                raise PolicyError(f"allowlist[{i}] needs {err.args[0]}") from None
            if reason is None or not str(reason).strip():
                raise PolicyError(f"allowlist[{i}] needs a reason")
            allow.append(
                Allow(
                    str(playbook),
                    str(entry.pop("resource", "*")),
                    str(reason),
                    _date(entry.pop("expires", None), f"allowlist[{i}].expires"),
                    entry,
                )
            )
        return cls(
            modes={w: dict(modes.get(w) or {}) for w in ("local", "real")},
            approval_expiry=_seconds(doc.get("approval_expiry", "24h")),
            rate_limit={
                k: _number(v, f"rate_limit_per_hour.{k}", int)
                for k, v in _mapping(doc, "rate_limit_per_hour").items()
            },
            delay={
                k: _number(v, f"delay_seconds.{k}", float)
                for k, v in _mapping(doc, "delay_seconds").items()
            },
            protected_key=str(tag.get("key", "auto-remediate")),
            protected_values=tuple(
                v.lower() for v in _names(tag.get("values", ["off"]), "protected_tag.values")
            ),
            break_glass_users=_names(doc.get("break_glass_users"), "break_glass_users"),
            automation_users=_names(doc.get("automation_users"), "automation_users"),
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


def _mapping(doc: dict, key: str, name: str | None = None) -> dict:
    value = doc.get(key) or {}
    if not isinstance(value, dict):
        raise PolicyError(f"{name or key} must be a mapping, not {type(value).__name__}")
    return value


def _names(value: Any, name: str) -> tuple[str, ...]:
    """A list of strings; YAML's unquoted off/no/false (booleans) and a bare string are refused:
    a bare string would be read letter by letter, a boolean never matches a tag."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise PolicyError(f"{name} must be a list, e.g. [{value!r}]")
    for item in value:
        if isinstance(item, bool):
            raise PolicyError(f'{name}: {item!r} is a YAML boolean; quote the value ("off", "no")')
        if not isinstance(item, str | int):
            raise PolicyError(f"{name}: {item!r} is not a name")
    return tuple(str(item) for item in value)


def _number(value: Any, name: str, kind: type) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise PolicyError(f"{name}: {value!r} is not a number")
    try:
        number = kind(value)
    except ValueError:
        raise PolicyError(f"{name}: {value!r} is not a number") from None
    if number < 0:
        raise PolicyError(f"{name}: {value!r} is negative")
    return number


def _date(value: Any, name: str) -> dt.date | None:
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise PolicyError(f"{name}: {value!r} is not a date (YYYY-MM-DD)") from None


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
        return Decision(
            "approve",
            f"rate limit reached ({recent_actions} of {limit} per hour): a person approves",
            policy.delay_for(plan.playbook),
        )
    return Decision(mode, reason, policy.delay_for(plan.playbook))
