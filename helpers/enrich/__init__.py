"""Enrichers: facts about an incident (account owner, geo-IP, key owner, resource tags, history).

Each enricher is a small function in its own module, registered with :func:`enricher`. It gets
the incident and the shared :class:`~helpers.clients.Clients` and returns a dict of facts.
:func:`enrich` runs them all, each within its timeout: one that fails or is too slow is recorded
as unknown, with the reason, and never fails the incident.

>>> from helpers.incident import Incident
>>> @enricher("example-echo", timeout=1.0, registry=Registry("enricher"))
... def echo(incident, clients):
...     return {"resource": incident.resource}
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from helpers.clients import Clients
from helpers.incident import Incident
from helpers.runtime.registry import Registry

__all__ = ["ENRICHERS", "Enricher", "enrich", "enricher", "permissions", "summary"]

log = logging.getLogger("helpers.enrich")

DEFAULT_TIMEOUT = 3.0


@dataclass(frozen=True)
class Enricher:
    name: str
    fn: Callable[[Incident, Clients], dict[str, Any]]
    timeout: float = DEFAULT_TIMEOUT
    description: str = ""
    permissions: tuple[str, ...] = ()  # the IAM actions it reads with


ENRICHERS: Registry[Enricher] = Registry("enricher")


def enricher(
    name: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    permissions: tuple[str, ...] = (),
    registry: Registry | None = None,
):
    """Register the decorated ``fn(incident, clients) -> dict`` as enricher ``name``;
    ``permissions`` are the IAM actions it needs (the automation role's policy has them)."""

    def decorate(fn):
        doc = (fn.__doc__ or "").strip().splitlines()
        target = registry if registry is not None else ENRICHERS  # an empty one is falsy
        target.add(name, Enricher(name, fn, timeout, doc[0] if doc else "", tuple(permissions)))
        return fn

    return decorate


def load() -> Registry[Enricher]:
    """Import every enricher module of this package (each registers itself)."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return ENRICHERS


def permissions() -> list[str]:
    """Every IAM action the registered enrichers declare, sorted."""
    return sorted({p for unit in load() for p in unit.permissions})


def enrich(
    incident: Incident,
    clients: Clients | None = None,
    *,
    names: list[str] | None = None,
    registry: Registry[Enricher] | None = None,
) -> dict[str, dict[str, Any]]:
    """Run the enrichers (all, or ``names``) and return ``{name: {"ok", "facts", "reason"}}``.

    Enrichers run side by side; each is given its own timeout.
    """
    registry = registry if registry is not None else load()  # an empty registry is a registry
    chosen = [registry.get(n) for n in names] if names is not None else registry.values()
    clients = clients or Clients()
    results: dict[str, dict[str, Any]] = {}
    if not chosen:
        return results
    # one thread each, so every timeout counts from the same start (a queued enricher would
    # otherwise spend its time waiting for a thread)
    pool = ThreadPoolExecutor(max_workers=len(chosen), thread_name_prefix="enrich")
    started = time.monotonic()
    futures = {e.name: (e, pool.submit(e.fn, incident, clients)) for e in chosen}
    for name, (unit, future) in futures.items():
        try:
            # the deadline is the enricher's own, counted from the start, not from when the
            # enrichers before it in this loop were done waiting
            facts = future.result(timeout=max(0.0, started + unit.timeout - time.monotonic()))
            if not isinstance(facts, dict):
                raise TypeError(f"returned {type(facts).__name__}, not a dict of facts")
            results[name] = {"ok": True, "facts": facts, "reason": ""}
        except FutureTimeout:
            results[name] = {"ok": False, "facts": {}, "reason": f"timed out after {unit.timeout}s"}
        except Exception as err:  # an enricher's failure is a fact too, never the incident's
            log.warning("enricher %s failed on %s: %s", name, incident.dedup_key, err)
            results[name] = {"ok": False, "facts": {}, "reason": f"{type(err).__name__}: {err}"}
    pool.shutdown(wait=False, cancel_futures=True)
    return results


#: Facts left out of the one-line summaries (they are in the incident's enrichment).
QUIET_FACTS = {"known", "tags", "account_id", "ip", "access_key"}


def _fact(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value[:5])) + (" ..." if len(value) > 5 else "") or "none"
    return str(value)


def summary(results: dict[str, dict[str, Any]]) -> str:
    """One line per enricher: its facts, or ``unknown (why)``.

    >>> summary({"geoip": {"ok": True, "facts": {"known": True, "country": "Russia"}},
    ...          "key-owner": {"ok": False, "facts": {}, "reason": "timed out after 3s"}})
    'geoip: country: Russia\\nkey-owner: unknown (timed out after 3s)'
    """
    lines = []
    for name, result in results.items():
        facts = result.get("facts") or {}
        if not result["ok"] or (facts.get("known") is False and facts.get("reason")):
            lines.append(f"{name}: unknown ({result.get('reason') or facts.get('reason')})")
            continue
        shown = [
            f"{k}: {_fact(v)}"
            for k, v in facts.items()
            if k not in QUIET_FACTS and v not in (None, "", [], {})
        ]
        lines.append(f"{name}: {', '.join(shown) or 'nothing found'}")
    return "\n".join(lines)
